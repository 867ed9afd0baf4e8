package ir

import (
	"math"
	"slices"
	"strconv"
)

// Shape manipulation and data movement: ops that rearrange, cut, join or
// relabel elements without computing on them (Cast converts them). They work
// on every element type, so they also carry the shape arithmetic of exported
// PyTorch models (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) in Int64.
//
// Several of them take shape-like operands as inputs from some opset on
// (Reshape's shape, Slice's starts, a Pad's pads). Their Infer reads those
// inputs' values when known and otherwise returns the best partial type: the
// rank when it can be told, with unknown (-1) dimensions.

// Concat joins its inputs along Axis (negative counts from the back). All
// inputs have the same element type and rank and agree on every other
// dimension; the output's Axis dimension is the sum of theirs.
type Concat struct{ Axis int }

// Split cuts input 0 along Axis (negative counts from the back) into
// NumOutputs consecutive parts. Split lists their lengths when they are an
// attribute (before opset 13); it is nil when the lengths come from the
// optional input 1 (opset 13 on) or when there are none, in which case the
// parts are equal and the dimension must divide evenly.
type Split struct {
	Axis       int
	Split      []int
	NumOutputs int
}

// Slice takes the elements start, start+step, ... (stopping before end) on
// each listed axis of its input, numpy style. Before opset 10 Starts, Ends
// and Axes hold the attributes (Axes nil means 0, 1, ..., len(Starts)-1, and
// every step is 1); from opset 10 all three are nil and the values come from
// the inputs starts (1), ends (2) and the optional axes (3) and steps (4).
// Negative starts and ends count from the back of the dimension; values
// beyond it, like INT64_MAX, are clamped (see Resolve).
type Slice struct{ Starts, Ends, Axes []int }

// SliceAxis is the resolved slice of one axis: the Len elements at Start,
// Start+Step, Start+2*Step, ... A Len of -1 means the dimension is unknown.
type SliceAxis struct{ Start, Step, Len int }

// Flatten reshapes its input to the matrix [d0*...*d(Axis-1), dAxis*...*dn].
// Axis ranges over [-rank, rank] (negative counts from the back); 0 gives
// [1, all].
type Flatten struct{ Axis int }

// Reshape gives input 0 the shape held by input 1, keeping the elements in
// row-major order. In that shape one entry may be -1, inferred from the
// element count; an entry 0 copies the input's dimension at the same index
// unless AllowZero (opset 14) is set, in which case it is a real 0.
type Reshape struct{ AllowZero bool }

// Transpose permutes the dimensions: output dimension i is input dimension
// Perm[i]. A nil Perm reverses them.
type Transpose struct{ Perm []int }

// Squeeze removes dimensions of size 1. Axes lists them (negative counts from
// the back) when they are an attribute (before opset 13); it is nil when they
// come from the optional input 1 (opset 13 on) or when there are none, in
// which case every dimension of size 1 is removed.
type Squeeze struct{ Axes []int }

// Unsqueeze inserts dimensions of size 1 at the positions Axes of the output
// (negative counts from the back of the output, whose rank is the input's
// plus len(Axes)). Axes holds the attribute before opset 13 and is nil from
// opset 13, where the axes are the required input 1.
type Unsqueeze struct{ Axes []int }

// Dropout at inference is the identity: Y = X, and the optional mask output
// is all ones (true). Ratio is the attribute of opsets 6 to 11 (from opset 12
// the ratio is the optional input 1) and has no effect at inference. From
// opset 12 the optional input 2, training_mode, must be false or the ratio
// input 0: random training-time dropout is not supported. Mask is the
// element type of the mask output: Invalid when the node has none, Bool from
// opset 10, Float32 (the data's type) before.
type Dropout struct {
	Ratio float32
	Mask  DType
}

// Identity is Y = X, for any element type.
type Identity struct{}

// ConstantOfShape produces a tensor of the shape given by its Int64 input
// (a 1-D list of non-negative sizes; an empty list gives a scalar), every
// element equal to Value's one element and of its element type. The
// importer sets Value to a float32 0 when the attribute is absent.
type ConstantOfShape struct{ Value *Tensor }

// ShapeOp is ONNX's Shape: the 1-D Int64 tensor of its input's dimensions
// Start (inclusive) to End (exclusive). Negative values count from the back;
// both are then clamped to [0, rank]. The full shape is Start 0, End
// math.MaxInt (the values before opset 15, which added the attributes).
type ShapeOp struct{ Start, End int }

// Gather picks entries of input 0 along Axis (negative counts from the back)
// at the Int64 or Int32 indices of input 1 (negative counts from the back of
// the dimension). The output shape is data[:Axis] + indices + data[Axis+1:].
type Gather struct{ Axis int }

