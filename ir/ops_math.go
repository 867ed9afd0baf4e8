package ir

// Math: softmax, matrix products, element-wise arithmetic with numpy
// broadcasting, variadic element-wise reductions and axis reductions.
// Compute is float32; Add, Sub, Mul, Div, Max, Min and Pow also take Int64
// and Int32 tensors, which appear in shape arithmetic.

// Softmax is Y = exp(X-m)/sum(exp(X-m)) over groups of elements of X, where m
// is the maximum of the group (subtracting it changes nothing but keeps exp
// finite). Axis counts from the end when negative and lies in [-r, r-1] for
// X of rank r. When Coerce2D is false (ONNX opset >= 13) a group is the 1-D
// slice of X along Axis. When it is true (ONNX opset < 13) X of shape
// [a_0, ..., a_{r-1}] is viewed as the matrix [a_0*...*a_{k-1},
// a_k*...*a_{r-1}] with k = Axis, and a group is a row of it; both forms
// agree when Axis is the last axis. Y has the shape of X.
type Softmax struct {
	Axis     int
	Coerce2D bool
}

// LogSoftmax is Y = (X-m) - log(sum(exp(X-m))), the logarithm of Softmax,
// with the same groups, Axis and Coerce2D as Softmax.
type LogSoftmax struct {
	Axis     int
	Coerce2D bool
}

// Gemm is Y = Alpha*A'*B' + Beta*C, where A' is A [M,K] or, with TransA,
// the transpose of A [K,M]; B' is B [K,N] or, with TransB, the transpose of
// B [N,K]; and the optional input C (input 2) broadcasts unidirectionally to
// [M,N] (its rank is at most 2 and each of its dimensions, aligned from the
// right, is 1 or equals Y's). Y is [M,N].
type Gemm struct {
	Alpha, Beta    float32
	TransA, TransB bool
}

// MatMul is the matrix product of A and B with numpy semantics: a 1-D A
// [K] is treated as [1,K] and a 1-D B [K] as [K,1], the added dimension
// being removed from Y; dimensions before the last two are batch
// dimensions and broadcast like Add's. A [..., M, K] times B [..., K, N]
// gives Y [..., M, N].
type MatMul struct{}

// Add is Y = A + B element-wise, with numpy (multidirectional)
// broadcasting of A and B to Y's shape. A and B have the same element type:
// f32, i64 or i32 (integers wrap around on overflow).
type Add struct{}

// Sub is Y = A - B element-wise, broadcast and typed like Add.
type Sub struct{}

// Mul is Y = A * B element-wise, broadcast and typed like Add.
type Mul struct{}

// Div is Y = A / B element-wise, broadcast and typed like Add. Integer
// division truncates toward zero (as C and ONNX Runtime do); an integer
// division by zero is an error at run time.
type Div struct{}

// Pow is Z = X ^ Y element-wise with numpy broadcasting of X (input 0, the
// base) and Y (input 1, the exponent). X and Y are each f32, i64 or i32; Z
// has X's type. The power is computed in float64; for an integer X it is
// then truncated toward zero (as ONNX Runtime does), so 2^-1 is 0.
type Pow struct{}

// Sum is the element-wise sum of its one or more f32 inputs, broadcast
// together numpy-style. (Before ONNX opset 8 the inputs had to have equal
// shapes; cnnc accepts broadcasting at every opset, a superset.)
type Sum struct{}

// Mean is the element-wise mean of its one or more f32 inputs, broadcast
// like Sum's.
type Mean struct{}

// Max is the element-wise maximum of its one or more inputs, broadcast like
// Sum's. The inputs share one element type: f32, i64 or i32. A NaN input
// element gives a NaN result.
type Max struct{}

// Min is the element-wise minimum of its inputs, as Max.
type Min struct{}

// ReduceSum sums the f32 input X (input 0) over a set of axes. The axes are
// Axes (negative ones count from the end) or, when the optional int64 input
// 1 is given (ONNX opset >= 13, where Axes is nil), that input's values. No
// axis may repeat. An empty set of axes means every axis, or no axis at all
// (Y is X) when NoopWithEmptyAxes is set. With KeepDims, each reduced
// dimension becomes 1; without, it is removed.
type ReduceSum struct {
	Axes              []int
	KeepDims          bool
	NoopWithEmptyAxes bool
}

