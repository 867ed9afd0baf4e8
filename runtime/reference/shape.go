package reference

import (
	"math"

	"github.com/cnnc/cnnc/ir"
)

// The shape family moves elements of any element type. Most kernels build
// an index map, the flat source index of every output element, and apply it
// with takeElems; Concat scatters with putElems instead.

// shapeKernel implements the shape family.
func shapeKernel(op ir.Op) kernel {
	switch op.(type) {
	case *ir.Identity, *ir.Reshape, *ir.Flatten, *ir.Squeeze, *ir.Unsqueeze:
		return copyKernel
	case *ir.Dropout:
		return dropoutKernel
	case *ir.Concat:
		return concatKernel
	case *ir.Split:
		return splitKernel
	case *ir.Slice:
		return sliceKernel
	case *ir.Transpose:
		return transposeKernel
	case *ir.ConstantOfShape:
		return constantOfShapeKernel
	case *ir.ShapeOp:
		return shapeOfKernel
	case *ir.Gather:
		return gatherKernel
	case *ir.Cast:
		return castKernel
	case *ir.Pad:
		return padKernel
	}
	return nil
}

// copyKernel copies the elements of input 0 to output 0, which holds as many
// in another (or the same) shape.
func copyKernel(_ ir.Op, in, out []*ir.Tensor) error {
	return copyElems(out[0], in[0])
}

// dropoutKernel is Dropout at inference: the identity, with a mask of ones.
func dropoutKernel(_ ir.Op, in, out []*ir.Tensor) error {
	if err := copyElems(out[0], in[0]); err != nil {
		return err
	}
	if len(out) > 1 {
		m := out[1]
		for i := range m.Bool {
			m.Bool[i] = true
		}
		for i := range m.F32 {
			m.F32[i] = 1
		}
	}
	return nil
}

func concatKernel(op ir.Op, in, out []*ir.Tensor) error {
	y := out[0]
	axis, ok := ir.NormAxis(op.(*ir.Concat).Axis, len(y.Shape))
	if !ok {
		return ir.Invalidf("axis %d is out of range for output shape %v", op.(*ir.Concat).Axis, y.Shape)
	}
	yStr := y.Shape.Strides()
	off := 0
	for _, x := range in {
		coord := identityCoords(x.Shape)
		for i := range coord[axis] {
			coord[axis][i] += off
		}
		if err := putElems(y, x, stridedIndex(x.Shape, coord, yStr)); err != nil {
			return err
		}
		off += x.Shape[axis]
	}
	return nil
}

func splitKernel(op ir.Op, in, out []*ir.Tensor) error {
	x := in[0]
	axis, ok := ir.NormAxis(op.(*ir.Split).Axis, len(x.Shape))
	if !ok {
		return ir.Invalidf("axis %d is out of range for input shape %v", op.(*ir.Split).Axis, x.Shape)
	}
	xStr := x.Shape.Strides()
	off := 0
	for _, y := range out {
		coord := identityCoords(y.Shape)
		for i := range coord[axis] {
			coord[axis][i] += off
		}
		if err := takeElems(y, x, stridedIndex(y.Shape, coord, xStr), nil); err != nil {
			return err
		}
		off += y.Shape[axis]
	}
	return nil
}

func sliceKernel(op ir.Op, in, out []*ir.Tensor) error {
	x, y := in[0], out[0]
	axes, err := op.(*ir.Slice).Resolve(x.Shape, in)
	if err != nil {
		return err
	}
	coord := make([][]int, len(y.Shape))
	for d, a := range axes {
		if a.Len != y.Shape[d] {
			return ir.Invalidf("slice of axis %d has %d elements, output shape is %v", d, a.Len, y.Shape)
		}
		coord[d] = make([]int, a.Len)
		for o := range coord[d] {
			coord[d][o] = a.Start + o*a.Step
		}
	}
	return takeElems(y, x, stridedIndex(y.Shape, coord, x.Shape.Strides()), nil)
}