// Cast converts every element to the element type To. Floats become
// integers by truncation toward zero, as C does; out of the target's range
// (undefined in C) they saturate, and NaN becomes 0. Integers narrow by
// keeping the low bits. A value is true when non-zero; true is 1.
type Cast struct{ To DType }

// PadMode is how Pad fills new elements.
type PadMode uint8

// The pad modes of ONNX, as in numpy.pad.
const (
	// PadConstant fills with a constant value.
	PadConstant PadMode = iota
	// PadReflect mirrors the input at its first and last element, which are
	// not repeated: [1,2,3] padded by 2 on both sides is [3,2,1,2,3,2,1].
	// Pads longer than the dimension less one keep mirroring, as numpy.pad
	// does (ONNX Runtime refuses them); a dimension of 1 is repeated.
	PadReflect
	// PadEdge repeats the first and last element.
	PadEdge
)

var padModeNames = [...]string{PadConstant: "constant", PadReflect: "reflect", PadEdge: "edge"}

// String returns the ONNX name of the mode: constant, reflect or edge.
func (m PadMode) String() string {
	if int(m) < len(padModeNames) {
		return padModeNames[m]
	}
	return "padmode(" + strconv.Itoa(int(m)) + ")"
}

// Pad adds (or, when negative, removes) elements at the beginning and end of
// every axis: Pads is [x1_begin, x2_begin, ..., x1_end, x2_end, ...], two
// entries per input dimension. Negative pads crop first; the positive ones
// then pad what is left, so reflect and edge mirror or repeat the kept
// elements (as ONNX Runtime does). Before opset 11 Pads and Value are the
// attributes; from opset 11 Pads is nil and the pads are input 1 (Int64),
// and the constant is the optional input 2 (of the data's type) if given,
// else Value (0).
type Pad struct {
	Mode  PadMode
	Pads  []int
	Value float32
}

// OpType implements Op.
func (*Concat) OpType() string          { return "Concat" }
func (*Split) OpType() string           { return "Split" }
func (*Slice) OpType() string           { return "Slice" }
func (*Flatten) OpType() string         { return "Flatten" }
func (*Reshape) OpType() string         { return "Reshape" }
func (*Transpose) OpType() string       { return "Transpose" }
func (*Squeeze) OpType() string         { return "Squeeze" }
func (*Unsqueeze) OpType() string       { return "Unsqueeze" }
func (*Dropout) OpType() string         { return "Dropout" }
func (*Identity) OpType() string        { return "Identity" }
func (*ConstantOfShape) OpType() string { return "ConstantOfShape" }
func (*ShapeOp) OpType() string         { return "Shape" }
func (*Gather) OpType() string          { return "Gather" }
func (*Cast) OpType() string            { return "Cast" }
func (*Pad) OpType() string             { return "Pad" }

// maxGuessRank bounds the rank of a partial result built from the length of
// an input whose values are unknown (Reshape's shape, say); beyond it the
// rank is reported unknown rather than allocated.
const maxGuessRank = 64

// unknownDims returns a shape of rank n with every dimension unknown, or nil
// (unknown rank) when n is negative or implausibly large.
func unknownDims(n int) Shape {
	if n < 0 || n > maxGuessRank {
		return nil
	}
	s := make(Shape, n)
	for i := range s {
		s[i] = -1
	}
	return s
}

// knownVal returns the value of input i, or nil when it is absent or unknown.
func knownVal(vals []*Tensor, i int) *Tensor {
	if i < len(vals) {
		return vals[i]
	}
	return nil
}

// intInput checks that input i, named name, is an integer tensor of rank
// between minRank and maxRank, and returns its values when they are known.
// An absent input or an unknown value gives known=false.
func intInput(in []Type, vals []*Tensor, i int, name string, minRank, maxRank int) (v []int, known bool, err error) {
	if !present(in, i) {
		return nil, false, nil
	}
	if !in[i].DType.IsInt() {
		return nil, false, Invalidf("input %d (%s) has element type %v, want i64", i, name, in[i].DType)
	}
	if s := in[i].Shape; s != nil && (len(s) < minRank || len(s) > maxRank) {
		if minRank == maxRank {
			return nil, false, Invalidf("input %d (%s) has shape %v, want rank %d", i, name, s, minRank)
		}
		return nil, false, Invalidf("input %d (%s) has shape %v, want rank %d to %d", i, name, s, minRank, maxRank)
	}
	if knownVal(vals, i) == nil {
		return nil, false, nil
	}
	v, err = vals[i].Ints()
	if err != nil {
		return nil, false, Invalidf("input %d (%s): %v", i, name, err)
	}
	return v, true, nil
}

// inputLen returns the number of elements of 1-D input i when its shape
// tells, else -1.
func inputLen(in []Type, i int) int {
	if !present(in, i) {
		return -1
	}
	if s := in[i].Shape; len(s) == 1 && s[0] >= 0 {
		return s[0]
	}
	if s := in[i].Shape; s != nil && len(s) == 0 {
		return 1
	}
	return -1
}