// ReduceMean is the mean of X over Axes (all axes when empty), with
// KeepDims as for ReduceSum. It takes one input: ONNX passes its axes as an
// attribute up to opset 17. The mean over an empty set of elements is NaN.
type ReduceMean struct {
	Axes     []int
	KeepDims bool
}

// OpType implements Op.
func (*Softmax) OpType() string    { return "Softmax" }
func (*LogSoftmax) OpType() string { return "LogSoftmax" }
func (*Gemm) OpType() string       { return "Gemm" }
func (*MatMul) OpType() string     { return "MatMul" }
func (*Add) OpType() string        { return "Add" }
func (*Sub) OpType() string        { return "Sub" }
func (*Mul) OpType() string        { return "Mul" }
func (*Div) OpType() string        { return "Div" }
func (*Pow) OpType() string        { return "Pow" }
func (*Sum) OpType() string        { return "Sum" }
func (*Mean) OpType() string       { return "Mean" }
func (*Max) OpType() string        { return "Max" }
func (*Min) OpType() string        { return "Min" }
func (*ReduceSum) OpType() string  { return "ReduceSum" }
func (*ReduceMean) OpType() string { return "ReduceMean" }

// Infer implements Op.
func (s *Softmax) Infer(in []Type, _ []*Tensor) ([]Type, error) { return mathSoftmax(in, s.Axis) }

// Infer implements Op.
func (s *LogSoftmax) Infer(in []Type, _ []*Tensor) ([]Type, error) { return mathSoftmax(in, s.Axis) }

// mathSoftmax is the Infer of Softmax and LogSoftmax. The axis must be in
// range in both forms, so Coerce2D does not matter here.
func mathSoftmax(in []Type, axis int) ([]Type, error) {
	if err := arity(in, 1, 1); err != nil {
		return nil, err
	}
	if err := wantFloat(in, 0); err != nil {
		return nil, err
	}
	if s := in[0].Shape; s != nil {
		if len(s) == 0 {
			return nil, Invalidf("input is a scalar, want rank 1 or more")
		}
		if _, ok := NormAxis(axis, len(s)); !ok {
			return nil, Invalidf("axis %d is out of range for input shape %v (want %d to %d)", axis, s, -len(s), len(s)-1)
		}
	}
	return same(in, 0), nil
}

// Infer implements Op.
func (g *Gemm) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 2, 3); err != nil {
		return nil, err
	}
	for i := range in {
		if present(in, i) {
			if err := wantFloat(in, i); err != nil {
				return nil, err
			}
		}
	}
	if err := wantRank(in, 0, 2, 2); err != nil {
		return nil, err
	}
	if err := wantRank(in, 1, 2, 2); err != nil {
		return nil, err
	}
	// dims returns the (rows, cols) of a matrix input after the optional
	// transposition, -1 when unknown.
	dims := func(s Shape, trans bool) (int, int) {
		if s == nil {
			return -1, -1
		}
		if trans {
			return s[1], s[0]
		}
		return s[0], s[1]
	}
	m, ka := dims(in[0].Shape, g.TransA)
	kb, n := dims(in[1].Shape, g.TransB)
	if ka >= 0 && kb >= 0 && ka != kb {
		return nil, Invalidf("A shape %v (transA=%v) has K=%d but B shape %v (transB=%v) has K=%d",
			in[0].Shape, g.TransA, ka, in[1].Shape, g.TransB, kb)
	}
	out := Shape{m, n}
	if present(in, 2) && in[2].Shape != nil {
		c := in[2].Shape
		if len(c) > 2 {
			return nil, Invalidf("C shape %v has rank %d, want at most 2", c, len(c))
		}
		for i := range c {
			d, o := c[i], out[i+2-len(c)]
			if d != 1 && d >= 0 && o >= 0 && d != o {
				return nil, Invalidf("C shape %v does not broadcast to Y shape %v", c, out)
			}
		}
	}
	return []Type{{DType: Float32, Shape: out}}, nil
}

