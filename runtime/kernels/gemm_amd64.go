//go:build !noasm

package kernels

// setGemmISA points gemmRow at the AVX2/FMA micro-kernel from level
// isaAVX2 up (AVX-512's wider registers would not change the 6×16 tile's
// FMA rate on Zen 4, which runs 512-bit FMAs as two 256-bit halves), else
// at gemmRowGeneric.
func setGemmISA(l isa) {
	gemmRow, convRow = gemmRowGeneric, convRowGeneric
	if l >= isaAVX2 {
		gemmRow = gemmRowAVX2Slices
		convRow = convRowAVX2Slices
	}
}

// gemmRowAVX2Slices is gemmRowGeneric on gemmRowAVX2, its operands checked
// first.
func gemmRowAVX2Slices(kc int, a, b, c []float32, ldc int, z, bias []float32, rows, n int, flags uint64, lo, hi float32) {
	gemmRowChecked(kc, a, c, ldc, z, bias, rows, n, flags)
	if len(b) < gemmRoundUp(n, gemmNR)*kc {
		panic("kernels: gemm row operands out of range")
	}
	zp, bp := tilePointers(flags, z, bias)
	gemmRowAVX2(kc, &a[0], &b[0], &c[0], ldc, zp, bp, rows, n, flags, lo, hi)
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
