//go:build !noasm

package kernels

// convOCRowAVX512 holds the AVX-512 micro-kernels by tile width p.
var convOCRowAVX512 = [ocMaxP + 1]func(k int, a *float32, offs *int32, x, y *float32, ohw int, z, bias *float32, ocs int, flags uint64, lo, hi float32){
	nil, convOCRow1AVX512, convOCRow2AVX512, convOCRow3AVX512, convOCRow4AVX512, convOCRow5AVX512,
	convOCRow6AVX512, convOCRow7AVX512, convOCRow8AVX512, convOCRow9AVX512, convOCRow10AVX512,
	convOCRow11AVX512, convOCRow12AVX512, convOCRow13AVX512, convOCRow14AVX512,
}

// convOCRowsAVX512 holds the AVX-512 micro-kernels of two-row tiles by
// row width.
var convOCRowsAVX512 = [ocMaxP/2 + 1]func(k int, a *float32, offs *int32, x, x2, y *float32, ohw int, z, bias *float32, ocs int, flags uint64, lo, hi float32){
	nil, convOCRows1AVX512, convOCRows2AVX512, convOCRows3AVX512, convOCRows4AVX512,
	convOCRows5AVX512, convOCRows6AVX512, convOCRows7AVX512,
}

// setOCBlockISA points convOCRow at the AVX-512 micro-kernels from level
// isaAVX512 up, else at convOCRowGeneric.
func setOCBlockISA(l isa) {
	convOCRow = convOCRowGeneric
	if l >= isaAVX512 {
		convOCRow = convOCRowAVX512Slices
	}
}

// convOCRowAVX512Slices is convOCRowGeneric on the AVX-512 kernel for p
// (or for two rows of split),
// its operands checked first (the offsets lie in [0, maxOff], checked when
// the table was made).
func convOCRowAVX512Slices(kk int, a []float32, offs []int32, x, x2 []float32, split, maxOff int, y []float32, ohw int, z, bias []float32, ocs, p int, flags uint64, lo, hi float32) {
	convOCRowChecked(kk, a, offs, x, x2, split, maxOff, y, ohw, z, bias, ocs, p, flags)
	zp, bp := tilePointers(flags, z, bias)
	if split > 0 {
		convOCRowsAVX512[split](kk, &a[0], &offs[0], &x[0], &x2[0], &y[0], ohw, zp, bp, ocs, flags, lo, hi)
		return
	}
	convOCRowAVX512[p](kk, &a[0], &offs[0], &x[0], &y[0], ohw, zp, bp, ocs, flags, lo, hi)
}
