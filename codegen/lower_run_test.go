package codegen_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/cnnc/cnnc/codegen"
	"github.com/cnnc/cnnc/importer"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/passes"
	"github.com/cnnc/cnnc/runtime"
	"github.com/cnnc/cnnc/runtime/reference"
	"github.com/cnnc/cnnc/zoo"
)

// runPlan lowers g with opts, runs the plan with the runtime on inputs and
// returns the outputs (copies).
func runPlan(g *ir.Graph, opts codegen.Options, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	p, err := codegen.Lower(g, opts)
	if err != nil {
		return nil, err
	}
	m, err := runtime.FromPlan(p)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	s, err := m.NewSession(runtime.SessionOptions{Threads: 2})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	out, err := s.Run(context.Background(), inputs...)
	if err != nil {
		return nil, err
	}
	for i, t := range out {
		out[i] = t.Clone()
	}
	return out, nil
}

// randomInputs returns seeded inputs for g's (known) input types.
func randomInputs(t *testing.T, g *ir.Graph, seed uint64) ([]*ir.Tensor, map[string]*ir.Tensor) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	var list []*ir.Tensor
	byName := map[string]*ir.Tensor{}
	for _, v := range g.Inputs {
		x, err := ir.NewTensor(v.Type.DType, v.Type.Shape)
		if err != nil {
			t.Fatal(err)
		}
		for i := range x.F32 {
			x.F32[i] = float32(rng.NormFloat64())
		}
		for i := range x.I64 {
			x.I64[i] = int64(rng.IntN(3))
		}
		list = append(list, x)
		byName[v.Name] = x
	}
	return list, byName
}

// compareOutputs fails t unless got matches want within a float32
// tolerance relative to the outputs' scale.
func compareOutputs(t *testing.T, what string, got, want []*ir.Tensor) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d outputs, want %d", what, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.DType != w.DType || !g.Shape.Equal(w.Shape) {
			t.Errorf("%s: output %d is %v, want %v", what, i, g.Type(), w.Type())
			continue
		}
		var scale float64
		for j := range w.Len() {
			scale = max(scale, math.Abs(w.Float64At(j)))
		}
		for j := range w.Len() {
			a, b := g.Float64At(j), w.Float64At(j)
			if !(math.Abs(a-b) <= 1e-5*(1+scale)) && !(math.IsNaN(a) && math.IsNaN(b)) {
				t.Errorf("%s: output %d element %d is %v, want %v", what, i, j, a, b)
				break
			}
		}
	}
}

// checkRuns runs g's plans (as it is and after passes.Run, with and without
// in-place steps) and compares them with the reference interpreter.
func checkRuns(t *testing.T, g *ir.Graph, withPasses bool) {
	t.Helper()
	inputs, byName := randomInputs(t, g, 1)
	want, err := reference.Run(g, byName)
	if err != nil {
		t.Fatalf("reference: %v", err)
	}
	graphs := []struct {
		name string
		g    *ir.Graph
	}{{"raw", g}}
	if withPasses {
		opt, err := passes.Run(g, passes.Options{})
		if err != nil {
			t.Fatalf("passes: %v", err)
		}
		graphs = append(graphs, struct {
			name string
			g    *ir.Graph
		}{"passes", opt})
	}
	for _, c := range graphs {
		for _, noInPlace := range []bool{false, true} {
			what := fmt.Sprintf("%s NoInPlace=%v", c.name, noInPlace)
			got, err := runPlan(c.g, codegen.Options{NoInPlace: noInPlace}, inputs)
			if err != nil {
				t.Errorf("%s: %v", what, err)
				continue
			}
			compareOutputs(t, what, got, want)
		}
	}
}

// TestLoweredRuns holds the plans of the lowering tables' graphs, run by
// the runtime, to the reference interpreter.
func TestLoweredRuns(t *testing.T) {
	for _, c := range codegen.LowerTestGraphs() {
		t.Run(c.Name, func(t *testing.T) {
			b := ir.NewBuilder("test", 1)
			c.Build(b)
			g, err := b.Graph()
			if err != nil {
				t.Fatal(err)
			}
			if c.Patch != nil {
				c.Patch(g)
			}
			checkRuns(t, g, false)
		})
	}
}

// TestLoweredModelsRun does the same for the tiny ONNX models and a few
// small zoo models, lowered as they are and after passes.Run.
func TestLoweredModelsRun(t *testing.T) {
	models, err := filepath.Glob(filepath.Join("..", "testdata", "tiny", "*", "model.onnx"))
	if err != nil || len(models) == 0 {
		t.Fatalf("no tiny models (%v)", err)
	}
	for _, path := range models {
		name := filepath.Base(filepath.Dir(path))
		t.Run(name, func(t *testing.T) {
			g, err := importer.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if !g.Inputs[0].Type.Shape.Known() {
				if g, err = passes.Run(g, passes.Options{Batch: 2}); err != nil {
					t.Fatal(err)
				}
			}
			checkRuns(t, g, true)
		})
	}
	for _, c := range []struct {
		name  string
		size  int
		short bool // run under -short
	}{
		{"lenet_bn", 28, true}, {"exercise", 24, true},
		{"resnet18", 32, false}, {"googlenet", 32, false}, {"densenet121", 32, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if testing.Short() && !c.short {
				t.Skip("a large model, skipped under -short")
			}
			m, ok := zoo.Lookup(c.name)
			if !ok {
				t.Fatalf("no zoo model %q", c.name)
			}
			g, err := m.Build(zoo.Options{Size: c.size, Classes: 10})
			if err != nil {
				t.Fatal(err)
			}
			checkRuns(t, g, true)
		})
	}
}
