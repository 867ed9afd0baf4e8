//go:build !noasm

package kernels

// setWinogradISA points the Winograd transforms at the AVX2/FMA ones at
// level isaAVX2, the AVX-512 ones from isaAVX512 up, else at the Go ones.
func setWinogradISA(l isa) {
	wgInput, wgOutput = wgInputGeneric, wgOutputGeneric
	switch {
	case l >= isaAVX512:
		wgInput = wgInputAsm(wgInput2AVX512, wgInput4AVX512)
		wgOutput = wgOutputAsm(wgOutput2AVX512, wgOutput4AVX512)
	case l >= isaAVX2:
		wgInput = wgInputAsm(wgInput2AVX2, wgInput4AVX2)
		wgOutput = wgOutputAsm(wgOutput2AVX2, wgOutput4AVX2)
	}
}

// wgInputFunc and wgOutputFunc are the assembly transforms' signatures.
type (
	wgInputFunc  func(x *float32, off, ld, hw, nc int, rows, cm0, cm1 uint64, v *float32, d0, d1 int, msk uint64, xs int)
	wgOutputFunc func(o *float32, os, ldo, nk int, y *float32, ldy, ohw, rows int, cm uint64, z, bias *float32, flags uint64, lo, hi float32)
)

// wgInputAsm returns wgInputGeneric on the assembly transforms f2 (m = 2)
// and f4 (m = 4), the extreme elements they read and write checked first.
func wgInputAsm(f2, f4 wgInputFunc) func(m int, x, v []float32, p wgIn) {
	return func(m int, x, v []float32, p wgIn) {
		if p.nc <= 0 {
			return
		}
		wgInputChecked(m, x, v, &p)
		f := f4
		if m == 2 {
			f = f2
		}
		f(&x[p.xb], p.off, p.ld, p.hw, p.nc, p.rows, p.cm0, p.cm1, &v[0], p.d0, p.d1, p.msk, p.xs)
	}
}

// wgOutputAsm returns wgOutputGeneric on the assembly transforms f2 and
// f4, the extreme elements they read and write checked first.
func wgOutputAsm(f2, f4 wgOutputFunc) func(m int, o, y, z, bias []float32, p wgOut) {
	return func(m int, o, y, z, bias []float32, p wgOut) {
		if p.nk <= 0 {
			return
		}
		wgOutputChecked(m, o, y, z, bias, &p)
		var zp, bp *float32
		if p.flags&tileZ != 0 {
			zp = &z[p.yb]
		}
		if p.flags&tileBias != 0 {
			bp = &bias[0]
		}
		f := f4
		if m == 2 {
			f = f2
		}
		f(&o[p.ob], p.os, p.ldo, p.nk, &y[p.yb], p.ldy, p.ohw, p.rows, p.cm, zp, bp, p.flags, p.lo, p.hi)
	}
}
