package ir

import "fmt"

// Tensor is a dense, row-major array of one DType. Exactly the slice that
// matches DType is used, and its length equals Shape.NumElements().
type Tensor struct {
	DType DType
	Shape Shape
	F32   []float32
	I64   []int64
	I32   []int32
	Bool  []bool
}

// NewTensor allocates a zeroed tensor of the given type and known shape. It
// fails when a dimension is negative or the element count exceeds MaxElements.
func NewTensor(dt DType, shape Shape) (*Tensor, error) {
	n := shape.NumElements()
	if n < 0 {
		return nil, Invalidf("tensor shape %v is unknown or has more than %d elements", shape, MaxElements)
	}
	t := &Tensor{DType: dt, Shape: shape.Clone()}
	if t.Shape == nil {
		t.Shape = Shape{}
	}
	switch dt {
	case Float32:
		t.F32 = make([]float32, n)
	case Int64:
		t.I64 = make([]int64, n)
	case Int32:
		t.I32 = make([]int32, n)
	case Bool:
		t.Bool = make([]bool, n)
	default:
		return nil, Unsupportedf("tensor element type %v", dt)
	}
	return t, nil
}

// FromFloat32 wraps data as a float32 tensor of the given shape; it panics
// if the length disagrees, which is a programming error.
func FromFloat32(shape Shape, data []float32) *Tensor {
	if shape.NumElements() != len(data) {
		panic(fmt.Sprintf("ir.FromFloat32: shape %v holds %d elements, data has %d", shape, shape.NumElements(), len(data)))
	}
	return &Tensor{DType: Float32, Shape: shape.Clone(), F32: data}
}

// FromInt64 wraps data as an int64 tensor of the given shape; it panics if
// the length disagrees, which is a programming error.
func FromInt64(shape Shape, data []int64) *Tensor {
	if shape.NumElements() != len(data) {
		panic(fmt.Sprintf("ir.FromInt64: shape %v holds %d elements, data has %d", shape, shape.NumElements(), len(data)))
	}
	return &Tensor{DType: Int64, Shape: shape.Clone(), I64: data}
}

// Type returns the tensor's static type.
func (t *Tensor) Type() Type { return Type{DType: t.DType, Shape: t.Shape} }

// Len returns the number of elements actually stored.
func (t *Tensor) Len() int {
	switch t.DType {
	case Float32:
		return len(t.F32)
	case Int64:
		return len(t.I64)
	case Int32:
		return len(t.I32)
	case Bool:
		return len(t.Bool)
	}
	return 0
}

// Clone returns a deep copy of t.
func (t *Tensor) Clone() *Tensor {
	c := &Tensor{DType: t.DType, Shape: t.Shape.Clone()}
	if t.F32 != nil {
		c.F32 = append([]float32{}, t.F32...)
	}
	if t.I64 != nil {
		c.I64 = append([]int64{}, t.I64...)
	}
	if t.I32 != nil {
		c.I32 = append([]int32{}, t.I32...)
	}
	if t.Bool != nil {
		c.Bool = append([]bool{}, t.Bool...)
	}
	return c
}

// Ints returns the elements of an integer tensor (Int64 or Int32) as ints.
// It is how ops read shape-like inputs (Reshape's shape, Slice's starts, a
// Pad's pads); it fails for other element types.
func (t *Tensor) Ints() ([]int, error) {
	switch t.DType {
	case Int64:
		out := make([]int, len(t.I64))
		for i, v := range t.I64 {
			out[i] = int(v)
		}
		return out, nil
	case Int32:
		out := make([]int, len(t.I32))
		for i, v := range t.I32 {
			out[i] = int(v)
		}
		return out, nil
	}
	return nil, Invalidf("want an integer tensor, got %v", t.DType)
}

// Float64At returns element i converted to float64, whatever the DType.
func (t *Tensor) Float64At(i int) float64 {
	switch t.DType {
	case Float32:
		return float64(t.F32[i])
	case Int64:
		return float64(t.I64[i])
	case Int32:
		return float64(t.I32[i])
	case Bool:
		if t.Bool[i] {
			return 1
		}
	}
	return 0
}

// String summarizes the tensor as its type and first few values.
func (t *Tensor) String() string {
	n := t.Len()
	s := t.Type().String() + " {"
	for i := 0; i < n && i < 6; i++ {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprint(t.Float64At(i))
	}
	if n > 6 {
		s += ", ..."
	}
	return s + "}"
}