// normAxes maps axes (negative counting from the back) into [0, rank) and
// checks that none repeats; what names them in messages.
func normAxes(axes []int, rank int, what string) ([]int, error) {
	out := make([]int, len(axes))
	seen := make(map[int]bool, len(axes))
	for i, a := range axes {
		n, ok := NormAxis(a, rank)
		if !ok {
			return nil, Invalidf("%s %d is out of range for rank %d", what, a, rank)
		}
		if seen[n] {
			return nil, Invalidf("%s %v repeat axis %d", what, axes, n)
		}
		seen[n] = true
		out[i] = n
	}
	return out, nil
}

// Infer implements Op.
func (c *Concat) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if len(in) == 0 {
		return nil, Invalidf("got no inputs, want at least 1")
	}
	dt, rank := in[0].DType, -1
	for i, t := range in {
		if t.DType == Invalid {
			return nil, Invalidf("input %d is missing", i)
		}
		if t.DType != dt {
			return nil, Invalidf("input %d has element type %v, input 0 has %v", i, t.DType, dt)
		}
		if t.Shape != nil {
			if rank < 0 {
				rank = len(t.Shape)
			} else if len(t.Shape) != rank {
				return nil, Invalidf("input %d has shape %v, want rank %d like the other inputs", i, t.Shape, rank)
			}
		}
	}
	if rank < 0 {
		return []Type{{DType: dt}}, nil
	}
	axis, ok := NormAxis(c.Axis, rank)
	if !ok {
		return nil, Invalidf("axis %d is out of range for rank %d", c.Axis, rank)
	}
	out := make(Shape, rank)
	for d := range out {
		out[d] = -1
	}
	sum := 0
	for i, t := range in {
		if t.Shape == nil {
			sum = -1
			continue
		}
		for d, n := range t.Shape {
			switch {
			case d == axis:
				if n < 0 || sum < 0 {
					sum = -1
				} else if sum += n; sum > MaxElements {
					return nil, Invalidf("concatenated dimension %d exceeds %d", axis, MaxElements)
				}
			case n < 0:
			case out[d] >= 0 && out[d] != n:
				return nil, Invalidf("input %d has shape %v, the others have %d in dimension %d", i, t.Shape, out[d], d)
			default:
				out[d] = n
			}
		}
	}
	out[axis] = sum
	if out.Known() && out.NumElements() < 0 {
		return nil, Invalidf("output shape %v has more than %d elements", out, MaxElements)
	}
	return []Type{{DType: dt, Shape: out}}, nil
}

// Infer implements Op.
func (s *Split) Infer(in []Type, vals []*Tensor) ([]Type, error) {
	if err := arity(in, 1, 2); err != nil {
		return nil, err
	}
	if s.NumOutputs < 1 {
		return nil, Invalidf("has %d outputs, want at least 1", s.NumOutputs)
	}
	// Lengths: given (sizes), equal parts, or unknown.
	var sizes []int
	equal, known := true, true
	if s.Split != nil {
		if present(in, 1) {
			return nil, Invalidf("split lengths are given both as attribute and as input 1")
		}
		sizes, equal = s.Split, false
	} else if present(in, 1) {
		v, ok, err := intInput(in, vals, 1, "split", 1, 1)
		if err != nil {
			return nil, err
		}
		sizes, equal, known = v, false, ok
	}
	if !equal && known {
		if len(sizes) != s.NumOutputs {
			return nil, Invalidf("split %v has %d lengths for %d outputs", sizes, len(sizes), s.NumOutputs)
		}
		for _, n := range sizes {
			if n < 0 || n > MaxElements {
				return nil, Invalidf("split %v has length %d", sizes, n)
			}
		}
	}
	outs := make([]Type, s.NumOutputs)
	x := in[0].Shape
	if x == nil {
		for i := range outs {
			outs[i] = Type{DType: in[0].DType}
		}
		return outs, nil
	}
	axis, ok := NormAxis(s.Axis, len(x))
	if !ok {
		return nil, Invalidf("axis %d is out of range for input shape %v", s.Axis, x)
	}
	n := x[axis]
	switch {
	case !known:
		sizes = make([]int, s.NumOutputs)
		for i := range sizes {
			sizes[i] = -1
		}
	case equal:
		part := -1
		if n >= 0 {
			if n%s.NumOutputs != 0 {
				return nil, Invalidf("dimension %d of input shape %v does not split into %d equal parts", axis, x, s.NumOutputs)
			}
			part = n / s.NumOutputs
		}
		sizes = make([]int, s.NumOutputs)
		for i := range sizes {
			sizes[i] = part
		}
	case n >= 0:
		sum := 0
		for _, k := range sizes {
			sum += k // each is at most MaxElements: no overflow
		}
		if sum != n {
			return nil, Invalidf("split %v sums to %d, dimension %d of input shape %v is %d", sizes, sum, axis, x, n)
		}
	}
	for i := range outs {
		sh := x.Clone()
		sh[axis] = sizes[i]
		outs[i] = Type{DType: in[0].DType, Shape: sh}
	}
	return outs, nil
}

