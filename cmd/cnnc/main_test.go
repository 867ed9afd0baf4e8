package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/importer"
	"github.com/cnnc/cnnc/ir"
)

// cli runs the program in-process and returns its exit status and output.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// wantCode fails the test unless code is want, showing the output.
func wantCode(t *testing.T, code, want int, stdout, stderr string) {
	t.Helper()
	if code != want {
		t.Fatalf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, want, stdout, stderr)
	}
}

// reluModel writes the model x f32[N,4] -> Relu -> y to a temporary folder
// and returns its path.
func reluModel(t *testing.T) string {
	t.Helper()
	x := &ir.Value{Name: "x", Type: ir.Type{DType: ir.Float32, Shape: ir.Shape{-1, 4}}, DimNames: []string{"N", ""}}
	y := &ir.Value{Name: "y"}
	g := &ir.Graph{Name: "relu", Opset: 13, Inputs: []*ir.Value{x}, Outputs: []*ir.Value{y}, Nodes: []*ir.Node{
		{Name: "r", Op: &ir.Relu{}, Inputs: []*ir.Value{x}, Outputs: []*ir.Value{y}},
	}}
	return saveModel(t, g)
}

// mlpModel writes x f32[N,8] -> Gemm(w [8,3], b [3]) -> h -> Add(h, z) -> y,
// with z a second graph input f32[N,3], and returns its path.
func mlpModel(t *testing.T) string {
	t.Helper()
	x := &ir.Value{Name: "x", Type: ir.Type{DType: ir.Float32, Shape: ir.Shape{-1, 8}}, DimNames: []string{"N", ""}}
	z := &ir.Value{Name: "z", Type: ir.Type{DType: ir.Float32, Shape: ir.Shape{-1, 3}}, DimNames: []string{"N", ""}}
	wd := make([]float32, 24)
	for i := range wd {
		wd[i] = float32(i%5) - 2
	}
	w := &ir.Value{Name: "w", Type: ir.Type{DType: ir.Float32, Shape: ir.Shape{8, 3}}, Const: ir.FromFloat32(ir.Shape{8, 3}, wd)}
	b := &ir.Value{Name: "b", Type: ir.Type{DType: ir.Float32, Shape: ir.Shape{3}}, Const: ir.FromFloat32(ir.Shape{3}, []float32{1, 2, 3})}
	h, y := &ir.Value{Name: "h"}, &ir.Value{Name: "y"}
	g := &ir.Graph{Name: "mlp", Opset: 13, Inputs: []*ir.Value{x, z}, Outputs: []*ir.Value{y}, Nodes: []*ir.Node{
		{Name: "fc", Op: &ir.Gemm{Alpha: 1, Beta: 1}, Inputs: []*ir.Value{x, w, b}, Outputs: []*ir.Value{h}},
		{Name: "add", Op: &ir.Add{}, Inputs: []*ir.Value{h, z}, Outputs: []*ir.Value{y}},
	}}
	return saveModel(t, g)
}

