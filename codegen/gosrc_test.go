package codegen

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/kernels"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// emitPlan returns a plan of two float32 inputs and two outputs (one a
// weight), named as in, out (two of each): output 0 is the global average
// of input 0 plus input 1, output 1 the weights' two float32s.
func emitPlan(in, out [2]string) *Plan {
	x := f32(in[0], ir.Shape{1, 4, 2, 2}, 0)
	m := f32(in[1], ir.Shape{1, 4, 1, 1}, 64)
	y := f32(out[0], ir.Shape{1, 4, 1, 1}, 128)
	c := weight(out[1], ir.Shape{2}, 0)
	return &Plan{
		Name:      "tiny",
		Inputs:    []Operand{x, m},
		Outputs:   []Operand{y, c},
		ArenaSize: 192,
		Weights:   make([]byte, 8),
		Steps: []Step{
			{Node: "gap", Op: "GlobalAveragePool", Kernel: &kernels.GlobalPool{Rows: 4, Size: 4}, In: []Operand{x}, Out: []Operand{y}},
			{Node: "add", Op: "Add", Kernel: &kernels.Binary{Op: kernels.BinAdd, Len: 4}, In: []Operand{y, m}, Out: []Operand{y}},
		},
	}
}

func TestEmitGoGolden(t *testing.T) {
	dir := t.TempDir()
	p := emitPlan([2]string{"input.1", "mask"}, [2]string{"output", "495"})
	if err := EmitGo(dir, "tinynet", p); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "model.go"))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "emit.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestEmitGoGolden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gotFile := filepath.Join("testdata", "emit.got")
		os.WriteFile(gotFile, got, 0o644)
		t.Errorf("model.go differs from %s; the output is in %s (rerun with -update to accept it)", golden, gotFile)
	}
	file, err := os.ReadFile(filepath.Join(dir, "model.cnnc"))
	if err != nil {
		t.Fatal(err)
	}
	q, err := Decode(file)
	if err != nil {
		t.Fatalf("decoding model.cnnc: %v", err)
	}
	if !reflect.DeepEqual(q, p) {
		t.Errorf("model.cnnc holds %+v, want %+v", q, p)
	}
}

func TestEmitGoErrors(t *testing.T) {
	good := func() *Plan { return emitPlan([2]string{"a", "b"}, [2]string{"c", "d"}) }
	tests := []struct {
		name        string
		pkg         string
		plan        func() *Plan
		want        string
		unsupported bool
	}{
		{"int64 input", "m", func() *Plan {
			p := good()
			p.Inputs[1].DType = ir.Int64
			p.Inputs[1].Offset = 64
			return p
		}, `input 1 "b" is i64[1,4,1,1]; the generated Go API takes float32 inputs and outputs only`, true},
		{"bool output", "m", func() *Plan { p := good(); p.Outputs[1].DType = ir.Bool; return p }, `output 1 "d" is bool[2]`, true},
		{"no outputs", "m", func() *Plan { p := good(); p.Outputs = nil; return p }, `plan "tiny" has no outputs`, false},
		{"unknown shape", "m", func() *Plan { p := good(); p.Outputs[0].Shape = ir.Shape{-1, 4}; return p }, "want a known shape", false},
		{"bad plan", "m", func() *Plan { p := good(); p.ArenaSize = 64; return p }, "beyond the arena of 64 bytes", false},
		{"package with dot", "my.model", good, `package name "my.model" is not a Go identifier`, false},
		{"package keyword", "func", good, "is not a Go identifier", false},
		{"package blank", "_", good, "is not a Go identifier", false},
		{"package empty", "", good, "is not a Go identifier", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			err := EmitGo(dir, tt.pkg, tt.plan())
			wantErr(t, err, tt.want)
			if ir.IsUnsupported(err) != tt.unsupported {
				t.Errorf("IsUnsupported = %v, want %v", ir.IsUnsupported(err), tt.unsupported)
			}
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("EmitGo failed but created %s", dir)
			}
		})
	}
}