func transposeKernel(op ir.Op, in, out []*ir.Tensor) error {
	x, y := in[0], out[0]
	perm, err := op.(*ir.Transpose).Permutation(len(x.Shape))
	if err != nil {
		return err
	}
	xStr := x.Shape.Strides()
	str := make([]int, len(perm))
	for d, p := range perm {
		str[d] = xStr[p]
	}
	return takeElems(y, x, stridedIndex(y.Shape, identityCoords(y.Shape), str), nil)
}

func constantOfShapeKernel(op ir.Op, _, out []*ir.Tensor) error {
	// Every output element takes element 0 of the value.
	return takeElems(out[0], op.(*ir.ConstantOfShape).Value, make([]int, out[0].Len()), nil)
}

func shapeOfKernel(op ir.Op, in, out []*ir.Tensor) error {
	x, y := in[0], out[0]
	start, end := op.(*ir.ShapeOp).Range(len(x.Shape))
	if len(y.I64) != end-start {
		return ir.Invalidf("output has %d elements, want %d", len(y.I64), end-start)
	}
	for i := range y.I64 {
		y.I64[i] = int64(x.Shape[start+i])
	}
	return nil
}

func gatherKernel(op ir.Op, in, out []*ir.Tensor) error {
	x, y := in[0], out[0]
	axis, ok := ir.NormAxis(op.(*ir.Gather).Axis, len(x.Shape))
	if !ok {
		return ir.Invalidf("axis %d is out of range for data shape %v", op.(*ir.Gather).Axis, x.Shape)
	}
	indices, err := in[1].Ints()
	if err != nil {
		return err
	}
	n := x.Shape[axis]
	outer, inner := x.Shape[:axis].NumElements(), x.Shape[axis+1:].NumElements()
	// The output is [outer, indices..., inner] in row-major order.
	idx := make([]int, 0, y.Len())
	for o := 0; o < outer; o++ {
		for _, j := range indices {
			if j < 0 {
				j += n
			}
			if j < 0 || j >= n {
				return ir.Invalidf("index %d is out of range for dimension %d of size %d", j, axis, n)
			}
			for i := 0; i < inner; i++ {
				idx = append(idx, (o*n+j)*inner+i)
			}
		}
	}
	return takeElems(y, x, idx, nil)
}

func castKernel(_ ir.Op, in, out []*ir.Tensor) error {
	x, y := in[0], out[0]
	if x.Len() != y.Len() {
		return ir.Invalidf("input has %d elements, output %d", x.Len(), y.Len())
	}
	switch y.DType {
	case ir.Float32:
		for i := range y.F32 {
			switch x.DType {
			case ir.Float32:
				y.F32[i] = x.F32[i]
			case ir.Int64:
				y.F32[i] = float32(x.I64[i])
			case ir.Int32:
				y.F32[i] = float32(x.I32[i])
			case ir.Bool:
				y.F32[i] = castBoolF32(x.Bool[i])
			}
		}
	case ir.Int64:
		for i := range y.I64 {
			y.I64[i] = castInt(x, i, math.MinInt64, math.MaxInt64)
		}
	case ir.Int32:
		for i := range y.I32 {
			y.I32[i] = int32(castInt(x, i, math.MinInt32, math.MaxInt32))
		}
	case ir.Bool:
		for i := range y.Bool {
			switch x.DType {
			case ir.Float32:
				y.Bool[i] = x.F32[i] != 0
			case ir.Int64:
				y.Bool[i] = x.I64[i] != 0
			case ir.Int32:
				y.Bool[i] = x.I32[i] != 0
			case ir.Bool:
				y.Bool[i] = x.Bool[i]
			}
		}
	default:
		return ir.Unsupportedf("cast to element type %v", y.DType)
	}
	return nil
}

