// Command winograd generates the AVX-512 input and output transforms of
// the Winograd convolutions F(2×2, 3×3) and F(4×4, 3×3) (winograd.go):
//
//	go run ./winograd -out ../winograd_amd64.s -stubs ../winograd_stub_amd64.go -pkg kernels
//
// Both work on a segment of up to 16 consecutive tiles of one tile row,
// one tile per vector lane, and loop over channels. The input transform
// loads the segment's α input rows (masked at the plane's edges), applies
// Bᵀ down the rows, takes the rows' columns apart into the α phases of
// the 16 tiles with two-table permutes, applies B along them and stores
// the α² vectors into the packed panels of V. The output transform loads
// the α² vectors of M, applies Aᵀ and A, interleaves the m phases back into
// output columns and stores the m output rows with the epilogue (bias,
// residual, clamp).
package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("!noasm")
	tables()
	for _, m := range []int{2, 4} {
		input(m)
	}
	for _, m := range []int{2, 4} {
		output(m)
	}
	tablesAVX2()
	for _, m := range []int{2, 4} {
		inputAVX2(m)
	}
	for _, m := range []int{2, 4} {
		outputAVX2(m)
	}
	Generate()
}

// The epilogue flags, as in gemm.go.
const (
	flagBias = 2
	flagZ    = 4
	flagAct  = 8
)

var (
	consts Mem                // scalar constants, 4 bytes each, by name in constIdx
	tabs   = map[string]Mem{} // index vectors of 16 uint32
)

var constIdx = map[string]int{}

func tables() {
	vals := []struct {
		name string
		v    float32
	}{{"2", 2}, {"1.5", 1.5}, {"0.5", 0.5}, {"2.5", 2.5}, {"0.25", 0.25}, {"4", 4}, {"0.125", 0.125}, {"8", 8}}
	consts = GLOBL("wgConsts", RODATA|NOPTR)
	for i, c := range vals {
		DATA(4*i, U32(math.Float32bits(c.v)))
		constIdx[c.name] = i
	}
	tab := func(name string, f func(i int) int) {
		tabs[name] = GLOBL("wg"+name, RODATA|NOPTR)
		for i := 0; i < 16; i++ {
			DATA(4*i, U32(uint32(f(i))))
		}
	}
	// Stride-4 phases of 32 lanes: phases 0 and 1 (A), 2 and 3 (B) of
	// lanes' tiles 0-7, the second phase in the upper half.
	tab("Deal4A", func(i int) int { return 4*(i%8) + i/8 })
	tab("Deal4B", func(i int) int { return 4*(i%8) + 2 + i/8 })
	// Stride-2 phases: even and odd lanes.
	tab("Deal2E", func(i int) int { return 2 * i })
	tab("Deal2O", func(i int) int { return 2*i + 1 })
	// One lane on, the last from the second table's lane 0 or 1.
	tab("Next0", func(i int) int { return i + 1 })
	tab("Next1", func(i int) int {
		if i == 15 {
			return 17
		}
		return i + 1
	})
	// Interleave of four phases, 4 tiles a quarter (F(4×4)).
	tab("Weave4C", func(i int) int { return 8*(i%4) + i/4 })
	tab("Weave4D", func(i int) int { return 8*(i%4) + 4 + i/4 })
	// Interleave of two phases (F(2×2)).
	tab("Weave2A", func(i int) int { return 16*(i%2) + i/2 })
	tab("Weave2B", func(i int) int { return 16*(i%2) + 8 + i/2 })
}

// c returns the broadcast memory operand of the named constant.
func c(name string) Mem {
	i, ok := constIdx[name]
	if !ok {
		panic("no constant " + name)
	}
	return consts.Offset(4 * i)
}

// vecISA is what the transforms' arithmetic needs of a vector width:
// a new register, and acc += k·x and acc -= k·x for a named constant k.
type vecISA struct {
	vec       func() VecVirtual
	fma, fnma func(k string, x, acc Op)
}

// zmm is AVX-512: the constants broadcast from wgConsts inside the
// multiply-adds.
var zmm = vecISA{
	vec:  func() VecVirtual { return ZMM() },
	fma:  func(k string, x, acc Op) { VFMADD231PS_BCST(c(k), x, acc) },
	fnma: func(k string, x, acc Op) { VFNMADD231PS_BCST(c(k), x, acc) },
}

