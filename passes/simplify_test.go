package passes

import (
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

func TestSimplifyIdentities(t *testing.T) {
	b := ir.NewBuilder("ids", 1)
	x := b.Input("x", 1, 2, 4, 4)
	y := b.Apply("conv", ir.Conv2d(2, 1), x)
	y = b.Node1("identity", &ir.Identity{}, y)
	y = b.Node1("dropout", &ir.Dropout{Ratio: 0.5}, y)
	y = b.Node1("sd", &ir.StochasticDepth{Survival: 0.8}, y)
	y = b.Node1("cast", &ir.Cast{To: ir.Float32}, y)
	y = b.Node1("reshape", &ir.Reshape{}, y, b.Const("same", ir.FromInt64(ir.Shape{4}, []int64{1, 2, -1, 4})))
	y = b.Node1("pad", &ir.Pad{}, y, b.Const("zeros", ir.FromInt64(ir.Shape{8}, make([]int64, 8))))
	y = b.Node1("transpose", &ir.Transpose{Perm: []int{0, 1, 2, 3}}, y)
	y = b.Node1("concat", &ir.Concat{Axis: 1}, y)
	y = b.Apply("relu", ir.ReLU(), y)
	flat := b.Node1("flatten", &ir.Flatten{Axis: 1}, y)
	flat = b.Node1("flatten2", &ir.Flatten{Axis: 1}, flat)
	b.Output(b.Node1("out", &ir.Identity{}, flat))
	g := build(t, b)
	var log strings.Builder
	got := runOnly(t, g, Options{Log: &log}, "simplify")
	wantIR(t, got, `
		input %x: f32[1,2,4,4]
		const %conv.weight: f32[2,2,1,1]
		const %conv.bias: f32[2]
		%conv: f32[1,2,4,4] = Conv(%x, %conv.weight, %conv.bias)
		%relu: f32[1,2,4,4] = Relu(%conv)
		%out: f32[1,32] = Flatten(%relu)
		output %out`)
	want := "simplify: 10 identities removed (Identity 2, Cast 1, Concat 1, Dropout 1, Flatten 1, Pad 1, Reshape 1, StochasticDepth 1, Transpose 1) ("
	if !strings.HasPrefix(log.String(), want) {
		t.Errorf("log %q, want it to start %q", log.String(), want)
	}
	sameOutputs(t, g, got, 1e-5)
}

// TestSimplifyOutputNames: removing an identity whose output is a graph
// output renames its input; when the input is a graph input (or already an
// output), the identity stays.
func TestSimplifyOutputNames(t *testing.T) {
	b := ir.NewBuilder("names", 1)
	x := b.Input("x", 1, 2)
	r := b.Apply("relu", ir.ReLU(), x)
	b.Output(
		b.Node1("copy_of_input", &ir.Identity{}, x),
		r,
		b.Node1("copy_of_output", &ir.Identity{}, r),
		b.Node1("sig", &ir.Identity{}, b.Node1("s", &ir.Sigmoid{}, x)),
	)
	g := build(t, b)
	got := runOnly(t, g, Options{}, "simplify")
	wantIR(t, got, `
		input %x: f32[1,2]
		%relu: f32[1,2] = Relu(%x)
		%copy_of_input: f32[1,2] = Identity(%x)
		%copy_of_output: f32[1,2] = Identity(%relu)
		%sig: f32[1,2] = Sigmoid(%x)
		output %copy_of_input
		output %relu
		output %copy_of_output
		output %sig`)
	sameOutputs(t, g, got, 1e-5)
}

// TestSimplifyKeeps: nodes that look like identities but are not.
func TestSimplifyKeeps(t *testing.T) {
	b := ir.NewBuilder("keeps", 1)
	x := b.Input("x", 1, 2, 3)
	d := b.Node("dropout", &ir.Dropout{Mask: ir.Bool}, 2, x) // mask used
	c := b.Node1("cast", &ir.Cast{To: ir.Int64}, d[0])
	p := b.Node1("pad", &ir.Pad{}, x, b.Const("pads", ir.FromInt64(ir.Shape{6}, []int64{0, 0, 1, 0, 0, -1})))
	tr := b.Node1("transpose", &ir.Transpose{}, b.Node1("r", &ir.Reshape{}, x, b.Const("s", ir.FromInt64(ir.Shape{3}, []int64{1, 3, 2}))))
	b.Node1("dead", &ir.Sigmoid{}, x)
	b.Output(d[1], c, p, tr)
	got := runOnly(t, build(t, b), Options{}, "simplify")
	wantIR(t, got, `
		input %x: f32[1,2,3]
		const %pads: i64[6]
		const %s: i64[3]
		%dropout: f32[1,2,3], %dropout:1: bool[1,2,3] = Dropout(%x)
		%cast: i64[1,2,3] = Cast(%dropout)
		%pad: f32[1,2,3] = Pad(%x, %pads)
		%r: f32[1,3,2] = Reshape(%x, %s)
		%transpose: f32[2,3,1] = Transpose(%r)
		output %dropout:1
		output %cast
		output %pad
		output %transpose`)
}
