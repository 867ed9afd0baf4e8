// Command gemm generates the SGEMM micro-kernel for AVX2/FMA: a row of 6×16
// tiles of C from a packed A panel and consecutive packed B panels, with the
// epilogue.
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

// The epilogue flags; gemm.go has the same constants (tileAccum ...).
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

	rowKernel(mask, false)
	rowKernel(mask, true)
	rowKernel512()
	Generate()
}

// rowKernel emits gemmRowAVX2 or, with conv, convRowAVX2: the same loop
// over a row of tiles, its B vectors read from packed panels or from an
// input band through a table of offsets.
func rowKernel(mask Mem, conv bool) {
	if !conv {
		TEXT("gemmRowAVX2", NOSPLIT, "func(kc int, a, b, c *float32, ldc int, z, bias *float32, rows, n int, flags uint64, lo, hi float32)")
		Doc("gemmRowAVX2 is the SGEMM micro-kernel in AVX2/FMA, run along a row of",
			"tiles: for each tile t = 0, 1, ... of the n (≥ 1) columns, with T the 6×16",
			"product of the A panel a and the t-th B panel (at b + t*kc*16),",
			"",
			"\tT(i, j) = sum over p < kc of a[p*6+i] * b[t*kc*16 + p*16+j]",
			"",
			"it sets, for i < rows and j < cols = min(16, n - 16t), with C(i, j) =",
			"c[i*ldc + 16t+j] and Z(i, j) = z[i*ldc + 16t+j],",
			"",
			"\tC(i, j) = f(T(i, j) + C(i, j))            with tileAccum (flags bit 0)",
			"\tC(i, j) = f(T(i, j) + bias[i] + Z(i, j))  otherwise",
			"",
			"bias and Z added only under tileBias (bit 1) and tileZ (bit 2), and f",
			"clamping to [lo, hi] under tileAct (bit 3; NaN stays NaN). kc ≥ 1,",
			"1 ≤ rows ≤ 6; columns and rows past the ends are neither read nor",
			"written (masked moves). gemmRowGeneric is the same in Go.")
	} else {
		TEXT("convRowAVX2", NOSPLIT, "func(kc int, a *float32, offs *int32, x, c *float32, ldc int, z, bias *float32, rows, n int, flags uint64, lo, hi float32)")
		Doc("convRowAVX2 is gemmRowAVX2 with B read in place from an input band",
			"instead of packed panels: the t-th tile's B vector at step p is the 16",
			"floats at x + offs[p] + 16t,",
			"",
			"\tT(i, j) = sum over p < kc of a[p*6+i] * x[offs[p] + 16t + j]",
			"",
			"with the epilogue of gemmRowAVX2. It reads all 16 floats of each vector",
			"even in a partial tile. convRowGeneric is the same in Go.")
	}
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	c := Load(Param("c"), GP64())
	var b Register
	if conv {
		b = Load(Param("x"), GP64())
	} else {
		b = Load(Param("b"), GP64())
	}
	n := Load(Param("n"), GP64())
	// zoff is z - c: Z's row i of the tile is at c + zoff + i*ldc.
	zoff := Load(Param("z"), GP64())
	SUBQ(c, zoff)
	p := func(name string) Mem {
		a, err := Param(name).Resolve()
		if err != nil {
			panic(err)
		}
		return a.Addr
	}
	pre := "g_"
	if conv {
		pre = "c_"
	}
	L := func(s string) string { return pre + s }

	// Fixed registers: the 12 accumulators Y0-Y11, B in Y12/Y13, A in Y14/Y15.
	accs := []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11}

	// A row's last tile of 8 columns or fewer runs a half-width loop:
	// six accumulators, half the multiply-adds.
	Label(L("tile"))
	CMPQ(n, U8(nr/2))
	JLE(LabelRef(L("tile8")))
	tile(accs, 2, conv, c, b, n, ldc, zoff, p, mask, L("w16"))
	JMP(LabelRef(L("next")))
	Label(L("tile8"))
	tile(accs, 1, conv, c, b, n, ldc, zoff, p, mask, L("w8"))

	Label(L("next"))
	ADDQ(U8(nr*4), c)
	SUBQ(U8(nr), n)
	JG(LabelRef(L("tile")))
	VZEROUPPER()
	RET()
}

