package passes

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

// dynamicReshapeGraph is PyTorch's dynamic-batch flatten as exported to
// ONNX: y = conv(x); y.reshape(y.shape[0], -1) computed as Shape ->
// Gather -> Unsqueeze -> Concat -> Reshape.
func dynamicReshapeGraph(t *testing.T) *ir.Graph {
	b := ir.NewBuilder("dyn", 1)
	x := b.Input("x", -1, 3, 4, 4)
	y := b.Apply("conv", ir.Conv2d(2, 3, ir.Padding(1)), x)
	shape := b.Node1("shape", &ir.ShapeOp{End: math.MaxInt}, y)
	batch := b.Node1("gather", &ir.Gather{}, shape, b.Const("zero", ir.FromInt64(ir.Shape{}, []int64{0})))
	batch = b.Node1("unsqueeze", &ir.Unsqueeze{}, batch, b.Const("axes", ir.FromInt64(ir.Shape{1}, []int64{0})))
	spec := b.Node1("concat", &ir.Concat{}, batch, b.Const("minus_one", ir.FromInt64(ir.Shape{1}, []int64{-1})))
	b.Output(b.Node1("reshape", &ir.Reshape{}, y, spec))
	return build(t, b)
}

func TestConstfoldDynamicReshape(t *testing.T) {
	g := dynamicReshapeGraph(t)
	wantIR(t, g, `
		input %x: f32[?,3,4,4]
		const %conv.weight: f32[2,3,3,3]
		const %conv.bias: f32[2]
		const %zero: i64[]
		const %axes: i64[1]
		const %minus_one: i64[1]
		%conv: f32[?,2,4,4] = Conv(%x, %conv.weight, %conv.bias)
		%shape: i64[4] = Shape(%conv)
		%gather: i64[] = Gather(%shape, %zero)
		%unsqueeze: i64[1] = Unsqueeze(%gather, %axes)
		%concat: i64[2] = Concat(%unsqueeze, %minus_one)
		%reshape: f32[?,?] = Reshape(%conv, %concat)
		output %reshape`)
	got := runOnly(t, g, Options{Batch: 2}, "shapes", "constfold")
	wantIR(t, got, `
		input %x: f32[2,3,4,4]
		const %conv.weight: f32[2,3,3,3]
		const %conv.bias: f32[2]
		const %concat: i64[2]
		%conv: f32[2,2,4,4] = Conv(%x, %conv.weight, %conv.bias)
		%reshape: f32[2,32] = Reshape(%conv, %concat)
		output %reshape`)
	if v := got.Nodes[1].Inputs[1].Const; v == nil || !slices.Equal(v.I64, []int64{2, -1}) {
		t.Errorf("folded shape %v, want [2 -1]", v)
	}
	sameOutputs(t, g, got, 1e-5)
}

// TestConstfoldPartialShape: a Shape of the known dimensions of a value
// with an unknown batch folds even without a fixed batch.
func TestConstfoldPartialShape(t *testing.T) {
	b := ir.NewBuilder("partial", 1)
	x := b.Input("x", -1, 3, 4, 4)
	s := b.Node1("shape", &ir.ShapeOp{Start: 1, End: math.MaxInt}, x)
	b.Output(s)
	got := runOnly(t, build(t, b), Options{}, "shapes", "constfold")
	wantIR(t, got, `
		input %x: f32[?,3,4,4]
		const %shape: i64[3]
		output %shape`)
	if v := got.Outputs[0].Const; v == nil || !slices.Equal(v.I64, []int64{3, 4, 4}) {
		t.Errorf("folded output %v, want [3 4 4]", v)
	}
}

func TestConstfoldConstantsAndArithmetic(t *testing.T) {
	// y = x * (Constant 2 + c 3) + Unsqueeze(c [4 5]) computed from constants.
	b := ir.NewBuilder("arith", 1)
	x := b.Input("x", 1, 2, 1, 1)
	two := b.Node1("two", &ir.Constant{Value: ir.FromFloat32(ir.Shape{1}, []float32{2})})
	k := b.Node1("k", &ir.Add{}, two, b.Const("three", ir.FromFloat32(ir.Shape{1}, []float32{3})))
	shift := b.Node1("shift", &ir.Unsqueeze{}, b.Const("c", ir.FromFloat32(ir.Shape{2}, []float32{4, 5})),
		b.Const("axes", ir.FromInt64(ir.Shape{2}, []int64{1, 2})))
	y := b.Node1("mul", &ir.Mul{}, x, k)
	b.Output(b.Node1("add", &ir.Add{}, y, shift))
	g := build(t, b)
	got := runOnly(t, g, Options{}, "shapes", "constfold")
	wantIR(t, got, `
		input %x: f32[1,2,1,1]
		const %k: f32[1]
		const %shift: f32[2,1,1]
		%mul: f32[1,2,1,1] = Mul(%x, %k)
		%add: f32[1,2,1,1] = Add(%mul, %shift)
		output %add`)
	if v := got.Nodes[0].Inputs[1].Const.F32; !slices.Equal(v, []float32{5}) {
		t.Errorf("k = %v, want [5]", v)
	}
	sameOutputs(t, g, got, 1e-5)
}

// TestConstfoldTooLarge: a ConstantOfShape of more than 1<<24 elements is
// left as a node.
func TestConstfoldTooLarge(t *testing.T) {
	b := ir.NewBuilder("large", 1)
	x := b.Input("x", 1)
	big := b.Node1("big", &ir.ConstantOfShape{Value: ir.FromFloat32(ir.Shape{1}, []float32{1})},
		b.Const("shape", ir.FromInt64(ir.Shape{1}, []int64{1<<24 + 1})))
	small := b.Node1("small", &ir.ConstantOfShape{Value: ir.FromFloat32(ir.Shape{1}, []float32{1})},
		b.Const("one", ir.FromInt64(ir.Shape{1}, []int64{1})))
	b.Output(b.Node1("add", &ir.Add{}, x, small), big)
	var log strings.Builder
	got := runOnly(t, build(t, b), Options{Log: &log}, "shapes", "constfold")
	wantIR(t, got, `
		input %x: f32[1]
		const %shape: i64[1]
		const %small: f32[1]
		%big: f32[16777217] = ConstantOfShape(%shape)
		%add: f32[1] = Add(%x, %small)
		output %add
		output %big`)
	if want := "constfold: 1 node folded (ConstantOfShape 1), 1 left: results above 16777216 elements"; !strings.Contains(log.String(), want) {
		t.Errorf("log:\n%s\nwant a line starting %q", log.String(), want)
	}
}

// TestConstfoldError: an integer division by zero among constants fails
// the compile at its node, as running it would.
func TestConstfoldError(t *testing.T) {
	b := ir.NewBuilder("div", 1)
	x := b.Input("x", 1)
	q := b.Node1("div", &ir.Div{}, b.Const("a", ir.FromInt64(ir.Shape{1}, []int64{1})), b.Const("b", ir.FromInt64(ir.Shape{1}, []int64{0})))
	b.Output(x, q)
	_, err := runOnlyErr(build(t, b), Options{}, "shapes", "constfold")
	if err == nil || !strings.HasPrefix(err.Error(), `invalid model: node "div" (Div): pass constfold: constant folding: `) {
		t.Errorf("error %v, want one at node div in pass constfold", err)
	}
}
