// Command gemv generates the matrix-vector kernel of the fully connected
// layers at batch 1 for AVX2/FMA: y += x·B over consecutive packed panels
// of one K-block of B (fc.go's layout), four panels (64 columns) at a time.
//
//	go run ./gemv -out ../gemv_amd64.s -stubs ../gemv_stub_amd64.go -pkg kernels
package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// nr is the width of a packed panel (gemmNR).
const nr = 16

// group is the number of panels streamed at once: 4 panels, 8 ymm
// accumulators, which is as many independent FMA chains as two FMA pipes
// of 4-cycle latency need, and 4 read streams the hardware prefetchers
// follow.
//
// The loop runs at the cache's rate: on the Zen 4 about 110 GB/s of B
// from L2, 180 from L1, whether it takes 2, 3, 4 or 6 panels at a time
// and 2, 4 or 8 rows a turn; software prefetching (256 to 1024 bytes
// ahead) made streams from L3 and memory slower, not faster.
const group = 4

// unroll is how many rows of the panels one turn of the main loop takes.
const unroll = 4

func main() {
	ConstraintExpr("!noasm")

	mask := GLOBL("gemvMaskAVX2", RODATA|NOPTR)
	for i := 0; i < 2*nr; i++ {
		v := uint32(0)
		if i < nr {
			v = 0xffffffff
		}
		DATA(4*i, U32(v))
	}

	TEXT("gemvAVX2", NOSPLIT, "func(kc int, x, b, y *float32, n int)")
	Pragma("noescape")
	Doc("gemvAVX2 adds x·B to y for n columns of one K-block of packed B in",
		"AVX2/FMA: with b the first of the block's panels of 16 columns (kc",
		"rows each, fc.go's layout),",
		"",
		"\tfor j := 0; j < n; j++ {",
		"\t\tfor p := 0; p < kc; p++ {",
		"\t\t\ty[j] += x[p] * b[j/16*16*kc + p*16 + j%16]",
		"\t\t}",
		"\t}",
		"",
		"with each column's products summed in order of p by fused",
		"multiply-adds, and then added to y: the same for every column. kc ≥ 1,",
		"n ≥ 1; it reads the (n+15)/16 panels whole (the columns past n of the",
		"last one are padding) and writes y[0:n] only (masked moves).",
		"gemvBlockGeneric is the same in Go.")

	kc := Load(Param("kc"), GP64())
	x := Load(Param("x"), GP64())
	b := Load(Param("b"), GP64())
	y := Load(Param("y"), GP64())
	n := Load(Param("n"), GP64())
	stride := GP64() // bytes per panel: kc*16*4
	MOVQ(kc, stride)
	SHLQ(U8(6), stride)
	xp := GP64()
	cnt := GP64()
	b2 := GP64()

	accs := []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7}
	xv := Y8

	// Groups of four whole panels.
	Label("group")
	CMPQ(n, U32(group*nr))
	JL(LabelRef("single"))
	for _, r := range accs {
		VXORPS(r, r, r)
	}
	MOVQ(x, xp)
	MOVQ(kc, cnt)
	LEAQ(Mem{Base: b, Index: stride, Scale: 2}, b2)
	// panel q of the group at b + q*stride: b, b+stride, b2, b2+stride.
	panel := func(q, disp int) Mem {
		base := b
		if q >= 2 {
			base = b2
		}
		m := Mem{Base: base, Disp: disp}
		if q%2 == 1 {
			m.Index, m.Scale = stride, 1
		}
		return m
	}
	row := func(u int) {
		VBROADCASTSS(Mem{Base: xp, Disp: 4 * u}, xv)
		for q := 0; q < group; q++ {
			VFMADD231PS(panel(q, u*nr*4), xv, accs[2*q])
			VFMADD231PS(panel(q, u*nr*4+32), xv, accs[2*q+1])
		}
	}
	Label("group_loop")
	CMPQ(cnt, U8(unroll))
	JL(LabelRef("group_tail"))
	for u := 0; u < unroll; u++ {
		row(u)
	}
	ADDQ(U8(4*unroll), xp)
	ADDQ(U32(unroll*nr*4), b)
	ADDQ(U32(unroll*nr*4), b2)
	SUBQ(U8(unroll), cnt)
	JMP(LabelRef("group_loop"))
	Label("group_tail")
	TESTQ(cnt, cnt)
	JZ(LabelRef("group_store"))
	row(0)
	ADDQ(U8(4), xp)
	ADDQ(U8(nr*4), b)
	ADDQ(U8(nr*4), b2)
	DECQ(cnt)
	JMP(LabelRef("group_tail"))
	Label("group_store")
	for i, r := range accs {
		VADDPS(Mem{Base: y, Disp: 32 * i}, r, r)
		VMOVUPS(r, Mem{Base: y, Disp: 32 * i})
	}
	// b has moved to the end of the group's first panel, the start of
	// its second: three more panels on.
	LEAQ(Mem{Base: b, Index: stride, Scale: 2}, b)
	ADDQ(stride, b)
	ADDQ(U32(group*nr*4), y)
	SUBQ(U32(group*nr), n)
	JMP(LabelRef("group"))

	// Single panels, the last one maybe partial, the rows in order into
	// one accumulator a column as in the groups: every column sums its
	// products in the same order, so that equal columns of B give equal
	// outputs wherever they are (a softmax over huge equal logits tells).
	Label("single")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	for _, r := range accs[:2] {
		VXORPS(r, r, r)
	}
	MOVQ(x, xp)
	MOVQ(kc, cnt)
	Label("single_loop")
	VBROADCASTSS(Mem{Base: xp}, xv)
	VFMADD231PS(Mem{Base: b}, xv, accs[0])
	VFMADD231PS(Mem{Base: b, Disp: 32}, xv, accs[1])
	ADDQ(U8(4), xp)
	ADDQ(U8(nr*4), b)
	DECQ(cnt)
	JNZ(LabelRef("single_loop"))
	CMPQ(n, U8(nr))
	JL(LabelRef("partial"))
	VADDPS(Mem{Base: y}, accs[0], accs[0])
	VMOVUPS(accs[0], Mem{Base: y})
	VADDPS(Mem{Base: y, Disp: 32}, accs[1], accs[1])
	VMOVUPS(accs[1], Mem{Base: y, Disp: 32})
	ADDQ(U8(nr*4), y)
	SUBQ(U8(nr), n)
	JMP(LabelRef("single"))

	// The last panel's first n < 16 columns, through the masks Y12
	// (columns 0-7) and Y13 (8-15) read from gemvMaskAVX2 at 16-n.
	Label("partial")
	m := GP64()
	LEAQ(mask, m)
	t := GP64()
	MOVQ(U32(nr), t)
	SUBQ(n, t)
	VMOVUPS(Mem{Base: m, Index: t, Scale: 4}, Y12)
	VMOVUPS(Mem{Base: m, Index: t, Scale: 4, Disp: 32}, Y13)
	VMASKMOVPS(Mem{Base: y}, Y12, Y14)
	VADDPS(Y14, accs[0], accs[0])
	VMASKMOVPS(accs[0], Y12, Mem{Base: y})
	CMPQ(n, U8(8))
	JLE(LabelRef("done"))
	VMASKMOVPS(Mem{Base: y, Disp: 32}, Y13, Y14)
	VADDPS(Y14, accs[1], accs[1])
	VMASKMOVPS(accs[1], Y13, Mem{Base: y, Disp: 32})

	Label("done")
	VZEROUPPER()
	RET()

	Generate()
}
