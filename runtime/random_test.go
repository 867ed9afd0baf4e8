package runtime_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cnnc/cnnc/codegen"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/passes"
	"github.com/cnnc/cnnc/runtime"
	"github.com/cnnc/cnnc/runtime/kernels"
	"github.com/cnnc/cnnc/runtime/reference"
)

// TestRandomGraphs builds random valid CNN graphs with the builder (every
// layer kind the compiler treats specially, in random order and
// geometry) and holds the compiled plan to the reference interpreter.
func TestRandomGraphs(t *testing.T) {
	n := 400
	if testing.Short() {
		n = 60
	}
	for seed := range uint64(n) {
		g, err := randomGraph(seed)
		if err != nil {
			t.Fatalf("seed %d: building: %v", seed, err)
		}
		threads := 1 + int(seed%2)
		if err := compareEngines(g, threads, 1e-4); err != nil {
			t.Errorf("seed %d (%d threads): %v\n%s", seed, threads, err, ir.Print(g))
		}
	}
}

// TestRandomGraphsEachAlgo runs random graphs with each convolution
// algorithm preferred wherever it applies, so that every algorithm goes
// through packing, the plan and binding to the reference's outputs,
// whatever the cost model picks for real models.
func TestRandomGraphsEachAlgo(t *testing.T) {
	n := 40
	if testing.Short() {
		n = 8
	}
	for a := ir.AlgoAuto + 1; ; a++ {
		if _, ok := ir.ParseConvAlgo(a.String()); !ok {
			break // past the last algorithm
		}
		prefer := func(_ *ir.Node, costs []passes.AlgoCost) ir.ConvAlgo {
			for _, c := range costs {
				if c.Algo == a {
					return a
				}
			}
			return ir.AlgoAuto
		}
		used := 0
		for seed := range uint64(n) {
			g, err := randomGraph(1000 + seed)
			if err != nil {
				t.Fatalf("seed %d: building: %v", seed, err)
			}
			p, err := compareEnginesWith(g, passes.Options{Verify: true, Algo: prefer}, 1+int(seed%2), 1e-4)
			if err != nil {
				t.Errorf("%v, seed %d: %v\n%s", a, seed, err, ir.Print(g))
			}
			used += countAlgo(p, a)
		}
		t.Logf("%v: %d convolutions in %d graphs", a, used, n)
		if used == 0 {
			t.Errorf("%v: no random graph had a convolution it applies to", a)
		}
	}
}

// countAlgo returns how many convolution steps of p (nil: none) use a.
func countAlgo(p *codegen.Plan, a ir.ConvAlgo) int {
	n := 0
	if p != nil {
		for _, st := range p.Steps {
			if k, ok := st.Kernel.(*kernels.Conv2D); ok && k.Algo == a {
				n++
			}
		}
	}
	return n
}

// compareEngines runs g compiled and with the reference interpreter on a
// seeded random input and compares the outputs: max|diff| must be at most
// rtol times max|ref| (plus a tiny absolute floor).
func compareEngines(g *ir.Graph, threads int, rtol float64) error {
	_, err := compareEnginesWith(g, passes.Options{Verify: true}, threads, rtol)
	return err
}

// compareEnginesWith is compareEngines with the given pass options; it
// also returns the compiled plan (nil if compiling failed).
func compareEnginesWith(g *ir.Graph, opts passes.Options, threads int, rtol float64) (*codegen.Plan, error) {
	m, err := runtime.Compile(g, runtime.CompileOptions{Passes: opts})
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	s, err := m.NewSession(runtime.SessionOptions{Threads: threads})
	if err != nil {
		return m.Plan(), fmt.Errorf("session: %w", err)
	}
	defer s.Close()
	inputs := randomInputs(g, 7)
	feeds := map[string]*ir.Tensor{}
	for i, v := range g.Inputs {
		feeds[v.Name] = inputs[i]
	}
	want, err := reference.Run(g, feeds)
	if err != nil {
		return m.Plan(), fmt.Errorf("reference: %w", err)
	}
	got, err := s.Run(context.Background(), inputs...)
	if err != nil {
		return m.Plan(), fmt.Errorf("run: %w", err)
	}
	return m.Plan(), compareOutputs(got, want, rtol)
}

// compareOutputs compares tensors output by output.
func compareOutputs(got, want []*ir.Tensor, rtol float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("got %d outputs, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].Shape.Equal(want[i].Shape) || got[i].DType != want[i].DType {
			return fmt.Errorf("output %d: got %v, want %v", i, got[i].Type(), want[i].Type())
		}
		var maxDiff, maxRef float64
		for j := 0; j < want[i].Len(); j++ {
			a, b := got[i].Float64At(j), want[i].Float64At(j)
			if a != a || b != b {
				if (a != a) != (b != b) {
					return fmt.Errorf("output %d element %d: got %v, want %v", i, j, a, b)
				}
				continue
			}
			maxDiff = max(maxDiff, abs(a-b))
			maxRef = max(maxRef, abs(b))
		}
		if maxDiff > rtol*maxRef+1e-6 {
			return fmt.Errorf("output %d: max|diff| %.3g, max|ref| %.3g: relative %.3g > %g", i, maxDiff, maxRef, maxDiff/maxRef, rtol)
		}
	}
	return nil
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// randomInputs returns seeded uniform [-1, 1) float inputs for g's inputs,
// whose shapes must be known.
func randomInputs(g *ir.Graph, seed uint64) []*ir.Tensor {
	r := rand.New(rand.NewPCG(seed, 99))
	ts := make([]*ir.Tensor, len(g.Inputs))
	for i, v := range g.Inputs {
		t, err := ir.NewTensor(v.Type.DType, v.Type.Shape)
		if err != nil {
			panic(err)
		}
		for j := range t.F32 {
			t.F32[j] = float32(r.Float64()*2 - 1)
		}
		ts[i] = t
	}
	return ts
}

