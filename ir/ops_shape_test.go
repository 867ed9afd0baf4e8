package ir

import (
	"math"
	"strings"
	"testing"
)

// Terse types and values for the shape family's Infer tests.
func shT(dt DType, dims ...int) Type { return Type{dt, append(Shape{}, dims...)} }
func shF(dims ...int) Type           { return shT(Float32, dims...) }
func shI(dims ...int) Type           { return shT(Int64, dims...) }
func shV(v ...int64) *Tensor         { return FromInt64(Shape{len(v)}, v) }
func shB(v bool) *Tensor             { return &Tensor{DType: Bool, Shape: Shape{}, Bool: []bool{v}} }
func shS(v float32) *Tensor          { return FromFloat32(Shape{}, []float32{v}) }

// shUnknown is the type of a value whose rank is unknown.
func shUnknown(dt DType) Type { return Type{DType: dt} }

// shapeInferCase is one Infer call: want lists the output types when err is
// empty, else err is a substring of the error and unsupported its kind.
type shapeInferCase struct {
	name        string
	op          Op
	in          []Type
	vals        []*Tensor
	want        []Type
	err         string
	unsupported bool
}

func runShapeInfer(t *testing.T, cases []shapeInferCase) {
	t.Helper()
	for _, c := range cases {
		vals := make([]*Tensor, len(c.in))
		copy(vals, c.vals)
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
		ok := len(out) == len(c.want)
		for i := 0; ok && i < len(out); i++ {
			ok = out[i].DType == c.want[i].DType && out[i].Shape.Equal(c.want[i].Shape)
		}
		if !ok {
			t.Errorf("%s: got %v, want %v", c.name, out, c.want)
		}
	}
}

// shOne wraps a single expected output type.
func shOne(t Type) []Type { return []Type{t} }

func TestConcatInfer(t *testing.T) {
	runShapeInfer(t, []shapeInferCase{
		{name: "axis 1", op: &Concat{Axis: 1}, in: []Type{shF(2, 3), shF(2, 4)}, want: shOne(shF(2, 7))},
		{name: "negative axis", op: &Concat{Axis: -1}, in: []Type{shI(1), shI(2), shI(0)}, want: shOne(shI(3))},
		{name: "one input", op: &Concat{Axis: 0}, in: []Type{shT(Bool, 2)}, want: shOne(shT(Bool, 2))},
		{name: "unknown dims", op: &Concat{Axis: 1}, in: []Type{shF(-1, 3), shF(5, -1)}, want: shOne(shF(5, -1))},
		{name: "unknown rank input", op: &Concat{Axis: 0}, in: []Type{shF(2, 3), shUnknown(Float32)}, want: shOne(shF(-1, 3))},
		{name: "all unknown rank", op: &Concat{Axis: 0}, in: []Type{shUnknown(Int64)}, want: shOne(shUnknown(Int64))},
		{name: "no inputs", op: &Concat{}, in: nil, err: "got no inputs"},
		{name: "dtype", op: &Concat{Axis: 0}, in: []Type{shF(2), shI(2)}, err: "input 1 has element type i64, input 0 has f32"},
		{name: "rank", op: &Concat{Axis: 0}, in: []Type{shF(2), shF(2, 1)}, err: "want rank 1"},
		{name: "mismatch", op: &Concat{Axis: 0}, in: []Type{shF(2, 3), shF(2, 4)}, err: "the others have 3 in dimension 1"},
		{name: "axis", op: &Concat{Axis: 2}, in: []Type{shF(2, 3)}, err: "axis 2 is out of range for rank 2"},
		{name: "scalar", op: &Concat{Axis: 0}, in: []Type{shF()}, err: "out of range for rank 0"},
		{name: "missing", op: &Concat{Axis: 0}, in: []Type{shF(1), {}}, err: "input 1 is missing"},
		{name: "too big", op: &Concat{Axis: 0}, in: []Type{shF(MaxElements), shF(1)}, err: "exceeds"},
	})
}

