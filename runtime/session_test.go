package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/passes"
	"github.com/cnnc/cnnc/runtime"
	"github.com/cnnc/cnnc/runtime/reference"
	"github.com/cnnc/cnnc/zoo"
)

// zooGraph builds a zoo model at a small size.
func zooGraph(t testing.TB, name string, o zoo.Options) *ir.Graph {
	t.Helper()
	m, ok := zoo.Lookup(name)
	if !ok {
		t.Fatalf("no zoo model %q", name)
	}
	g, err := m.Build(o)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// reference runs g with the interpreter on inputs.
func runReference(t testing.TB, g *ir.Graph, inputs []*ir.Tensor) []*ir.Tensor {
	t.Helper()
	feeds := map[string]*ir.Tensor{}
	for i, v := range g.Inputs {
		feeds[v.Name] = inputs[i]
	}
	out, err := reference.Run(g, feeds)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestZooModelsAgree holds compiled zoo models to the interpreter, at their
// default input size or, where the network allows, 64x64.
func TestZooModelsAgree(t *testing.T) {
	small := map[string]bool{"resnet18": true, "resnet18_sd": true, "preact_resnet18": true, "densenet121": true, "googlenet": true, "resnext50_32x4d": true}
	models := []string{"lenet", "lenet_bn", "alexnet", "resnet18", "resnet18_sd", "preact_resnet18", "densenet121", "googlenet", "resnext50_32x4d", "nin", "zfnet"}
	if testing.Short() {
		models = []string{"lenet", "resnet18", "googlenet"}
	}
	for _, name := range models {
		t.Run(name, func(t *testing.T) {
			m, _ := zoo.Lookup(name)
			o := m.Defaults
			o.Batch = 1
			if small[name] {
				o.Size = 64 // these networks take any size; 224 is slow on the interpreter
			}
			g := zooGraph(t, name, o)
			if err := compareEngines(g, 2, 1e-4); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// lenet compiles the zoo's LeNet at batch 1.
func lenet(t testing.TB) (*ir.Graph, *runtime.Model) {
	t.Helper()
	g := zooGraph(t, "lenet", zoo.Options{Batch: 1})
	m, err := runtime.Compile(g, runtime.CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return g, m
}

func TestRunAllocatesNothing(t *testing.T) {
	g, m := lenet(t)
	s, err := m.NewSession(runtime.SessionOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in := randomInputs(g, 1)
	ctx := context.Background()
	if _, err := s.Run(ctx, in...); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := s.Run(ctx, in...); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Session.Run allocates %v times per run, want 0", allocs)
	}
}

func TestSessionProfile(t *testing.T) {
	g, m := lenet(t)
	in := randomInputs(g, 1)
	ctx := context.Background()
	plain, err := m.NewSession(runtime.SessionOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := plain.Run(ctx, in...); err != nil || plain.Profile() != nil {
		t.Fatalf("without Profile: err %v, profile %v", err, plain.Profile())
	}
	s, err := m.NewSession(runtime.SessionOptions{Threads: 2, Profile: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 3 {
		if _, err := s.Run(ctx, in...); err != nil {
			t.Fatal(err)
		}
	}
	p := s.Profile()
	if len(p) == 0 {
		t.Fatal("no steps")
	}
	var total time.Duration
	for i, st := range p {
		if st.Step == nil || st.Step.Node == "" || st.Runs != 3 || st.Total < 0 {
			t.Errorf("step %d: %+v", i, st)
		}
		total += st.Total
	}
	if total <= 0 {
		t.Errorf("steps took %v in all", total)
	}
	s.ResetProfile()
	for i, st := range s.Profile() {
		if st.Runs != 0 || st.Total != 0 {
			t.Errorf("after ResetProfile, step %d: %+v", i, st)
		}
	}
	allocs := testing.AllocsPerRun(5, func() {
		if _, err := s.Run(ctx, in...); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("a profiled Run allocates %v times, want 0", allocs)
	}
}

func TestRunCancelled(t *testing.T) {
	g, m := lenet(t)
	s, err := m.NewSession(runtime.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Run(ctx, randomInputs(g, 1)...); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a cancelled context: got %v, want context.Canceled", err)
	}
}

func TestConcurrentSessions(t *testing.T) {
	g, m := lenet(t)
	in := randomInputs(g, 3)
	want := runReference(t, g, in)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := m.NewSession(runtime.SessionOptions{Threads: 2})
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			for range 10 {
				got, err := s.Run(context.Background(), in...)
				if err == nil {
					err = compareOutputs(got, want, 1e-4)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestReplanPerShape(t *testing.T) {
	g := zooGraph(t, "lenet", zoo.Options{Batch: -1})
	if g.Inputs[0].Type.Shape[0] >= 0 {
		t.Fatalf("zoo lenet input %v: want an unknown batch", g.Inputs[0].Type.Shape)
	}
	m, err := runtime.Compile(g, runtime.CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Plan() != nil {
		t.Error("a dynamic-batch model has a fixed plan")
	}
	s, err := m.NewSession(runtime.SessionOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, batch := range []int{1, 3, 1, 2} {
		x, _ := ir.NewTensor(ir.Float32, ir.Shape{batch, 1, 28, 28})
		for i := range x.F32 {
			x.F32[i] = float32(i%17) / 17
		}
		got, err := s.Run(context.Background(), x)
		if err != nil {
			t.Fatalf("batch %d: %v", batch, err)
		}
		if err := compareOutputs(got, runReference(t, g, []*ir.Tensor{x}), 1e-4); err != nil {
			t.Fatalf("batch %d: %v", batch, err)
		}
	}
}

func TestLoadRoundTrip(t *testing.T) {
	g, m := lenet(t)
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "lenet.cnnc")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	lm, err := runtime.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	defer lm.Close()
	s, err := lm.NewSession(runtime.SessionOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in := randomInputs(g, 5)
	got, err := s.Run(context.Background(), in...)
	if err != nil {
		t.Fatal(err)
	}
	if err := compareOutputs(got, runReference(t, g, in), 1e-4); err != nil {
		t.Fatal(err)
	}
	// The loaded plan refuses other shapes.
	x, _ := ir.NewTensor(ir.Float32, ir.Shape{2, 1, 28, 28})
	if _, err := s.Run(context.Background(), x); err == nil || !strings.Contains(err.Error(), "shape") {
		t.Errorf("loaded plan run at batch 2: got %v, want a shape error", err)
	}
	// From unaligned bytes, too.
	b := append([]byte{0}, buf.Bytes()...)[1:]
	if _, err := runtime.LoadBytes(b); err != nil {
		t.Errorf("LoadBytes of unaligned bytes: %v", err)
	}
	// A corrupt file is an error, not a panic.
	bad := bytes.Clone(buf.Bytes())
	bad[len(bad)/2] ^= 0xff
	if _, err := runtime.LoadBytes(bad); err == nil {
		t.Error("LoadBytes of a corrupt file succeeded")
	}
}

func TestRunErrors(t *testing.T) {
	g, m := lenet(t)
	s, err := m.NewSession(runtime.SessionOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	in := randomInputs(g, 1)
	if _, err := s.Run(ctx); err == nil {
		t.Error("Run without inputs succeeded")
	}
	i64, _ := ir.NewTensor(ir.Int64, ir.Shape{1, 1, 28, 28})
	if _, err := s.Run(ctx, i64); err == nil {
		t.Error("Run with an int64 input succeeded")
	}
	short := &ir.Tensor{DType: ir.Float32, Shape: ir.Shape{1, 1, 28, 28}, F32: make([]float32, 5)}
	if _, err := s.Run(ctx, short); err == nil {
		t.Error("Run with a short input succeeded")
	}
	s.Close()
	if _, err := s.Run(ctx, in...); err == nil {
		t.Error("Run after Close succeeded")
	}
}

func TestCompileVerifiesEveryPass(t *testing.T) {
	g := zooGraph(t, "resnet18", zoo.Options{Batch: 1, Size: 32})
	if _, err := runtime.Compile(g, runtime.CompileOptions{Passes: passes.Options{Verify: true}}); err != nil {
		t.Fatal(err)
	}
}

func TestSpecializedIntegerInputs(t *testing.T) {
	// y = Reshape(x, shape) with shape a graph input: each distinct shape
	// value gets its own plan.
	x := &ir.Value{Name: "x", Type: ir.Type{DType: ir.Float32, Shape: ir.Shape{2, 6}}}
	shape := &ir.Value{Name: "shape", Type: ir.Type{DType: ir.Int64, Shape: ir.Shape{2}}}
	y := &ir.Value{Name: "y", Type: ir.Type{DType: ir.Float32}}
	g := &ir.Graph{Name: "reshape", Opset: 13, Inputs: []*ir.Value{x, shape}, Outputs: []*ir.Value{y},
		Nodes: []*ir.Node{{Name: "r", Op: &ir.Reshape{}, Inputs: []*ir.Value{x, shape}, Outputs: []*ir.Value{y}}}}
	if err := g.InferTypes(); err != nil {
		t.Fatal(err)
	}
	m, err := runtime.Compile(g, runtime.CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.NewSession(runtime.SessionOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	xt := ir.FromFloat32(ir.Shape{2, 6}, []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	for _, want := range []ir.Shape{{3, 4}, {12, 1}, {3, 4}, {4, -1}} {
		st := ir.FromInt64(ir.Shape{2}, []int64{int64(want[0]), int64(want[1])})
		out, err := s.Run(context.Background(), xt, st)
		if err != nil {
			t.Fatalf("shape %v: %v", want, err)
		}
		if want[1] < 0 {
			want = ir.Shape{4, 3}
		}
		if !out[0].Shape.Equal(want) || out[0].F32[11] != 11 {
			t.Errorf("reshape to %v: got %v %v", want, out[0].Shape, out[0].F32)
		}
	}
}
