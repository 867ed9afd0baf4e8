package ir

import (
	"strings"
	"testing"
)

// mathF32 and mathI64 make input types tersely.
func mathF32(dims ...int) Type { return Type{Float32, append(Shape{}, dims...)} }
func mathI64(dims ...int) Type { return Type{Int64, append(Shape{}, dims...)} }

// mathInferCase is one Infer call: want is the output type when err is
// empty, else err is a substring of the error and unsupported its kind.
type mathInferCase struct {
	name        string
	op          Op
	in          []Type
	vals        []*Tensor
	want        Type
	err         string
	unsupported bool
}

func runMathInfer(t *testing.T, cases []mathInferCase) {
	t.Helper()
	for _, c := range cases {
		vals := c.vals
		if vals == nil {
			vals = make([]*Tensor, len(c.in))
		}
		out, err := c.op.Infer(c.in, vals)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err = %v, want it to contain %q", c.name, err, c.err)
			} else if IsUnsupported(err) != c.unsupported {
				t.Errorf("%s: err = %v, want unsupported=%v", c.name, err, c.unsupported)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(out) != 1 || out[0].DType != c.want.DType || !out[0].Shape.Equal(c.want.Shape) {
			t.Errorf("%s: got %v, want %v", c.name, out, c.want)
		}
	}
}

func TestSoftmaxInfer(t *testing.T) {
	runMathInfer(t, []mathInferCase{
		{name: "last", op: &Softmax{Axis: -1}, in: []Type{mathF32(2, 3)}, want: mathF32(2, 3)},
		{name: "coerce", op: &LogSoftmax{Axis: 1, Coerce2D: true}, in: []Type{mathF32(-1, 3, 4)}, want: mathF32(-1, 3, 4)},
		{name: "first", op: &Softmax{Axis: -3}, in: []Type{mathF32(2, 3, 4)}, want: mathF32(2, 3, 4)},
		{name: "unknown rank", op: &Softmax{Axis: 7}, in: []Type{{Float32, nil}}, want: Type{Float32, nil}},
		{name: "axis high", op: &Softmax{Axis: 2}, in: []Type{mathF32(2, 3)}, err: "axis 2 is out of range for input shape [2,3] (want -2 to 1)"},
		{name: "axis low", op: &LogSoftmax{Axis: -3, Coerce2D: true}, in: []Type{mathF32(2, 3)}, err: "axis -3 is out of range"},
		{name: "scalar", op: &Softmax{Axis: -1}, in: []Type{mathF32()}, err: "input is a scalar, want rank 1 or more"},
		{name: "int", op: &Softmax{Axis: -1}, in: []Type{mathI64(2)}, err: "element type i64", unsupported: true},
		{name: "arity", op: &Softmax{Axis: -1}, in: []Type{mathF32(2), mathF32(2)}, err: "got 2 inputs, want 1"},
	})
}