func TestSplitInfer(t *testing.T) {
	runShapeInfer(t, []shapeInferCase{
		{name: "attr", op: &Split{Axis: 1, Split: []int{1, 3}, NumOutputs: 2}, in: []Type{shF(2, 4)}, want: []Type{shF(2, 1), shF(2, 3)}},
		{name: "equal", op: &Split{Axis: -1, NumOutputs: 3}, in: []Type{shI(2, 6)}, want: []Type{shI(2, 2), shI(2, 2), shI(2, 2)}},
		{name: "input", op: &Split{NumOutputs: 2}, in: []Type{shF(5), shI(2)}, vals: []*Tensor{nil, shV(0, 5)}, want: []Type{shF(0), shF(5)}},
		{name: "input unknown", op: &Split{NumOutputs: 2}, in: []Type{shF(5, 2), shI(2)}, want: []Type{shF(-1, 2), shF(-1, 2)}},
		{name: "unknown dim equal", op: &Split{Axis: 0, NumOutputs: 2}, in: []Type{shF(-1, 2)}, want: []Type{shF(-1, 2), shF(-1, 2)}},
		{name: "unknown dim lengths", op: &Split{Axis: 0, Split: []int{1, 2}, NumOutputs: 2}, in: []Type{shF(-1)}, want: []Type{shF(1), shF(2)}},
		{name: "unknown rank", op: &Split{NumOutputs: 2}, in: []Type{shUnknown(Float32)}, want: []Type{shUnknown(Float32), shUnknown(Float32)}},
		{name: "uneven", op: &Split{NumOutputs: 2}, in: []Type{shF(5)}, err: "does not split into 2 equal parts"},
		{name: "sum", op: &Split{Split: []int{2, 2}, NumOutputs: 2}, in: []Type{shF(5)}, err: "split [2 2] sums to 4, dimension 0 of input shape [5] is 5"},
		{name: "count", op: &Split{Split: []int{5}, NumOutputs: 2}, in: []Type{shF(5)}, err: "has 1 lengths for 2 outputs"},
		{name: "negative", op: &Split{Split: []int{6, -1}, NumOutputs: 2}, in: []Type{shF(5)}, err: "has length -1"},
		{name: "both", op: &Split{Split: []int{5}, NumOutputs: 1}, in: []Type{shF(5), shI(1)}, err: "both as attribute and as input 1"},
		{name: "axis", op: &Split{Axis: 1, NumOutputs: 1}, in: []Type{shF(5)}, err: "axis 1 is out of range"},
		{name: "no outputs", op: &Split{}, in: []Type{shF(5)}, err: "has 0 outputs"},
		{name: "split dtype", op: &Split{NumOutputs: 1}, in: []Type{shF(5), shF(1)}, err: "input 1 (split) has element type f32"},
	})
}

func TestSliceInfer(t *testing.T) {
	big, small := int64(math.MaxInt64), int64(math.MinInt64)
	runShapeInfer(t, []shapeInferCase{
		{name: "attr", op: &Slice{Starts: []int{1, 0}, Ends: []int{2, 3}, Axes: []int{0, 1}}, in: []Type{shF(2, 4)}, want: shOne(shF(1, 3))},
		{name: "attr default axes clamp", op: &Slice{Starts: []int{0, 1}, Ends: []int{-1, 1000}}, in: []Type{shF(2, 4)}, want: shOne(shF(1, 3))},
		{name: "inputs steps", op: &Slice{}, in: []Type{shF(2, 4), shI(2), shI(2), shI(2), shI(2)},
			vals: []*Tensor{nil, shV(1, 0), shV(2, 3), shV(0, 1), shV(1, 2)}, want: shOne(shF(1, 2))},
		{name: "negative step to start", op: &Slice{}, in: []Type{shF(5), shI(1), shI(1), shI(1), shI(1)},
			vals: []*Tensor{nil, shV(-1), shV(small), shV(0), shV(-1)}, want: shOne(shF(5))},
		{name: "negative step 2", op: &Slice{}, in: []Type{shF(6), shI(1), shI(1), {}, shI(1)},
			vals: []*Tensor{nil, shV(big), shV(0), nil, shV(-2)}, want: shOne(shF(3))},
		{name: "huge step", op: &Slice{}, in: []Type{shF(6), shI(1), shI(1), {}, shI(1)},
			vals: []*Tensor{nil, shV(1), shV(big), nil, shV(big)}, want: shOne(shF(1))},
		{name: "min step", op: &Slice{}, in: []Type{shF(6), shI(1), shI(1), {}, shI(1)},
			vals: []*Tensor{nil, shV(4), shV(small), nil, shV(small)}, want: shOne(shF(1))},
		{name: "empty", op: &Slice{}, in: []Type{shF(4, 3), shI(1), shI(1), shI(1)},
			vals: []*Tensor{nil, shV(3), shV(1), shV(-1)}, want: shOne(shF(4, 0))},
		{name: "int32 args", op: &Slice{}, in: []Type{shI(4), shT(Int32, 1), shT(Int32, 1)},
			vals: []*Tensor{nil, {DType: Int32, Shape: Shape{1}, I32: []int32{1}}, {DType: Int32, Shape: Shape{1}, I32: []int32{-1}}}, want: shOne(shI(2))},
		{name: "unknown dim", op: &Slice{}, in: []Type{shF(-1, 4), shI(2), shI(2)},
			vals: []*Tensor{nil, shV(0, 1), shV(1, 3)}, want: shOne(shF(-1, 2))},
		{name: "values unknown, axes known", op: &Slice{}, in: []Type{shF(3, 4, 5), shI(1), shI(1), shI(1)},
			vals: []*Tensor{nil, nil, nil, shV(-2)}, want: shOne(shF(3, -1, 5))},
		{name: "values unknown, default axes", op: &Slice{}, in: []Type{shF(3, 4, 5), shI(2), shI(2)}, want: shOne(shF(-1, -1, 5))},
		{name: "values unknown, axes unknown", op: &Slice{}, in: []Type{shF(3, 4), shI(1), shI(1), shI(1)}, want: shOne(shF(-1, -1))},
		{name: "steps unknown", op: &Slice{}, in: []Type{shF(3, 4), shI(1), shI(1), shI(1), shI(1)},
			vals: []*Tensor{nil, shV(0), shV(1), shV(1)}, want: shOne(shF(3, -1))},
		{name: "unknown rank", op: &Slice{}, in: []Type{shUnknown(Bool), shI(1), shI(1)}, want: shOne(shUnknown(Bool))},
		{name: "zero step", op: &Slice{}, in: []Type{shF(3), shI(1), shI(1), shI(1), shI(1)},
			vals: []*Tensor{nil, shV(0), shV(1), shV(0), shV(0)}, err: "step for axis 0 is 0"},
		{name: "repeated axis", op: &Slice{Starts: []int{0, 0}, Ends: []int{1, 1}, Axes: []int{1, -1}}, in: []Type{shF(3, 3)}, err: "repeat axis 1"},
		{name: "axis range", op: &Slice{Starts: []int{0}, Ends: []int{1}, Axes: []int{2}}, in: []Type{shF(3, 3)}, err: "slice axes 2 is out of range for rank 2"},
		{name: "lengths", op: &Slice{Starts: []int{0}, Ends: []int{1, 2}}, in: []Type{shF(3, 3)}, err: "1 starts and 2 ends"},
		{name: "too many starts", op: &Slice{Starts: []int{0, 0, 0}, Ends: []int{1, 1, 1}}, in: []Type{shF(3, 3)}, err: "3 starts for input shape [3,3]"},
		{name: "attr arity", op: &Slice{Starts: []int{0}, Ends: []int{1}}, in: []Type{shF(3), shI(1)}, err: "got 2 inputs, want 1"},
		{name: "input arity", op: &Slice{}, in: []Type{shF(3)}, err: "got 1 inputs, want 3 to 5"},
		{name: "starts dtype", op: &Slice{}, in: []Type{shF(3), shF(1), shI(1)}, err: "input 1 (starts) has element type f32"},
		{name: "starts rank", op: &Slice{}, in: []Type{shF(3), shI(1, 1), shI(1)}, err: "input 1 (starts) has shape [1,1], want rank 1"},
	})
}