// Infer implements Op.
func (*MatMul) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 2, 2); err != nil {
		return nil, err
	}
	for i := range in {
		if err := wantFloat(in, i); err != nil {
			return nil, err
		}
	}
	a, b := in[0].Shape, in[1].Shape
	for i, s := range []Shape{a, b} {
		if s != nil && len(s) == 0 {
			return nil, Invalidf("input %d is a scalar, MatMul wants rank 1 or more", i)
		}
	}
	if a == nil || b == nil {
		return []Type{{DType: Float32}}, nil
	}
	out, err := MatMulShape(a, b)
	if err != nil {
		return nil, err
	}
	return []Type{{DType: Float32, Shape: out}}, nil
}

// MatMulShape returns the shape of the numpy matrix product of operands of
// shapes a and b, both of rank 1 or more. Unknown dimensions propagate.
func MatMulShape(a, b Shape) (Shape, error) {
	if len(a) == 0 || len(b) == 0 {
		return nil, Invalidf("MatMul operands %v and %v: want rank 1 or more", a, b)
	}
	a2, b2 := a, b
	if len(a) == 1 {
		a2 = Shape{1, a[0]}
	}
	if len(b) == 1 {
		b2 = Shape{b[0], 1}
	}
	ka, kb := a2[len(a2)-1], b2[len(b2)-2]
	if ka >= 0 && kb >= 0 && ka != kb {
		return nil, Invalidf("A shape %v has K=%d but B shape %v has K=%d", a, ka, b, kb)
	}
	batch, err := BroadcastShapes(a2[:len(a2)-2], b2[:len(b2)-2])
	if err != nil {
		return nil, Invalidf("batch dimensions of A shape %v and B shape %v do not broadcast", a, b)
	}
	out := append(Shape{}, batch...)
	if len(a) > 1 {
		out = append(out, a2[len(a2)-2])
	}
	if len(b) > 1 {
		out = append(out, b2[len(b2)-1])
	}
	return out, nil
}

// Infer implements Op.
func (*Add) Infer(in []Type, _ []*Tensor) ([]Type, error) { return mathArith(in) }
func (*Sub) Infer(in []Type, _ []*Tensor) ([]Type, error) { return mathArith(in) }
func (*Mul) Infer(in []Type, _ []*Tensor) ([]Type, error) { return mathArith(in) }
func (*Div) Infer(in []Type, _ []*Tensor) ([]Type, error) { return mathArith(in) }

// mathArith is the Infer of the binary arithmetic ops.
func mathArith(in []Type) ([]Type, error) {
	if err := arity(in, 2, 2); err != nil {
		return nil, err
	}
	return mathBroadcastAll(in, true)
}

// mathBroadcastAll checks that all inputs have one element type (f32, or
// also i64 and i32 when ints is set) and returns the output of their
// broadcast shape.
func mathBroadcastAll(in []Type, ints bool) ([]Type, error) {
	dt := in[0].DType
	for i := range in {
		if in[i].DType == Invalid {
			return nil, Invalidf("input %d is missing", i)
		}
		if in[i].DType != dt {
			return nil, Invalidf("input %d has element type %v, input 0 has %v", i, in[i].DType, dt)
		}
	}
	if dt != Float32 && !(ints && dt.IsInt()) {
		if ints {
			return nil, Unsupportedf("element type %v, want f32, i64 or i32", dt)
		}
		return nil, Unsupportedf("element type %v, want f32", dt)
	}
	out := in[0].Shape.Clone()
	for i := 1; i < len(in); i++ {
		var err error
		if out, err = BroadcastShapes(out, in[i].Shape); err != nil {
			return nil, err
		}
	}
	return []Type{{DType: dt, Shape: out}}, nil
}

// Infer implements Op.
func (*Pow) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 2, 2); err != nil {
		return nil, err
	}
	for i, what := range []string{"base", "exponent"} {
		if dt := in[i].DType; dt != Float32 && !dt.IsInt() {
			return nil, Unsupportedf("%s has element type %v, want f32, i64 or i32", what, dt)
		}
	}
	out, err := BroadcastShapes(in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, err
	}
	return []Type{{DType: in[0].DType, Shape: out}}, nil
}

// Infer implements Op.
func (*Sum) Infer(in []Type, _ []*Tensor) ([]Type, error)  { return mathVariadic(in, false) }
func (*Mean) Infer(in []Type, _ []*Tensor) ([]Type, error) { return mathVariadic(in, false) }
func (*Max) Infer(in []Type, _ []*Tensor) ([]Type, error)  { return mathVariadic(in, true) }
func (*Min) Infer(in []Type, _ []*Tensor) ([]Type, error)  { return mathVariadic(in, true) }