// tile emits one tile of a row: halves (2: 16 columns, 1: 8) vectors a row,
// its product over kc into the accumulators accs[2i+h], and the epilogue.
// b is the B panel (gemm, advanced to the next panel) or the band at the
// tile (conv, advanced by a tile).
func tile(accs []VecPhysical, halves int, conv bool, c, b, n, ldc, zoff Register, p func(string) Mem, mask Mem, L0 string) {
	L := func(s string) string { return L0 + "_" + s }
	// Prefetch the tile of C (each row's 64 bytes may span two lines): the
	// epilogue's loads of it would otherwise miss the caches after the
	// loop, where nothing hides their latency.
	t := GP64()
	MOVQ(c, t)
	for i := 0; i < mr; i++ {
		PREFETCHT0(Mem{Base: t})
		if halves == 2 {
			PREFETCHT0(Mem{Base: t, Disp: 60})
		}
		if i < mr-1 {
			ADDQ(ldc, t)
		}
	}
	kc := Load(Param("kc"), GP64())
	a := Load(Param("a"), GP64())
	var offs, o Register
	if conv {
		offs = Load(Param("offs"), GP64())
		o = GP64()
	}
	for i, r := range accs {
		if i%2 < halves {
			VXORPS(r, r, r)
		}
	}
	bv := []VecPhysical{Y12, Y13}
	step := func(off int) {
		for h := 0; h < halves; h++ {
			if conv {
				if h == 0 {
					MOVLQSX(Mem{Base: offs, Disp: 4 * off}, o)
				}
				VMOVUPS(Mem{Base: b, Index: o, Scale: 4, Disp: 32 * h}, bv[h])
			} else {
				VMOVUPS(Mem{Base: b, Disp: off*nr*4 + 32*h}, bv[h])
			}
		}
		for i := 0; i < mr; i++ {
			ar := Y14
			if i%2 == 1 {
				ar = Y15
			}
			VBROADCASTSS(Mem{Base: a, Disp: (off*mr + i) * 4}, ar)
			for h := 0; h < halves; h++ {
				VFMADD231PS(bv[h], ar, accs[2*i+h])
			}
		}
	}
	advance := func(steps int) {
		ADDQ(U32(steps*mr*4), a)
		if conv {
			ADDQ(U32(steps*4), offs)
		} else {
			ADDQ(U32(steps*nr*4), b)
		}
	}
	kLoop(kc, step, advance, L)
	if conv {
		ADDQ(U8(nr*4), b)
	}
	MOVQ(c, t) // C's row i
	CMPQ(p("rows"), U8(mr))
	JNE(LabelRef(L("partial")))
	CMPQ(n, U8(nr/2*halves))
	JL(LabelRef(L("partial")))
	epilogue(accs, halves, t, ldc, zoff, p, false, L("full"))
	JMP(LabelRef(L("done")))

	// A partial tile loads and stores through the masks Y12 (columns 0-7)
	// and Y13 (8-15), read from gemmMaskAVX2 at 16-cols.
	Label(L("partial"))
	m := GP64()
	LEAQ(mask, m)
	cols := GP64()
	MOVQ(U32(nr), cols)
	CMPQ(n, U8(nr))
	JGE(LabelRef(L("mask")))
	MOVQ(n, cols)
	Label(L("mask"))
	NEGQ(cols)
	VMOVUPS(Mem{Base: m, Index: cols, Scale: 4, Disp: 4 * nr}, Y12)
	VMOVUPS(Mem{Base: m, Index: cols, Scale: 4, Disp: 4*nr + 32}, Y13)
	epilogue(accs, halves, t, ldc, zoff, p, true, L("part"))
	Label(L("done"))
}

// kLoop emits the loop over the kc steps of a tile: unrolled by 4, then
// one at a time, falling through to the label L("epilogue") when done.
func kLoop(kc Register, step func(off int), advance func(steps int), L func(string) string) {
	const unroll = 4
	Label(L("loop4"))
	CMPQ(kc, U8(unroll))
	JL(LabelRef(L("tail")))
	for u := 0; u < unroll; u++ {
		step(u)
	}
	advance(unroll)
	SUBQ(U8(unroll), kc)
	JMP(LabelRef(L("loop4")))
	Label(L("tail"))
	TESTQ(kc, kc)
	JZ(LabelRef(L("epilogue")))
	step(0)
	advance(1)
	DECQ(kc)
	JMP(LabelRef(L("tail")))
	Label(L("epilogue"))
}

// epilogue finishes the tile row by row: C's row i, at row (advanced by ldc
// bytes a row), gets the accumulators accs[2i+h], h < halves, plus, by the
// flags parameter, C's old value or bias[i] and Z's row (at row + zoff),
// clamped to [lo, hi], for rows i < rows. masked loads and stores through
// Y12/Y13. p resolves a parameter's stack slot.
func epilogue(accs []VecPhysical, halves int, row, ldc, zoff Register, p func(string) Mem, masked bool, name string) {
	// move copies src to dst, through the half's mask when masked.
	move := func(src, dst Op, half int) {
		if masked {
			VMASKMOVPS(src, []VecPhysical{Y12, Y13}[half], dst)
		} else {
			VMOVUPS(src, dst)
		}
	}
	flags := p("flags")
	bias := GP64()
	MOVQ(p("bias"), bias)
	done := name + "_done"
	for i := 0; i < mr; i++ {
		l := func(s string) string { return fmt.Sprintf("%s_r%d_%s", name, i, s) }
		if masked && i > 0 {
			CMPQ(p("rows"), U8(i))
			JLE(LabelRef(done))
		}
		acc := accs[2*i : 2*i+halves]
		TESTQ(U32(flagAccum), flags)
		JZ(LabelRef(l("first")))
		for h, a := range acc {
			move(Mem{Base: row, Disp: 32 * h}, Y14, h)
			VADDPS(Y14, a, a)
		}
		JMP(LabelRef(l("act")))
		Label(l("first"))
		TESTQ(U32(flagBias), flags)
		JZ(LabelRef(l("z")))
		VBROADCASTSS(Mem{Base: bias, Disp: 4 * i}, Y14)
		for _, a := range acc {
			VADDPS(Y14, a, a)
		}
		Label(l("z"))
		TESTQ(U32(flagZ), flags)
		JZ(LabelRef(l("act")))
		for h, a := range acc {
			move(Mem{Base: row, Index: zoff, Scale: 1, Disp: 32 * h}, Y14, h)
			VADDPS(Y14, a, a)
		}
		Label(l("act"))
		TESTQ(U32(flagAct), flags)
		JZ(LabelRef(l("store")))
		// max(lo, x) then min(hi, x) with x the second source, so a NaN
		// in x passes through as NaN.
		VBROADCASTSS(p("lo"), Y15)
		for _, a := range acc {
			VMAXPS(a, Y15, a)
		}
		VBROADCASTSS(p("hi"), Y15)
		for _, a := range acc {
			VMINPS(a, Y15, a)
		}
		Label(l("store"))
		for h, a := range acc {
			move(a, Mem{Base: row, Disp: 32 * h}, h)
		}
		if i < mr-1 {
			ADDQ(ldc, row)
		}
	}
	Label(done)
}