func TestGemmInfer(t *testing.T) {
	runMathInfer(t, []mathInferCase{
		{name: "plain", op: &Gemm{Alpha: 1, Beta: 1}, in: []Type{mathF32(3, 5), mathF32(5, 4), mathF32(3, 4)}, want: mathF32(3, 4)},
		{name: "no C", op: &Gemm{Alpha: 1}, in: []Type{mathF32(3, 5), mathF32(5, 4)}, want: mathF32(3, 4)},
		{name: "omitted C", op: &Gemm{Alpha: 1}, in: []Type{mathF32(3, 5), mathF32(5, 4), {}}, want: mathF32(3, 4)},
		{name: "transposed", op: &Gemm{TransA: true, TransB: true}, in: []Type{mathF32(5, 3), mathF32(4, 5), mathF32(4)}, want: mathF32(3, 4)},
		{name: "C row", op: &Gemm{}, in: []Type{mathF32(3, 5), mathF32(5, 4), mathF32(1, 4)}, want: mathF32(3, 4)},
		{name: "C column", op: &Gemm{}, in: []Type{mathF32(3, 5), mathF32(5, 4), mathF32(3, 1)}, want: mathF32(3, 4)},
		{name: "C scalar", op: &Gemm{}, in: []Type{mathF32(3, 5), mathF32(5, 4), mathF32()}, want: mathF32(3, 4)},
		{name: "batch", op: &Gemm{TransB: true}, in: []Type{mathF32(-1, 5), mathF32(10, 5), mathF32(10)}, want: mathF32(-1, 10)},
		{name: "unknown A", op: &Gemm{}, in: []Type{{Float32, nil}, mathF32(5, 4)}, want: mathF32(-1, 4)},
		{name: "K", op: &Gemm{TransB: true}, in: []Type{mathF32(3, 5), mathF32(5, 4)}, err: "A shape [3,5] (transA=false) has K=5 but B shape [5,4] (transB=true) has K=4"},
		{name: "C wrong", op: &Gemm{}, in: []Type{mathF32(3, 5), mathF32(5, 4), mathF32(3)}, err: "C shape [3] does not broadcast to Y shape [3,4]"},
		{name: "C rank", op: &Gemm{}, in: []Type{mathF32(3, 5), mathF32(5, 4), mathF32(1, 3, 4)}, err: "C shape [1,3,4] has rank 3, want at most 2"},
		{name: "A rank", op: &Gemm{}, in: []Type{mathF32(3, 5, 1), mathF32(5, 4)}, err: "input 0 has shape [3,5,1], want rank 2"},
		{name: "missing B", op: &Gemm{}, in: []Type{mathF32(3, 5), {}}, err: "required input 1 is missing"},
		{name: "int", op: &Gemm{}, in: []Type{mathF32(3, 5), mathI64(5, 4)}, err: "input 1 has element type i64", unsupported: true},
	})
}

func TestMatMulInfer(t *testing.T) {
	runMathInfer(t, []mathInferCase{
		{name: "2d", op: &MatMul{}, in: []Type{mathF32(3, 5), mathF32(5, 4)}, want: mathF32(3, 4)},
		{name: "vec vec", op: &MatMul{}, in: []Type{mathF32(5), mathF32(5)}, want: mathF32()},
		{name: "vec mat", op: &MatMul{}, in: []Type{mathF32(5), mathF32(2, 5, 4)}, want: mathF32(2, 4)},
		{name: "mat vec", op: &MatMul{}, in: []Type{mathF32(2, 3, 5), mathF32(5)}, want: mathF32(2, 3)},
		{name: "batch", op: &MatMul{}, in: []Type{mathF32(2, 1, 3, 5), mathF32(4, 5, 6)}, want: mathF32(2, 4, 3, 6)},
		{name: "unknown", op: &MatMul{}, in: []Type{mathF32(-1, 7, 5), mathF32(5, -1)}, want: mathF32(-1, 7, -1)},
		{name: "unknown K", op: &MatMul{}, in: []Type{mathF32(3, -1), mathF32(5, 4)}, want: mathF32(3, 4)},
		{name: "unknown rank", op: &MatMul{}, in: []Type{{Float32, nil}, mathF32(5, 4)}, want: Type{Float32, nil}},
		{name: "K", op: &MatMul{}, in: []Type{mathF32(3, 5), mathF32(4, 4)}, err: "A shape [3,5] has K=5 but B shape [4,4] has K=4"},
		{name: "batch mismatch", op: &MatMul{}, in: []Type{mathF32(2, 3, 5), mathF32(3, 5, 4)}, err: "batch dimensions of A shape [2,3,5] and B shape [3,5,4] do not broadcast"},
		{name: "scalar", op: &MatMul{}, in: []Type{mathF32(), mathF32(5)}, err: "input 0 is a scalar"},
		{name: "int", op: &MatMul{}, in: []Type{mathI64(3), mathI64(3)}, err: "element type i64", unsupported: true},
	})
}

