package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// planeMax generates poolMax3x3s1p1AVX512: output rows [oh0, oh1) of a
// 3×3, stride-1, padding-1 max pool of one h×w plane, 16 columns a turn.
// The windows' edges are masked loads: lanes outside the plane keep the
// -Inf they start with (masked lanes do not fault). Rows outside the
// plane are replaced by the nearest inside the window, which leaves every
// maximum as it is. A NaN among the plane's inputs may be lost (VMAXPS);
// the kernel compares each row with itself and returns whether one was
// NaN, and the Go caller then recomputes the rows.
func planeMax() {
	TEXT("poolMax3x3s1p1AVX512", NOSPLIT, "func(x, y *float32, h, w, oh0, oh1 int) bool")
	Pragma("noescape")
	Doc("poolMax3x3s1p1AVX512 sets rows [oh0, oh1) of the h×w plane y (h, w ≥ 1)",
		"to the 3×3 stride-1 max pool of the h×w plane x padded by 1 (-Inf):",
		"",
		"\ty[oh*w+ow] = max of x[ih*w+iw] for |ih-oh| ≤ 1, |iw-ow| ≤ 1 inside x",
		"",
		"It returns true if an input row holds a NaN, which it may have lost:",
		"the rows are then to be recomputed by the Go loop.")
	x := Load(Param("x"), GP64())
	y := Load(Param("y"), GP64())
	h := Load(Param("h"), GP64())
	w := Load(Param("w"), GP64())
	oh := Load(Param("oh0"), GP64())
	wb := GP64() // a row's bytes
	MOVQ(w, wb)
	SHLQ(U8(2), wb)
	ninf := GP32()
	MOVL(U32(0xff800000), ninf)
	VPBROADCASTD(ninf, Z31)
	KXORW(K7, K7, K7) // NaN seen
	all := GP32()
	MOVL(U32(0xffff), all)

	Label("plane_row")
	CMPQ(oh, NewParamAddr("oh1", 40))
	JGE(LabelRef("plane_done"))
	r1 := GP64()
	MOVQ(oh, r1)
	IMULQ(wb, r1)
	yr := GP64()
	LEAQ(Mem{Base: y, Index: r1, Scale: 1}, yr)
	ADDQ(x, r1)
	r0, r2 := GP64(), GP64()
	MOVQ(r1, r0)
	MOVQ(r1, r2)
	TESTQ(oh, oh)
	JZ(LabelRef("plane_top"))
	SUBQ(wb, r0)
	Label("plane_top")
	next := GP64()
	LEAQ(Mem{Base: oh, Disp: 1}, next)
	CMPQ(next, h)
	JGE(LabelRef("plane_bottom"))
	ADDQ(wb, r2)
	Label("plane_bottom")

	j := GP64()
	XORQ(j, j)
	Label("plane_col")
	n := GP64() // columns left
	MOVQ(w, n)
	SUBQ(j, n)
	JLE(LabelRef("plane_next"))
	// K1: the lanes < n (the outputs); K2: those whose left neighbour is
	// inside (all of K1 but lane 0 at column 0); K3: those whose right
	// neighbour is (lanes < n-1).
	// (BZHI reads its index's low byte: clamp it to 16 first.)
	m := GP32()
	sixteen := GP64()
	MOVQ(U32(16), sixteen)
	CMPQ(n, sixteen)
	CMOVQGT(sixteen, n)
	BZHIL(n.As32(), all, m)
	KMOVW(m, K1)
	TESTQ(j, j)
	JNZ(LabelRef("plane_left"))
	ANDL(U32(0xfffe), m)
	Label("plane_left")
	KMOVW(m, K2)
	// Lanes < n-1 have a right neighbour: w-j-1 clamped to 16.
	MOVQ(w, n)
	SUBQ(j, n)
	DECQ(n)
	CMPQ(n, sixteen)
	CMOVQGT(sixteen, n)
	BZHIL(n.As32(), all, m)
	KMOVW(m, K3)
	for i, r := range []GPVirtual{r0, r1, r2} {
		c, l, rt := zr[3*i], zr[3*i+1], zr[3*i+2]
		for _, v := range []VecPhysical{c, l, rt} {
			VMOVAPS(Z31, v)
		}
		VMOVUPS(Mem{Base: r, Index: j, Scale: 4}, K1, c)
		VMOVUPS(Mem{Base: r, Index: j, Scale: 4, Disp: -4}, K2, l)
		VMOVUPS(Mem{Base: r, Index: j, Scale: 4, Disp: 4}, K3, rt)
		if i == 1 {
			VCMPPS(U8(3), c, c, K4) // unordered: NaN
			KORW(K4, K7, K7)
		}
	}
	acc := Z9
	VMAXPS(Z0, Z1, acc)
	for _, v := range zr[2:9] {
		VMAXPS(v, acc, acc)
	}
	VMOVUPS(acc, K1, Mem{Base: yr, Index: j, Scale: 4})
	ADDQ(U8(16), j)
	JMP(LabelRef("plane_col"))

	Label("plane_next")
	INCQ(oh)
	JMP(LabelRef("plane_row"))

	Label("plane_done")
	KORTESTW(K7, K7)
	nan := GP8()
	SETNE(nan)
	Store(nan, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

var zr = []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8}