func TestFlattenInfer(t *testing.T) {
	runShapeInfer(t, []shapeInferCase{
		{name: "axis 1", op: &Flatten{Axis: 1}, in: []Type{shF(2, 3, 4)}, want: shOne(shF(2, 12))},
		{name: "axis 0", op: &Flatten{Axis: 0}, in: []Type{shF(2, 3, 4)}, want: shOne(shF(1, 24))},
		{name: "axis rank", op: &Flatten{Axis: 3}, in: []Type{shI(2, 3, 4)}, want: shOne(shI(24, 1))},
		{name: "negative", op: &Flatten{Axis: -1}, in: []Type{shF(2, 3, 4)}, want: shOne(shF(6, 4))},
		{name: "negative rank", op: &Flatten{Axis: -3}, in: []Type{shF(2, 3, 4)}, want: shOne(shF(1, 24))},
		{name: "unknown batch", op: &Flatten{Axis: 1}, in: []Type{shF(-1, 3, 4)}, want: shOne(shF(-1, 12))},
		{name: "unknown rank", op: &Flatten{Axis: 1}, in: []Type{shUnknown(Float32)}, want: shOne(shF(-1, -1))},
		{name: "scalar", op: &Flatten{Axis: 0}, in: []Type{shF()}, want: shOne(shF(1, 1))},
		{name: "axis high", op: &Flatten{Axis: 4}, in: []Type{shF(2, 3, 4)}, err: "axis 4 is out of range for input shape [2,3,4] (want -3 to 3)"},
		{name: "axis low", op: &Flatten{Axis: -4}, in: []Type{shF(2, 3, 4)}, err: "axis -4 is out of range"},
	})
}

