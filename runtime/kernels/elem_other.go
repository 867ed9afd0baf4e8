//go:build !amd64 || noasm

package kernels

// setElemISA points the element-wise, pooling and exp kernels at their
// pure-Go versions, the only ones this build has.
func setElemISA(isa) { setElemGeneric() }

// exp32Asm returns false: exp32Slice runs exp32SliceGeneric.
func exp32Asm(y, x []float32, shift float32) bool { return false }
