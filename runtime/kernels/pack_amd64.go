//go:build !noasm

package kernels

// setPackISA points packRow at the AVX2 copy from level isaAVX2 up, else at
// packRowGeneric.
func setPackISA(l isa) {
	packRow = packRowGeneric
	if l >= isaAVX2 {
		packRow = packRowAVX2Slices
	}
}

// packRowAVX2Slices is packRowGeneric on packRowAVX2, its operands checked
// first.
func packRowAVX2Slices(dst, src []float32, stride, panels int) {
	if panels <= 0 {
		return
	}
	if stride < gemmNR || len(src) < panels*gemmNR || len(dst) < (panels-1)*stride+gemmNR {
		panic("kernels: packRow operands out of range")
	}
	packRowAVX2(&dst[0], &src[0], stride, panels)
}
