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
	m := GP32()
	lowLanes(n, 16, m)
	KMOVW(m, K1)
	TESTQ(j, j)
	JNZ(LabelRef("plane_left"))
	ANDL(U32(0xfffe), m)
	Label("plane_left")
	KMOVW(m, K2)
	// Lanes < n-1 have a right neighbour.
	MOVQ(w, n)
	SUBQ(j, n)
	DECQ(n)
	lowLanes(n, 16, m)
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
	planeTail("plane", acc, yr, j, oh)
}

var zr = []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8}

// evens is poolEvenLanes: the permute indices 0, 2, ..., 30.
var evens Mem

// planeMaxS2 generates poolMax3x3s2AVX512: output rows [oh0, oh1) of a
// 3×3, stride-2 max pool of one h×w plane with begin pads padT, padL of 0
// or 1 and ow output columns (the end may lie past the plane: ceil mode).
// Per output row and 16 outputs it loads 32 input columns from each of
// the window's rows twice, the second time two columns on, through masks
// (lanes outside the plane keep -Inf), and takes the even and odd lanes
// apart with two-table permutes: the even lanes are the windows' first
// column, the odd ones the second, the second load's even lanes the third.
// Like poolMax3x3s1p1AVX512 it reports whether an input held a NaN.
func planeMaxS2() {
	evens = GLOBL("poolEvenLanes", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(uint32(2*i)))
	}
	odds := GLOBL("poolOddLanes", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(uint32(2*i+1)))
	}
	TEXT("poolMax3x3s2AVX512", NOSPLIT, "func(x, y *float32, h, w, oh0, oh1, ow, padT, padL int) bool")
	Pragma("noescape")
	Doc("poolMax3x3s2AVX512 sets rows [oh0, oh1) of the plane y of ow columns to the",
		"3×3 stride-2 max pool of the h×w plane x with begin pads padT, padL (0 or 1):",
		"",
		"\ty[oh*ow+j] = max of x[ih*w+iw] for ih in 2oh-padT+[0, 3), iw in 2j-padL+[0, 3) inside x",
		"",
		"(each window holds at least one row of x). It returns true if an input",
		"held a NaN, which it may have lost: the rows are then to be recomputed",
		"by the Go loop.")
	x := Load(Param("x"), GP64())
	w := Load(Param("w"), GP64())
	oh := Load(Param("oh0"), GP64())
	wb := GP64()
	MOVQ(w, wb)
	SHLQ(U8(2), wb)
	ninf := GP32()
	MOVL(U32(0xff800000), ninf)
	VPBROADCASTD(ninf, Z31)
	VMOVUPS(evens, Z29)
	VMOVUPS(odds, Z30)
	KXORW(K7, K7, K7)

	Label("s2_row")
	CMPQ(oh, NewParamAddr("oh1", 40))
	JGE(LabelRef("s2_done"))
	// The window's rows: ih0 = 2oh - padT and the next two, each clamped
	// into [lo, hi], the rows of x inside the window.
	ih0 := GP64()
	LEAQ(Mem{Base: oh, Index: oh, Scale: 1}, ih0)
	SUBQ(NewParamAddr("padT", 56), ih0)
	lo, hi := GP64(), GP64()
	XORQ(lo, lo)
	CMPQ(ih0, lo)
	CMOVQGT(ih0, lo) // max(ih0, 0)
	MOVQ(NewParamAddr("h", 16), hi)
	DECQ(hi)
	last := GP64()
	LEAQ(Mem{Base: ih0, Disp: 2}, last)
	CMPQ(last, hi)
	CMOVQLT(last, hi) // min(ih0+2, h-1)
	var rows [3]GPVirtual
	for k := 0; k < 3; k++ {
		r := GP64()
		LEAQ(Mem{Base: ih0, Disp: k}, r)
		CMPQ(r, lo)
		CMOVQLT(lo, r)
		CMPQ(r, hi)
		CMOVQGT(hi, r)
		IMULQ(wb, r)
		ADDQ(x, r)
		rows[k] = r
	}
	yr := GP64()
	MOVQ(oh, yr)
	IMULQ(NewParamAddr("ow", 48), yr)
	SHLQ(U8(2), yr)
	ADDQ(NewParamAddr("y", 8), yr)

	j := GP64() // the chunk's first output column
	XORQ(j, j)
	Label("s2_col")
	n := GP64()
	MOVQ(NewParamAddr("ow", 48), n)
	SUBQ(j, n)
	JLE(LabelRef("s2_next"))
	// K1: the outputs, min(n, 16) lanes.
	m := GP32()
	lowLanes(n, 16, m)
	KMOVW(m, K1)
	// The first load's 32 lanes are columns c0 + l, c0 = 2j - padL:
	// valid for l < w - c0 (clamped to [0, 32]) and l ≥ -c0. The second
	// load's are two columns on.
	c0 := GP64()
	LEAQ(Mem{Base: j, Index: j, Scale: 1}, c0)
	SUBQ(NewParamAddr("padL", 64), c0)
	for load := 0; load < 2; load++ {
		cnt := GP64()
		MOVQ(w, cnt)
		SUBQ(c0, cnt)
		if load == 1 {
			SUBQ(U8(2), cnt)
		}
		lowLanes(cnt, 32, m)
		if load == 0 {
			// Lanes left of column 0 (only at c0 = -1).
			TESTQ(c0, c0)
			JNS(LabelRef("s2_left"))
			ANDL(U32(0xfffffffe), m)
			Label("s2_left")
		}
		km := []Register{K2, K4}[load]
		kh := []Register{K3, K5}[load]
		KMOVW(m, km)
		SHRL(U8(16), m)
		KMOVW(m, kh)
	}
	// Byte address of column c0 in each row: rows[k] + 4*c0.
	acc := Z0
	for k, r := range rows {
		base := GP64()
		LEAQ(Mem{Base: r, Index: c0, Scale: 4}, base)
		a, b, c, d := Z1, Z2, Z3, Z4
		for _, v := range []VecPhysical{a, b, c, d} {
			VMOVAPS(Z31, v)
		}
		VMOVUPS(Mem{Base: base}, K2, a)
		VMOVUPS(Mem{Base: base, Disp: 64}, K3, b)
		VMOVUPS(Mem{Base: base, Disp: 8}, K4, c)
		VMOVUPS(Mem{Base: base, Disp: 72}, K5, d)
		for _, v := range []VecPhysical{a, b, c, d} {
			VCMPPS(U8(3), v, v, K6) // unordered: NaN
			KORW(K6, K7, K7)
		}
		e, o, e2 := Z5, Z6, Z7
		VMOVAPS(Z29, e)
		VPERMI2PS(b, a, e) // even lanes of (a, b): first column
		VMOVAPS(Z30, o)
		VPERMI2PS(b, a, o) // odd lanes: second column
		VMOVAPS(Z29, e2)
		VPERMI2PS(d, c, e2) // even lanes two columns on: third column
		if k == 0 {
			VMAXPS(e, o, acc)
		} else {
			VMAXPS(e, acc, acc)
			VMAXPS(o, acc, acc)
		}
		VMAXPS(e2, acc, acc)
	}
	planeTail("s2", acc, yr, j, oh)
}

