//go:build !noasm

package kernels

// setGemmISA points gemmRow at the AVX2/FMA micro-kernel at level
// isaAVX2 and the AVX-512 one (two B panels a tile, half the loads per
// multiply-add) from isaAVX512 up, and convRow at the AVX2 one from
// isaAVX2 up; else both at their Go versions.
func setGemmISA(l isa) {
	gemmRow, convRow = gemmRowGeneric, convRowGeneric
	if l >= isaAVX2 {
		gemmRow = gemmRowSlices(gemmRowAVX2)
		convRow = convRowAVX2Slices
	}
	if l >= isaAVX512 {
		gemmRow = gemmRowSlices(gemmRowAVX512)
	}
}

// gemmRowSlices returns gemmRowGeneric on the assembly row kernel f
// (gemmRowAVX2, gemmRowAVX512), its operands checked first.
func gemmRowSlices(f func(kc int, a, b, c *float32, ldc int, z, bias *float32, rows, n int, flags uint64, lo, hi float32)) func(kc int, a, b, c []float32, ldc int, z, bias []float32, rows, n int, flags uint64, lo, hi float32) {
	return func(kc int, a, b, c []float32, ldc int, z, bias []float32, rows, n int, flags uint64, lo, hi float32) {
		gemmRowChecked(kc, a, c, ldc, z, bias, rows, n, flags)
		if len(b) < gemmRoundUp(n, gemmNR)*kc {
			panic("kernels: gemm row operands out of range")
		}
		zp, bp := tilePointers(flags, z, bias)
		f(kc, &a[0], &b[0], &c[0], ldc, zp, bp, rows, n, flags, lo, hi)
	}
}

// convRowAVX2Slices is convRowGeneric on convRowAVX2, its operands checked
// first: the offsets within [0, maxOff] (checked when the table was made),
// x long enough for the largest offset plus the row's tiles, C and Z as
// gemmRowChecked has them.
func convRowAVX2Slices(kc int, a []float32, offs []int32, x []float32, maxOff int, c []float32, ldc int, z, bias []float32, rows, n int, flags uint64, lo, hi float32) {
	gemmRowChecked(kc, a, c, ldc, z, bias, rows, n, flags)
	if len(offs) < kc || maxOff < 0 || len(x) < maxOff+gemmRoundUp(n, gemmNR) {
		panic("kernels: conv row operands out of range")
	}
	zp, bp := tilePointers(flags, z, bias)
	convRowAVX2(kc, &a[0], &offs[0], &x[0], &c[0], ldc, zp, bp, rows, n, flags, lo, hi)
}

// tilePointers returns the first elements of z and bias as the assembly
// epilogues take them: nil where flags say the operand is absent (it may
// then be empty).
func tilePointers(flags uint64, z, bias []float32) (zp, bp *float32) {
	if flags&tileZ != 0 {
		zp = &z[0]
	}
	if flags&tileBias != 0 {
		bp = &bias[0]
	}
	return zp, bp
}