func TestReshapeInfer(t *testing.T) {
	runShapeInfer(t, []shapeInferCase{
		{name: "infer", op: &Reshape{}, in: []Type{shF(2, 3, 4), shI(2)}, vals: []*Tensor{nil, shV(4, -1)}, want: shOne(shF(4, 6))},
		{name: "copy zero", op: &Reshape{}, in: []Type{shF(2, 3, 4), shI(3)}, vals: []*Tensor{nil, shV(0, -1, 2)}, want: shOne(shF(2, 6, 2))},
		{name: "copy unknown", op: &Reshape{}, in: []Type{shF(-1, 3, 4), shI(2)}, vals: []*Tensor{nil, shV(0, -1)}, want: shOne(shF(-1, -1))},
		{name: "known with unknown input", op: &Reshape{}, in: []Type{shF(-1, 4), shI(2)}, vals: []*Tensor{nil, shV(2, 6)}, want: shOne(shF(2, 6))},
		{name: "allowzero", op: &Reshape{AllowZero: true}, in: []Type{shF(0, 3), shI(2)}, vals: []*Tensor{nil, shV(3, 0)}, want: shOne(shF(3, 0))},
		{name: "scalar", op: &Reshape{}, in: []Type{shI(1, 1), shI(0)}, vals: []*Tensor{nil, shV()}, want: shOne(shI())},
		{name: "unknown rank input", op: &Reshape{}, in: []Type{shUnknown(Float32), shI(2)}, vals: []*Tensor{nil, shV(0, 5)}, want: shOne(shF(-1, 5))},
		{name: "value unknown", op: &Reshape{}, in: []Type{shF(2, 3), shI(3)}, want: shOne(shF(-1, -1, -1))},
		{name: "value and length unknown", op: &Reshape{}, in: []Type{shF(2, 3), shI(-1)}, want: shOne(shUnknown(Float32))},
		{name: "count", op: &Reshape{}, in: []Type{shF(2, 3), shI(2)}, vals: []*Tensor{nil, shV(4, 2)}, err: "input shape [2,3] has 6 elements, shape [4 2] has 8"},
		{name: "indivisible", op: &Reshape{}, in: []Type{shF(2, 3), shI(2)}, vals: []*Tensor{nil, shV(4, -1)}, err: "cannot be reshaped to [4 -1]"},
		{name: "two -1", op: &Reshape{}, in: []Type{shF(2, 3), shI(2)}, vals: []*Tensor{nil, shV(-1, -1)}, err: "more than one -1"},
		{name: "-2", op: &Reshape{}, in: []Type{shF(2, 3), shI(2)}, vals: []*Tensor{nil, shV(-2, 3)}, err: "negative size -2"},
		{name: "zero past rank", op: &Reshape{}, in: []Type{shF(6), shI(2)}, vals: []*Tensor{nil, shV(6, 0)}, err: "copies dimension 1 (0), but the input shape [6] has rank 1"},
		{name: "allowzero and -1", op: &Reshape{AllowZero: true}, in: []Type{shF(0, 3), shI(2)}, vals: []*Tensor{nil, shV(0, -1)}, err: "both 0 and -1"},
		{name: "zero-size -1", op: &Reshape{}, in: []Type{shF(2, 0), shI(2)}, vals: []*Tensor{nil, shV(-1, 0)}, err: "cannot be reshaped"},
		{name: "zero-size copy", op: &Reshape{}, in: []Type{shF(0, 3), shI(2)}, vals: []*Tensor{nil, shV(-1, 0)}, want: shOne(shF(0, 3))},
		{name: "huge zero-size", op: &Reshape{AllowZero: true}, in: []Type{shF(0), shI(2)}, vals: []*Tensor{nil, shV(0, 1<<40)}, err: "more than"},
		{name: "absurd", op: &Reshape{}, in: []Type{shF(-1), shI(3)}, vals: []*Tensor{nil, shV(1<<20, 1<<20, 1<<20)}, err: "more than 268435456 elements"},
		{name: "overflow", op: &Reshape{}, in: []Type{shF(-1), shI(2)}, vals: []*Tensor{nil, shV(math.MaxInt64, 4)}, err: "more than 268435456 elements"},
		{name: "shape dtype", op: &Reshape{}, in: []Type{shF(6), shF(1)}, err: "input 1 (shape) has element type f32"},
		{name: "shape rank", op: &Reshape{}, in: []Type{shF(6), shI()}, err: "want rank 1"},
		{name: "arity", op: &Reshape{}, in: []Type{shF(6)}, err: "got 1 inputs, want 2"},
	})
}

func TestTransposeInfer(t *testing.T) {
	runShapeInfer(t, []shapeInferCase{
		{name: "default", op: &Transpose{}, in: []Type{shF(2, 3, 4)}, want: shOne(shF(4, 3, 2))},
		{name: "perm", op: &Transpose{Perm: []int{0, 2, 1}}, in: []Type{shT(Bool, 2, -1, 4)}, want: shOne(shT(Bool, 2, 4, -1))},
		{name: "scalar", op: &Transpose{}, in: []Type{shF()}, want: shOne(shF())},
		{name: "unknown rank perm", op: &Transpose{Perm: []int{1, 0}}, in: []Type{shUnknown(Float32)}, want: shOne(shF(-1, -1))},
		{name: "unknown rank", op: &Transpose{}, in: []Type{shUnknown(Float32)}, want: shOne(shUnknown(Float32))},
		{name: "length", op: &Transpose{Perm: []int{1, 0}}, in: []Type{shF(2, 3, 4)}, err: "perm [1 0] has 2 entries for an input of rank 3"},
		{name: "repeat", op: &Transpose{Perm: []int{1, 1}}, in: []Type{shF(2, 3)}, err: "not a permutation of 0..1"},
		{name: "range", op: &Transpose{Perm: []int{0, -1}}, in: []Type{shF(2, 3)}, err: "not a permutation"},
	})
}