func TestArithInfer(t *testing.T) {
	runMathInfer(t, []mathInferCase{
		{name: "same", op: &Add{}, in: []Type{mathF32(2, 3), mathF32(2, 3)}, want: mathF32(2, 3)},
		{name: "bcast", op: &Sub{}, in: []Type{mathF32(2, 1, 4), mathF32(3, 1)}, want: mathF32(2, 3, 4)},
		{name: "scalar", op: &Mul{}, in: []Type{mathF32(), mathF32(5)}, want: mathF32(5)},
		{name: "int64", op: &Div{}, in: []Type{mathI64(4), mathI64()}, want: mathI64(4)},
		{name: "int32", op: &Add{}, in: []Type{{Int32, Shape{2}}, {Int32, Shape{1}}}, want: Type{Int32, Shape{2}}},
		{name: "unknown dim", op: &Add{}, in: []Type{mathF32(-1, 3), mathF32(1, 3)}, want: mathF32(-1, 3)},
		{name: "unknown rank", op: &Add{}, in: []Type{mathF32(2), {Float32, nil}}, want: Type{Float32, nil}},
		{name: "mixed", op: &Add{}, in: []Type{mathF32(2), mathI64(2)}, err: "input 1 has element type i64, input 0 has f32"},
		{name: "bool", op: &Mul{}, in: []Type{{Bool, Shape{2}}, {Bool, Shape{2}}}, err: "element type bool, want f32, i64 or i32", unsupported: true},
		{name: "shapes", op: &Div{}, in: []Type{mathF32(2, 3), mathF32(4)}, err: "shapes [2,3] and [4] do not broadcast"},
		{name: "arity", op: &Sub{}, in: []Type{mathF32(2)}, err: "got 1 inputs, want 2"},
		{name: "missing", op: &Sub{}, in: []Type{mathF32(2), {}}, err: "required input 1 is missing"},
	})
}

func TestPowInfer(t *testing.T) {
	runMathInfer(t, []mathInferCase{
		{name: "float", op: &Pow{}, in: []Type{mathF32(2, 3), mathF32(3)}, want: mathF32(2, 3)},
		{name: "int exponent", op: &Pow{}, in: []Type{mathF32(2, 3), mathI64()}, want: mathF32(2, 3)},
		{name: "int base", op: &Pow{}, in: []Type{mathI64(2), mathF32(3, 1)}, want: mathI64(3, 2)},
		{name: "bool exponent", op: &Pow{}, in: []Type{mathF32(2), {Bool, Shape{2}}}, err: "exponent has element type bool", unsupported: true},
		{name: "shapes", op: &Pow{}, in: []Type{mathF32(2), mathF32(3)}, err: "do not broadcast"},
	})
}

func TestVariadicInfer(t *testing.T) {
	runMathInfer(t, []mathInferCase{
		{name: "one", op: &Sum{}, in: []Type{mathF32(2, 3)}, want: mathF32(2, 3)},
		{name: "three", op: &Mean{}, in: []Type{mathF32(2, 1, 4), mathF32(3, 1), mathF32(4)}, want: mathF32(2, 3, 4)},
		{name: "int max", op: &Max{}, in: []Type{mathI64(2), mathI64(1)}, want: mathI64(2)},
		{name: "int min", op: &Min{}, in: []Type{{Int32, Shape{}}, {Int32, Shape{3}}}, want: Type{Int32, Shape{3}}},
		{name: "none", op: &Sum{}, in: []Type{}, err: "got no inputs, want 1 or more"},
		{name: "int sum", op: &Sum{}, in: []Type{mathI64(2)}, err: "element type i64, want f32", unsupported: true},
		{name: "mixed", op: &Max{}, in: []Type{mathI64(2), mathF32(2)}, err: "input 1 has element type f32, input 0 has i64"},
		{name: "shapes", op: &Min{}, in: []Type{mathF32(2), mathF32(2), mathF32(3)}, err: "shapes [2] and [3] do not broadcast"},
		{name: "missing", op: &Mean{}, in: []Type{mathF32(2), {}}, err: "input 1 is missing"},
	})
}

