//go:build !noasm

package kernels

// setWinogradISA points the Winograd transforms at the AVX-512 ones from
// level isaAVX512 up, else at the Go ones.
func setWinogradISA(l isa) {
	wgInput, wgOutput = wgInputGeneric, wgOutputGeneric
	if l >= isaAVX512 {
		wgInput, wgOutput = wgInputAVX512, wgOutputAVX512
	}
}

// wgInputAVX512 is wgInputGeneric on the assembly transforms, the extreme
// elements it reads and writes checked first.
func wgInputAVX512(m int, x, v []float32, p wgIn) {
	if p.nc <= 0 {
		return
	}
	wgInputChecked(m, x, v, &p)
	f := wgInput4AVX512
	if m == 2 {
		f = wgInput2AVX512
	}
	f(&x[p.xb], p.off, p.ld, p.hw, p.nc, p.rows, p.cm0, p.cm1, &v[0], p.d0, p.d1, p.msk, p.xs)
}

// wgOutputAVX512 is wgOutputGeneric on the assembly transforms, the
// extreme elements it reads and writes checked first.
func wgOutputAVX512(m int, o, y, z, bias []float32, p wgOut) {
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
	f := wgOutput4AVX512
	if m == 2 {
		f = wgOutput2AVX512
	}
	f(&o[p.ob], p.os, p.ldo, p.nk, &y[p.yb], p.ldy, p.ohw, p.rows, p.cm, zp, bp, p.flags, p.lo, p.hi)
}
