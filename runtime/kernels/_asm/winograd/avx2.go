package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The AVX2/FMA transforms: the AVX-512 ones' arithmetic in ymm registers,
// 8 tiles a vector, a segment's 16 lanes in two halves of 8 (a half with
// no lane to store is skipped). Masks are vectors built from the
// arguments' bits; the strided phases are taken apart with in-lane
// shuffles and lane permutes.

var (
	constsAVX2 Mem                // 8 copies of each constant, in constIdx's order
	tabsAVX2   = map[string]Mem{} // 8 uint32 each
)

func tablesAVX2() {
	constsAVX2 = GLOBL("wgConstsAVX2", RODATA|NOPTR)
	names := []string{"2", "1.5", "0.5", "2.5", "0.25", "4", "0.125", "8"}
	vals := []float32{2, 1.5, 0.5, 2.5, 0.25, 4, 0.125, 8}
	for i := range names {
		if constIdx[names[i]] != i {
			panic("constant order")
		}
		for l := 0; l < 8; l++ {
			DATA(32*i+4*l, U32(math.Float32bits(vals[i])))
		}
	}
	tab := func(name string, f func(i int) int) {
		tabsAVX2[name] = GLOBL("wg"+name+"AVX2", RODATA|NOPTR)
		for i := 0; i < 8; i++ {
			DATA(4*i, U32(uint32(f(i))))
		}
	}
	tab("Bits", func(i int) int { return 1 << i })
	tab("Pairs", func(i int) int { return []int{0, 4, 1, 5, 2, 6, 3, 7}[i] })
	tab("Rotate", func(i int) int { return (i + 1) % 8 })
	tab("Lane0", func(int) int { return 0 })
	tab("Lane1", func(int) int { return 1 })
}

// ymm is AVX2: the constants as whole vectors from wgConstsAVX2.
var ymm = vecISA{
	vec:  func() VecVirtual { return YMM() },
	fma:  func(k string, x, acc Op) { VFMADD231PS(constsAVX2.Offset(32*constIdx[k]), x, acc) },
	fnma: func(k string, x, acc Op) { VFNMADD231PS(constsAVX2.Offset(32*constIdx[k]), x, acc) },
}

// bitsMask stores at dst the vector mask of the 8 bits of b (a GP
// register, clobbered) from bit shift on: lane i all ones when bit
// shift+i is set.
func bitsMask(b GPVirtual, shift int, dst Mem) {
	if shift > 0 {
		SHRQ(U8(shift), b)
	}
	x := XMM()
	VMOVD(b.As32(), x)
	y := YMM()
	VPBROADCASTD(x, y)
	VPAND(tabsAVX2["Bits"], y, y)
	VPCMPEQD(tabsAVX2["Bits"], y, y)
	VMOVUPS(y, dst)
}

// permAVX2 returns the lanes of src (register or memory) in the order of
// the index table name.
func permAVX2(name string, src Op) VecVirtual {
	idx, r := YMM(), YMM()
	VMOVUPS(tabsAVX2[name], idx)
	VPERMPS(src, idx, r)
	return r
}

// shiftIn returns p's lanes one on (lane i holds p's lane i+1), the last
// lane from lane l (0 or 1) of e.
func shiftIn(p VecVirtual, e Op, l int) VecVirtual {
	r := permAVX2("Rotate", p)
	b := permAVX2([]string{"Lane0", "Lane1"}[l], e)
	out := YMM()
	VBLENDPS(U8(0x80), b, r, out)
	return out
}

