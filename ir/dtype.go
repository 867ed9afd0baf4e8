package ir

import "fmt"

// DType is the element type of a Value or Tensor. Float32 is the compute
// type; Int64, Int32 and Bool appear in shape arithmetic.
type DType uint8

// The element types cnnc knows. The zero DType is Invalid, the type of an
// omitted optional input.
const (
	Invalid DType = iota
	Float32
	Int64
	Int32
	Bool
)

var dtypeNames = [...]string{Invalid: "invalid", Float32: "f32", Int64: "i64", Int32: "i32", Bool: "bool"}

// String returns the short name used by the printer: f32, i64, i32, bool.
func (d DType) String() string {
	if int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("dtype(%d)", uint8(d))
}

// Size returns the number of bytes one element occupies in memory.
func (d DType) Size() int {
	switch d {
	case Float32, Int32:
		return 4
	case Int64:
		return 8
	case Bool:
		return 1
	}
	return 0
}

// IsInt reports whether d is an integer type.
func (d DType) IsInt() bool { return d == Int64 || d == Int32 }
