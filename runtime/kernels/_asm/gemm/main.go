// Command gemm generates the SGEMM micro-kernel for AVX2/FMA: one 6×16 tile
// of C from a packed A panel and a packed B panel, with the epilogue.
//
//	go run ./gemm -out ../gemm_amd64.s -stubs ../gemm_stub_amd64.go -pkg kernels
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

const (
	mr = 6
	nr = 16
)

// The epilogue flags; gemm_amd64.go has the same constants.
const (
	flagAccum = 1 << iota // add C's old value (a later K-block)
	flagBias              // add bias[i] to row i
	flagZ                 // add Z(i, j)
	flagAct               // clamp to [lo, hi]
)

func main() {
	ConstraintExpr("!noasm")

	mask := GLOBL("gemmMaskAVX2", RODATA|NOPTR)
	for i := 0; i < 2*nr; i++ {
		v := uint32(0)
		if i < nr {
			v = 0xffffffff
		}
		DATA(4*i, U32(v))
	}

	TEXT("gemmTileAVX2", NOSPLIT, "func(kc int, a, b, c *float32, ldc int, z, bias *float32, rows, cols int, flags uint64, lo, hi float32)")
	Doc("gemmTileAVX2 is the SGEMM micro-kernel in AVX2/FMA. With T the 6×16 tile",
		"",
		"\tT(i, j) = sum over p < kc of a[p*6+i] * b[p*16+j]",
		"",
		"(a and b the packed A and B panels), it sets, for i < rows and j < cols,",
		"",
		"\tC(i, j) = f(T(i, j) + C(i, j))            with tileAccum (flags bit 0)",
		"\tC(i, j) = f(T(i, j) + bias[i] + Z(i, j))  otherwise",
		"",
		"where C(i, j) = c[i*ldc+j], Z(i, j) = z[i*ldc+j], bias and Z are added only",
		"under tileBias (bit 1) and tileZ (bit 2), and f clamps to [lo, hi] under",
		"tileAct (bit 3; NaN stays NaN). kc ≥ 1, 1 ≤ rows ≤ 6, 1 ≤ cols ≤ 16; columns",
		"past cols and rows past rows are neither read nor written (masked moves).",
		"gemmTileGeneric is the same in Go.")
	kc := Load(Param("kc"), GP64())
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())

	// Fixed registers: the 12 accumulators Y0-Y11, B in Y12/Y13, A in Y14/Y15.
	accs := []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11}
	for _, r := range accs {
		VXORPS(r, r, r)
	}
	step := func(off int) {
		VMOVUPS(Mem{Base: b, Disp: off * nr * 4}, Y12)
		VMOVUPS(Mem{Base: b, Disp: off*nr*4 + 32}, Y13)
		for i := 0; i < mr; i++ {
			ar := Y14
			if i%2 == 1 {
				ar = Y15
			}
			VBROADCASTSS(Mem{Base: a, Disp: (off*mr + i) * 4}, ar)
			VFMADD231PS(Y12, ar, accs[2*i])
			VFMADD231PS(Y13, ar, accs[2*i+1])
		}
	}
	const unroll = 4
	Label("loop4")
	CMPQ(kc, U8(unroll))
	JL(LabelRef("tail"))
	for u := 0; u < unroll; u++ {
		step(u)
	}
	ADDQ(U32(unroll*mr*4), a)
	ADDQ(U32(unroll*nr*4), b)
	SUBQ(U8(unroll), kc)
	JMP(LabelRef("loop4"))
	Label("tail")
	TESTQ(kc, kc)
	JZ(LabelRef("epilogue"))
	step(0)
	ADDQ(U8(mr*4), a)
	ADDQ(U8(nr*4), b)
	DECQ(kc)
	JMP(LabelRef("tail"))

	Label("epilogue")
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	z := Load(Param("z"), GP64())
	bias := Load(Param("bias"), GP64())
	rows := Load(Param("rows"), GP64())
	cols := Load(Param("cols"), GP64())
	flags := Load(Param("flags"), GP64())
	lo, err := Param("lo").Resolve()
	check(err)
	hi, err := Param("hi").Resolve()
	check(err)

	// Partial tiles load and store through the masks Y12 (columns 0-7) and
	// Y13 (8-15), read from gemmMaskAVX2 at 16-cols.
	CMPQ(rows, U8(mr))
	JNE(LabelRef("partial"))
	CMPQ(cols, U8(nr))
	JNE(LabelRef("partial"))
	epilogue(accs, c, ldc, z, bias, rows, flags, lo.Addr, hi.Addr, false, "full")
	RET()

	Label("partial")
	m := GP64()
	LEAQ(mask, m)
	t := GP64()
	MOVQ(U32(nr), t)
	SUBQ(cols, t)
	VMOVUPS(Mem{Base: m, Index: t, Scale: 4}, Y12)
	VMOVUPS(Mem{Base: m, Index: t, Scale: 4, Disp: 32}, Y13)
	epilogue(accs, c, ldc, z, bias, rows, flags, lo.Addr, hi.Addr, true, "part")
	RET()

	Generate()
}

