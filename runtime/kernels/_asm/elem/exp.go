package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// exp generates exp32AVX2, exp32SliceGeneric's algorithm (Cephes' expf) 8
// lanes at a time, operation for operation: the same float32 roundings in
// the same order, so the same bits. The special inputs (NaN, above 89,
// below -104) go through the arithmetic as garbage and are replaced at the
// end by blends.
func exp() {
	TEXT("exp32AVX2", NOSPLIT, "func(x, y *float32, n int, shift float32)")
	Pragma("noescape")
	Doc("exp32AVX2 is exp32SliceGeneric in AVX2, with the same roundings:",
		"",
		"\tfor i := 0; i < n; i++ {",
		"\t\ty[i] = exp(x[i] - shift) // +Inf above 89, 0 below -104, NaN for NaN",
		"\t}",
		"",
		"y may be x.")
	x := Load(Param("x"), GP64())
	y := Load(Param("y"), GP64())
	n := Load(Param("n"), GP64())
	sh := broadcast("shift")
	cb, mb := constBase(), maskBase()
	c := func(name string) Mem { return constant(cb, name) }

	stream("exp", 2, []Register{x}, y, n, mb, func(xs []VecVirtual) VecVirtual {
		v := xs[0]
		VSUBPS(sh, v, v) // v = x - shift
		// n = floor(v*log2e + 1/2)
		fn := YMM()
		VMULPS(c("log2e"), v, fn)
		VADDPS(c("1/2"), fn, fn)
		VROUNDPS(U8(9), fn, fn) // toward -Inf, no precision exception
		// r = v - fn*ln2hi - fn*ln2lo
		r, t := YMM(), YMM()
		VMULPS(c("ln2hi"), fn, t)
		VSUBPS(t, v, r)
		VMULPS(c("ln2lo"), fn, t)
		VSUBPS(t, r, r)
		r2 := YMM()
		VMULPS(r, r, r2)
		// p = a + r2*(b + r2*cc), a = p0 + p1 r, b = p2 + p3 r, cc = p4 + p5 r
		a, b, cc := YMM(), YMM(), YMM()
		VMULPS(c("p1"), r, a)
		VADDPS(c("p0"), a, a)
		VMULPS(c("p3"), r, b)
		VADDPS(c("p2"), b, b)
		VMULPS(c("p5"), r, cc)
		VADDPS(c("p4"), cc, cc)
		VMULPS(r2, cc, cc)
		VADDPS(cc, b, b)
		VMULPS(r2, b, b)
		VADDPS(b, a, a)
		// p = p*r2 + r + 1
		VMULPS(r2, a, a)
		VADDPS(r, a, a)
		VADDPS(c("one"), a, a)
		// y = p * 2**n1 * 2**n2, n1 = n>>1, n2 = n - n1
		ni, n1 := YMM(), YMM()
		VCVTTPS2DQ(fn, ni)
		VPSRAD(U8(1), ni, n1)
		VPSUBD(n1, ni, ni)
		VPADDD(c("bias"), n1, n1)
		VPSLLD(U8(23), n1, n1)
		VPADDD(c("bias"), ni, ni)
		VPSLLD(U8(23), ni, ni)
		VMULPS(n1, a, a)
		VMULPS(ni, a, a)
		// The special cases: +Inf above 89, 0 below -104, v for NaN.
		m := YMM()
		VCMPPS(U8(0x1e), c("hi"), v, m) // v > 89, ordered
		VBLENDVPS(m, c("+inf"), a, a)
		VCMPPS(U8(0x11), c("lo"), v, m) // v < -104, ordered
		VANDNPS(a, m, a)
		VCMPPS(U8(3), v, v, m) // NaN
		VBLENDVPS(m, v, a, a)
		return a
	})
	VZEROUPPER()
	RET()
}