// bt applies Bᵀ to the α vectors d (each lane one column or tile),
// returning α new vectors: for m = 2 (points 0, 1, -1, ∞)
//
//	t0 = d0 - d2, t1 = d1 + d2, t2 = d2 - d1, t3 = d1 - d3
//
// and for m = 4 the rows of Bᵀ in winograd.go (points 0, 1, -1, 1/2, -2, ∞).
func bt(v vecISA, m int, d []VecVirtual) []VecVirtual {
	t := make([]VecVirtual, len(d))
	for i := range t {
		t[i] = v.vec()
	}
	if m == 2 {
		VSUBPS(d[2], d[0], t[0])
		VADDPS(d[2], d[1], t[1])
		VSUBPS(d[1], d[2], t[2])
		VSUBPS(d[3], d[1], t[3])
		return t
	}
	e31, e42 := v.vec(), v.vec()
	VSUBPS(d[1], d[3], e31)
	VSUBPS(d[2], d[4], e42)
	// t0 = d0 + d4 - 2 d2 + 1.5 e31
	VADDPS(d[4], d[0], t[0])
	v.fnma("2", d[2], t[0])
	v.fma("1.5", e31, t[0])
	// t1 = d4 - d1 + 0.5 d2 + 2.5 d3
	VSUBPS(d[1], d[4], t[1])
	v.fma("0.5", d[2], t[1])
	v.fma("2.5", d[3], t[1])
	// t2 = d4 + d1 - 2.5 d2 + 0.5 d3
	VADDPS(d[1], d[4], t[2])
	v.fnma("2.5", d[2], t[2])
	v.fma("0.5", d[3], t[2])
	// t3 = e42 + 2 e31, t4 = e42 - 0.5 e31
	VMOVAPS(e42, t[3])
	v.fma("2", e31, t[3])
	VMOVAPS(e42, t[4])
	v.fnma("0.5", e31, t[4])
	// t5 = d1 + d5 - 2 d3 + 1.5 e42
	VADDPS(d[5], d[1], t[5])
	v.fnma("2", d[3], t[5])
	v.fma("1.5", e42, t[5])
	return t
}

// perm returns the two-table permute of (a, b) by the index table name.
func perm(name string, a, b VecVirtual) VecVirtual {
	r := ZMM()
	VMOVUPS(tabs[name], r)
	VPERMI2PS(b, a, r)
	return r
}

// deal takes the m+1 vectors e of a row's columns 0..16m+1 (lane j of e[v]
// is column 16v+j) apart into its α phases: p[j] lane i is column m·i+j.
func deal(m int, e []VecVirtual) []VecVirtual {
	p := make([]VecVirtual, m+2)
	if m == 2 {
		p[0] = perm("Deal2E", e[0], e[1])
		p[1] = perm("Deal2O", e[0], e[1])
	} else {
		x0, x1 := perm("Deal4A", e[0], e[1]), perm("Deal4B", e[0], e[1])
		x2, x3 := perm("Deal4A", e[2], e[3]), perm("Deal4B", e[2], e[3])
		for j := range 4 {
			p[j] = ZMM()
		}
		VSHUFF32X4(U8(0x44), x2, x0, p[0])
		VSHUFF32X4(U8(0xee), x2, x0, p[1])
		VSHUFF32X4(U8(0x44), x3, x1, p[2])
		VSHUFF32X4(U8(0xee), x3, x1, p[3])
	}
	p[m] = perm("Next0", p[0], e[m])
	p[m+1] = perm("Next1", p[1], e[m])
	return p
}