// epilogue finishes the tile row by row: C's row i (at c + i·ldc bytes) gets
// the accumulators accs[2i], accs[2i+1] plus, by flags, C's old value or
// bias[i] and Z's row, clamped to [lo, hi], for rows i < rows. masked
// loads and stores through Y12/Y13.
func epilogue(accs []VecPhysical, c, ldc, z, bias, rows, flags Register, lo, hi Mem, masked bool, name string) {
	load := func(src Mem, half int, dst VecPhysical) {
		if masked {
			msk := Y12
			if half == 1 {
				msk = Y13
			}
			VMASKMOVPS(src, msk, dst)
		} else {
			VMOVUPS(src, dst)
		}
	}
	store := func(src VecPhysical, half int, dst Mem) {
		if masked {
			msk := Y12
			if half == 1 {
				msk = Y13
			}
			VMASKMOVPS(src, msk, dst)
		} else {
			VMOVUPS(src, dst)
		}
	}
	done := name + "_done"
	for i := 0; i < mr; i++ {
		l := func(s string) string { return fmt.Sprintf("%s_r%d_%s", name, i, s) }
		if masked && i > 0 {
			CMPQ(rows, U8(i))
			JLE(LabelRef(done))
		}
		a0, a1 := accs[2*i], accs[2*i+1]
		TESTQ(U32(flagAccum), flags)
		JZ(LabelRef(l("first")))
		load(Mem{Base: c}, 0, Y14)
		VADDPS(Y14, a0, a0)
		load(Mem{Base: c, Disp: 32}, 1, Y14)
		VADDPS(Y14, a1, a1)
		JMP(LabelRef(l("act")))
		Label(l("first"))
		TESTQ(U32(flagBias), flags)
		JZ(LabelRef(l("z")))
		VBROADCASTSS(Mem{Base: bias, Disp: 4 * i}, Y14)
		VADDPS(Y14, a0, a0)
		VADDPS(Y14, a1, a1)
		Label(l("z"))
		TESTQ(U32(flagZ), flags)
		JZ(LabelRef(l("act")))
		load(Mem{Base: z}, 0, Y14)
		VADDPS(Y14, a0, a0)
		load(Mem{Base: z, Disp: 32}, 1, Y14)
		VADDPS(Y14, a1, a1)
		ADDQ(ldc, z)
		Label(l("act"))
		TESTQ(U32(flagAct), flags)
		JZ(LabelRef(l("store")))
		// max(lo, x) then min(hi, x) with x the second source, so a NaN
		// in x passes through as NaN.
		VBROADCASTSS(lo, Y15)
		VMAXPS(a0, Y15, a0)
		VMAXPS(a1, Y15, a1)
		VBROADCASTSS(hi, Y15)
		VMINPS(a0, Y15, a0)
		VMINPS(a1, Y15, a1)
		Label(l("store"))
		store(a0, 0, Mem{Base: c})
		store(a1, 1, Mem{Base: c, Disp: 32})
		ADDQ(ldc, c)
	}
	Label(done)
	VZEROUPPER()
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}