// sliceArgs returns the starts, ends, axes and steps of s (axes and steps
// nil when defaulted), or known=false when a needed input value is unknown.
func (s *Slice) sliceArgs(vals []*Tensor) (starts, ends, axes, steps []int, known bool, err error) {
	if s.Starts != nil {
		return s.Starts, s.Ends, s.Axes, nil, true, nil
	}
	get := func(i int) ([]int, bool, error) {
		if knownVal(vals, i) == nil {
			return nil, false, nil
		}
		v, err := vals[i].Ints()
		return v, true, err
	}
	var ok bool
	if starts, ok, err = get(1); err != nil || !ok {
		return nil, nil, nil, nil, false, err
	}
	if ends, ok, err = get(2); err != nil || !ok {
		return nil, nil, nil, nil, false, err
	}
	if axes, _, err = get(3); err != nil {
		return nil, nil, nil, nil, false, err
	}
	if steps, _, err = get(4); err != nil {
		return nil, nil, nil, nil, false, err
	}
	return starts, ends, axes, steps, true, nil
}

// Resolve returns the slice of every axis of an input of shape x (unsliced
// axes get Start 0, Step 1, Len x[d]). vals are the input values as Infer
// gets them; in the input form (from opset 10) starts and ends must be known
// and omitted axes or steps must be nil. Following ONNX, for each sliced
// axis of size n a negative start or end gets n added; then with a positive
// step the start and end are clamped to [0, n], with a negative step the
// start to [0, n-1] and the end to [-1, n-1]. Axes may not repeat and steps
// may not be 0. An unknown dimension gives Len -1.
func (s *Slice) Resolve(x Shape, vals []*Tensor) ([]SliceAxis, error) {
	starts, ends, axes, steps, known, err := s.sliceArgs(vals)
	if err != nil {
		return nil, err
	}
	if !known {
		return nil, Invalidf("slice starts and ends are not known")
	}
	if len(ends) != len(starts) {
		return nil, Invalidf("slice has %d starts and %d ends", len(starts), len(ends))
	}
	if axes == nil {
		if len(starts) > len(x) {
			return nil, Invalidf("slice has %d starts for input shape %v", len(starts), x)
		}
		axes = make([]int, len(starts))
		for i := range axes {
			axes[i] = i
		}
	} else if len(axes) != len(starts) {
		return nil, Invalidf("slice has %d axes and %d starts", len(axes), len(starts))
	}
	if steps != nil && len(steps) != len(starts) {
		return nil, Invalidf("slice has %d steps and %d starts", len(steps), len(starts))
	}
	axes, err = normAxes(axes, len(x), "slice axes")
	if err != nil {
		return nil, err
	}
	out := make([]SliceAxis, len(x))
	for d, n := range x {
		out[d] = SliceAxis{Start: 0, Step: 1, Len: n}
	}
	for i, d := range axes {
		step := 1
		if steps != nil {
			step = steps[i]
		}
		if step == 0 {
			return nil, Invalidf("slice step for axis %d is 0", d)
		}
		n := x[d]
		if n < 0 {
			out[d] = SliceAxis{Start: 0, Step: step, Len: -1}
			continue
		}
		out[d] = sliceAxis(starts[i], ends[i], step, n)
	}
	return out, nil
}

// sliceAxis resolves one axis of size n >= 0 (see Slice.Resolve). Adding n
// to a negative value cannot overflow, and the lengths are computed without
// adding the step, which may be huge.
func sliceAxis(start, end, step, n int) SliceAxis {
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	if step > 0 {
		start, end = min(max(start, 0), n), min(max(end, 0), n)
		l := 0
		if end > start {
			l = (end-start-1)/step + 1
		}
		return SliceAxis{Start: start, Step: step, Len: l}
	}
	start, end = min(max(start, 0), n-1), min(max(end, -1), n-1)
	l := 0
	if start > end {
		// -step overflows only for MinInt, where the division by it gives
		// 0 anyway, as it should: one element.
		l = (start-end-1)/(-step) + 1
		if step == math.MinInt {
			l = 1
		}
	}
	return SliceAxis{Start: start, Step: step, Len: l}
}