// input generates wgInputMAVX512.
func input(m int) {
	a := m + 2
	nv := m + 1 // vectors of a window row: 16m+2 columns
	name := fmt.Sprintf("wgInput%dAVX512", m)
	TEXT(name, 0, "func(x *float32, off, ld, hw, nc int, rows, cm0, cm1 uint64, v *float32, d0, d1 int, msk uint64, xs int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is wgInputGeneric for m = %d in AVX-512: for each of", name, m),
		"nc channels (x and the stores moving on hw and 16 floats a channel) it",
		fmt.Sprintf("loads the window of %d rows (row r at x + off + r·ld, present when bit r of", a),
		fmt.Sprintf("rows is set, else zero) of %d columns, column j through bit j of", 16*m+2),
		"cm0 (j < 64) or cm1 (the rest; columns off both read as zero), and",
		fmt.Sprintf("stores the transform of tile i (columns %di..%di+%d) at position ξ", m, m, a-1),
		"to v[d0 + ξ·xs + i] for bit i of msk, and to v[d1 + ξ·xs + i] for",
		"bit 16+i of msk.")
	frame := AllocLocal(a * nv * 64)
	x := Load(Param("x"), GP64())
	off := Load(Param("off"), GP64())
	LEAQ(Mem{Base: x, Index: off, Scale: 4}, x)
	ld := Load(Param("ld"), GP64())
	SHLQ(U8(2), ld)
	rows := Load(Param("rows"), GP64())
	cm := GP64()
	Load(Param("cm0"), cm)
	colMasks := []Register{K1, K2, K3, K4, K5}[:nv]
	for i := 0; i < nv && i < 4; i++ {
		KMOVW(cm.As32(), colMasks[i])
		SHRQ(U8(16), cm)
	}
	if nv == 5 {
		Load(Param("cm1"), cm)
		KMOVW(cm.As32(), K5)
	}
	msk := GP64()
	Load(Param("msk"), msk)
	KMOVW(msk.As32(), K6)
	SHRQ(U8(16), msk)
	KMOVW(msk.As32(), K7)
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
	// Bᵀ down the rows, one column vector at a time, into the frame:
	// transformed row i's vector j at frame + (i·nv + j)·64.
	ra := GP64()
	for j := 0; j < nv; j++ {
		dv := make([]VecVirtual, a)
		MOVQ(x, ra)
		for r := 0; r < a; r++ {
			if r > 0 {
				ADDQ(ld, ra)
			}
			dv[r] = ZMM()
			l := fmt.Sprintf("%s_v%d_r%d", name, j, r)
			BTQ(U8(r), rows)
			JCC(LabelRef(l + "_zero"))
			VMOVUPS_Z(Mem{Base: ra, Disp: 64 * j}, colMasks[j], dv[r])
			JMP(LabelRef(l + "_next"))
			Label(l + "_zero")
			VXORPS(dv[r], dv[r], dv[r])
			Label(l + "_next")
		}
		t := bt(zmm, m, dv)
		for i := range t {
			VMOVUPS(t[i], frame.Offset((i*nv+j)*64))
		}
	}
	// Each transformed row: its phases, B along them, the stores.
	xo := GP64()
	XORQ(xo, xo)
	for i := 0; i < a; i++ {
		e := make([]VecVirtual, nv)
		for j := range e {
			e[j] = ZMM()
			VMOVUPS(frame.Offset((i*nv+j)*64), e[j])
		}
		w := bt(zmm, m, deal(m, e))
		for j := range w {
			VMOVUPS(w[j], K6, Mem{Base: q0, Index: xo, Scale: 1})
			VMOVUPS(w[j], K7, Mem{Base: q1, Index: xo, Scale: 1})
			ADDQ(xs, xo)
		}
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

// at applies Aᵀ to the α operands s, returning m new vectors: for m = 2
//
//	o0 = s0 + s1 + s2, o1 = s1 - s2 - s3
//
// and for m = 4 (a = s1 + s2, b = s1 - s2)
//
//	o0 = s0 + a + s3 + s4, o1 = b + s3/2 - 2 s4
//	o2 = a + s3/4 + 4 s4,  o3 = b + s3/8 - 8 s4 + s5
//
// Only the first and the last of s may be memory operands.
func at(v vecISA, m int, s []Op) []VecVirtual {
	o := make([]VecVirtual, m)
	for i := range o {
		o[i] = v.vec()
	}
	s1, s2 := s[1].(VecVirtual), s[2].(VecVirtual)
	if m == 2 {
		VADDPS(s[0], s1, o[0])
		VADDPS(s2, o[0], o[0])
		VSUBPS(s2, s1, o[1])
		VSUBPS(s[3], o[1], o[1])
		return o
	}
	s3, s4 := s[3].(VecVirtual), s[4].(VecVirtual)
	VADDPS(s2, s1, o[2]) // a
	VSUBPS(s2, s1, o[1]) // b
	VADDPS(s[0], o[2], o[0])
	VADDPS(s3, o[0], o[0])
	VADDPS(s4, o[0], o[0])
	VMOVAPS(o[1], o[3])
	v.fma("0.125", s3, o[3])
	v.fnma("8", s4, o[3])
	VADDPS(s[5], o[3], o[3])
	v.fma("0.5", s3, o[1])
	v.fnma("2", s4, o[1])
	v.fma("0.25", s3, o[2])
	v.fma("4", s4, o[2])
	return o
}

// weave interleaves the m phase vectors e (lane i: tile i's output column
// j of e[j]) into m vectors of 16 consecutive output columns.
func weave(m int, e []VecVirtual) []VecVirtual {
	if m == 2 {
		return []VecVirtual{perm("Weave2A", e[0], e[1]), perm("Weave2B", e[0], e[1])}
	}
	x := make([]VecVirtual, 4)
	for i := range x {
		x[i] = ZMM()
	}
	VSHUFF32X4(U8(0x44), e[1], e[0], x[0])
	VSHUFF32X4(U8(0xee), e[1], e[0], x[2])
	VSHUFF32X4(U8(0x44), e[3], e[2], x[1])
	VSHUFF32X4(U8(0xee), e[3], e[2], x[3])
	return []VecVirtual{perm("Weave4C", x[0], x[1]), perm("Weave4D", x[0], x[1]),
		perm("Weave4C", x[2], x[3]), perm("Weave4D", x[2], x[3])}
}

// output generates wgOutputMAVX512.
func output(m int) {
	a := m + 2
	name := fmt.Sprintf("wgOutput%dAVX512", m)
	TEXT(name, 0, "func(o *float32, os, ldo, nk int, y *float32, ldy, ohw, rows int, cm uint64, z, bias *float32, flags uint64, lo, hi float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is wgOutputGeneric for m = %d in AVX-512: for each of nk", name, m),
		"channels (o moving on ldo floats, y and z on ohw, bias on 1 a channel)",
		fmt.Sprintf("it transforms the 16 tiles whose position ξ is at o + ξ·os (lane i"),
		fmt.Sprintf("tile i) and stores rows r < rows (≤ %d) of the %d-wide output rows at", m, 16*m),
		"y + r·ldy, column j through bit j of cm, as f(e + bias + Z) with the",
		"bias and Z (laid out as y) under flags' tileBias and tileZ and f the",
		"clamp to [lo, hi] under tileAct (a NaN stays NaN).")
	o := Load(Param("o"), GP64())
	os := Load(Param("os"), GP64())
	SHLQ(U8(2), os)
	os6 := GP64() // one row of ξ: α·os bytes
	IMUL3Q(U8(a), os, os6)
	y := Load(Param("y"), GP64())
	z := Load(Param("z"), GP64())
	bias := Load(Param("bias"), GP64())
	ldy := Load(Param("ldy"), GP64())
	SHLQ(U8(2), ldy)
	cm := GP64()
	Load(Param("cm"), cm)
	masks := []Register{K1, K2, K3, K4}[:m]
	for i := range masks {
		KMOVW(cm.As32(), masks[i])
		SHRQ(U8(16), cm)
	}
	flags := Load(Param("flags"), GP64())
	zoff := GP64() // z - y, the same for every channel
	MOVQ(z, zoff)
	SUBQ(y, zoff)
	nk := Load(Param("nk"), GP64())
	TESTQ(nk, nk)
	JZ(LabelRef(name + "_done"))

	Label(name + "_ch")
	// Aᵀ down the columns of ξ: s[r][j] from M[i·α + j], i < α.
	s := make([][]VecVirtual, m)
	for r := range s {
		s[r] = make([]VecVirtual, a)
	}
	col := GP64()
	for j := 0; j < a; j++ {
		if j == 0 {
			MOVQ(o, col)
		} else {
			ADDQ(os, col)
		}
		// Rows i of ξ at col + i·α·os: the first and last as memory
		// operands, the rest loaded.
		ops := make([]Op, a)
		row := GP64()
		MOVQ(col, row)
		for i := 0; i < a; i++ {
			if i > 0 {
				ADDQ(os6, row)
			}
			if i == 0 || i == a-1 {
				ops[i] = Mem{Base: row}
				if i == 0 {
					ops[i] = Mem{Base: col}
				}
				continue
			}
			r := ZMM()
			VMOVUPS(Mem{Base: row}, r)
			ops[i] = r
		}
		res := at(zmm, m, ops)
		for r := range res {
			s[r][j] = res[r]
		}
	}
	var b VecVirtual
	TESTQ(U32(flagBias), flags)
	JZ(LabelRef(name + "_nobias"))
	b = ZMM()
	VBROADCASTSS(Mem{Base: bias}, b)
	JMP(LabelRef(name + "_rows"))
	Label(name + "_nobias")
	VXORPS(b, b, b)
	Label(name + "_rows")
	yr := GP64()
	MOVQ(y, yr)
	for r := 0; r < m; r++ {
		if r > 0 {
			CMPQ(paramAddr("rows"), U8(r))
			JLE(LabelRef(name + "_next"))
			ADDQ(ldy, yr)
		}
		ops := make([]Op, a)
		for j := range ops {
			ops[j] = s[r][j]
		}
		e := at(zmm, m, ops)
		for _, v := range e {
			VADDPS(b, v, v)
		}
		out := weave(m, e)
		l := fmt.Sprintf("%s_r%d", name, r)
		TESTQ(U32(flagZ), flags)
		JZ(LabelRef(l + "_act"))
		for q, v := range out {
			t := ZMM()
			VMOVUPS_Z(Mem{Base: yr, Index: zoff, Scale: 1, Disp: 64 * q}, masks[q], t)
			VADDPS(t, v, v)
		}
		Label(l + "_act")
		TESTQ(U32(flagAct), flags)
		JZ(LabelRef(l + "_store"))
		// max(lo, v) then min(hi, v) with v the second source, so a NaN
		// passes through.
		for _, v := range out {
			VMAXPS_BCST(paramAddr("lo"), v, v)
			VMINPS_BCST(paramAddr("hi"), v, v)
		}
		Label(l + "_store")
		for q, v := range out {
			VMOVUPS(v, masks[q], Mem{Base: yr, Disp: 64 * q})
		}
	}
	Label(name + "_next")
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

// paramAddr returns the memory operand of the named argument.
func paramAddr(name string) Mem {
	a, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return a.Addr
}