func castBoolF32(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

// castInt converts element i of x to an integer of the range [lo, hi]: a
// float truncates toward zero and saturates (NaN gives 0); an integer keeps
// its low bits, as C's conversions do; a bool gives 0 or 1.
func castInt(x *ir.Tensor, i int, lo, hi int64) int64 {
	switch x.DType {
	case ir.Float32:
		f := math.Trunc(float64(x.F32[i]))
		switch {
		case f != f:
			return 0
		case f <= float64(lo):
			return lo
		case f >= float64(hi):
			// float64(MaxInt64) rounds up to 2^63, so >= also catches
			// values that do not fit.
			return hi
		}
		return int64(f)
	case ir.Int64:
		return x.I64[i] // the int32 caller truncates to the low 32 bits
	case ir.Int32:
		return int64(x.I32[i])
	case ir.Bool:
		if x.Bool[i] {
			return 1
		}
	}
	return 0
}

func padKernel(op ir.Op, in, out []*ir.Tensor) error {
	p := op.(*ir.Pad)
	x, y := in[0], out[0]
	r := len(x.Shape)
	pads, _, err := p.Amounts(r, in)
	if err != nil {
		return err
	}
	fill := scalarOfType(x.DType, float64(p.Value))
	if len(in) > 2 && in[2] != nil {
		fill = in[2]
	}
	// Per axis, negative pads crop first: the kept elements are
	// first .. first+kept-1 of the input; positive pads then add to them.
	coord := make([][]int, r)
	for d, n := range x.Shape {
		b, e := pads[d], pads[d+r]
		first, kept := max(-b, 0), n+min(b, 0)+min(e, 0)
		coord[d] = make([]int, y.Shape[d])
		for o := range coord[d] {
			i := o - max(b, 0)
			if i < 0 || i >= kept {
				switch p.Mode {
				case ir.PadConstant:
					coord[d][o] = -1
					continue
				case ir.PadEdge:
					i = min(max(i, 0), kept-1)
				case ir.PadReflect:
					i = reflectIndex(i, kept)
				}
			}
			coord[d][o] = first + i
		}
	}
	return takeElems(y, x, stridedIndex(y.Shape, coord, x.Shape.Strides()), fill)
}

// reflectIndex maps a position i outside [0, n) back into it by mirroring at
// the first and last element (which are not repeated), as often as needed:
// positions repeat with period 2(n-1). A dimension of 1 maps everything to 0.
func reflectIndex(i, n int) int {
	if n <= 1 {
		return 0
	}
	p := 2 * (n - 1)
	m := ((i % p) + p) % p
	if m >= n {
		m = p - m
	}
	return m
}

// scalarOfType returns a one-element tensor of type dt holding v (truncated
// toward zero for integers, v != 0 for bool).
func scalarOfType(dt ir.DType, v float64) *ir.Tensor {
	t := &ir.Tensor{DType: dt, Shape: ir.Shape{}}
	switch dt {
	case ir.Float32:
		t.F32 = []float32{float32(v)}
	case ir.Int64:
		t.I64 = []int64{int64(v)}
	case ir.Int32:
		t.I32 = []int32{int32(v)}
	case ir.Bool:
		t.Bool = []bool{v != 0}
	}
	return t
}

// identityCoords returns, for every dimension of s, the coordinates 0 .. s[d]-1.
func identityCoords(s ir.Shape) [][]int {
	c := make([][]int, len(s))
	for d, n := range s {
		c[d] = make([]int, n)
		for i := range c[d] {
			c[d][i] = i
		}
	}
	return c
}

// stridedIndex returns, for every element of a tensor of shape out in
// row-major order, the flat index sum over d of coord[d][o_d]*stride[d]
// where o is the element's position, or -1 when any coord[d][o_d] is
// negative. coord[d] has out[d] entries.
func stridedIndex(out ir.Shape, coord [][]int, stride []int) []int {
	n := out.NumElements()
	if n <= 0 {
		return nil
	}
	idx := make([]int, n)
	pos := make([]int, len(out))
	for k := range idx {
		off := 0
		for d := range out {
			c := coord[d][pos[d]]
			if c < 0 {
				off = -1
				break
			}
			off += c * stride[d]
		}
		idx[k] = off
		for d := len(out) - 1; d >= 0; d-- {
			if pos[d]++; pos[d] < out[d] {
				break
			}
			pos[d] = 0
		}
	}
	return idx
}

// copyElems copies src's elements into dst, which has the same type and
// element count.
func copyElems(dst, src *ir.Tensor) error {
	if dst.DType != src.DType || dst.Len() != src.Len() {
		return ir.Invalidf("cannot copy %v into %v", src.Type(), dst.Type())
	}
	copy(dst.F32, src.F32)
	copy(dst.I64, src.I64)
	copy(dst.I32, src.I32)
	copy(dst.Bool, src.Bool)
	return nil
}

// takeElems sets element k of dst to element idx[k] of src, or to fill's
// one element (zero when fill is nil) where idx[k] is negative. dst, src and
// fill have one element type; idx has one entry per element of dst.
func takeElems(dst, src *ir.Tensor, idx []int, fill *ir.Tensor) error {
	if src.DType != dst.DType || (fill != nil && (fill.DType != dst.DType || fill.Len() != 1)) {
		return ir.Invalidf("element types disagree: output %v, input %v", dst.DType, src.DType)
	}
	if len(idx) != dst.Len() {
		return ir.Invalidf("index map has %d entries for %d elements", len(idx), dst.Len())
	}
	n := src.Len()
	for _, i := range idx {
		if i >= n {
			return ir.Invalidf("source index %d is out of range for %d elements", i, n)
		}
	}
	switch dst.DType {
	case ir.Float32:
		takeSlice(dst.F32, src.F32, idx, fillOf(fill, func(t *ir.Tensor) []float32 { return t.F32 }))
	case ir.Int64:
		takeSlice(dst.I64, src.I64, idx, fillOf(fill, func(t *ir.Tensor) []int64 { return t.I64 }))
	case ir.Int32:
		takeSlice(dst.I32, src.I32, idx, fillOf(fill, func(t *ir.Tensor) []int32 { return t.I32 }))
	case ir.Bool:
		takeSlice(dst.Bool, src.Bool, idx, fillOf(fill, func(t *ir.Tensor) []bool { return t.Bool }))
	default:
		return ir.Unsupportedf("element type %v", dst.DType)
	}
	return nil
}

func takeSlice[T any](dst, src []T, idx []int, fill T) {
	for k, i := range idx {
		if i < 0 {
			dst[k] = fill
		} else {
			dst[k] = src[i]
		}
	}
}

func fillOf[T any](t *ir.Tensor, data func(*ir.Tensor) []T) T {
	var zero T
	if t == nil {
		return zero
	}
	return data(t)[0]
}

// putElems sets element idx[k] of dst to element k of src, for every
// element of src; dst and src have one element type.
func putElems(dst, src *ir.Tensor, idx []int) error {
	if src.DType != dst.DType || len(idx) != src.Len() {
		return ir.Invalidf("cannot place %v into %v", src.Type(), dst.Type())
	}
	n := dst.Len()
	for _, i := range idx {
		if i < 0 || i >= n {
			return ir.Invalidf("destination index %d is out of range for %d elements", i, n)
		}
	}
	switch dst.DType {
	case ir.Float32:
		putSlice(dst.F32, src.F32, idx)
	case ir.Int64:
		putSlice(dst.I64, src.I64, idx)
	case ir.Int32:
		putSlice(dst.I32, src.I32, idx)
	case ir.Bool:
		putSlice(dst.Bool, src.Bool, idx)
	}
	return nil
}

func putSlice[T any](dst, src []T, idx []int) {
	for k, i := range idx {
		dst[i] = src[k]
	}
}
