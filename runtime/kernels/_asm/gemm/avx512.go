package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// rowKernel512 emits gemmRowAVX512: gemmRowAVX2's loop in zmm registers,
// two B panels a tile (6×32, 12 accumulators), so that each broadcast of
// A serves two multiply-adds of 16 lanes and the loads per multiply-add
// halve; a last tile of 16 columns or fewer takes one panel. Edges and
// short rows use mask registers, which do not touch the lanes they mask.
func rowKernel512() {
	TEXT("gemmRowAVX512", NOSPLIT, "func(kc int, a, b, c *float32, ldc int, z, bias *float32, rows, n int, flags uint64, lo, hi float32)")
	Doc("gemmRowAVX512 is gemmRowAVX2 in AVX-512: the same row of tiles of C from",
		"the A panel a and consecutive packed B panels, the same epilogue.")
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	c := Load(Param("c"), GP64())
	b := Load(Param("b"), GP64())
	n := GP64()
	Load(Param("n"), n)
	zoff := Load(Param("z"), GP64()) // z - c: Z's row i is at c + zoff + i*ldc
	SUBQ(c, zoff)
	all := GP32()
	MOVL(U32(0xffff), all)

	Label("z_tile")
	CMPQ(n, U8(nr))
	JLE(LabelRef("z_tile16"))
	tile512(2, c, b, n, ldc, zoff, all, "z_w32")
	ADDQ(U8(2*nr*4), c)
	SUBQ(U8(2*nr), n)
	JG(LabelRef("z_tile"))
	JMP(LabelRef("z_ret"))
	Label("z_tile16")
	tile512(1, c, b, n, ldc, zoff, all, "z_w16")
	Label("z_ret")
	VZEROUPPER()
	RET()
}

// aPrefetch is how far ahead of the A panel's current step the AVX-512
// kernel prefetches: a deep product (Winograd's transformed filters, the
// weights of a layer on a small map) streams A from L3 or memory.
const aPrefetch = 2048