// dealAVX2 takes the m+1 vectors e of a half row's columns 0..8m+1 apart
// into its α phases: p[j] lane i is column m·i+j.
func dealAVX2(m int, e []Op) []VecVirtual {
	p := make([]VecVirtual, m+2)
	if m == 2 {
		e0, e1 := YMM(), YMM()
		VMOVUPS(e[0], e0)
		VMOVUPS(e[1], e1)
		ev, od := YMM(), YMM()
		VSHUFPS(U8(0x88), e1, e0, ev)
		VSHUFPS(U8(0xdd), e1, e0, od)
		p[0], p[1] = YMM(), YMM()
		VPERMPD(U8(0xd8), ev, p[0])
		VPERMPD(U8(0xd8), od, p[1])
	} else {
		// Each vector holds two tiles' four phases: pair them up as
		// 64-bit elements (phase j of tiles 2k, 2k+1), then transpose
		// the 4×4 of pairs.
		q := make([]VecVirtual, 4)
		for i := range q {
			q[i] = permAVX2("Pairs", e[i])
		}
		u0, u1, u2, u3 := YMM(), YMM(), YMM(), YMM()
		VUNPCKLPD(q[1], q[0], u0)
		VUNPCKHPD(q[1], q[0], u1)
		VUNPCKLPD(q[3], q[2], u2)
		VUNPCKHPD(q[3], q[2], u3)
		for j := range 4 {
			p[j] = YMM()
		}
		VPERM2F128(U8(0x20), u2, u0, p[0])
		VPERM2F128(U8(0x31), u2, u0, p[2])
		VPERM2F128(U8(0x20), u3, u1, p[1])
		VPERM2F128(U8(0x31), u3, u1, p[3])
	}
	p[m] = shiftIn(p[0], e[m], 0)
	p[m+1] = shiftIn(p[1], e[m], 1)
	return p
}

