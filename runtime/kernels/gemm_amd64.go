//go:build !noasm

package kernels

// setGemmISA points gemmTile at the AVX2/FMA micro-kernel from level
// isaAVX2 up (AVX-512's wider registers would not change the 6×16 tile's
// FMA rate on Zen 4, which runs 512-bit FMAs as two 256-bit halves), else
// at gemmTileGeneric.
func setGemmISA(l isa) {
	gemmTile = gemmTileGeneric
	if l >= isaAVX2 {
		gemmTile = gemmTileAVX2Slices
	}
}

// gemmTileAVX2Slices is gemmTileGeneric on gemmTileAVX2, its operands
// checked first.
func gemmTileAVX2Slices(kc int, a, b, c []float32, ldc int, z, bias []float32, rows, cols int, flags uint64, lo, hi float32) {
	gemmTileChecked(kc, a, b, c, ldc, z, bias, rows, cols, flags)
	var zp, bp *float32
	if flags&tileZ != 0 {
		zp = &z[0]
	}
	if flags&tileBias != 0 {
		bp = &bias[0]
	}
	gemmTileAVX2(kc, &a[0], &b[0], &c[0], ldc, zp, bp, rows, cols, flags, lo, hi)
}