// Infer implements Op.
func (s *Slice) Infer(in []Type, vals []*Tensor) ([]Type, error) {
	if s.Starts != nil {
		if err := arity(in, 1, 1); err != nil {
			return nil, err
		}
	} else {
		if err := arity(in, 3, 5); err != nil {
			return nil, err
		}
		for i, name := range []string{1: "starts", 2: "ends", 3: "axes", 4: "steps"} {
			if i == 0 || !present(in, i) {
				continue
			}
			if _, _, err := intInput(in, nil, i, name, 1, 1); err != nil {
				return nil, err
			}
		}
	}
	x := in[0].Shape
	if x == nil {
		return []Type{{DType: in[0].DType}}, nil
	}
	known := true
	for i := 1; i <= 4; i++ {
		if present(in, i) && knownVal(vals, i) == nil {
			known = false
		}
	}
	if known {
		axes, err := s.Resolve(x, vals)
		if err != nil {
			return nil, err
		}
		out := make(Shape, len(x))
		for d, a := range axes {
			out[d] = a.Len
		}
		return []Type{{DType: in[0].DType, Shape: out}}, nil
	}
	// Some input value is unknown: the axes that may be sliced become
	// unknown, all of them unless the axes can be told.
	n := inputLen(in, 1)
	if v := knownVal(vals, 1); v != nil {
		n = v.Len()
	}
	var axes []int
	switch {
	case knownVal(vals, 3) != nil:
		var err error
		if axes, err = vals[3].Ints(); err != nil {
			return nil, err
		}
	case !present(in, 3) && n >= 0 && n <= len(x):
		for i := 0; i < n; i++ {
			axes = append(axes, i)
		}
	default:
		return []Type{{DType: in[0].DType, Shape: unknownDims(len(x))}}, nil
	}
	axes, err := normAxes(axes, len(x), "slice axes")
	if err != nil {
		return nil, err
	}
	out := x.Clone()
	for _, d := range axes {
		out[d] = -1
	}
	return []Type{{DType: in[0].DType, Shape: out}}, nil
}

// Infer implements Op.
func (f *Flatten) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 1, 1); err != nil {
		return nil, err
	}
	x := in[0].Shape
	if x == nil {
		return []Type{{DType: in[0].DType, Shape: Shape{-1, -1}}}, nil
	}
	axis := f.Axis
	if axis < 0 {
		axis += len(x)
	}
	if axis < 0 || axis > len(x) {
		return nil, Invalidf("axis %d is out of range for input shape %v (want -%d to %d)", f.Axis, x, len(x), len(x))
	}
	out := Shape{-1, -1}
	for i, part := range []Shape{x[:axis], x[axis:]} {
		if part.Known() {
			if out[i] = part.NumElements(); out[i] < 0 {
				return nil, Invalidf("input shape %v has more than %d elements", x, MaxElements)
			}
		}
	}
	return []Type{{DType: in[0].DType, Shape: out}}, nil
}

// Infer implements Op.
func (r *Reshape) Infer(in []Type, vals []*Tensor) ([]Type, error) {
	if err := arity(in, 2, 2); err != nil {
		return nil, err
	}
	spec, known, err := intInput(in, vals, 1, "shape", 1, 1)
	if err != nil {
		return nil, err
	}
	dt := in[0].DType
	if !known {
		return []Type{{DType: dt, Shape: unknownDims(inputLen(in, 1))}}, nil
	}
	x := in[0].Shape
	out := make(Shape, len(spec))
	inferAt, hasZero := -1, false
	for i, v := range spec {
		switch {
		case v == -1:
			if inferAt >= 0 {
				return nil, Invalidf("shape %v has more than one -1", spec)
			}
			inferAt = i
			out[i] = -1
		case v < -1:
			return nil, Invalidf("shape %v has negative size %d", spec, v)
		case v > MaxElements:
			return nil, Invalidf("shape %v has size %d, more than %d elements", spec, v, MaxElements)
		case v == 0 && !r.AllowZero:
			switch {
			case x == nil:
				out[i] = -1
			case i >= len(x):
				return nil, Invalidf("shape %v copies dimension %d (0), but the input shape %v has rank %d", spec, i, x, len(x))
			default:
				out[i] = x[i]
			}
		default:
			out[i] = v
			hasZero = hasZero || v == 0
		}
	}
	if hasZero && inferAt >= 0 {
		return nil, Invalidf("shape %v has both 0 and -1 with allowzero", spec)
	}
	// The product of the other dimensions, when all are known.
	rest := slices.Delete(out.Clone(), max(inferAt, 0), inferAt+1)
	prod := -1
	if rest.Known() {
		if prod = rest.NumElements(); prod < 0 {
			return nil, Invalidf("shape %v has more than %d elements", spec, MaxElements)
		}
	}
	total := -1
	if x.Known() {
		if total = x.NumElements(); total < 0 {
			return nil, Invalidf("input shape %v has more than %d elements", x, MaxElements)
		}
	}
	switch {
	case prod < 0 || total < 0:
	case inferAt >= 0:
		if prod == 0 || total%prod != 0 {
			return nil, Invalidf("input shape %v (%d elements) cannot be reshaped to %v", x, total, spec)
		}
		out[inferAt] = total / prod
	case prod != total:
		return nil, Invalidf("input shape %v has %d elements, shape %v has %d", x, total, spec, prod)
	}
	return []Type{{DType: dt, Shape: out}}, nil
}