// tile512 emits one tile of panels (1 or 2) B panels: the product over kc
// into Z0-Z11 (row i, panel h in Z[2i+h]) and the epilogue; b ends at the
// panel after the tile's.
func tile512(panels int, c, b Register, n GPVirtual, ldc, zoff, all Register, name string) {
	L := func(s string) string { return name + "_" + s }
	acc := func(i, h int) VecPhysical {
		return []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11}[2*i+h]
	}
	// Prefetch the tile of C for the epilogue.
	t := GP64()
	MOVQ(c, t)
	for i := 0; i < mr; i++ {
		PREFETCHT0(Mem{Base: t})
		PREFETCHT0(Mem{Base: t, Disp: 64*panels - 4})
		if i < mr-1 {
			ADDQ(ldc, t)
		}
	}
	kc := Load(Param("kc"), GP64())
	a := Load(Param("a"), GP64())
	for i := 0; i < mr; i++ {
		for h := 0; h < panels; h++ {
			VPXORD(acc(i, h), acc(i, h), acc(i, h))
		}
	}
	// b1 is the second panel: kc*16 floats on.
	b1 := GP64()
	if panels == 2 {
		MOVQ(kc, b1)
		SHLQ(U8(6), b1)
		ADDQ(b, b1)
	}
	bs := []Register{b, b1}
	step := func(off int) {
		// A streams through the tile once: prefetch it aPrefetch bytes
		// ahead, a line every other step (48 bytes).
		if off%2 == 0 {
			PREFETCHT0(Mem{Base: a, Disp: off*mr*4 + aPrefetch})
		}
		for h := 0; h < panels; h++ {
			VMOVUPS(Mem{Base: bs[h], Disp: off * nr * 4}, []VecPhysical{Z12, Z13}[h])
		}
		for i := 0; i < mr; i++ {
			if panels == 1 {
				// One multiply-add per value of A: broadcast it from
				// memory inside the multiply-add.
				VFMADD231PS_BCST(Mem{Base: a, Disp: (off*mr + i) * 4}, Z12, acc(i, 0))
				continue
			}
			ar := []VecPhysical{Z14, Z15}[i%2]
			VBROADCASTSS(Mem{Base: a, Disp: (off*mr + i) * 4}, ar)
			for h := 0; h < panels; h++ {
				VFMADD231PS([]VecPhysical{Z12, Z13}[h], ar, acc(i, h))
			}
		}
	}
	advance := func(steps int) {
		ADDQ(U32(steps*mr*4), a)
		for h := 0; h < panels; h++ {
			ADDQ(U32(steps*nr*4), bs[h])
		}
	}
	kLoop(kc, step, advance, L)
	if panels == 2 {
		MOVQ(b1, b) // the panel after the second
	}
	// K1: columns 0-15 of the tile below n; K2: columns 16-31.
	// (BZHI reads its index's low byte: clamp it to 16 first.)
	m := GP32()
	cnt, sixteen := GP64(), GP64()
	MOVQ(U32(nr), sixteen)
	MOVQ(n, cnt)
	CMPQ(cnt, sixteen)
	CMOVQGT(sixteen, cnt)
	BZHIL(cnt.As32(), all, m)
	KMOVW(m, K1)
	if panels == 2 {
		LEAQ(Mem{Base: n, Disp: -nr}, cnt)
		CMPQ(cnt, sixteen)
		CMOVQGT(sixteen, cnt)
		BZHIL(cnt.As32(), all, m)
		KMOVW(m, K2)
	}
	masks := []Register{K1, K2}
	param := func(name string) Mem {
		a, err := Param(name).Resolve()
		if err != nil {
			panic(err)
		}
		return a.Addr
	}
	flags := Load(Param("flags"), GP64())
	bias := Load(Param("bias"), GP64())
	rows := Load(Param("rows"), GP64())
	row := GP64()
	MOVQ(c, row)
	done := L("done")
	for i := 0; i < mr; i++ {
		l := func(s string) string { return fmt.Sprintf("%s_r%d_%s", name, i, s) }
		if i > 0 {
			CMPQ(rows, U8(i))
			JLE(LabelRef(done))
		}
		TESTQ(U32(flagAccum), flags)
		JZ(LabelRef(l("first")))
		for h := 0; h < panels; h++ {
			VMOVUPS_Z(Mem{Base: row, Disp: 64 * h}, masks[h], Z14)
			VADDPS(Z14, acc(i, h), acc(i, h))
		}
		JMP(LabelRef(l("act")))
		Label(l("first"))
		TESTQ(U32(flagBias), flags)
		JZ(LabelRef(l("z")))
		VBROADCASTSS(Mem{Base: bias, Disp: 4 * i}, Z14)
		for h := 0; h < panels; h++ {
			VADDPS(Z14, acc(i, h), acc(i, h))
		}
		Label(l("z"))
		TESTQ(U32(flagZ), flags)
		JZ(LabelRef(l("act")))
		for h := 0; h < panels; h++ {
			VMOVUPS_Z(Mem{Base: row, Index: zoff, Scale: 1, Disp: 64 * h}, masks[h], Z14)
			VADDPS(Z14, acc(i, h), acc(i, h))
		}
		Label(l("act"))
		TESTQ(U32(flagAct), flags)
		JZ(LabelRef(l("store")))
		// max(lo, x) then min(hi, x) with x the second source, so a NaN
		// in x passes through as NaN.
		VBROADCASTSS(param("lo"), Z14)
		VBROADCASTSS(param("hi"), Z15)
		for h := 0; h < panels; h++ {
			VMAXPS(acc(i, h), Z14, acc(i, h))
			VMINPS(acc(i, h), Z15, acc(i, h))
		}
		Label(l("store"))
		for h := 0; h < panels; h++ {
			VMOVUPS(acc(i, h), masks[h], Mem{Base: row, Disp: 64 * h})
		}
		if i < mr-1 {
			ADDQ(ldc, row)
		}
	}
	Label(done)
}