// mathVariadic is the Infer of the variadic element-wise ops.
func mathVariadic(in []Type, ints bool) ([]Type, error) {
	if len(in) == 0 {
		return nil, Invalidf("got no inputs, want 1 or more")
	}
	return mathBroadcastAll(in, ints)
}

// Infer implements Op.
func (r *ReduceSum) Infer(in []Type, vals []*Tensor) ([]Type, error) {
	if err := arity(in, 1, 2); err != nil {
		return nil, err
	}
	if !present(in, 1) {
		return mathReduce(in, r.Axes, r.KeepDims, r.NoopWithEmptyAxes)
	}
	if r.Axes != nil {
		return nil, Invalidf("axes are given both as attribute %v and as input 1", r.Axes)
	}
	if in[1].DType != Int64 {
		return nil, Invalidf("axes input has element type %v, want i64", in[1].DType)
	}
	if err := wantRank(in, 1, 1, 1); err != nil {
		return nil, err
	}
	var axes []int
	switch {
	case len(vals) > 1 && vals[1] != nil:
		var err error
		if axes, err = vals[1].Ints(); err != nil {
			return nil, err
		}
	case in[1].Shape != nil && len(in[1].Shape) == 1 && in[1].Shape[0] == 0:
		// An empty axes input: its value is known to be empty.
	default:
		return mathReduceUnknown(in, r.KeepDims)
	}
	return mathReduce(in, axes, r.KeepDims, r.NoopWithEmptyAxes)
}

// Infer implements Op.
func (r *ReduceMean) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 1, 1); err != nil {
		return nil, err
	}
	return mathReduce(in, r.Axes, r.KeepDims, false)
}

// mathReduce is the Infer of a reduction of input 0 over known axes.
func mathReduce(in []Type, axes []int, keep, noop bool) ([]Type, error) {
	if err := wantFloat(in, 0); err != nil {
		return nil, err
	}
	s := in[0].Shape
	if s == nil {
		if len(axes) == 0 && noop {
			return same(in, 0), nil
		}
		return []Type{{DType: Float32}}, nil
	}
	red, err := ReduceAxes(axes, len(s), noop)
	if err != nil {
		return nil, err
	}
	return []Type{{DType: Float32, Shape: ReducedShape(s, red, keep)}}, nil
}

// mathReduceUnknown is the Infer of a reduction whose axes are not known:
// with keepdims the rank is kept and every dimension is unknown except
// those of size 1 (which stay 1 whether reduced or not); without it, the
// rank is unknown too.
func mathReduceUnknown(in []Type, keep bool) ([]Type, error) {
	if err := wantFloat(in, 0); err != nil {
		return nil, err
	}
	s := in[0].Shape
	if !keep || s == nil {
		return []Type{{DType: Float32}}, nil
	}
	out := make(Shape, len(s))
	for i, d := range s {
		out[i] = -1
		if d == 1 {
			out[i] = 1
		}
	}
	return []Type{{DType: Float32, Shape: out}}, nil
}

// ReduceAxes returns, for an input of the given rank, which dimensions a
// reduction over axes reduces. Axes may be negative (counting from the
// end) and must be in range and distinct. No axes means every dimension,
// or none when noopWithEmpty is set.
func ReduceAxes(axes []int, rank int, noopWithEmpty bool) ([]bool, error) {
	red := make([]bool, rank)
	if len(axes) == 0 {
		for i := range red {
			red[i] = !noopWithEmpty
		}
		return red, nil
	}
	for _, a := range axes {
		n, ok := NormAxis(a, rank)
		if !ok {
			return nil, Invalidf("axis %d is out of range for rank %d (want %d to %d)", a, rank, -rank, rank-1)
		}
		if red[n] {
			return nil, Invalidf("axis %d is repeated in axes %v", a, axes)
		}
		red[n] = true
	}
	return red, nil
}

// ReducedShape returns the shape of s after reducing the dimensions marked
// in red (one entry per dimension of s): set to 1 with keep, else removed.
func ReducedShape(s Shape, red []bool, keep bool) Shape {
	out := Shape{}
	for i, d := range s {
		switch {
		case !red[i]:
			out = append(out, d)
		case keep:
			out = append(out, 1)
		}
	}
	return out
}