func TestGoIdents(t *testing.T) {
	tests := []struct {
		names         []string
		idents, param []string
	}{
		{[]string{"input.1", "data", "prob"}, []string{"Input1", "Data", "Prob"}, []string{"input1", "data", "prob"}},
		{[]string{"conv1/relu:0", "495", "", "_"}, []string{"Conv1Relu0", "V495", "V", "V2"}, []string{"conv1Relu0", "v495", "v", "v2"}},
		{[]string{"x", "X", "x_", "input_1", "input1"}, []string{"X", "X2", "X3", "Input1", "Input1_2"}, []string{"x", "x2", "x3", "input1", "input1_2"}},
		{[]string{"type", "len", "ctx", "err", "URL", "XYZData", "ünïcode"}, []string{"Type", "Len", "Ctx", "Err", "URL", "XYZData", "NCode"},
			[]string{"type2", "len2", "ctx2", "err2", "url", "xyzData", "nCode"}},
	}
	for _, tt := range tests {
		idents := map[string]bool{}
		params := map[string]bool{}
		for _, r := range reservedParams {
			params[r] = true
		}
		for i, n := range tt.names {
			id := unique(goIdent(n), idents)
			p := unique(lowerIdent(id), params)
			if id != tt.idents[i] || p != tt.param[i] {
				t.Errorf("%q in %q: ident %q, param %q; want %q, %q", n, tt.names, id, p, tt.idents[i], tt.param[i])
			}
		}
	}
}

// TestEmitGoCompiles writes generated packages inside the module and
// runs go vet on them, which type-checks them against the runtime
// package. The names of the values of two of them collide with each
// other, with Go keywords and with the generated code's own names; one has
// no inputs. The first runs with a test of its API (runTest).
func TestEmitGoCompiles(t *testing.T) {
	if _, err := os.Stat(filepath.Join("..", "runtime", "load.go")); err != nil {
		t.Skip("the runtime package (runtime/load.go) does not exist yet: cannot compile generated code")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to compile generated code with")
	}
	dir, err := os.MkdirTemp("testdata", "tmp_emit_")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var pkgs []string
	for _, tt := range []struct {
		pkg     string
		in, out [2]string
	}{
		{"tinynet", [2]string{"input.1", "mask"}, [2]string{"output", "495"}},
		{"lenet", [2]string{"input.1", "ctx"}, [2]string{"type", "Input1"}},
		{"runtime", [2]string{"err", "s"}, [2]string{"m", "outs"}},
	} {
		sub := filepath.Join(dir, tt.pkg)
		p := emitPlan(tt.in, tt.out)
		copy(p.Weights, []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40}) // 1, 2
		if err := EmitGo(sub, tt.pkg, p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, "./"+filepath.ToSlash(sub))
	}
	// A model without inputs: its output is a constant.
	sub := filepath.Join(dir, "constant")
	if err := EmitGo(sub, "constant", &Plan{Name: "k", Outputs: []Operand{weight("k", ir.Shape{2}, 0)}, Weights: make([]byte, 8)}); err != nil {
		t.Fatal(err)
	}
	pkgs = append(pkgs, "./"+filepath.ToSlash(sub))
	if err := os.WriteFile(filepath.Join(dir, "tinynet", "run_test.go"), []byte(runTest), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{append([]string{"vet"}, pkgs...), {"test", pkgs[0]}} {
		out, err := exec.Command(gobin, args...).CombinedOutput()
		if err != nil {
			t.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// runTest tests the API of emitPlan's package tinynet: Model.Run from
// several goroutines, Session.Run without allocating, and the errors.
const runTest = `package tinynet

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
)

func TestRun(t *testing.T) {
	m, err := New(Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, Input1Len)
	for i := range x {
		x[i] = float32(i)
	}
	mask := []float32{1, 2, 3, 4}
	want := []float32{1.5 + 1, 5.5 + 2, 9.5 + 3, 13.5 + 4} // the means of x's rows, plus mask
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				out, c, err := m.Run(context.Background(), x, mask)
				if err != nil {
					t.Error(err)
					return
				}
				if !slices.Equal(out, want) || !slices.Equal(c, []float32{1, 2}) {
					t.Errorf("Run = %v, %v; want %v, [1 2]", out, c, want)
					return
				}
			}
		}()
	}
	wg.Wait()

	s, err := m.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, c := make([]float32, OutputLen), make([]float32, V495Len)
	run := func() {
		if err := s.Run(context.Background(), x, mask, out, c); err != nil {
			t.Fatal(err)
		}
	}
	if allocs := testing.AllocsPerRun(10, run); allocs != 0 {
		t.Errorf("Session.Run allocates %v times per run, want 0", allocs)
	}
	if !slices.Equal(out, want) {
		t.Errorf("Session.Run gives %v, want %v", out, want)
	}
	if err := s.Run(context.Background(), x[:3], mask, out, c); err == nil || err.Error() != "tinynet: input \"input.1\" has 3 elements, want 16 (shape [1,4,2,2])" {
		t.Errorf("a short input: error %v", err)
	}
	if err := s.Run(context.Background(), x, mask, out, c[:1]); err == nil {
		t.Errorf("a short output: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := m.Run(ctx, x, mask); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a cancelled context: error %v, want context.Canceled", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Run(context.Background(), x, mask); err == nil {
		t.Errorf("Run after Close: no error")
	}
}
`