func TestSqueezeInfer(t *testing.T) {
	runShapeInfer(t, []shapeInferCase{
		{name: "attr", op: &Squeeze{Axes: []int{0, -1}}, in: []Type{shF(1, 3, 1)}, want: shOne(shF(3))},
		{name: "all", op: &Squeeze{}, in: []Type{shI(1, 2, 1, 3)}, want: shOne(shI(2, 3))},
		{name: "all to scalar", op: &Squeeze{}, in: []Type{shI(1, 1)}, want: shOne(shI())},
		{name: "all unknown dim", op: &Squeeze{}, in: []Type{shI(1, -1)}, want: shOne(shUnknown(Int64))},
		{name: "input", op: &Squeeze{}, in: []Type{shF(1, 2, 1), shI(1)}, vals: []*Tensor{nil, shV(2)}, want: shOne(shF(1, 2))},
		{name: "input scalar axes", op: &Squeeze{}, in: []Type{shF(1, 2), shI()}, vals: []*Tensor{nil, FromInt64(Shape{}, []int64{0})}, want: shOne(shF(2))},
		{name: "input unknown", op: &Squeeze{}, in: []Type{shF(1, 2, 1), shI(2)}, want: shOne(shF(-1))},
		{name: "unknown dim assumed 1", op: &Squeeze{Axes: []int{0}}, in: []Type{shF(-1, 2)}, want: shOne(shF(2))},
		{name: "unknown rank", op: &Squeeze{Axes: []int{0}}, in: []Type{shUnknown(Bool)}, want: shOne(shUnknown(Bool))},
		{name: "not one", op: &Squeeze{Axes: []int{1}}, in: []Type{shF(1, 3)}, err: "cannot squeeze axis 1 of input shape [1,3]: its size is 3"},
		{name: "range", op: &Squeeze{Axes: []int{2}}, in: []Type{shF(1, 3)}, err: "axes 2 is out of range for rank 2"},
		{name: "repeat", op: &Squeeze{Axes: []int{0, -2}}, in: []Type{shF(1, 3)}, err: "repeat axis 0"},
		{name: "both", op: &Squeeze{Axes: []int{0}}, in: []Type{shF(1, 3), shI(1)}, err: "both as attribute and as input 1"},
		{name: "too many unknown", op: &Squeeze{}, in: []Type{shF(1), shI(2)}, err: "2 axes to squeeze from input shape [1]"},
	})
}

func TestUnsqueezeInfer(t *testing.T) {
	runShapeInfer(t, []shapeInferCase{
		{name: "attr", op: &Unsqueeze{Axes: []int{0, 3}}, in: []Type{shF(2, 3)}, want: shOne(shF(1, 2, 3, 1))},
		{name: "negative unsorted", op: &Unsqueeze{Axes: []int{-1, 1}}, in: []Type{shI(2, 3)}, want: shOne(shI(2, 1, 3, 1))},
		{name: "scalar", op: &Unsqueeze{}, in: []Type{shI(), shI(1)}, vals: []*Tensor{nil, shV(0)}, want: shOne(shI(1))},
		{name: "input unknown", op: &Unsqueeze{}, in: []Type{shI(2), shI(2)}, want: shOne(shI(-1, -1, -1))},
		{name: "empty axes", op: &Unsqueeze{Axes: []int{}}, in: []Type{shF(2)}, want: shOne(shF(2))},
		{name: "unknown rank", op: &Unsqueeze{Axes: []int{0}}, in: []Type{shUnknown(Float32)}, want: shOne(shUnknown(Float32))},
		{name: "none", op: &Unsqueeze{}, in: []Type{shF(2)}, err: "no axes"},
		{name: "range", op: &Unsqueeze{Axes: []int{3}}, in: []Type{shF(2)}, err: "axes 3 is out of range for rank 2"},
		{name: "repeat", op: &Unsqueeze{Axes: []int{0, -3}}, in: []Type{shF(2)}, err: "repeat axis 0"},
	})
}

func TestDropoutInfer(t *testing.T) {
	runShapeInfer(t, []shapeInferCase{
		{name: "plain", op: &Dropout{Ratio: 0.5}, in: []Type{shF(2, 3)}, want: shOne(shF(2, 3))},
		{name: "bool mask", op: &Dropout{Mask: Bool}, in: []Type{shF(2, -1)}, want: []Type{shF(2, -1), shT(Bool, 2, -1)}},
		{name: "float mask", op: &Dropout{Mask: Float32}, in: []Type{shF(2)}, want: []Type{shF(2), shF(2)}},
		{name: "inference mode", op: &Dropout{Mask: Bool}, in: []Type{shF(2), shF(), shT(Bool)},
			vals: []*Tensor{nil, shS(0.3), shB(false)}, want: []Type{shF(2), shT(Bool, 2)}},
		{name: "training zero ratio", op: &Dropout{}, in: []Type{shF(2), shF(), shT(Bool)}, vals: []*Tensor{nil, shS(0), shB(true)}, want: shOne(shF(2))},
		{name: "training ratio unknown", op: &Dropout{}, in: []Type{shF(2), shF(), shT(Bool)}, vals: []*Tensor{nil, nil, shB(true)}, want: shOne(shF(2))},
		{name: "training", op: &Dropout{}, in: []Type{shF(2), shF(), shT(Bool)}, vals: []*Tensor{nil, shS(0.5), shB(true)}, err: "training_mode true", unsupported: true},
		{name: "training default ratio", op: &Dropout{}, in: []Type{shF(2), {}, shT(Bool)}, vals: []*Tensor{nil, nil, shB(true)}, err: "training_mode true", unsupported: true},
		{name: "int data", op: &Dropout{}, in: []Type{shI(2)}, err: "element type i64", unsupported: true},
		{name: "mode dtype", op: &Dropout{}, in: []Type{shF(2), {}, shF()}, err: "training_mode (input 2) has element type f32"},
		{name: "ratio shape", op: &Dropout{}, in: []Type{shF(2), shF(2)}, err: "ratio (input 1) has shape [2]"},
		{name: "mask type", op: &Dropout{Mask: Int64}, in: []Type{shF(2)}, err: "mask element type i64"},
	})
}

