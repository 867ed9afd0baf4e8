package passes

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/reference"
)

// runOnly runs the named passes of the table, in table order, on a clone
// of g with Verify on, and returns the result.
func runOnly(t *testing.T, g *ir.Graph, opts Options, names ...string) *ir.Graph {
	t.Helper()
	got, err := runOnlyErr(g, opts, names...)
	if err != nil {
		t.Fatalf("passes %v: %v", names, err)
	}
	return got
}

// runOnlyErr is runOnly returning the error.
func runOnlyErr(g *ir.Graph, opts Options, names ...string) (*ir.Graph, error) {
	var table []pass
	for _, p := range passes {
		for _, name := range names {
			if p.name == name {
				table = append(table, p)
			}
		}
	}
	if len(table) != len(names) {
		return nil, fmt.Errorf("runOnly: unknown pass among %v", names)
	}
	opts.Verify = true
	return run(g, opts, table)
}

// compact prints g one line per input, constant, node and output, like
// ir.Print without node names and with ops reduced to their type, plus
// the settings the passes make on fused ops: act, residual and algorithm.
//
//	input %x: f32[1,3,8,8]
//	const %w: f32[4,3,3,3]
//	%y: f32[1,4,8,8] = cnnc.FusedConv[relu](%x, %w, _)
//	output %y
func compact(g *ir.Graph) string {
	var b strings.Builder
	for _, v := range g.Inputs {
		fmt.Fprintf(&b, "input %%%s: %v\n", v.Name, v.Type)
	}
	for _, v := range g.Constants() {
		fmt.Fprintf(&b, "const %%%s: %v\n", v.Name, v.Type)
	}
	for _, n := range g.Nodes {
		outs := make([]string, len(n.Outputs))
		for i, v := range n.Outputs {
			outs[i] = fmt.Sprintf("%%%s: %v", v.Name, v.Type)
		}
		ins := make([]string, len(n.Inputs))
		for i, v := range n.Inputs {
			ins[i] = "_"
			if v != nil {
				ins[i] = "%" + v.Name
			}
		}
		fmt.Fprintf(&b, "%s = %s(%s)\n", strings.Join(outs, ", "), compactOp(n.Op), strings.Join(ins, ", "))
	}
	for _, v := range g.Outputs {
		fmt.Fprintf(&b, "output %%%s\n", v.Name)
	}
	return b.String()
}

// compactOp prints an op's type and, for fused ops, their activation and
// algorithm when set: cnnc.FusedConv[relu,im2col].
func compactOp(op ir.Op) string {
	var attrs []string
	act := func(a ir.Activation) {
		switch a.Kind {
		case ir.ActNone:
		case ir.ActClip:
			attrs = append(attrs, fmt.Sprintf("clip(%v,%v)", a.Min, a.Max))
		default:
			attrs = append(attrs, a.Kind.String())
		}
	}
	switch op := op.(type) {
	case *ir.FusedConv:
		act(op.Act)
		if op.Algo != ir.AlgoAuto {
			attrs = append(attrs, op.Algo.String())
		}
	case *ir.FusedGemm:
		act(op.Act)
	case *ir.ChannelAffine:
		act(op.Act)
	}
	if len(attrs) == 0 {
		return op.OpType()
	}
	return op.OpType() + "[" + strings.Join(attrs, ",") + "]"
}

// wantIR compares compact(g) with want, ignoring leading tabs and blank
// lines so that want can be indented inline.
func wantIR(t *testing.T, g *ir.Graph, want string) {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(want, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	w := strings.Join(lines, "\n") + "\n"
	if got := compact(g); got != w {
		t.Errorf("got:\n%s\nwant:\n%s", got, w)
	}
}

// randomInputs makes a seeded random tensor for each input of g, whose
// shapes must be known: float32 uniform in [-1, 1).
func randomInputs(t *testing.T, g *ir.Graph, seed uint64) map[string]*ir.Tensor {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 17))
	in := map[string]*ir.Tensor{}
	for _, v := range g.Inputs {
		x, err := ir.NewTensor(v.Type.DType, v.Type.Shape)
		if err != nil {
			t.Fatalf("input %q: %v", v.Name, err)
		}
		for i := range x.F32 {
			x.F32[i] = float32(2*rng.Float64() - 1)
		}
		in[v.Name] = x
	}
	return in
}