func saveModel(t *testing.T, g *ir.Graph) string {
	t.Helper()
	if err := g.InferTypes(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), g.Name+".onnx")
	if err := importer.Save(g, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// tensorFile writes t as a TensorProto named name and returns its path.
func tensorFile(t *testing.T, name string, x *ir.Tensor) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".pb")
	if err := importer.WriteTensor(path, name, x); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRun(t *testing.T) {
	model := reluModel(t)
	in := tensorFile(t, "x", ir.FromFloat32(ir.Shape{1, 4}, []float32{-1, 2, -3, 4}))
	out := filepath.Join(t.TempDir(), "out")
	// Flags after the model, and both spellings of a flag.
	code, stdout, stderr := cli(t, "run", model, "--input", "x="+in, "-output-dir", out, "--time")
	wantCode(t, code, exitOK, stdout, stderr)
	for _, want := range []string{"y: f32[1,4]\n", "values: [0 2 0 4]\n", "argmax: 3 (4)\n", "time: load "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if stderr != "" {
		t.Errorf("stderr: %s", stderr)
	}
	got, name, err := importer.ReadTensor(filepath.Join(out, "output_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	if name != "y" || !got.Shape.Equal(ir.Shape{1, 4}) || !reflect.DeepEqual(got.F32, []float32{0, 2, 0, 4}) {
		t.Errorf("output_0.pb: got %q %v, want \"y\" f32[1,4] {0, 2, 0, 4}", name, got)
	}
}

func TestRunBareInputAndLongOutput(t *testing.T) {
	model := reluModel(t)
	data := make([]float32, 3*4)
	for i := range data {
		data[i] = float32(i)
	}
	// The tensor's stored name does not match: the model's only input is
	// taken. A batch of 3 fills the symbolic dimension.
	in := tensorFile(t, "something", ir.FromFloat32(ir.Shape{3, 4}, data))
	code, stdout, stderr := cli(t, "run", "--input", in, model)
	wantCode(t, code, exitOK, stdout, stderr)
	if want := "values: [0 1 2 3 4 5 6 7 8 9] (first 10 of 12)\n"; !strings.Contains(stdout, want) {
		t.Errorf("stdout lacks %q:\n%s", want, stdout)
	}
	if want := "argmax per row: [3 3 3]\n"; !strings.Contains(stdout, want) {
		t.Errorf("stdout lacks %q:\n%s", want, stdout)
	}
}

func TestRunTwoInputs(t *testing.T) {
	model := mlpModel(t)
	x := make([]float32, 8)
	for i := range x {
		x[i] = 1
	}
	xf := tensorFile(t, "x", ir.FromFloat32(ir.Shape{1, 8}, x))
	zf := tensorFile(t, "z", ir.FromFloat32(ir.Shape{1, 3}, []float32{10, 20, 30}))
	// Bare files bind by their stored names, in any order.
	code, stdout, stderr := cli(t, "run", model, "--input", zf, "--input", xf)
	wantCode(t, code, exitOK, stdout, stderr)
	// y[j] = sum_k w[k][j] + b[j] + z[j], with x all ones.
	want := []float32{1 + 10, 2 + 20, 3 + 30}
	for k := 0; k < 8; k++ {
		for j := 0; j < 3; j++ {
			want[j] += float32((k*3+j)%5) - 2
		}
	}
	wt := ir.FromFloat32(ir.Shape{3}, want)
	line := "values: [" + formatValue(wt, 0) + " " + formatValue(wt, 1) + " " + formatValue(wt, 2) + "]"
	if !strings.Contains(stdout, line) {
		t.Errorf("stdout lacks %q:\n%s", line, stdout)
	}

	// A file named after no input, with two inputs, is ambiguous.
	other := tensorFile(t, "other", ir.FromFloat32(ir.Shape{1, 8}, x))
	code, stdout, stderr = cli(t, "run", model, "--input", other, "--input", zf)
	wantCode(t, code, exitFail, stdout, stderr)
	if !strings.Contains(stderr, "the model has 2 inputs (x f32[?,8], z f32[?,3]); say which one as NAME=") {
		t.Errorf("stderr: %s", stderr)
	}
}

func TestRunErrors(t *testing.T) {
	model := reluModel(t)
	dir := t.TempDir()
	good := tensorFile(t, "x", ir.FromFloat32(ir.Shape{1, 4}, []float32{1, 2, 3, 4}))
	wrongShape := tensorFile(t, "x", ir.FromFloat32(ir.Shape{1, 5}, make([]float32, 5)))
	wrongType := tensorFile(t, "x", ir.FromInt64(ir.Shape{1, 4}, make([]int64, 4)))
	corrupt := filepath.Join(dir, "corrupt.onnx")
	if err := os.WriteFile(corrupt, []byte("\xff\xff\xff garbage, not a protobuf"), 0o644); err != nil {
		t.Fatal(err)
	}
	notTensor := filepath.Join(dir, "bad.pb")
	if err := os.WriteFile(notTensor, []byte("\xff\xff\xff"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"no model", []string{"run"}, exitUsage, "want one MODEL, got 0 arguments"},
		{"two models", []string{"run", model, model}, exitUsage, "want one MODEL, got 2 arguments"},
		{"unknown flag", []string{"run", model, "--bogus"}, exitUsage, "flag provided but not defined: -bogus"},
		{"flag without value", []string{"run", model, "--input"}, exitUsage, "flag needs an argument: -input"},
		{"missing input", []string{"run", model}, exitFail, `cnnc: model input "x" (f32[?,4]) is not given; pass --input x=FILE.pb`},
		{"unknown input", []string{"run", model, "--input", "q=" + good}, exitFail, `the model has no input "q" (its inputs: x f32[?,4])`},
		{"bound twice", []string{"run", model, "--input", "x=" + good, "--input", good}, exitFail, `input "x" is already bound to`},
		{"wrong shape", []string{"run", model, "--input", "x=" + wrongShape}, exitFail, `input "x" wants shape [?,4], the file holds [1,5]`},
		{"wrong type", []string{"run", model, "--input", "x=" + wrongType}, exitFail, `input "x" wants element type f32, the file holds i64`},
		{"input file missing", []string{"run", model, "--input", "x=" + filepath.Join(dir, "nope.pb")}, exitFail, "no such file"},
		{"input not a tensor", []string{"run", model, "--input", "x=" + notTensor}, exitFail, "not a TensorProto"},
		{"corrupt model", []string{"run", corrupt, "--input", "x=" + good}, exitFail, "cnnc: " + corrupt + ": invalid model: not an ONNX model"},
		{"model missing", []string{"run", filepath.Join(dir, "nope.onnx")}, exitFail, "no such file"},
		{"unknown zoo model", []string{"run", "zoo:nonet"}, exitFail, "zoo:nonet: no such zoo model"},
		{"weights on a file", []string{"run", model, "--weights", model}, exitFail, "--weights applies to zoo:NAME models"},
		{"output dir is a file", []string{"run", model, "--input", good, "--output-dir", good}, exitFail, "cnnc: "},
		{"unknown engine", []string{"run", model, "--input", good, "--engine", "gpu"}, exitUsage, "--engine gpu: want compiled or reference"},
		{"reference on a plan", []string{"run", "m.cnnc", "--engine", "reference"}, exitUsage, "m.cnnc is a compiled plan: it runs with --engine compiled only"},
		{"plan missing", []string{"run", filepath.Join(dir, "nope.cnnc")}, exitFail, "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, c.args...)
			wantCode(t, code, c.code, stdout, stderr)
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr lacks %q:\n%s", c.want, stderr)
			}
			if c.code == exitUsage && !strings.Contains(stderr, "usage: cnnc run MODEL") {
				t.Errorf("usage error without usage:\n%s", stderr)
			}
		})
	}
}