func TestIdentityInfer(t *testing.T) {
	runShapeInfer(t, []shapeInferCase{
		{name: "bool", op: &Identity{}, in: []Type{shT(Bool, 2, -1)}, want: shOne(shT(Bool, 2, -1))},
		{name: "unknown rank", op: &Identity{}, in: []Type{shUnknown(Int32)}, want: shOne(shUnknown(Int32))},
		{name: "arity", op: &Identity{}, in: []Type{shF(1), shF(1)}, err: "got 2 inputs, want 1"},
	})
}

func TestConstantOfShapeInfer(t *testing.T) {
	i7 := FromInt64(Shape{1}, []int64{7})
	zero := FromFloat32(Shape{1}, []float32{0})
	runShapeInfer(t, []shapeInferCase{
		{name: "known", op: &ConstantOfShape{Value: i7}, in: []Type{shI(2)}, vals: []*Tensor{shV(2, 3)}, want: shOne(shI(2, 3))},
		{name: "scalar", op: &ConstantOfShape{Value: zero}, in: []Type{shI(0)}, vals: []*Tensor{shV()}, want: shOne(shF())},
		{name: "zero size", op: &ConstantOfShape{Value: zero}, in: []Type{shI(2)}, vals: []*Tensor{shV(0, 1<<40)}, err: "more than"},
		{name: "unknown", op: &ConstantOfShape{Value: zero}, in: []Type{shI(3)}, want: shOne(shF(-1, -1, -1))},
		{name: "unknown length", op: &ConstantOfShape{Value: zero}, in: []Type{shI(-1)}, want: shOne(shUnknown(Float32))},
		{name: "absurd", op: &ConstantOfShape{Value: zero}, in: []Type{shI(2)}, vals: []*Tensor{shV(1<<20, 1<<20)}, err: "more than 268435456 elements"},
		{name: "negative", op: &ConstantOfShape{Value: zero}, in: []Type{shI(1)}, vals: []*Tensor{shV(-1)}, err: "negative size -1"},
		{name: "int32 shape", op: &ConstantOfShape{Value: zero}, in: []Type{shT(Int32, 1)}, err: "want i64"},
		{name: "rank", op: &ConstantOfShape{Value: zero}, in: []Type{shI(1, 1)}, err: "want rank 1"},
		{name: "no value", op: &ConstantOfShape{}, in: []Type{shI(1)}, err: "no value"},
		{name: "two values", op: &ConstantOfShape{Value: shV(1, 2)}, in: []Type{shI(1)}, err: "want one element"},
	})
}

func TestShapeOpInfer(t *testing.T) {
	all := &ShapeOp{End: math.MaxInt}
	runShapeInfer(t, []shapeInferCase{
		{name: "all", op: all, in: []Type{shF(2, -1, 4)}, want: shOne(shI(3))},
		{name: "scalar", op: all, in: []Type{shF()}, want: shOne(shI(0))},
		{name: "unknown rank", op: all, in: []Type{shUnknown(Bool)}, want: shOne(shI(-1))},
		{name: "start end", op: &ShapeOp{Start: 1, End: 2}, in: []Type{shF(2, 3, 4)}, want: shOne(shI(1))},
		{name: "negative", op: &ShapeOp{Start: -1, End: math.MaxInt}, in: []Type{shF(2, 3, 4)}, want: shOne(shI(1))},
		{name: "clip", op: &ShapeOp{Start: -10, End: 10}, in: []Type{shF(2, 3, 4)}, want: shOne(shI(3))},
		{name: "empty", op: &ShapeOp{Start: 2, End: 1}, in: []Type{shF(2, 3, 4)}, want: shOne(shI(0))},
	})
	if s, e := (&ShapeOp{Start: -2, End: -1}).Range(4); s != 2 || e != 3 {
		t.Errorf("Range(4) of [-2,-1) = %d, %d, want 2, 3", s, e)
	}
}