// sameOutputs runs before and after on one seeded random input (shaped
// as after's inputs) with the reference interpreter and checks that the
// outputs agree: same names, shapes, and values within rtol relative to
// the larger of the element and the output's largest magnitude (so that
// rounding differences near zero, where folding cancels large terms,
// pass).
func sameOutputs(t *testing.T, before, after *ir.Graph, rtol float64) {
	t.Helper()
	in := randomInputs(t, after, 1)
	want, err := reference.Run(before, in)
	if err != nil {
		t.Fatalf("reference.Run(before): %v", err)
	}
	got, err := reference.Run(after, in)
	if err != nil {
		t.Fatalf("reference.Run(after): %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d outputs, want %d", len(got), len(want))
	}
	for i := range want {
		if a, b := after.Outputs[i].Name, before.Outputs[i].Name; a != b {
			t.Errorf("output %d is named %q, want %q", i, a, b)
		}
		if !got[i].Shape.Equal(want[i].Shape) || got[i].DType != want[i].DType {
			t.Errorf("output %d: got %v, want %v", i, got[i].Type(), want[i].Type())
			continue
		}
		scale := 0.0
		for k := range want[i].Len() {
			scale = math.Max(scale, math.Abs(want[i].Float64At(k)))
		}
		worst, at := 0.0, -1
		for k := range want[i].Len() {
			g, w := got[i].Float64At(k), want[i].Float64At(k)
			d := math.Abs(g - w)
			if math.IsNaN(g) != math.IsNaN(w) || d > rtol*(math.Abs(w)+scale) {
				if d > worst || at < 0 {
					worst, at = d, k
				}
			}
		}
		if at >= 0 {
			t.Errorf("output %d (%s): element %d is %v, want %v (|diff| %.3g, output scale %.3g, rtol %g)",
				i, want[i].Type(), at, got[i].Float64At(at), want[i].Float64At(at), worst, scale, rtol)
		}
	}
}

// randBN is a batch norm layer with random statistics (var in [0.5,
// 1.5)), so that folding it changes the numbers.
func randBN() ir.Layer {
	return func(b *ir.Builder, x *ir.Value) *ir.Value {
		c := x.Type.Shape[1]
		gamma, beta := b.Uniform("weight", 1, c), b.Uniform("bias", 1, c)
		mean, variance := b.Uniform("running_mean", 1, c), b.Uniform("running_var", 0.5, c)
		for i := range variance.Const.F32 {
			variance.Const.F32[i] += 1
		}
		return b.Node1("", &ir.BatchNormalization{Epsilon: 1e-5, Momentum: 0.9}, x, gamma, beta, mean, variance)
	}
}

// randomizeBN gives every BatchNormalization of g random statistics, in
// new tensors, so that the zoo's (1, 0, 0, 1) initialization does not make
// folding trivially exact.
func randomizeBN(g *ir.Graph, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	for _, n := range g.Nodes {
		if _, ok := n.Op.(*ir.BatchNormalization); !ok {
			continue
		}
		for i := 1; i < len(n.Inputs) && i <= 4; i++ {
			v := n.Inputs[i]
			if v == nil || v.Const == nil || v.Const.DType != ir.Float32 {
				continue
			}
			t := v.Const.Clone()
			for k := range t.F32 {
				r := rng.Float64()
				switch i {
				case 1: // gamma
					t.F32[k] = float32(0.5 + r)
				case 2, 3: // beta, mean
					t.F32[k] = float32(r - 0.5)
				case 4: // var
					t.F32[k] = float32(0.5 + r)
				}
			}
			v.Const = t
		}
	}
}

// build finishes a builder and fails the test on error.
func build(t *testing.T, b *ir.Builder) *ir.Graph {
	t.Helper()
	g, err := b.Graph()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// countOps counts g's nodes by compactOp.
func countOps(g *ir.Graph) map[string]int {
	m := map[string]int{}
	for _, n := range g.Nodes {
		m[compactOp(n.Op)]++
	}
	return m
}

// raceEnabled is set when the race detector is on (race_test.go).
var raceEnabled bool

// passCase is a before/after test of one pass: a graph built on an input
// of the given shape, the printed graph the pass must leave, and the start
// of its log line.
type passCase struct {
	name  string
	build func(b *ir.Builder, x *ir.Value) *ir.Value
	input []int
	want  string
	log   string
}

// runPassCases runs pass alone on each case's graph (builder seed seed)
// and checks the printed result, the log line, and that the reference
// interpreter gives the same outputs before and after (rtol 1e-5).
func runPassCases(t *testing.T, pass string, seed uint64, tests []passCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := ir.NewBuilder(pass, seed)
			b.Output(tt.build(b, b.Input("x", tt.input...)))
			g := build(t, b)
			var log strings.Builder
			got := runOnly(t, g, Options{Log: &log}, pass)
			wantIR(t, got, tt.want)
			if !strings.HasPrefix(log.String(), tt.log+" (") {
				t.Errorf("log %q, want it to start %q", log.String(), tt.log)
			}
			sameOutputs(t, g, got, 1e-5)
		})
	}
}