// inputAVX2 generates wgInputMAVX2, wgInputMAVX512's contract in AVX2.
func inputAVX2(m int) {
	a := m + 2
	nv := m + 1 // vectors of a half's window row: 8m+2 columns
	name := fmt.Sprintf("wgInput%dAVX2", m)
	TEXT(name, 0, "func(x *float32, off, ld, hw, nc int, rows, cm0, cm1 uint64, v *float32, d0, d1 int, msk uint64, xs int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is wgInput%dAVX512 in AVX2/FMA, 8 tiles a vector.", name, m))
	// Frame: the column-transformed rows of a half (α·nv vectors), then
	// the halves' column masks (2·nv) and store masks (2·2).
	tr := AllocLocal(a * nv * 32)
	cmask := AllocLocal(2 * nv * 32)
	smask := AllocLocal(4 * 32)
	for h := 0; h < 2; h++ {
		for v := 0; v < nv; v++ {
			// Columns 8m·h + 8v .. +7 of the 128-bit mask cm1:cm0.
			col := 8*m*h + 8*v
			b := GP64()
			if col < 64 {
				Load(Param("cm0"), b)
				if col+8 > 64 {
					panic("mask straddles")
				}
				bitsMask(b, col, cmask.Offset((h*nv+v)*32))
			} else {
				Load(Param("cm1"), b)
				bitsMask(b, col-64, cmask.Offset((h*nv+v)*32))
			}
		}
		for s := 0; s < 2; s++ {
			b := GP64()
			Load(Param("msk"), b)
			bitsMask(b, 16*s+8*h, smask.Offset((2*h+s)*32))
		}
	}
	x := Load(Param("x"), GP64())
	off := Load(Param("off"), GP64())
	LEAQ(Mem{Base: x, Index: off, Scale: 4}, x)
	ld := Load(Param("ld"), GP64())
	SHLQ(U8(2), ld)
	rows := Load(Param("rows"), GP64())
	v := Load(Param("v"), GP64())
	q0, q1 := GP64(), GP64()
	d := Load(Param("d0"), GP64())
	LEAQ(Mem{Base: v, Index: d, Scale: 4}, q0)
	Load(Param("d1"), d)
	LEAQ(Mem{Base: v, Index: d, Scale: 4}, q1)
	xs := Load(Param("xs"), GP64())
	SHLQ(U8(2), xs)
	nc := Load(Param("nc"), GP64())
	TESTQ(nc, nc)
	JZ(LabelRef(name + "_done"))

	Label(name + "_ch")
	for h := 0; h < 2; h++ {
		hl := fmt.Sprintf("%s_h%d", name, h)
		// Skip a half with no lane to store.
		mb := GP64()
		Load(Param("msk"), mb)
		TESTQ(U32(0xff<<(8*h)|0xff<<(16+8*h)), mb)
		JZ(LabelRef(hl + "_skip"))
		ra := GP64()
		for j := 0; j < nv; j++ {
			dv := make([]VecVirtual, a)
			MOVQ(x, ra)
			mk := YMM()
			VMOVUPS(cmask.Offset((h*nv+j)*32), mk)
			for r := 0; r < a; r++ {
				if r > 0 {
					ADDQ(ld, ra)
				}
				dv[r] = YMM()
				l := fmt.Sprintf("%s_v%d_r%d", hl, j, r)
				BTQ(U8(r), rows)
				JCC(LabelRef(l + "_zero"))
				VMASKMOVPS(Mem{Base: ra, Disp: 4 * (8*m*h + 8*j)}, mk, dv[r])
				JMP(LabelRef(l + "_next"))
				Label(l + "_zero")
				VXORPS(dv[r], dv[r], dv[r])
				Label(l + "_next")
			}
			t := bt(ymm, m, dv)
			for i := range t {
				VMOVUPS(t[i], tr.Offset((i*nv+j)*32))
			}
		}
		xo := GP64()
		XORQ(xo, xo)
		for i := 0; i < a; i++ {
			e := make([]Op, nv)
			for j := range e {
				e[j] = tr.Offset((i*nv + j) * 32)
			}
			w := bt(ymm, m, dealAVX2(m, e))
			for j := range w {
				for s, q := range []Register{q0, q1} {
					mk := YMM()
					VMOVUPS(smask.Offset((2*h+s)*32), mk)
					VMASKMOVPS(w[j], mk, Mem{Base: q, Index: xo, Scale: 1, Disp: 32 * h})
				}
				ADDQ(xs, xo)
			}
		}
		Label(hl + "_skip")
	}
	hw := GP64()
	Load(Param("hw"), hw)
	LEAQ(Mem{Base: x, Index: hw, Scale: 4}, x)
	ADDQ(U8(64), q0)
	ADDQ(U8(64), q1)
	DECQ(nc)
	JNZ(LabelRef(name + "_ch"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// weaveAVX2 interleaves the m phase vectors e (lane i: tile i's output
// column j of e[j]) into m vectors of 8 consecutive output columns.
func weaveAVX2(m int, e []VecVirtual) []VecVirtual {
	if m == 2 {
		l, h := YMM(), YMM()
		VUNPCKLPS(e[1], e[0], l) // tiles 0, 1 | 4, 5
		VUNPCKHPS(e[1], e[0], h) // tiles 2, 3 | 6, 7
		o0, o1 := YMM(), YMM()
		VPERM2F128(U8(0x20), h, l, o0)
		VPERM2F128(U8(0x31), h, l, o1)
		return []VecVirtual{o0, o1}
	}
	a01, b01, a23, b23 := YMM(), YMM(), YMM(), YMM()
	VUNPCKLPS(e[1], e[0], a01)
	VUNPCKHPS(e[1], e[0], b01)
	VUNPCKLPS(e[3], e[2], a23)
	VUNPCKHPS(e[3], e[2], b23)
	x0, x1, x2, x3 := YMM(), YMM(), YMM(), YMM()
	VUNPCKLPD(a23, a01, x0) // tile 0 | 4
	VUNPCKHPD(a23, a01, x1) // tile 1 | 5
	VUNPCKLPD(b23, b01, x2) // tile 2 | 6
	VUNPCKHPD(b23, b01, x3) // tile 3 | 7
	o := []VecVirtual{YMM(), YMM(), YMM(), YMM()}
	VPERM2F128(U8(0x20), x1, x0, o[0])
	VPERM2F128(U8(0x20), x3, x2, o[1])
	VPERM2F128(U8(0x31), x1, x0, o[2])
	VPERM2F128(U8(0x31), x3, x2, o[3])
	return o
}

// outputAVX2 generates wgOutputMAVX2, wgOutputMAVX512's contract in AVX2.
func outputAVX2(m int) {
	a := m + 2
	name := fmt.Sprintf("wgOutput%dAVX2", m)
	TEXT(name, 0, "func(o *float32, os, ldo, nk int, y *float32, ldy, ohw, rows int, cm uint64, z, bias *float32, flags uint64, lo, hi float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is wgOutput%dAVX512 in AVX2/FMA, 8 tiles a vector.", name, m))
	// Frame: Aᵀ down the columns of a half (m·α vectors), the column
	// masks of the halves' output vectors (2·m), lo and hi.
	sf := AllocLocal(m * a * 32)
	cmask := AllocLocal(2 * m * 32)
	bounds := AllocLocal(2 * 32)
	for h := 0; h < 2; h++ {
		for q := 0; q < m; q++ {
			b := GP64()
			Load(Param("cm"), b)
			bitsMask(b, 8*m*h+8*q, cmask.Offset((h*m+q)*32))
		}
	}
	for i, p := range []string{"lo", "hi"} {
		t := YMM()
		VBROADCASTSS(paramAddr(p), t)
		VMOVUPS(t, bounds.Offset(32*i))
	}
	o := Load(Param("o"), GP64())
	os := Load(Param("os"), GP64())
	SHLQ(U8(2), os)
	os6 := GP64()
	IMUL3Q(U8(a), os, os6)
	y := Load(Param("y"), GP64())
	z := Load(Param("z"), GP64())
	bias := Load(Param("bias"), GP64())
	ldy := Load(Param("ldy"), GP64())
	SHLQ(U8(2), ldy)
	flags := Load(Param("flags"), GP64())
	zoff := GP64()
	MOVQ(z, zoff)
	SUBQ(y, zoff)
	nk := Load(Param("nk"), GP64())
	TESTQ(nk, nk)
	JZ(LabelRef(name + "_done"))

	Label(name + "_ch")
	for h := 0; h < 2; h++ {
		hl := fmt.Sprintf("%s_h%d", name, h)
		cb := GP64()
		Load(Param("cm"), cb)
		SHRQ(U8(8*m*h), cb)
		TESTQ(U32(1<<(8*m)-1), cb)
		JZ(LabelRef(hl + "_skip"))
		// Aᵀ down the columns: s[r][j] into the frame.
		col := GP64()
		for j := 0; j < a; j++ {
			if j == 0 {
				LEAQ(Mem{Base: o, Disp: 32 * h}, col)
			} else {
				ADDQ(os, col)
			}
			ops := make([]Op, a)
			row := GP64()
			MOVQ(col, row)
			for i := 0; i < a; i++ {
				if i > 0 {
					ADDQ(os6, row)
				}
				r := YMM()
				VMOVUPS(Mem{Base: row}, r)
				ops[i] = r
			}
			res := at(ymm, m, ops)
			for r := range res {
				VMOVUPS(res[r], sf.Offset((r*a+j)*32))
			}
		}
		yr := GP64()
		LEAQ(Mem{Base: y, Disp: 32 * m * h}, yr)
		for r := 0; r < m; r++ {
			if r > 0 {
				CMPQ(paramAddr("rows"), U8(r))
				JLE(LabelRef(hl + "_next"))
				ADDQ(ldy, yr)
			}
			ops := make([]Op, a)
			for j := range ops {
				t := YMM()
				VMOVUPS(sf.Offset((r*a+j)*32), t)
				ops[j] = t
			}
			e := at(ymm, m, ops)
			l := fmt.Sprintf("%s_r%d", hl, r)
			TESTQ(U32(flagBias), flags)
			JZ(LabelRef(l + "_nobias"))
			b := YMM()
			VBROADCASTSS(Mem{Base: bias}, b)
			for _, v := range e {
				VADDPS(b, v, v)
			}
			Label(l + "_nobias")
			out := weaveAVX2(m, e)
			TESTQ(U32(flagZ), flags)
			JZ(LabelRef(l + "_act"))
			for q, v := range out {
				mk, t := YMM(), YMM()
				VMOVUPS(cmask.Offset((h*m+q)*32), mk)
				VMASKMOVPS(Mem{Base: yr, Index: zoff, Scale: 1, Disp: 32 * q}, mk, t)
				VADDPS(t, v, v)
			}
			Label(l + "_act")
			TESTQ(U32(flagAct), flags)
			JZ(LabelRef(l + "_store"))
			// max(lo, v) then min(hi, v) with v the second source, so a
			// NaN passes through.
			for _, v := range out {
				t := YMM()
				VMOVUPS(bounds, t)
				VMAXPS(v, t, v)
				VMOVUPS(bounds.Offset(32), t)
				VMINPS(v, t, v)
			}
			Label(l + "_store")
			for q, v := range out {
				mk := YMM()
				VMOVUPS(cmask.Offset((h*m+q)*32), mk)
				VMASKMOVPS(v, mk, Mem{Base: yr, Disp: 32 * q})
			}
		}
		Label(hl + "_next")
		Label(hl + "_skip")
	}
	ohw := GP64()
	Load(Param("ohw"), ohw)
	LEAQ(Mem{Base: y, Index: ohw, Scale: 4}, y)
	ldo := GP64()
	Load(Param("ldo"), ldo)
	LEAQ(Mem{Base: o, Index: ldo, Scale: 4}, o)
	ADDQ(U8(4), bias)
	DECQ(nk)
	JNZ(LabelRef(name + "_ch"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