// Permutation returns the permutation for an input of the given rank: Perm,
// or the reversal when Perm is nil. It fails unless Perm is a permutation of
// 0 .. rank-1.
func (t *Transpose) Permutation(rank int) ([]int, error) {
	if t.Perm == nil {
		p := make([]int, rank)
		for i := range p {
			p[i] = rank - 1 - i
		}
		return p, nil
	}
	if len(t.Perm) != rank {
		return nil, Invalidf("perm %v has %d entries for an input of rank %d", t.Perm, len(t.Perm), rank)
	}
	seen := make([]bool, rank)
	for _, p := range t.Perm {
		if p < 0 || p >= rank || seen[p] {
			return nil, Invalidf("perm %v is not a permutation of 0..%d", t.Perm, rank-1)
		}
		seen[p] = true
	}
	return append([]int{}, t.Perm...), nil
}

// Infer implements Op.
func (t *Transpose) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 1, 1); err != nil {
		return nil, err
	}
	x := in[0].Shape
	if x == nil {
		if t.Perm == nil {
			return []Type{{DType: in[0].DType}}, nil
		}
		if _, err := t.Permutation(len(t.Perm)); err != nil {
			return nil, err
		}
		return []Type{{DType: in[0].DType, Shape: unknownDims(len(t.Perm))}}, nil
	}
	perm, err := t.Permutation(len(x))
	if err != nil {
		return nil, err
	}
	out := make(Shape, len(x))
	for i, p := range perm {
		out[i] = x[p]
	}
	return []Type{{DType: in[0].DType, Shape: out}}, nil
}

// Infer implements Op.
func (s *Squeeze) Infer(in []Type, vals []*Tensor) ([]Type, error) {
	if err := arity(in, 1, 2); err != nil {
		return nil, err
	}
	dt, x := in[0].DType, in[0].Shape
	axes, given := s.Axes, s.Axes != nil
	if present(in, 1) {
		if given {
			return nil, Invalidf("axes are given both as attribute and as input 1")
		}
		v, known, err := intInput(in, vals, 1, "axes", 0, 1)
		if err != nil {
			return nil, err
		}
		if !known {
			k := inputLen(in, 1)
			if x == nil || k < 0 {
				return []Type{{DType: dt}}, nil
			}
			if k > len(x) {
				return nil, Invalidf("%d axes to squeeze from input shape %v", k, x)
			}
			return []Type{{DType: dt, Shape: unknownDims(len(x) - k)}}, nil
		}
		axes, given = v, true
	}
	if x == nil {
		return []Type{{DType: dt}}, nil
	}
	out := Shape{}
	if !given {
		if !x.Known() {
			return []Type{{DType: dt}}, nil // which unknown dimensions are 1?
		}
		for _, n := range x {
			if n != 1 {
				out = append(out, n)
			}
		}
		return []Type{{DType: dt, Shape: out}}, nil
	}
	norm, err := normAxes(axes, len(x), "axes")
	if err != nil {
		return nil, err
	}
	drop := make([]bool, len(x))
	for _, d := range norm {
		if x[d] >= 0 && x[d] != 1 {
			return nil, Invalidf("cannot squeeze axis %d of input shape %v: its size is %d", d, x, x[d])
		}
		drop[d] = true
	}
	for d, n := range x {
		if !drop[d] {
			out = append(out, n)
		}
	}
	return []Type{{DType: dt, Shape: out}}, nil
}

// Infer implements Op.
func (u *Unsqueeze) Infer(in []Type, vals []*Tensor) ([]Type, error) {
	if err := arity(in, 1, 2); err != nil {
		return nil, err
	}
	dt, x := in[0].DType, in[0].Shape
	axes := u.Axes
	switch {
	case axes != nil && present(in, 1):
		return nil, Invalidf("axes are given both as attribute and as input 1")
	case axes == nil && !present(in, 1):
		return nil, Invalidf("no axes: want the axes attribute (before opset 13) or input 1")
	case axes == nil:
		v, known, err := intInput(in, vals, 1, "axes", 0, 1)
		if err != nil {
			return nil, err
		}
		if !known {
			if k := inputLen(in, 1); x != nil && k >= 0 {
				return []Type{{DType: dt, Shape: unknownDims(len(x) + k)}}, nil
			}
			return []Type{{DType: dt}}, nil
		}
		axes = v
	}
	if x == nil {
		return []Type{{DType: dt}}, nil
	}
	r := len(x) + len(axes)
	norm, err := normAxes(axes, r, "axes")
	if err != nil {
		return nil, err
	}
	out := make(Shape, r)
	j := 0
	for d := range out {
		if slices.Contains(norm, d) {
			out[d] = 1
		} else {
			out[d] = x[j]
			j++
		}
	}
	return []Type{{DType: dt, Shape: out}}, nil
}

