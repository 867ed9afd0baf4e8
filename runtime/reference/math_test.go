package reference

import (
	"math"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

// mathRun runs op on constant inputs (nil for an omitted one) through the
// interpreter's node path and returns its one output.
func mathRun(op ir.Op, in ...*ir.Tensor) (*ir.Tensor, error) {
	n := &ir.Node{Name: "n", Op: op, Outputs: []*ir.Value{{Name: "y"}}}
	for _, t := range in {
		if t == nil {
			n.Inputs = append(n.Inputs, nil)
			continue
		}
		n.Inputs = append(n.Inputs, &ir.Value{Type: t.Type(), Const: t})
	}
	out, err := runNode(n, map[*ir.Value]*ir.Tensor{})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

func mathF(shape ir.Shape, v ...float32) *ir.Tensor { return ir.FromFloat32(shape, v) }
func mathI(shape ir.Shape, v ...int64) *ir.Tensor   { return ir.FromInt64(shape, v) }
func mathI32(shape ir.Shape, v ...int32) *ir.Tensor {
	return &ir.Tensor{DType: ir.Int32, Shape: shape, I32: v}
}

// mathCheck runs op and compares the output with want: same type and
// values within 1e-6 relative (NaN equals NaN).
func mathCheck(t *testing.T, name string, op ir.Op, want *ir.Tensor, in ...*ir.Tensor) {
	t.Helper()
	got, err := mathRun(op, in...)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	if got.DType != want.DType || !got.Shape.Equal(want.Shape) || got.Len() != want.Len() {
		t.Errorf("%s: got %v, want %v", name, got, want)
		return
	}
	for i := 0; i < want.Len(); i++ {
		g, w := got.Float64At(i), want.Float64At(i)
		if math.IsNaN(g) && math.IsNaN(w) {
			continue
		}
		if g != w && math.Abs(g-w) > 1e-6*math.Max(1, math.Abs(w)) {
			t.Errorf("%s: element %d = %v, want %v", name, i, g, w)
			return
		}
	}
}

func TestSoftmaxKernel(t *testing.T) {
	ln := func(x float64) float32 { return float32(math.Log(x)) }
	mathCheck(t, "last axis", &ir.Softmax{Axis: -1},
		mathF(ir.Shape{2, 3}, 0.09003057, 0.24472847, 0.66524096, 1.0/3, 1.0/3, 1.0/3),
		mathF(ir.Shape{2, 3}, 1, 2, 3, 0, 0, 0))
	// x[0] = ln 1..4 in row-major order of a [2,2,2] tensor, x[1] = 0.
	x := mathF(ir.Shape{2, 2, 2}, ln(1), ln(2), ln(3), ln(4), 0, 0, 0, 0)
	// Coerced at axis 1: each [2,2] block is one group of 4.
	mathCheck(t, "coerce2d axis 1", &ir.Softmax{Axis: 1, Coerce2D: true},
		mathF(ir.Shape{2, 2, 2}, 0.1, 0.2, 0.3, 0.4, 0.25, 0.25, 0.25, 0.25), x)
	// Along axis 1: pairs (1,3) and (2,4) in the first block.
	mathCheck(t, "along axis 1", &ir.Softmax{Axis: 1},
		mathF(ir.Shape{2, 2, 2}, 0.25, 2.0/6, 0.75, 4.0/6, 0.5, 0.5, 0.5, 0.5), x)
	// Coerced at axis 0: the whole tensor is one group (sum 10+4).
	mathCheck(t, "coerce2d axis 0", &ir.Softmax{Axis: 0, Coerce2D: true},
		mathF(ir.Shape{2, 2, 2}, 1.0/14, 2.0/14, 3.0/14, 4.0/14, 1.0/14, 1.0/14, 1.0/14, 1.0/14), x)
	mathCheck(t, "log coerce2d", &ir.LogSoftmax{Axis: -2, Coerce2D: true},
		mathF(ir.Shape{2, 2, 2}, ln(0.1), ln(0.2), ln(0.3), ln(0.4), ln(0.25), ln(0.25), ln(0.25), ln(0.25)), x)
	mathCheck(t, "log large", &ir.LogSoftmax{Axis: -1},
		mathF(ir.Shape{1, 2}, -float32(math.Ln2), -float32(math.Ln2)), mathF(ir.Shape{1, 2}, 1e30, 1e30))
	mathCheck(t, "large", &ir.Softmax{Axis: 0},
		mathF(ir.Shape{3}, 0, 0.5, 0.5), mathF(ir.Shape{3}, -1e30, 1e30, 1e30))
	mathCheck(t, "empty", &ir.Softmax{Axis: 1}, mathF(ir.Shape{2, 0}), mathF(ir.Shape{2, 0}))
}

func TestGemmKernel(t *testing.T) {
	a := mathF(ir.Shape{2, 2}, 1, 2, 3, 4)
	b := mathF(ir.Shape{2, 2}, 5, 6, 7, 8)
	mathCheck(t, "row C", &ir.Gemm{Alpha: 1, Beta: 1},
		mathF(ir.Shape{2, 2}, 29, 42, 53, 70), a, b, mathF(ir.Shape{2}, 10, 20))
	mathCheck(t, "no C", &ir.Gemm{Alpha: 1, Beta: 1},
		mathF(ir.Shape{2, 2}, 19, 22, 43, 50), a, b)
	mathCheck(t, "omitted C", &ir.Gemm{Alpha: -1, Beta: 1},
		mathF(ir.Shape{2, 2}, -19, -22, -43, -50), a, b, nil)
	// A' = [[1,3],[2,4]]: A'B = [[26,30],[38,44]].
	mathCheck(t, "transA column C", &ir.Gemm{Alpha: 2, Beta: 0.5, TransA: true},
		mathF(ir.Shape{2, 2}, 53, 61, 78, 90), a, b, mathF(ir.Shape{2, 1}, 2, 4))
	mathCheck(t, "transB scalar C", &ir.Gemm{Alpha: 1, Beta: 1, TransB: true},
		mathF(ir.Shape{1, 2}, 5, 3), mathF(ir.Shape{1, 3}, 1, 2, 3), mathF(ir.Shape{2, 3}, 1, 0, 1, 0, 1, 0), mathF(ir.Shape{}, 1))
	mathCheck(t, "both transposed", &ir.Gemm{Alpha: 1, TransA: true, TransB: true},
		mathF(ir.Shape{1, 2}, 4, 2), mathF(ir.Shape{3, 1}, 1, 2, 3), mathF(ir.Shape{2, 3}, 1, 0, 1, 0, 1, 0))
	mathCheck(t, "K=0", &ir.Gemm{Alpha: 1, Beta: 1},
		mathF(ir.Shape{2, 1}, 7, 7), mathF(ir.Shape{2, 0}), mathF(ir.Shape{0, 1}), mathF(ir.Shape{1}, 7))
}

func TestMatMulKernel(t *testing.T) {
	mathCheck(t, "vec vec", &ir.MatMul{}, mathF(ir.Shape{}, 32),
		mathF(ir.Shape{3}, 1, 2, 3), mathF(ir.Shape{3}, 4, 5, 6))
	mathCheck(t, "mat vec", &ir.MatMul{}, mathF(ir.Shape{2}, 3, 7),
		mathF(ir.Shape{2, 2}, 1, 2, 3, 4), mathF(ir.Shape{2}, 1, 1))
	mathCheck(t, "vec mat", &ir.MatMul{}, mathF(ir.Shape{2}, 4, 6),
		mathF(ir.Shape{2}, 1, 1), mathF(ir.Shape{2, 2}, 1, 2, 3, 4))
	// A [2,1,1,2] rows (1,2) and (3,4); B [3,2,1] columns (1,1), (1,0), (0,1):
	// Y[i,j] = A_i . B_j.
	mathCheck(t, "batch broadcast", &ir.MatMul{}, mathF(ir.Shape{2, 3, 1, 1}, 3, 1, 2, 7, 3, 4),
		mathF(ir.Shape{2, 1, 1, 2}, 1, 2, 3, 4), mathF(ir.Shape{3, 2, 1}, 1, 1, 1, 0, 0, 1))
	mathCheck(t, "2x3 by 3x2", &ir.MatMul{}, mathF(ir.Shape{2, 2}, 4, 5, 10, 11),
		mathF(ir.Shape{2, 3}, 1, 2, 3, 4, 5, 6), mathF(ir.Shape{3, 2}, 1, 0, 0, 1, 1, 1))
	mathCheck(t, "K=0", &ir.MatMul{}, mathF(ir.Shape{2, 2}, 0, 0, 0, 0),
		mathF(ir.Shape{2, 0}), mathF(ir.Shape{0, 2}))
}

func TestArithKernels(t *testing.T) {
	a := mathF(ir.Shape{2, 1}, 1, 2)
	b := mathF(ir.Shape{3}, 10, 20, 40)
	mathCheck(t, "add", &ir.Add{}, mathF(ir.Shape{2, 3}, 11, 21, 41, 12, 22, 42), a, b)
	mathCheck(t, "sub", &ir.Sub{}, mathF(ir.Shape{2, 3}, -9, -19, -39, -8, -18, -38), a, b)
	mathCheck(t, "mul", &ir.Mul{}, mathF(ir.Shape{2, 3}, 10, 20, 40, 20, 40, 80), a, b)
	mathCheck(t, "div", &ir.Div{}, mathF(ir.Shape{2, 3}, 10, 20, 40, 20, 40, 80), b, mathF(ir.Shape{2, 1}, 1, 0.5))
	mathCheck(t, "div by zero f32", &ir.Div{}, mathF(ir.Shape{3}, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())),
		mathF(ir.Shape{3}, 1, -1, 0), mathF(ir.Shape{}, 0))
	mathCheck(t, "scalar scalar", &ir.Add{}, mathF(ir.Shape{}, 3), mathF(ir.Shape{}, 1), mathF(ir.Shape{}, 2))
	mathCheck(t, "empty", &ir.Add{}, mathF(ir.Shape{0, 3}), mathF(ir.Shape{0, 1}), b)

	// Integer division truncates toward zero.
	mathCheck(t, "div i64", &ir.Div{}, mathI(ir.Shape{4}, 3, -3, -3, 3),
		mathI(ir.Shape{4}, 7, -7, 7, -7), mathI(ir.Shape{4}, 2, 2, -2, -2))
	mathCheck(t, "div i32", &ir.Div{}, mathI32(ir.Shape{4}, 3, -3, -3, 3),
		mathI32(ir.Shape{4}, 7, -7, 7, -7), mathI32(ir.Shape{4}, 2, 2, -2, -2))
	mathCheck(t, "add i64 bcast", &ir.Add{}, mathI(ir.Shape{2, 2}, 11, 21, 12, 22),
		mathI(ir.Shape{2, 1}, 1, 2), mathI(ir.Shape{2}, 10, 20))
	mathCheck(t, "sub i32", &ir.Sub{}, mathI32(ir.Shape{2}, -1, 0), mathI32(ir.Shape{2}, 1, 2), mathI32(ir.Shape{}, 2))
	mathCheck(t, "mul i32 wraps", &ir.Mul{}, mathI32(ir.Shape{1}, math.MinInt32),
		mathI32(ir.Shape{1}, 1<<30), mathI32(ir.Shape{1}, 2))
	mathCheck(t, "mul i64 shape", &ir.Mul{}, mathI(ir.Shape{2}, 6, -8), mathI(ir.Shape{2}, 3, 4), mathI(ir.Shape{2}, 2, -2))
	for _, c := range []struct {
		name string
		a, b *ir.Tensor
	}{
		{"i64", mathI(ir.Shape{2}, 1, 2), mathI(ir.Shape{2}, 1, 0)},
		{"i32", mathI32(ir.Shape{1}, 1), mathI32(ir.Shape{}, 0)},
	} {
		if _, err := mathRun(&ir.Div{}, c.a, c.b); err == nil || !strings.Contains(err.Error(), "integer division by zero") {
			t.Errorf("div by zero %s: err = %v", c.name, err)
		}
	}
}

func TestPowKernel(t *testing.T) {
	mathCheck(t, "float", &ir.Pow{}, mathF(ir.Shape{2, 2}, 1, 1, 4, 0.5),
		mathF(ir.Shape{2, 1}, 1, 2), mathF(ir.Shape{2}, 2, -1))
	mathCheck(t, "int exponent", &ir.Pow{}, mathF(ir.Shape{3}, 4, 1, 0.25),
		mathF(ir.Shape{3}, 2, 3, 2), mathI(ir.Shape{3}, 2, 0, -2))
	mathCheck(t, "sqrt", &ir.Pow{}, mathF(ir.Shape{2}, 3, float32(math.NaN())),
		mathF(ir.Shape{2}, 9, -1), mathF(ir.Shape{}, 0.5))
	mathCheck(t, "int base", &ir.Pow{}, mathI(ir.Shape{3}, 8, 0, -27),
		mathI(ir.Shape{3}, 2, 2, -3), mathI(ir.Shape{3}, 3, -1, 3))
	mathCheck(t, "int base float exponent", &ir.Pow{}, mathI32(ir.Shape{2}, 2, 3),
		mathI32(ir.Shape{2}, 4, 9), mathF(ir.Shape{}, 0.5))
}

func TestVariadicKernels(t *testing.T) {
	a := mathF(ir.Shape{2, 1}, 1, 4)
	b := mathF(ir.Shape{3}, 3, 2, 6)
	c := mathF(ir.Shape{}, 2)
	mathCheck(t, "sum one", &ir.Sum{}, a, a)
	mathCheck(t, "sum", &ir.Sum{}, mathF(ir.Shape{2, 3}, 6, 5, 9, 9, 8, 12), a, b, c)
	mathCheck(t, "mean", &ir.Mean{}, mathF(ir.Shape{2, 3}, 2, 5.0/3, 3, 3, 8.0/3, 4), a, b, c)
	mathCheck(t, "max", &ir.Max{}, mathF(ir.Shape{2, 3}, 3, 2, 6, 4, 4, 6), a, b, c)
	mathCheck(t, "min", &ir.Min{}, mathF(ir.Shape{2, 3}, 1, 1, 1, 2, 2, 2), a, b, c)
	mathCheck(t, "max nan", &ir.Max{}, mathF(ir.Shape{2}, float32(math.NaN()), 2),
		mathF(ir.Shape{2}, float32(math.NaN()), 1), mathF(ir.Shape{2}, 0, 2))
	mathCheck(t, "max i64", &ir.Max{}, mathI(ir.Shape{2, 2}, 5, 2, 9, 9),
		mathI(ir.Shape{2, 1}, 1, 9), mathI(ir.Shape{2}, 5, 2))
	mathCheck(t, "min i32", &ir.Min{}, mathI32(ir.Shape{3}, -4, 0, 0),
		mathI32(ir.Shape{3}, -4, 7, 0), mathI32(ir.Shape{}, 0))
	mathCheck(t, "min i64 one", &ir.Min{}, mathI(ir.Shape{2}, 3, -3), mathI(ir.Shape{2}, 3, -3))
}

func TestReduceKernels(t *testing.T) {
	// x[i,j,k] = 100i + 10j + k for shape [2,2,3].
	x := mathF(ir.Shape{2, 2, 3}, 0, 1, 2, 10, 11, 12, 100, 101, 102, 110, 111, 112)
	mathCheck(t, "sum axes 0,2 keep", &ir.ReduceSum{Axes: []int{0, 2}, KeepDims: true},
		mathF(ir.Shape{1, 2, 1}, 306, 366), x)
	mathCheck(t, "sum axis -1", &ir.ReduceSum{Axes: []int{-1}},
		mathF(ir.Shape{2, 2}, 3, 33, 303, 333), x)
	mathCheck(t, "sum all", &ir.ReduceSum{}, mathF(ir.Shape{}, 672), x)
	mathCheck(t, "mean all keep", &ir.ReduceMean{KeepDims: true}, mathF(ir.Shape{1, 1, 1}, 56), x)
	mathCheck(t, "mean axis 1", &ir.ReduceMean{Axes: []int{1}},
		mathF(ir.Shape{2, 3}, 5, 6, 7, 105, 106, 107), x)
	mathCheck(t, "sum input axes", &ir.ReduceSum{}, mathF(ir.Shape{3}, 220, 224, 228), x, mathI(ir.Shape{2}, 1, 0))
	mathCheck(t, "sum empty input axes", &ir.ReduceSum{KeepDims: true}, mathF(ir.Shape{1, 1, 1}, 672), x, mathI(ir.Shape{0}))
	mathCheck(t, "sum noop", &ir.ReduceSum{NoopWithEmptyAxes: true}, x, x, mathI(ir.Shape{0}))
	mathCheck(t, "sum noop no input", &ir.ReduceSum{NoopWithEmptyAxes: true}, x, x)
	mathCheck(t, "sum omitted axes", &ir.ReduceSum{}, mathF(ir.Shape{}, 672), x, nil)
	mathCheck(t, "sum empty", &ir.ReduceSum{Axes: []int{1}}, mathF(ir.Shape{2}, 0, 0), mathF(ir.Shape{2, 0}))
	mathCheck(t, "mean empty", &ir.ReduceMean{Axes: []int{1}}, mathF(ir.Shape{2}, float32(math.NaN()), float32(math.NaN())), mathF(ir.Shape{2, 0}))
	mathCheck(t, "sum scalar", &ir.ReduceSum{}, mathF(ir.Shape{}, 5), mathF(ir.Shape{}, 5))
	if _, err := mathRun(&ir.ReduceSum{}, x, mathI(ir.Shape{1}, 3)); err == nil || !strings.Contains(err.Error(), "axis 3 is out of range") {
		t.Errorf("bad axes input: err = %v", err)
	}
}