func TestSummaryJSON(t *testing.T) {
	model := mlpModel(t)
	code, stdout, stderr := cli(t, "summary", model, "--json", "--batch", "4")
	wantCode(t, code, exitOK, stdout, stderr)
	var got map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	want := map[string]any{
		"layers": []any{
			map[string]any{"name": "fc", "op": "Gemm", "output_shape": []any{4.0, 3.0}, "params": 27.0, "macs": 4.0 * 3 * 8},
			map[string]any{"name": "add", "op": "Add", "output_shape": []any{4.0, 3.0}, "params": 0.0, "macs": 0.0},
		},
		"total_params":     27.0,
		"total_macs":       96.0,
		"activation_bytes": 2 * 4 * 3 * 4.0,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}

	// --batch 0 keeps the batch symbolic: unknown shapes and costs are -1.
	code, stdout, stderr = cli(t, "summary", "--batch=0", "--json", model)
	wantCode(t, code, exitOK, stdout, stderr)
	var s summaryJSON
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	if l := s.Layers[0]; !reflect.DeepEqual(l.OutputShape, []int{-1, 3}) || l.MACs != -1 || l.Params != 27 {
		t.Errorf("symbolic fc: got %+v", l)
	}
	if s.TotalMACs != 0 || s.UnknownLayers != 2 || s.TotalParams != 27 {
		t.Errorf("symbolic totals: got %+v", s)
	}
}