// Infer implements Op.
func (d *Dropout) Infer(in []Type, vals []*Tensor) ([]Type, error) {
	if err := arity(in, 1, 3); err != nil {
		return nil, err
	}
	if err := wantFloat(in, 0); err != nil {
		return nil, err
	}
	if present(in, 1) {
		if err := wantFloat(in, 1); err != nil {
			return nil, err
		}
		if s := in[1].Shape; s != nil && s.NumElements() != 1 {
			return nil, Invalidf("ratio (input 1) has shape %v, want a scalar", s)
		}
	}
	if present(in, 2) {
		if in[2].DType != Bool {
			return nil, Invalidf("training_mode (input 2) has element type %v, want bool", in[2].DType)
		}
		if s := in[2].Shape; s != nil && s.NumElements() != 1 {
			return nil, Invalidf("training_mode (input 2) has shape %v, want a scalar", s)
		}
		// Training mode drops at random unless the ratio is 0 (an absent
		// ratio is 0.5); with the ratio unknown, leave it to run time.
		if v := knownVal(vals, 2); v != nil && len(v.Bool) == 1 && v.Bool[0] {
			if r := knownVal(vals, 1); !present(in, 1) || (r != nil && len(r.F32) == 1 && r.F32[0] != 0) {
				return nil, Unsupportedf("Dropout with training_mode true and a non-zero ratio (random training-time dropout)")
			}
		}
	}
	out := same(in, 0)
	switch d.Mask {
	case Invalid:
	case Bool, Float32:
		out = append(out, Type{DType: d.Mask, Shape: in[0].Shape.Clone()})
	default:
		return nil, Invalidf("mask element type %v, want bool or f32", d.Mask)
	}
	return out, nil
}

// Infer implements Op.
func (*Identity) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 1, 1); err != nil {
		return nil, err
	}
	return same(in, 0), nil
}

// Infer implements Op.
func (c *ConstantOfShape) Infer(in []Type, vals []*Tensor) ([]Type, error) {
	if err := arity(in, 1, 1); err != nil {
		return nil, err
	}
	if c.Value == nil {
		return nil, Invalidf("no value tensor")
	}
	if c.Value.Len() != 1 || c.Value.Shape.NumElements() != 1 {
		return nil, Invalidf("value has shape %v, want one element", c.Value.Shape)
	}
	dt := c.Value.DType
	if in[0].DType != Int64 {
		return nil, Invalidf("input 0 (shape) has element type %v, want i64", in[0].DType)
	}
	spec, known, err := intInput(in, vals, 0, "shape", 1, 1)
	if err != nil {
		return nil, err
	}
	if !known {
		return []Type{{DType: dt, Shape: unknownDims(inputLen(in, 0))}}, nil
	}
	out := make(Shape, len(spec))
	for i, n := range spec {
		if n < 0 {
			return nil, Invalidf("shape %v has negative size %d", spec, n)
		}
		if n > MaxElements {
			return nil, Invalidf("shape %v has size %d, more than %d elements", spec, n, MaxElements)
		}
		out[i] = n
	}
	if out.NumElements() < 0 {
		return nil, Invalidf("shape %v has more than %d elements", spec, MaxElements)
	}
	return []Type{{DType: dt, Shape: out}}, nil
}

// Range returns the dimensions [start, end) of an input of the given rank
// that the Shape op reports, after adding rank to negative values and
// clamping both to [0, rank]; start <= end.
func (s *ShapeOp) Range(rank int) (start, end int) {
	clamp := func(v int) int {
		if v < 0 {
			v += rank
		}
		return min(max(v, 0), rank)
	}
	start, end = clamp(s.Start), clamp(s.End)
	return start, max(start, end)
}

// Infer implements Op.
func (s *ShapeOp) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 1, 1); err != nil {
		return nil, err
	}
	x := in[0].Shape
	if x == nil {
		return []Type{{DType: Int64, Shape: Shape{-1}}}, nil
	}
	start, end := s.Range(len(x))
	return []Type{{DType: Int64, Shape: Shape{end - start}}}, nil
}