func TestGatherInfer(t *testing.T) {
	i32 := &Tensor{DType: Int32, Shape: Shape{2}, I32: []int32{-3, 2}}
	runShapeInfer(t, []shapeInferCase{
		{name: "axis 0", op: &Gather{}, in: []Type{shF(5, 4), shI(2, 3)}, want: shOne(shF(2, 3, 4))},
		{name: "scalar index", op: &Gather{}, in: []Type{shI(3), shI()}, vals: []*Tensor{nil, FromInt64(Shape{}, []int64{-1})}, want: shOne(shI())},
		{name: "axis -1 int32", op: &Gather{Axis: -1}, in: []Type{shT(Bool, 2, 3), shT(Int32, 2)}, vals: []*Tensor{nil, i32}, want: shOne(shT(Bool, 2, 2))},
		{name: "unknown indices shape", op: &Gather{}, in: []Type{shF(5), shUnknown(Int64)}, want: shOne(shUnknown(Float32))},
		{name: "unknown data", op: &Gather{Axis: 1}, in: []Type{shF(-1, 4), shI(2)}, want: shOne(shF(-1, 2))},
		{name: "out of range", op: &Gather{}, in: []Type{shF(3), shI(1)}, vals: []*Tensor{nil, shV(3)}, err: "index 3 is out of range for dimension 0 of size 3"},
		{name: "negative out of range", op: &Gather{}, in: []Type{shF(3), shI(1)}, vals: []*Tensor{nil, shV(-4)}, err: "index -4 is out of range"},
		{name: "scalar data", op: &Gather{}, in: []Type{shF(), shI()}, err: "data is a scalar"},
		{name: "axis", op: &Gather{Axis: 2}, in: []Type{shF(2, 2), shI()}, err: "axis 2 is out of range"},
		{name: "indices dtype", op: &Gather{}, in: []Type{shF(2), shF()}, err: "indices (input 1) have element type f32"},
	})
}

func TestCastInfer(t *testing.T) {
	runShapeInfer(t, []shapeInferCase{
		{name: "to i64", op: &Cast{To: Int64}, in: []Type{shF(2, -1)}, want: shOne(shI(2, -1))},
		{name: "to bool", op: &Cast{To: Bool}, in: []Type{shT(Int32)}, want: shOne(shT(Bool))},
		{name: "unknown rank", op: &Cast{To: Float32}, in: []Type{shUnknown(Bool)}, want: shOne(shUnknown(Float32))},
		{name: "invalid", op: &Cast{}, in: []Type{shF(1)}, err: "cast to element type invalid", unsupported: true},
	})
}

func TestPadInfer(t *testing.T) {
	runShapeInfer(t, []shapeInferCase{
		{name: "attr", op: &Pad{Pads: []int{1, 0, 2, 3}}, in: []Type{shF(2, 3)}, want: shOne(shF(5, 6))},
		{name: "negative", op: &Pad{Pads: []int{-1, 0, 0, -2}}, in: []Type{shF(2, 3)}, want: shOne(shF(1, 1))},
		{name: "input", op: &Pad{Mode: PadReflect}, in: []Type{shF(1, 3), shI(4)}, vals: []*Tensor{nil, shV(0, 2, 0, 2)}, want: shOne(shF(1, 7))},
		{name: "constant value", op: &Pad{}, in: []Type{shI(2), shI(2), shI()}, vals: []*Tensor{nil, shV(1, 1)}, want: shOne(shI(4))},
		{name: "unknown pads", op: &Pad{}, in: []Type{shF(2, 3), shI(4)}, want: shOne(shF(-1, -1))},
		{name: "unknown dim", op: &Pad{Pads: []int{1, 1, 1, 1}}, in: []Type{shF(-1, 3)}, want: shOne(shF(-1, 5))},
		{name: "unknown rank", op: &Pad{}, in: []Type{shUnknown(Float32), shI(6)}, want: shOne(shF(-1, -1, -1))},
		{name: "crop all, constant", op: &Pad{Pads: []int{-1, 2}}, in: []Type{shF(1)}, want: shOne(shF(2))},
		{name: "too much crop", op: &Pad{Pads: []int{-2, 0}}, in: []Type{shF(1)}, err: "remove more than the 1 elements of dimension 0"},
		{name: "crop then reflect", op: &Pad{Mode: PadReflect, Pads: []int{-1, 2}}, in: []Type{shF(1)}, err: "reflect padding of dimension 0, which has no elements left"},
		{name: "edge empty", op: &Pad{Mode: PadEdge, Pads: []int{1, 0}}, in: []Type{shF(0)}, err: "edge padding of dimension 0"},
		{name: "count", op: &Pad{Pads: []int{1, 1}}, in: []Type{shF(2, 3)}, err: "pads [1 1] have 2 values, want 4 for rank 2"},
		{name: "count input", op: &Pad{}, in: []Type{shF(2, 3), shI(2)}, err: "pads (input 1) have 2 values, want 4"},
		{name: "huge", op: &Pad{Pads: []int{0, math.MaxInt}}, in: []Type{shF(2)}, err: "out of range"},
		{name: "too big", op: &Pad{Pads: []int{0, 0, MaxElements, 0}}, in: []Type{shF(2, 3)}, err: "more than"},
		{name: "value dtype", op: &Pad{}, in: []Type{shF(2), shI(2), shI()}, err: "constant_value (input 2) has element type i64, data has f32"},
		{name: "value shape", op: &Pad{}, in: []Type{shF(2), shI(2), shF(2)}, err: "want a scalar"},
		{name: "mode", op: &Pad{Mode: 7, Pads: []int{0, 0}}, in: []Type{shF(2)}, err: "pad mode padmode(7)"},
		{name: "arity", op: &Pad{}, in: []Type{shF(2)}, err: "got 1 inputs, want 2 to 3"},
	})
}