func TestSummaryTable(t *testing.T) {
	code, stdout, stderr := cli(t, "summary", mlpModel(t))
	wantCode(t, code, exitOK, stdout, stderr)
	want := `graph "mlp", opset 13
input  x: f32[1,8]
input  z: f32[1,3]
output y: f32[1,3]

#  NAME  OP    OUTPUT    PARAMS  MACS
0  fc    Gemm  f32[1,3]      27    24
1  add   Add   f32[1,3]       0     0

total parameters:   27 (27, 108 B as f32)
total MACs:         24 (24)
total activations:  24 bytes (24 B)
`
	if stdout != want {
		t.Errorf("got\n%s\nwant\n%s", stdout, want)
	}

	code, stdout, stderr = cli(t, "summary", "--batch", "0", mlpModel(t))
	wantCode(t, code, exitOK, stdout, stderr)
	for _, want := range []string{"0  fc    Gemm  f32[?,3]      27     ?\n", "note: 2 nodes have unknown shapes"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
}

func TestSummaryErrors(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "m.onnx")
	if err := os.WriteFile(corrupt, []byte{0x08}, 0o644); err != nil { // a truncated varint
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"summary"}, exitUsage, "usage: cnnc summary MODEL"},
		{[]string{"summary", corrupt, "--batch", "-1"}, exitUsage, "--batch -1 is out of range"},
		{[]string{"summary", corrupt, "--batch", "x"}, exitUsage, `invalid value "x" for flag -batch`},
		{[]string{"summary", corrupt}, exitFail, "cnnc: " + corrupt + ": invalid model: not an ONNX model"},
	} {
		code, stdout, stderr := cli(t, c.args...)
		wantCode(t, code, c.code, stdout, stderr)
		if !strings.Contains(stderr, c.want) {
			t.Errorf("%v: stderr lacks %q:\n%s", c.args, c.want, stderr)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, c := range []struct {
		args   []string
		code   int
		stdout string // substring
		stderr string // substring
	}{
		{nil, exitUsage, "", "Usage:\n\n\tcnnc <command> [arguments]"},
		{[]string{"help"}, exitOK, "Commands:", ""},
		{[]string{"-h"}, exitOK, "Commands:", ""},
		{[]string{"--help"}, exitOK, "Commands:", ""},
		{[]string{"help", "run"}, exitOK, "usage: cnnc run MODEL", ""},
		{[]string{"help", "summary"}, exitOK, "  --batch N\n", ""},
		{[]string{"help"}, exitOK, "\tcompile   compile a model", ""},
		{[]string{"help"}, exitOK, "\tbench     measure", ""},
		{[]string{"help", "compile"}, exitOK, "usage: cnnc compile MODEL [-o OUT.cnnc]", ""},
		{[]string{"compile", "-h"}, exitOK, "  --dump-after PASS\n", ""},
		{[]string{"help", "bench"}, exitOK, "  --runs N\n", ""},
		{[]string{"help", "run"}, exitOK, "  --engine ENGINE\n", ""},
		{[]string{"run", "-h"}, exitOK, "usage: cnnc run MODEL", ""},
		{[]string{"summary", "some.onnx", "--help"}, exitOK, "usage: cnnc summary MODEL", ""},
		{[]string{"help", "nope"}, exitUsage, "", `unknown command "nope"`},
		{[]string{"help", "run", "x"}, exitUsage, "", "too many arguments"},
		{[]string{"nope"}, exitUsage, "", `cnnc: unknown command "nope"`},
		{[]string{"version"}, exitOK, "cnnc ", ""},
		{[]string{"version", "x"}, exitUsage, "", "takes no arguments"},
	} {
		code, stdout, stderr := cli(t, c.args...)
		if code != c.code || !strings.Contains(stdout, c.stdout) || !strings.Contains(stderr, c.stderr) {
			t.Errorf("cnnc %v: exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d, stdout with %q, stderr with %q",
				c.args, code, stdout, stderr, c.code, c.stdout, c.stderr)
		}
	}
}

func TestParseInterleaved(t *testing.T) {
	for _, c := range []struct {
		args []string
		pos  []string
		in   []string
	}{
		{[]string{"m", "--input", "a", "-input=b"}, []string{"m"}, []string{"a", "b"}},
		{[]string{"--input", "a", "m", "n", "--input", "b", "o"}, []string{"m", "n", "o"}, []string{"a", "b"}},
		{[]string{"m", "--", "--input", "x"}, []string{"m", "--input", "x"}, nil},
		{[]string{"-", "--input", "a"}, []string{"-"}, []string{"a"}},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		var in stringList
		fs.Var(&in, "input", "")
		pos, err := parseInterleaved(fs, c.args)
		if err != nil || !reflect.DeepEqual(pos, c.pos) || !reflect.DeepEqual([]string(in), c.in) {
			t.Errorf("%q: got %q %q %v, want %q %q", c.args, pos, in, err, c.pos, c.in)
		}
	}
}

func TestPrintOutput(t *testing.T) {
	nan := float32(math.NaN())
	for _, c := range []struct {
		t    *ir.Tensor
		want string
	}{
		{ir.FromFloat32(ir.Shape{1, 3, 1, 1}, []float32{1, 5, 2}), "y: f32[1,3,1,1]\n  values: [1 5 2]\n  argmax: 1 (5)\n"},
		{ir.FromFloat32(ir.Shape{1, 3}, []float32{nan, 5, 7}), "y: f32[1,3]\n  values: [NaN 5 7]\n  argmax: 2 (7)\n"},
		{ir.FromFloat32(ir.Shape{1, 2, 2}, []float32{1, 2, 3, 4}), "y: f32[1,2,2]\n  values: [1 2 3 4]\n"},
		{ir.FromFloat32(ir.Shape{4}, []float32{1, 2, 3, 4}), "y: f32[4]\n  values: [1 2 3 4]\n"},
		{ir.FromFloat32(ir.Shape{1, 0}, nil), "y: f32[1,0]\n  values: []\n"},
		{ir.FromInt64(ir.Shape{1, 2}, []int64{3, 9}), "y: i64[1,2]\n  values: [3 9]\n"},
		{ir.FromFloat32(ir.Shape{12, 1}, make([]float32, 12)), "y: f32[12,1]\n  values: [0 0 0 0 0 0 0 0 0 0] (first 10 of 12)\n" +
			"  argmax per row: [0 0 0 0 0 0 0 0 0 0] (first 10 of 12 rows)\n"},
	} {
		var b strings.Builder
		printOutput(&b, "y", c.t)
		if b.String() != c.want {
			t.Errorf("got\n%s\nwant\n%s", b.String(), c.want)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{count(0), "0"},
		{count(999), "999"},
		{count(1000), "1,000"},
		{count(1234567), "1,234,567"},
		{count(-1), "?"},
		{human(999, 1000, ""), "999"},
		{human(1235000, 1000, ""), "1.24 M"},
		{human(512, 1024, "B"), "512 B"},
		{human(3<<20, 1024, "B"), "3 MiB"},
		{formatValue(ir.FromFloat32(ir.Shape{1}, []float32{float32(math.Pi)}), 0), "3.14159"},
		{formatValue(ir.FromInt64(ir.Shape{1}, []int64{-7}), 0), "-7"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// tinyDir holds small models with reference inputs and outputs from
// PyTorch (tools/refgen).
const tinyDir = "../../testdata/tiny"

func TestSummaryLeNet(t *testing.T) {
	code, stdout, stderr := cli(t, "summary", "--json", filepath.Join(tinyDir, "lenet", "model.onnx"))
	wantCode(t, code, exitOK, stdout, stderr)
	var s summaryJSON
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	// LeNet-5: conv 1->6 5x5 pad 2 on 28x28, conv 6->16 5x5 on 14x14, then
	// 400->120->84->10, with biases everywhere.
	params := int64((6*25 + 6) + (16*6*25 + 16) + (400*120 + 120) + (120*84 + 84) + (84*10 + 10))
	macs := int64(6*28*28*25 + 16*10*10*6*25 + 400*120 + 120*84 + 84*10)
	if s.TotalParams != params || s.TotalMACs != macs || s.UnknownLayers != 0 {
		t.Errorf("got params %d, MACs %d, unknown %d; want %d, %d, 0", s.TotalParams, s.TotalMACs, s.UnknownLayers, params, macs)
	}
	if l := s.Layers[0]; l.Op != "Conv" || !reflect.DeepEqual(l.OutputShape, []int{1, 6, 28, 28}) || l.Params != 156 {
		t.Errorf("first layer: got %+v", l)
	}
}

// TestRunTiny runs every tiny model on its reference input with both
// engines and compares the written output with PyTorch's.
func TestRunTiny(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(tinyDir, "*"))
	if len(dirs) == 0 {
		t.Fatal("no models in " + tinyDir)
	}
	for _, dir := range dirs {
		for _, engine := range []string{"compiled", "reference"} {
			t.Run(filepath.Base(dir)+"/"+engine, func(t *testing.T) {
				model := filepath.Join(dir, "model.onnx")
				data := filepath.Join(dir, "test_data_set_0")
				out := t.TempDir()
				code, stdout, stderr := cli(t, "run", model, "--engine", engine, "--input", filepath.Join(data, "input_0.pb"), "--output-dir", out)
				wantCode(t, code, exitOK, stdout, stderr)
				got, _, err := importer.ReadTensor(filepath.Join(out, "output_0.pb"))
				if err != nil {
					t.Fatal(err)
				}
				want, _, err := importer.ReadTensor(filepath.Join(data, "output_0.pb"))
				if err != nil {
					t.Fatal(err)
				}
				if !got.Shape.Equal(want.Shape) {
					t.Fatalf("shape %v, want %v", got.Shape, want.Shape)
				}
				for i, w := range want.F32 {
					if d := math.Abs(float64(got.F32[i] - w)); d > 1e-4+1e-4*math.Abs(float64(w)) {
						t.Fatalf("element %d: got %g, want %g", i, got.F32[i], w)
					}
				}
			})
		}
	}
}

// lightDir holds real model-zoo graphs with light weights; it lies outside
// the repository and may be absent.
const lightDir = "../../../shared/onnx-light"

func TestSummaryModelZoo(t *testing.T) {
	for _, c := range []struct {
		file         string
		params, macs int64
	}{
		// Parameters as torchvision and the papers count them.
		{"light_squeezenet.onnx", 1_235_496, 349_151_936}, // SqueezeNet 1.1
		{"light_vgg19.onnx", 143_667_240, 19_632_062_464},
		{"light_bvlc_alexnet.onnx", 60_965_224, 654_560_384}, // two-group Caffe AlexNet
		{"light_resnet50.onnx", 25_557_032, 4_089_184_256},   // 4.09 GMACs as published
	} {
		path := filepath.Join(lightDir, c.file)
		if _, err := os.Stat(path); err != nil {
			t.Skipf("%s: %v", c.file, err)
		}
		code, stdout, stderr := cli(t, "summary", "--json", path)
		wantCode(t, code, exitOK, stdout, stderr)
		var s summaryJSON
		if err := json.Unmarshal([]byte(stdout), &s); err != nil {
			t.Fatal(err)
		}
		if s.TotalParams != c.params || s.TotalMACs != c.macs || s.UnknownLayers != 0 {
			t.Errorf("%s: got params %d, MACs %d, unknown %d; want %d, %d, 0",
				c.file, s.TotalParams, s.TotalMACs, s.UnknownLayers, c.params, c.macs)
		}
	}
}
