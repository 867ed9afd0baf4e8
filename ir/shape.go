package ir

import (
	"strconv"
	"strings"
)

// MaxElements bounds the number of elements of any one tensor (2^28, 1 GiB
// of float32; VGG-16's largest weight has 103M). Shapes beyond it are
// refused as invalid rather than allocated.
const MaxElements = 1 << 28

// Shape lists the dimensions of a tensor, outermost first. A negative
// dimension is unknown until run time (for example a symbolic batch size).
// A nil Shape of a Type means the rank itself is unknown; a scalar has an
// empty, non-nil Shape.
type Shape []int

// Rank returns the number of dimensions.
func (s Shape) Rank() int { return len(s) }

// Known reports whether every dimension is known (non-negative) and the rank
// is known.
func (s Shape) Known() bool {
	if s == nil {
		return false
	}
	for _, d := range s {
		if d < 0 {
			return false
		}
	}
	return true
}

// NumElements returns the product of the dimensions, or -1 when a dimension
// is unknown or the product exceeds MaxElements.
func (s Shape) NumElements() int {
	n := 1
	for _, d := range s {
		if d < 0 {
			return -1
		}
		if d != 0 && n > MaxElements/d {
			return -1
		}
		n *= d
	}
	if n > MaxElements {
		return -1
	}
	return n
}

// Equal reports whether s and t have the same rank and dimensions.
func (s Shape) Equal(t Shape) bool {
	if len(s) != len(t) || (s == nil) != (t == nil) {
		return false
	}
	for i := range s {
		if s[i] != t[i] {
			return false
		}
	}
	return true
}

// Clone returns a copy of s that shares no memory with it.
func (s Shape) Clone() Shape {
	if s == nil {
		return nil
	}
	return append(Shape{}, s...)
}

// Strides returns the row-major element strides of s.
func (s Shape) Strides() []int {
	st := make([]int, len(s))
	n := 1
	for i := len(s) - 1; i >= 0; i-- {
		st[i] = n
		n *= s[i]
	}
	return st
}

// String formats s as [1,3,224,224], with ? for unknown dimensions and
// [*] for an unknown rank.
func (s Shape) String() string {
	if s == nil {
		return "[*]"
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, d := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		if d < 0 {
			b.WriteByte('?')
		} else {
			b.WriteString(strconv.Itoa(d))
		}
	}
	b.WriteByte(']')
	return b.String()
}

// Type is the static type of a Value: element type and shape.
type Type struct {
	DType DType
	Shape Shape
}

// String formats t as f32[1,3,224,224].
func (t Type) String() string { return t.DType.String() + t.Shape.String() }

// NormAxis maps a possibly negative axis into [0, rank), or reports false
// when it is out of range.
func NormAxis(axis, rank int) (int, bool) {
	if axis < 0 {
		axis += rank
	}
	return axis, axis >= 0 && axis < rank
}