func TestSliceResolve(t *testing.T) {
	big, small := math.MaxInt, math.MinInt
	cases := []struct {
		start, end, step, n int
		want                SliceAxis
	}{
		{0, 3, 1, 5, SliceAxis{0, 1, 3}},
		{-2, big, 1, 5, SliceAxis{3, 1, 2}},
		{big, small, -1, 5, SliceAxis{4, -1, 5}},
		{-1, -6, -2, 5, SliceAxis{4, -2, 3}},
		{3, 1, 1, 5, SliceAxis{3, 1, 0}},
		{10, 20, 1, 5, SliceAxis{5, 1, 0}},
		{1, 5, 3, 5, SliceAxis{1, 3, 2}},
		{0, big, big, 5, SliceAxis{0, big, 1}},
		{4, small, small, 5, SliceAxis{4, small, 1}},
		{0, 1, -1, 0, SliceAxis{-1, -1, 0}},
	}
	for _, c := range cases {
		// The input form, and the attribute form where the step is 1.
		got, err := (&Slice{}).Resolve(Shape{c.n}, []*Tensor{nil, shV(int64(c.start)), shV(int64(c.end)), nil, shV(int64(c.step))})
		if err != nil || len(got) != 1 || got[0] != c.want {
			t.Errorf("slice [%d:%d:%d] of %d = %v, %v; want %v", c.start, c.end, c.step, c.n, got, err, c.want)
		}
		if c.step != 1 {
			continue
		}
		got, err = (&Slice{Starts: []int{c.start}, Ends: []int{c.end}}).Resolve(Shape{c.n}, nil)
		if err != nil || len(got) != 1 || got[0] != c.want {
			t.Errorf("attribute slice [%d:%d] of %d = %v, %v; want %v", c.start, c.end, c.n, got, err, c.want)
		}
	}
	if _, err := (&Slice{}).Resolve(Shape{3}, nil); err == nil {
		t.Errorf("Resolve with unknown starts succeeded")
	}
}

func TestTransposePermutation(t *testing.T) {
	p, err := (&Transpose{}).Permutation(3)
	if err != nil || len(p) != 3 || p[0] != 2 || p[1] != 1 || p[2] != 0 {
		t.Errorf("default permutation of rank 3 = %v, %v", p, err)
	}
}

func TestPadModeString(t *testing.T) {
	for m, want := range map[PadMode]string{PadConstant: "constant", PadReflect: "reflect", PadEdge: "edge", 9: "padmode(9)"} {
		if got := m.String(); got != want {
			t.Errorf("PadMode(%d) = %q, want %q", m, got, want)
		}
	}
}

// TestShapeOpsFuzzNoPanic feeds every op of the family odd but well-formed
// types and values and checks that Infer returns rather than panics.
func TestShapeOpsFuzzNoPanic(t *testing.T) {
	ops := []Op{
		&Concat{Axis: -5}, &Split{Axis: 3, NumOutputs: 2}, &Split{Split: []int{}, NumOutputs: 1},
		&Slice{}, &Slice{Starts: []int{math.MaxInt}, Ends: []int{math.MinInt}, Axes: []int{math.MinInt}},
		&Flatten{Axis: math.MinInt}, &Reshape{}, &Reshape{AllowZero: true}, &Transpose{Perm: []int{math.MaxInt}},
		&Squeeze{}, &Squeeze{Axes: []int{math.MaxInt}}, &Unsqueeze{}, &Unsqueeze{Axes: []int{math.MinInt}},
		&Dropout{Mask: Bool}, &Identity{}, &ConstantOfShape{Value: shV(1)}, &ShapeOp{Start: math.MinInt, End: math.MinInt},
		&Gather{Axis: math.MaxInt}, &Cast{To: 99}, &Pad{}, &Pad{Pads: []int{math.MinInt, math.MaxInt}},
	}
	types := []Type{{}, shUnknown(Float32), shF(), shF(0), shF(-1, 3), shI(2), shI(4), shI(-1), shT(Bool), shT(Int32, 1), shF(1, MaxElements)}
	values := []*Tensor{nil, shV(), shV(math.MaxInt64, math.MinInt64), shV(-1, 0), shV(0, 0, 0, 0), FromInt64(Shape{}, []int64{2}), shB(true), shS(1)}
	for _, op := range ops {
		for _, a := range types {
			for _, b := range types {
				for _, v := range values {
					for _, in := range [][]Type{{a}, {a, b}, {a, b, b}, {a, b, b, b, b}} {
						vals := make([]*Tensor, len(in))
						for i := 1; i < len(in); i++ {
							vals[i] = v
						}
						func() {
							defer func() {
								if r := recover(); r != nil {
									t.Fatalf("%T%+v.Infer(%v, %v) panicked: %v", op, op, in, vals, r)
								}
							}()
							_, _ = op.Infer(in, vals)
						}()
					}
				}
			}
		}
	}
}