// randomGraph builds a random network from seed: an input of random size,
// then 2 to 9 layers drawn from convolutions (any kernel, stride,
// padding, dilation, groups, depthwise), batch norms with random
// statistics, activations, pools, residual blocks, concatenations and
// LRN, and sometimes a classifier head.
func randomGraph(seed uint64) (*ir.Graph, error) {
	r := rand.New(rand.NewPCG(seed, 7))
	b := ir.NewBuilder(fmt.Sprintf("random%d", seed), seed)
	x := b.Input("x", 1+r.IntN(2), 1+r.IntN(8), 4+r.IntN(17), 4+r.IntN(17))
	dims := func() (c, h, w int) { s := x.Type.Shape; return s[1], s[2], s[3] }
	conv := func(name string, x *ir.Value, out, k, stride, pad, dil, groups int) *ir.Value {
		return b.Apply(name, ir.Conv2d(out, k, ir.Stride(stride), ir.Padding(pad), ir.Dilation(dil), ir.Groups(groups)), x)
	}
	layers := 2 + r.IntN(8)
	for i := 0; i < layers && b.Err() == nil; i++ {
		name := fmt.Sprintf("l%d", i)
		c, h, w := dims()
		switch r.IntN(12) {
		case 0, 1, 2: // convolution
			k := []int{1, 3, 5, 7}[r.IntN(4)]
			dil := 1 + r.IntN(2)
			pad := r.IntN(k/2 + 1)
			if (k-1)*dil+1 > min(h, w)+2*pad {
				dil, pad = 1, k/2
			}
			groups := 1
			if g := 1 + r.IntN(4); c%g == 0 && r.IntN(3) == 0 {
				groups = g
			}
			out := groups * (1 + r.IntN(12/groups+1))
			x = conv(name, x, out, k, 1+r.IntN(2), pad, dil, groups)
		case 3: // depthwise
			x = conv(name, x, c, 3, 1+r.IntN(2), 1, 1, c)
		case 4: // batch norm with random statistics
			s, sh := b.Uniform(name+".weight", 1, c), b.Uniform(name+".bias", 1, c)
			mean, v := b.Uniform(name+".mean", 1, c), b.Fill(name+".var", 0.5+float32(r.Float64()), c)
			x = b.Node1(name, &ir.BatchNormalization{Epsilon: 1e-5}, x, s, sh, mean, v)
		case 5: // activation
			switch r.IntN(5) {
			case 0:
				x = b.Node1(name, &ir.Relu{}, x)
			case 1:
				x = b.Node1(name, &ir.Clip{Min: 0, Max: 0.5}, x)
			case 2:
				x = b.Node1(name, &ir.LeakyRelu{Alpha: 0.1}, x)
			case 3:
				x = b.Node1(name, &ir.Sigmoid{}, x)
			default:
				x = b.Node1(name, &ir.Tanh{}, x)
			}
		case 6: // pooling
			k := 2 + r.IntN(2)
			if min(h, w) < k {
				continue
			}
			var opts []ir.PoolOption
			if r.IntN(2) == 0 {
				opts = append(opts, ir.PoolPad(r.IntN(k/2+1)))
			}
			if r.IntN(3) == 0 {
				opts = append(opts, ir.CeilMode())
			}
			if r.IntN(2) == 0 {
				x = b.Apply(name, ir.MaxPool2d(k, 1+r.IntN(2), opts...), x)
			} else {
				x = b.Apply(name, ir.AvgPool2d(k, 1+r.IntN(2), opts...), x)
			}
		case 7, 8: // residual block: conv-bn-relu-conv + x, relu
			y := conv(name+".conv1", x, c, 3, 1, 1, 1, 1)
			y = b.Node1(name+".relu1", &ir.Relu{}, y)
			y = conv(name+".conv2", y, c, 3, 1, 1, 1, 1)
			x = b.Node1(name+".add", &ir.Add{}, y, x)
			if r.IntN(2) == 0 {
				x = b.Node1(name+".relu", &ir.Relu{}, x)
			}
		case 9: // inception-like concatenation
			y1 := conv(name+".a", x, 1+r.IntN(6), 1, 1, 0, 1, 1)
			y2 := conv(name+".b", x, 1+r.IntN(6), 3, 1, 1, 1, 1)
			x = b.Node1(name+".cat", &ir.Concat{Axis: 1}, y1, y2, x)
		case 10:
			x = b.Apply(name, ir.LocalResponseNorm(1+r.IntN(5), 1e-3, 0.75, 2), x)
		case 11: // scaled shortcut sum of two convolutions (Add of two conv outputs)
			y1 := conv(name+".a", x, c, 1, 1, 0, 1, 1)
			y2 := conv(name+".b", x, c, 3, 1, 1, 1, 1)
			x = b.Node1(name+".sum", &ir.Add{}, y1, y2)
		}
	}
	if r.IntN(2) == 0 && b.Err() == nil {
		x = b.Apply("pool", ir.GlobalAvgPool(), x)
		x = b.Apply("flatten", ir.FlattenLayer(), x)
		x = b.Apply("fc", ir.Linear(1+r.IntN(10)), x)
		if r.IntN(2) == 0 {
			x = b.Node1("softmax", &ir.Softmax{Axis: -1}, x)
		}
	}
	b.Output(x)
	return b.Graph()
}
