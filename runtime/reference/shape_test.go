package reference

import (
	"math"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

// shapeRun runs op on constant inputs (nil for an omitted one) through the
// interpreter's node path and returns its nOut outputs.
func shapeRun(op ir.Op, nOut int, in ...*ir.Tensor) ([]*ir.Tensor, error) {
	n := &ir.Node{Name: "n", Op: op}
	for i := 0; i < nOut; i++ {
		n.Outputs = append(n.Outputs, &ir.Value{Name: "y"})
	}
	for _, t := range in {
		if t == nil {
			n.Inputs = append(n.Inputs, nil)
			continue
		}
		n.Inputs = append(n.Inputs, &ir.Value{Type: t.Type(), Const: t})
	}
	return runNode(n, map[*ir.Value]*ir.Tensor{})
}

func shF(shape ir.Shape, v ...float32) *ir.Tensor { return ir.FromFloat32(shape, v) }
func shI(shape ir.Shape, v ...int64) *ir.Tensor   { return ir.FromInt64(shape, v) }
func shI32(shape ir.Shape, v ...int32) *ir.Tensor {
	return &ir.Tensor{DType: ir.Int32, Shape: shape, I32: v}
}
func shB(shape ir.Shape, v ...bool) *ir.Tensor {
	return &ir.Tensor{DType: ir.Bool, Shape: shape, Bool: v}
}

// shVec is a 1-D int64 tensor, the form of shape-like inputs.
func shVec(v ...int64) *ir.Tensor { return ir.FromInt64(ir.Shape{len(v)}, v) }

// shSeq returns a float32 tensor of the given shape holding 0, 1, 2, ...
func shSeq(shape ir.Shape) *ir.Tensor {
	t, _ := ir.NewTensor(ir.Float32, shape)
	for i := range t.F32 {
		t.F32[i] = float32(i)
	}
	return t
}

// shapeEqual reports whether got and want have the same type and exactly
// the same elements (NaN equal to NaN).
func shapeEqual(got, want *ir.Tensor) bool {
	if got.DType != want.DType || !got.Shape.Equal(want.Shape) || got.Len() != want.Len() {
		return false
	}
	for i := 0; i < want.Len(); i++ {
		switch want.DType {
		case ir.Int64:
			if got.I64[i] != want.I64[i] {
				return false
			}
		case ir.Int32:
			if got.I32[i] != want.I32[i] {
				return false
			}
		default:
			g, w := got.Float64At(i), want.Float64At(i)
			if g != w && !(math.IsNaN(g) && math.IsNaN(w)) {
				return false
			}
		}
	}
	return true
}

// shapeCheck runs op and compares its outputs with want.
func shapeCheck(t *testing.T, name string, op ir.Op, want []*ir.Tensor, in ...*ir.Tensor) {
	t.Helper()
	got, err := shapeRun(op, len(want), in...)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	for i := range want {
		if !shapeEqual(got[i], want[i]) {
			t.Errorf("%s: output %d = %v %v%v%v%v, want %v", name, i, got[i], got[i].F32, got[i].I64, got[i].I32, got[i].Bool, want[i])
		}
	}
}

// shapeFails runs op and checks that it fails with an error containing msg.
func shapeFails(t *testing.T, name string, op ir.Op, nOut int, msg string, in ...*ir.Tensor) {
	t.Helper()
	_, err := shapeRun(op, nOut, in...)
	if err == nil || !strings.Contains(err.Error(), msg) {
		t.Errorf("%s: err = %v, want it to contain %q", name, err, msg)
	}
}

func outs(t ...*ir.Tensor) []*ir.Tensor { return t }

func TestConcatKernel(t *testing.T) {
	shapeCheck(t, "axis 1", &ir.Concat{Axis: 1},
		outs(shF(ir.Shape{2, 3}, 1, 2, 9, 3, 4, 8)),
		shF(ir.Shape{2, 2}, 1, 2, 3, 4), shF(ir.Shape{2, 1}, 9, 8))
	shapeCheck(t, "axis 0 shape arithmetic", &ir.Concat{Axis: -1},
		outs(shVec(2, -1, 7)), shVec(2), shVec(-1), shVec(), shVec(7))
	shapeCheck(t, "bool 3-D middle", &ir.Concat{Axis: 1},
		outs(shB(ir.Shape{2, 2, 1}, true, false, false, true)),
		shB(ir.Shape{2, 1, 1}, true, false), shB(ir.Shape{2, 1, 1}, false, true))
	shapeCheck(t, "int32", &ir.Concat{Axis: 0},
		outs(shI32(ir.Shape{3}, 5, 6, 7)), shI32(ir.Shape{1}, 5), shI32(ir.Shape{2}, 6, 7))
}

func TestSplitKernel(t *testing.T) {
	x := shSeq(ir.Shape{2, 4})
	shapeCheck(t, "lengths", &ir.Split{Axis: 1, Split: []int{1, 3}, NumOutputs: 2},
		outs(shF(ir.Shape{2, 1}, 0, 4), shF(ir.Shape{2, 3}, 1, 2, 3, 5, 6, 7)), x)
	shapeCheck(t, "equal", &ir.Split{Axis: 0, NumOutputs: 2},
		outs(shF(ir.Shape{1, 4}, 0, 1, 2, 3), shF(ir.Shape{1, 4}, 4, 5, 6, 7)), x)
	shapeCheck(t, "input with zero", &ir.Split{Axis: -1, NumOutputs: 3},
		outs(shI(ir.Shape{0}), shI(ir.Shape{2}, 10, 11), shI(ir.Shape{1}, 12)), shVec(10, 11, 12), shVec(0, 2, 1))
	shapeFails(t, "bad lengths", &ir.Split{NumOutputs: 2}, 2, "sums to 4", shVec(1, 2, 3), shVec(2, 2))
}

func TestSliceKernel(t *testing.T) {
	x := shSeq(ir.Shape{2, 4}) // [[0 1 2 3] [4 5 6 7]]
	shapeCheck(t, "steps", &ir.Slice{}, outs(shF(ir.Shape{1, 2}, 4, 6)),
		x, shVec(1, 0), shVec(2, 3), shVec(0, 1), shVec(1, 2))
	shapeCheck(t, "reverse all", &ir.Slice{}, outs(shF(ir.Shape{2, 4}, 7, 6, 5, 4, 3, 2, 1, 0)),
		x, shVec(-1, math.MaxInt64), shVec(math.MinInt64, math.MinInt64), nil, shVec(-1, -1))
	shapeCheck(t, "negative axis step -2", &ir.Slice{}, outs(shF(ir.Shape{2, 2}, 3, 1, 7, 5)),
		x, shVec(math.MaxInt64), shVec(-5), shVec(-1), shVec(-2))
	shapeCheck(t, "attribute form", &ir.Slice{Starts: []int{0, 1}, Ends: []int{-1, 1000}}, outs(shF(ir.Shape{1, 3}, 1, 2, 3)), x)
	shapeCheck(t, "int32 args on int64 data", &ir.Slice{}, outs(shVec(20, 30)),
		shVec(10, 20, 30, 40), shI32(ir.Shape{1}, 1), shI32(ir.Shape{1}, -1))
	shapeCheck(t, "empty", &ir.Slice{}, outs(shF(ir.Shape{0, 4})), x, shVec(2), shVec(0))
}

func TestReshapeLikeKernels(t *testing.T) {
	x := shSeq(ir.Shape{2, 3})
	flat := shSeq(ir.Shape{6})
	shapeCheck(t, "reshape", &ir.Reshape{}, outs(shSeq(ir.Shape{3, 2})), x, shVec(-1, 2))
	shapeCheck(t, "reshape zero copies", &ir.Reshape{}, outs(shSeq(ir.Shape{2, 3, 1})), x, shVec(0, 0, -1))
	shapeCheck(t, "flatten", &ir.Flatten{Axis: 0}, outs(shSeq(ir.Shape{1, 6})), x)
	shapeCheck(t, "squeeze", &ir.Squeeze{}, outs(flat), shSeq(ir.Shape{1, 6, 1}))
	shapeCheck(t, "squeeze input", &ir.Squeeze{}, outs(shSeq(ir.Shape{6, 1})), shSeq(ir.Shape{1, 6, 1}), shVec(0))
	shapeCheck(t, "unsqueeze", &ir.Unsqueeze{}, outs(shI(ir.Shape{1}, 4)), shI(ir.Shape{}, 4), shVec(-1))
	shapeCheck(t, "identity", &ir.Identity{}, outs(shB(ir.Shape{2}, true, false)), shB(ir.Shape{2}, true, false))
	shapeFails(t, "reshape count", &ir.Reshape{}, 1, "has 6 elements", x, shVec(4))
	shapeFails(t, "reshape absurd", &ir.Reshape{}, 1, "more than 268435456 elements", x, shVec(1<<30, 1<<30, 0))
}

func TestTransposeKernel(t *testing.T) {
	shapeCheck(t, "default 2-D", &ir.Transpose{}, outs(shF(ir.Shape{3, 2}, 0, 3, 1, 4, 2, 5)), shSeq(ir.Shape{2, 3}))
	// y[i][j][k] = x[k][i][j] for perm [1,2,0] of x [2,3,2]: y is [3,2,2].
	x := shSeq(ir.Shape{2, 3, 2})
	want := make([]float32, 0, 12)
	for i := 0; i < 3; i++ {
		for j := 0; j < 2; j++ {
			for k := 0; k < 2; k++ {
				want = append(want, float32(k*6+i*2+j))
			}
		}
	}
	shapeCheck(t, "perm 3-D", &ir.Transpose{Perm: []int{1, 2, 0}}, outs(shF(ir.Shape{3, 2, 2}, want...)), x)
	shapeCheck(t, "int64 scalar", &ir.Transpose{}, outs(shI(ir.Shape{}, 3)), shI(ir.Shape{}, 3))
}

func TestDropoutKernel(t *testing.T) {
	x := shF(ir.Shape{3}, 1, -2, 3)
	shapeCheck(t, "plain", &ir.Dropout{Ratio: 0.5}, outs(x), x)
	shapeCheck(t, "bool mask", &ir.Dropout{Mask: ir.Bool}, outs(x, shB(ir.Shape{3}, true, true, true)), x)
	shapeCheck(t, "float mask", &ir.Dropout{Mask: ir.Float32}, outs(x, shF(ir.Shape{3}, 1, 1, 1)), x)
	shapeCheck(t, "inference mode", &ir.Dropout{Mask: ir.Bool}, outs(x, shB(ir.Shape{3}, true, true, true)),
		x, shF(ir.Shape{}, 0.7), shB(ir.Shape{}, false))
	shapeCheck(t, "training with ratio 0", &ir.Dropout{}, outs(x), x, shF(ir.Shape{}, 0), shB(ir.Shape{}, true))
	_, err := shapeRun(&ir.Dropout{}, 1, x, shF(ir.Shape{}, 0.1), shB(ir.Shape{}, true))
	if !ir.IsUnsupported(err) {
		t.Errorf("training dropout: err = %v, want unsupported", err)
	}
}

func TestConstantOfShapeKernel(t *testing.T) {
	shapeCheck(t, "int64", &ir.ConstantOfShape{Value: shI(ir.Shape{1}, 7)}, outs(shI(ir.Shape{2, 3}, 7, 7, 7, 7, 7, 7)), shVec(2, 3))
	shapeCheck(t, "scalar", &ir.ConstantOfShape{Value: shF(ir.Shape{1}, 0)}, outs(shF(ir.Shape{}, 0)), shVec())
	shapeCheck(t, "bool empty", &ir.ConstantOfShape{Value: shB(ir.Shape{1}, true)}, outs(shB(ir.Shape{2, 0})), shVec(2, 0))
	shapeFails(t, "absurd", &ir.ConstantOfShape{Value: shF(ir.Shape{1}, 0)}, 1, "more than", shVec(1<<40))
}

func TestShapeOfKernel(t *testing.T) {
	x := shSeq(ir.Shape{2, 3, 4})
	shapeCheck(t, "all", &ir.ShapeOp{End: math.MaxInt}, outs(shVec(2, 3, 4)), x)
	shapeCheck(t, "last two", &ir.ShapeOp{Start: -2, End: math.MaxInt}, outs(shVec(3, 4)), x)
	shapeCheck(t, "middle", &ir.ShapeOp{Start: 1, End: -1}, outs(shVec(3)), x)
	shapeCheck(t, "scalar", &ir.ShapeOp{End: math.MaxInt}, outs(shVec()), shB(ir.Shape{}, true))
}

func TestGatherKernel(t *testing.T) {
	x := shSeq(ir.Shape{3, 2}) // [[0 1] [2 3] [4 5]]
	shapeCheck(t, "axis 0 2-D indices", &ir.Gather{}, outs(shF(ir.Shape{2, 2, 2}, 0, 1, 2, 3, 2, 3, 4, 5)),
		x, shI(ir.Shape{2, 2}, 0, 1, 1, 2))
	shapeCheck(t, "axis 1 int32 negative", &ir.Gather{Axis: 1}, outs(shF(ir.Shape{3, 2}, 1, 0, 3, 2, 5, 4)),
		x, shI32(ir.Shape{2}, -1, 0))
	shapeCheck(t, "scalar index of shape", &ir.Gather{}, outs(shI(ir.Shape{}, 7)), shVec(5, 7, 9), shI(ir.Shape{}, -2))
	shapeCheck(t, "no indices", &ir.Gather{}, outs(shF(ir.Shape{0, 2})), x, shVec())
	shapeFails(t, "out of range", &ir.Gather{}, 1, "index 3 is out of range", x, shVec(3))
}

func TestCastKernel(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	f := shF(ir.Shape{8}, -2.7, 2.7, -0.5, 0, nan, inf, -1e20, 3e9)
	shapeCheck(t, "f32 to i64", &ir.Cast{To: ir.Int64},
		outs(shI(ir.Shape{8}, -2, 2, 0, 0, 0, math.MaxInt64, math.MinInt64, 3e9)), f)
	shapeCheck(t, "f32 to i32", &ir.Cast{To: ir.Int32},
		outs(shI32(ir.Shape{8}, -2, 2, 0, 0, 0, math.MaxInt32, math.MinInt32, math.MaxInt32)), f)
	shapeCheck(t, "f32 to bool", &ir.Cast{To: ir.Bool},
		outs(shB(ir.Shape{8}, true, true, true, false, true, true, true, true)), f)
	shapeCheck(t, "i64 to i32 keeps low bits", &ir.Cast{To: ir.Int32},
		outs(shI32(ir.Shape{3}, 5, -1, -2147483648)), shVec(1<<32+5, -1, 1<<31))
	shapeCheck(t, "i64 to f32", &ir.Cast{To: ir.Float32}, outs(shF(ir.Shape{2}, -3, 16777216)), shVec(-3, 1<<24))
	shapeCheck(t, "i32 to i64", &ir.Cast{To: ir.Int64}, outs(shVec(-7, 2147483647)), shI32(ir.Shape{2}, -7, 2147483647))
	shapeCheck(t, "i64 to bool", &ir.Cast{To: ir.Bool}, outs(shB(ir.Shape{3}, true, false, true)), shVec(-1, 0, 1<<40))
	shapeCheck(t, "bool to f32", &ir.Cast{To: ir.Float32}, outs(shF(ir.Shape{2}, 1, 0)), shB(ir.Shape{2}, true, false))
	shapeCheck(t, "bool to i64", &ir.Cast{To: ir.Int64}, outs(shVec(0, 1)), shB(ir.Shape{2}, false, true))
	shapeCheck(t, "same type", &ir.Cast{To: ir.Int32}, outs(shI32(ir.Shape{1}, 4)), shI32(ir.Shape{1}, 4))
}

func TestPadKernel(t *testing.T) {
	row := shF(ir.Shape{1, 3}, 1, 2, 3)
	shapeCheck(t, "constant attr", &ir.Pad{Pads: []int{1, 0, 0, 1}, Value: 9},
		outs(shF(ir.Shape{2, 4}, 9, 9, 9, 9, 1, 2, 3, 9)), row)
	shapeCheck(t, "reflect", &ir.Pad{Mode: ir.PadReflect}, outs(shF(ir.Shape{1, 7}, 3, 2, 1, 2, 3, 2, 1)), row, shVec(0, 2, 0, 2))
	shapeCheck(t, "reflect beyond the size", &ir.Pad{Mode: ir.PadReflect, Pads: []int{0, 5, 0, 0}},
		outs(shF(ir.Shape{1, 8}, 2, 1, 2, 3, 2, 1, 2, 3)), row)
	shapeCheck(t, "reflect size 1", &ir.Pad{Mode: ir.PadReflect, Pads: []int{2, 1}}, outs(shF(ir.Shape{4}, 5, 5, 5, 5)), shF(ir.Shape{1}, 5))
	shapeCheck(t, "edge 2-D", &ir.Pad{Mode: ir.PadEdge, Pads: []int{1, 2, 0, 1}},
		outs(shF(ir.Shape{3, 6}, 1, 1, 1, 2, 3, 3, 1, 1, 1, 2, 3, 3, 4, 4, 4, 5, 6, 6)),
		shF(ir.Shape{2, 3}, 1, 2, 3, 4, 5, 6))
	shapeCheck(t, "crop", &ir.Pad{}, outs(shF(ir.Shape{1, 1}, 2)), row, shVec(0, -1, 0, -1))
	// Crop first, then reflect what is left: [2 3 4 5] + 2 reflected.
	shapeCheck(t, "crop then reflect", &ir.Pad{Mode: ir.PadReflect}, outs(shF(ir.Shape{6}, 2, 3, 4, 5, 4, 3)),
		shF(ir.Shape{5}, 1, 2, 3, 4, 5), shVec(-1, 2))
	// Crop 3 at the end, leaving [1 2], then repeat the first element twice.
	shapeCheck(t, "crop then edge", &ir.Pad{Mode: ir.PadEdge}, outs(shF(ir.Shape{4}, 1, 1, 1, 2)),
		shF(ir.Shape{5}, 1, 2, 3, 4, 5), shVec(2, -3))
	shapeCheck(t, "int64 constant input", &ir.Pad{}, outs(shVec(-4, 7, 8, -4)), shVec(7, 8), shVec(1, 1), shI(ir.Shape{}, -4))
	shapeCheck(t, "int32 attr value", &ir.Pad{Pads: []int{1, 0}, Value: 2.9}, outs(shI32(ir.Shape{2}, 2, 6)), shI32(ir.Shape{1}, 6))
	shapeCheck(t, "bool", &ir.Pad{}, outs(shB(ir.Shape{3}, false, true, false)), shB(ir.Shape{1}, true), shVec(1, 1))
	shapeFails(t, "too much crop", &ir.Pad{}, 1, "remove more than", row, shVec(0, -2, 0, -2))
}

// TestShapeArithmeticGraph runs the pattern PyTorch exports for
// x.view(x.size(0), -1): Shape -> Gather -> Unsqueeze -> Concat -> Reshape,
// with a symbolic batch size.
func TestShapeArithmeticGraph(t *testing.T) {
	x := &ir.Value{Name: "x", Type: ir.Type{DType: ir.Float32, Shape: ir.Shape{-1, 3, 2}}}
	idx := &ir.Value{Name: "i0", Type: ir.Type{DType: ir.Int64, Shape: ir.Shape{}}, Const: shI(ir.Shape{}, 0)}
	ax := &ir.Value{Name: "ax", Type: ir.Type{DType: ir.Int64, Shape: ir.Shape{1}}, Const: shVec(0)}
	m1 := &ir.Value{Name: "m1", Type: ir.Type{DType: ir.Int64, Shape: ir.Shape{1}}, Const: shVec(-1)}
	s, n, n1, shp, y := &ir.Value{Name: "s"}, &ir.Value{Name: "n"}, &ir.Value{Name: "n1"}, &ir.Value{Name: "shp"}, &ir.Value{Name: "y"}
	g := &ir.Graph{Name: "view", Opset: 13, Inputs: []*ir.Value{x}, Outputs: []*ir.Value{y}, Nodes: []*ir.Node{
		{Name: "shape", Op: &ir.ShapeOp{End: math.MaxInt}, Inputs: []*ir.Value{x}, Outputs: []*ir.Value{s}},
		{Name: "gather", Op: &ir.Gather{}, Inputs: []*ir.Value{s, idx}, Outputs: []*ir.Value{n}},
		{Name: "unsqueeze", Op: &ir.Unsqueeze{}, Inputs: []*ir.Value{n, ax}, Outputs: []*ir.Value{n1}},
		{Name: "concat", Op: &ir.Concat{Axis: 0}, Inputs: []*ir.Value{n1, m1}, Outputs: []*ir.Value{shp}},
		{Name: "reshape", Op: &ir.Reshape{}, Inputs: []*ir.Value{x, shp}, Outputs: []*ir.Value{y}},
	}}
	if err := g.InferTypes(); err != nil {
		t.Fatal(err)
	}
	if want := (ir.Shape{-1, -1}); !y.Type.Shape.Equal(want) || shp.Type.Shape[0] != 2 {
		t.Errorf("static types: y %v, shape %v; want y f32%v and a shape of 2", y.Type, shp.Type, want)
	}
	got, err := Run(g, map[string]*ir.Tensor{"x": shSeq(ir.Shape{4, 3, 2})})
	if err != nil {
		t.Fatal(err)
	}
	if !shapeEqual(got[0], shSeq(ir.Shape{4, 6})) {
		t.Errorf("got %v, want f32[4,6] 0..23", got[0])
	}
}