func TestReduceInfer(t *testing.T) {
	axes := func(v ...int64) *Tensor { return FromInt64(Shape{len(v)}, v) }
	x := mathF32(2, 3, 1, 5)
	runMathInfer(t, []mathInferCase{
		{name: "mean keep", op: &ReduceMean{Axes: []int{1, -1}, KeepDims: true}, in: []Type{x}, want: mathF32(2, 1, 1, 1)},
		{name: "mean drop", op: &ReduceMean{Axes: []int{1, -1}}, in: []Type{x}, want: mathF32(2, 1)},
		{name: "mean all", op: &ReduceMean{KeepDims: true}, in: []Type{x}, want: mathF32(1, 1, 1, 1)},
		{name: "sum all drop", op: &ReduceSum{}, in: []Type{x}, want: mathF32()},
		{name: "sum noop", op: &ReduceSum{NoopWithEmptyAxes: true}, in: []Type{x}, want: x},
		{name: "sum noop attr axes", op: &ReduceSum{Axes: []int{0}, NoopWithEmptyAxes: true}, in: []Type{x}, want: mathF32(3, 1, 5)},
		{name: "input axes", op: &ReduceSum{}, in: []Type{x, mathI64(2)}, vals: []*Tensor{nil, axes(0, 3)}, want: mathF32(3, 1)},
		{name: "input axes keep", op: &ReduceSum{KeepDims: true}, in: []Type{x, mathI64(1)}, vals: []*Tensor{nil, axes(-3)}, want: mathF32(2, 1, 1, 5)},
		{name: "unknown axes keep", op: &ReduceSum{KeepDims: true}, in: []Type{x, mathI64(2)}, want: mathF32(-1, -1, 1, -1)},
		{name: "unknown axes drop", op: &ReduceSum{}, in: []Type{x, mathI64(2)}, want: Type{Float32, nil}},
		{name: "empty axes input", op: &ReduceSum{}, in: []Type{x, mathI64(0)}, want: mathF32()},
		{name: "empty axes input noop", op: &ReduceSum{NoopWithEmptyAxes: true}, in: []Type{x, mathI64(0)}, want: x},
		{name: "unknown dims", op: &ReduceMean{Axes: []int{0}}, in: []Type{mathF32(-1, -1)}, want: mathF32(-1)},
		{name: "unknown rank", op: &ReduceMean{Axes: []int{0}}, in: []Type{{Float32, nil}}, want: Type{Float32, nil}},
		{name: "out of range", op: &ReduceMean{Axes: []int{4}}, in: []Type{x}, err: "axis 4 is out of range for rank 4 (want -4 to 3)"},
		{name: "repeated", op: &ReduceSum{Axes: []int{1, -3}}, in: []Type{x}, err: "axis -3 is repeated in axes [1 -3]"},
		{name: "input repeated", op: &ReduceSum{}, in: []Type{x, mathI64(2)}, vals: []*Tensor{nil, axes(0, 0)}, err: "axis 0 is repeated"},
		{name: "both", op: &ReduceSum{Axes: []int{0}}, in: []Type{x, mathI64(1)}, err: "axes are given both as attribute [0] and as input 1"},
		{name: "axes dtype", op: &ReduceSum{}, in: []Type{x, mathF32(1)}, err: "axes input has element type f32, want i64"},
		{name: "axes rank", op: &ReduceSum{}, in: []Type{x, mathI64(1, 1)}, err: "input 1 has shape [1,1], want rank 1"},
		{name: "int data", op: &ReduceSum{}, in: []Type{mathI64(2)}, err: "element type i64", unsupported: true},
		{name: "mean arity", op: &ReduceMean{}, in: []Type{x, mathI64(1)}, err: "got 2 inputs, want 1"},
	})
}

func TestReduceAxes(t *testing.T) {
	red, err := ReduceAxes([]int{-1, 0}, 3, false)
	if err != nil || len(red) != 3 || !red[0] || red[1] || !red[2] {
		t.Errorf("ReduceAxes([-1 0], 3) = %v, %v", red, err)
	}
	red, _ = ReduceAxes(nil, 2, false)
	if !red[0] || !red[1] {
		t.Errorf("ReduceAxes(nil, 2, false) = %v, want all", red)
	}
	red, _ = ReduceAxes(nil, 2, true)
	if red[0] || red[1] {
		t.Errorf("ReduceAxes(nil, 2, true) = %v, want none", red)
	}
	if got := ReducedShape(Shape{2, 3, 4}, []bool{false, true, false}, true); !got.Equal(Shape{2, 1, 4}) {
		t.Errorf("ReducedShape keep = %v", got)
	}
	if got := ReducedShape(Shape{2, 3}, []bool{true, true}, false); got == nil || len(got) != 0 {
		t.Errorf("ReducedShape all = %#v, want an empty non-nil shape", got)
	}
}