// lowLanes sets m to the mask of the first count of width (16 or 32)
// lanes, count clamped to [0, width] first (it is clobbered): BZHI reads
// only the low byte of its index, so an unclamped count of 256 or more
// would wrap around.
func lowLanes(count GPVirtual, width int, m GPVirtual) {
	zero, lim, all := GP64(), GP64(), GP32()
	XORQ(zero, zero)
	MOVQ(U32(width), lim)
	CMPQ(count, zero)
	CMOVQLT(zero, count)
	CMPQ(count, lim)
	CMOVQGT(lim, count)
	MOVL(U32(0xffffffff), all)
	BZHIL(count.As32(), all, m)
}

// planeTail ends a plane kernel's loops (labels pre_col, pre_next,
// pre_row, pre_done): it stores the chunk's outputs acc at output row yr,
// column j, through K1, moves on 16 columns, then to the next row oh, and
// at the end returns whether K7 saw a NaN.
func planeTail(pre string, acc VecPhysical, yr, j, oh Register) {
	VMOVUPS(acc, K1, Mem{Base: yr, Index: j, Scale: 4})
	ADDQ(U8(16), j)
	JMP(LabelRef(pre + "_col"))

	Label(pre + "_next")
	INCQ(oh)
	JMP(LabelRef(pre + "_row"))

	Label(pre + "_done")
	KORTESTW(K7, K7)
	nan := GP8()
	SETNE(nan)
	Store(nan, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// stride2Copy generates stride2CopyAVX512, the gather of every other
// float (the phase rows of a stride-2 convolution's band): two vectors of
// the source a turn, their even lanes picked by a two-table permute; the
// last block (1 to 16 outputs) goes through masks, so that nothing past
// src[2n-2] is read.
func stride2Copy() {
	TEXT("stride2CopyAVX512", NOSPLIT, "func(dst, src *float32, n int)")
	Pragma("noescape")
	Doc("stride2CopyAVX512 sets dst[v] = src[2v] for v < n (n >= 0).")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	VMOVUPS(evens, Z2)
	Label("s2c_loop")
	CMPQ(n, U8(16))
	JLE(LabelRef("s2c_tail"))
	VMOVUPS(Mem{Base: src}, Z0)
	VMOVUPS(Mem{Base: src, Disp: 64}, Z1)
	VMOVAPS(Z2, Z3)
	VPERMI2PS(Z1, Z0, Z3)
	VMOVUPS(Z3, Mem{Base: dst})
	ADDQ(U8(128), src)
	ADDQ(U8(64), dst)
	SUBQ(U8(16), n)
	JMP(LabelRef("s2c_loop"))
	Label("s2c_tail")
	TESTQ(n, n)
	JLE(LabelRef("s2c_done"))
	// Source lanes 0 .. 2n-2: the first vector's min(2n-1, 16), the
	// second's the rest.
	m := GP32()
	cnt := GP64()
	LEAQ(Mem{Base: n, Index: n, Scale: 1, Disp: -1}, cnt)
	lowLanes(cnt, 16, m)
	KMOVW(m, K1)
	LEAQ(Mem{Base: n, Index: n, Scale: 1, Disp: -17}, cnt)
	lowLanes(cnt, 16, m)
	KMOVW(m, K2)
	MOVQ(n, cnt)
	lowLanes(cnt, 16, m)
	KMOVW(m, K3)
	VMOVUPS_Z(Mem{Base: src}, K1, Z0)
	VMOVUPS_Z(Mem{Base: src, Disp: 64}, K2, Z1)
	VMOVAPS(Z2, Z3)
	VPERMI2PS(Z1, Z0, Z3)
	VMOVUPS(Z3, K3, Mem{Base: dst})
	Label("s2c_done")
	VZEROUPPER()
	RET()
}
