//go:build !noasm

package kernels

// setGemvISA points gemvBlock at the AVX2/FMA kernel from level isaAVX2
// up (the batch-1 product streams B from memory, which wider registers
// would not speed up), else at gemvBlockGeneric.
func setGemvISA(l isa) {
	gemvBlock = gemvBlockGeneric
	if l >= isaAVX2 {
		gemvBlock = gemvBlockAVX2
	}
}

// gemvBlockAVX2 is gemvBlockGeneric on gemvAVX2, its operands checked
// first.
func gemvBlockAVX2(x, b, y []float32) {
	gemvBlockChecked(x, b, y)
	gemvAVX2(len(x), &x[0], &b[0], &y[0], len(y))
}