// Infer implements Op.
func (g *Gather) Infer(in []Type, vals []*Tensor) ([]Type, error) {
	if err := arity(in, 2, 2); err != nil {
		return nil, err
	}
	if !in[1].DType.IsInt() {
		return nil, Invalidf("indices (input 1) have element type %v, want i64 or i32", in[1].DType)
	}
	dt, x, ind := in[0].DType, in[0].Shape, in[1].Shape
	if x == nil {
		return []Type{{DType: dt}}, nil
	}
	if len(x) == 0 {
		return nil, Invalidf("data is a scalar, want rank 1 or more")
	}
	axis, ok := NormAxis(g.Axis, len(x))
	if !ok {
		return nil, Invalidf("axis %d is out of range for data shape %v", g.Axis, x)
	}
	if n := x[axis]; n >= 0 && knownVal(vals, 1) != nil {
		idx, err := vals[1].Ints()
		if err != nil {
			return nil, err
		}
		for _, i := range idx {
			if i < -n || i >= n {
				return nil, Invalidf("index %d is out of range for dimension %d of size %d", i, axis, n)
			}
		}
	}
	if ind == nil {
		return []Type{{DType: dt}}, nil
	}
	out := append(append(append(Shape{}, x[:axis]...), ind...), x[axis+1:]...)
	if out.Known() && out.NumElements() < 0 {
		return nil, Invalidf("output shape %v has more than %d elements", out, MaxElements)
	}
	return []Type{{DType: dt, Shape: out}}, nil
}

// Infer implements Op.
func (c *Cast) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 1, 1); err != nil {
		return nil, err
	}
	switch c.To {
	case Float32, Int64, Int32, Bool:
	default:
		return nil, Unsupportedf("cast to element type %v", c.To)
	}
	return []Type{{DType: c.To, Shape: in[0].Shape.Clone()}}, nil
}

// Amounts returns the pads of p for an input of the given rank, from Pads or
// from the value of input 1 in vals (nil when that is unknown, with
// known=false). It checks that there are 2*rank of them.
func (p *Pad) Amounts(rank int, vals []*Tensor) (pads []int, known bool, err error) {
	pads = p.Pads
	if pads == nil {
		if knownVal(vals, 1) == nil {
			return nil, false, nil
		}
		if pads, err = vals[1].Ints(); err != nil {
			return nil, false, Invalidf("pads (input 1): %v", err)
		}
	}
	if len(pads) != 2*rank {
		return nil, false, Invalidf("pads %v have %d values, want %d for rank %d", pads, len(pads), 2*rank, rank)
	}
	return pads, true, nil
}

// Infer implements Op.
func (p *Pad) Infer(in []Type, vals []*Tensor) ([]Type, error) {
	if p.Pads != nil {
		if err := arity(in, 1, 1); err != nil {
			return nil, err
		}
	} else {
		if err := arity(in, 2, 3); err != nil {
			return nil, err
		}
		if _, _, err := intInput(in, nil, 1, "pads", 1, 1); err != nil {
			return nil, err
		}
	}
	if p.Mode > PadEdge {
		return nil, Invalidf("pad mode %v", p.Mode)
	}
	dt, x := in[0].DType, in[0].Shape
	if present(in, 2) {
		if in[2].DType != dt {
			return nil, Invalidf("constant_value (input 2) has element type %v, data has %v", in[2].DType, dt)
		}
		if s := in[2].Shape; s != nil && s.NumElements() != 1 {
			return nil, Invalidf("constant_value (input 2) has shape %v, want a scalar", s)
		}
	}
	if x == nil {
		n := len(p.Pads)
		if p.Pads == nil {
			n = inputLen(in, 1)
		}
		if n < 0 || n%2 != 0 {
			return []Type{{DType: dt}}, nil
		}
		return []Type{{DType: dt, Shape: unknownDims(n / 2)}}, nil
	}
	r := len(x)
	if n := inputLen(in, 1); p.Pads == nil && n >= 0 && n != 2*r {
		return nil, Invalidf("pads (input 1) have %d values, want %d for input shape %v", n, 2*r, x)
	}
	pads, known, err := p.Amounts(r, vals)
	if err != nil {
		return nil, err
	}
	if !known {
		return []Type{{DType: dt, Shape: unknownDims(r)}}, nil
	}
	out := make(Shape, r)
	for d, n := range x {
		b, e := pads[d], pads[d+r]
		if b < -MaxElements || b > MaxElements || e < -MaxElements || e > MaxElements {
			return nil, Invalidf("pads %v are out of range", pads)
		}
		if n < 0 {
			out[d] = -1
			continue
		}
		kept := n + min(b, 0) + min(e, 0)
		if kept < 0 {
			return nil, Invalidf("pads %v remove more than the %d elements of dimension %d", pads, n, d)
		}
		if kept == 0 && p.Mode != PadConstant && (b > 0 || e > 0) {
			return nil, Invalidf("%v padding of dimension %d, which has no elements left", p.Mode, d)
		}
		if out[d] = n + b + e; out[d] > MaxElements {
			return nil, Invalidf("pads %v make dimension %d of size %d, more than %d elements", pads, d, out[d], MaxElements)
		}
	}
	if out.Known() && out.NumElements() < 0 {
		return nil, Invalidf("output shape %v has more than %d elements", out, MaxElements)
	}
	return []Type{{DType: dt, Shape: out}}, nil
}
