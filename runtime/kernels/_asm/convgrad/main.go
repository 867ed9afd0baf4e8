// Command convgrad generates ConvGradFilter's packing for AVX2: B's rows
// of col(X)ᵀ for a run of output positions whose windows lie inside X, 16
// taps at once, and A's panels of 6 rows of dY, both as 8×8 transposes.
//
//	go run ./convgrad -out ../convgrad_amd64.s -stubs ../convgrad_stub_amd64.go -pkg kernels
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// nr is the width of a packed B panel (gemmNR): the taps of one call.
const nr = 16

func main() {
	ConstraintExpr("!noasm")
	runs(1)
	runs(2)
	packDY()
	Generate()
}

// runs generates convGradRunsS<stride>AVX2, which reads each tap's run with
// the given column stride (1 or 2). Per block of 8 positions it transposes
// two 8×8 tiles, taps 0-7 and 8-15, each into the left or right half of
// the block's 8 panel rows; the last block starts at n-8, overlapping the
// one before where n is not a multiple of 8, so that no position past n
// is read or written.
func runs(stride int) {
	name := fmt.Sprintf("convGradRunsS%dAVX2", stride)
	TEXT(name, NOSPLIT, "func(dst, src *float32, offs *int32, n int)")
	Pragma("noescape")
	Doc(name+" sets 16 floats of dst per position s < n (n ≥ 8): the",
		fmt.Sprintf("taps' elements offs[i] + %d·s of src, i < 16,", stride),
		"",
		"\tfor s := 0; s < n; s++ {",
		"\t\tfor i := 0; i < 16; i++ {",
		fmt.Sprintf("\t\t\tdst[s*16+i] = src[offs[i]+%d*s]", stride),
		"\t\t}",
		"\t}",
		"",
		"reading nothing else. convGradRunsGeneric is the same in Go.")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	offs := Load(Param("offs"), GP64())
	n := Load(Param("n"), GP64())
	s, last := blocks(n)
	sp, dp, off := GP64(), GP64(), GP64()
	rows := []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7}
	t := []VecPhysical{Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}

	Label("block")
	Comment("s = min(s, n-8); sp = &src[stride*s]; dp = &dst[16*s]")
	CMPQ(s, last)
	CMOVQGT(last, s)
	MOVQ(s, sp)
	SHLQ(U8(2+stride-1), sp)
	ADDQ(src, sp)
	MOVQ(s, dp)
	SHLQ(U8(6), dp)
	ADDQ(dst, dp)
	for half := 0; half < 2; half++ {
		Comment(fmt.Sprintf("taps %d-%d: row i = the tap's 8 elements from position s", 8*half, 8*half+7))
		for i, r := range rows {
			MOVLQSX(Mem{Base: offs, Disp: 4 * (8*half + i)}, off)
			if stride == 1 {
				VMOVUPS(Mem{Base: sp, Index: off, Scale: 4}, r)
				continue
			}
			// Elements 0-7 and 7-14 of the tap's stretch (not 8-15, which
			// would read one past the last position): the even ones of
			// the first and the odd ones of the second, in order.
			VMOVUPS(Mem{Base: sp, Index: off, Scale: 4}, r)
			VMOVUPS(Mem{Base: sp, Index: off, Scale: 4, Disp: 28}, t[0])
			VSHUFPS(U8(0xd8), t[0], r, r) // r = e0 e2 e8 e10 | e4 e6 e12 e14
			VPERMPD(U8(0xd8), r, r)       // r = e0 e2 e4 e6 e8 e10 e12 e14
		}
		Comment("transpose: t = rows interleaved by pairs, then rows = by fours")
		for i := 0; i < 8; i += 2 {
			VUNPCKLPS(rows[i+1], rows[i], t[i])   // a0 b0 a1 b1 | a4 b4 a5 b5
			VUNPCKHPS(rows[i+1], rows[i], t[i+1]) // a2 b2 a3 b3 | a6 b6 a7 b7
		}
		for i := 0; i < 8; i += 4 {
			VSHUFPS(U8(0x44), t[i+2], t[i], rows[i])     // positions 0 | 4
			VSHUFPS(U8(0xee), t[i+2], t[i], rows[i+1])   // 1 | 5
			VSHUFPS(U8(0x44), t[i+3], t[i+1], rows[i+2]) // 2 | 6
			VSHUFPS(U8(0xee), t[i+3], t[i+1], rows[i+3]) // 3 | 7
		}
		Comment("position j's 8 taps: lanes of rows[j%4] (taps 0-3) and rows[4+j%4] (4-7)")
		for j := 0; j < 4; j++ {
			VPERM2F128(U8(0x20), rows[4+j], rows[j], t[j])   // position j
			VPERM2F128(U8(0x31), rows[4+j], rows[j], t[4+j]) // position j+4
		}
		for j := 0; j < 8; j++ {
			VMOVUPS(t[j], Mem{Base: dp, Disp: 64*j + 32*half})
		}
	}
	nextBlock(s, n)
}

// packDY generates convGradPackDYAVX2: per block of 8 positions, an 8×8
// transpose of the 6 rows (the last two lanes of each position garbage),
// each position's 8 lanes stored at its 6 floats, the 2 extra written
// over the next position's, which comes after; the block's last position
// stores exactly 6 (4 and 2). The last block starts at n-8, as in runs.
func packDY() {
	TEXT("convGradPackDYAVX2", NOSPLIT, "func(dst, src *float32, ld, n int)")
	Pragma("noescape")
	Doc("convGradPackDYAVX2 interleaves n (≥ 8) floats of 6 rows of src, ld apart,",
		"into dst as a packed A panel:",
		"",
		"\tfor s := 0; s < n; s++ {",
		"\t\tfor i := 0; i < 6; i++ {",
		"\t\t\tdst[s*6+i] = src[i*ld+s]",
		"\t\t}",
		"\t}",
		"",
		"reading and writing nothing else. convGradPackDYGeneric is the same in Go.")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	ld := Load(Param("ld"), GP64())
	SHLQ(U8(2), ld) // bytes
	n := Load(Param("n"), GP64())
	s, last := blocks(n)
	sp, sp3, dp := GP64(), GP64(), GP64()
	rows := []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7}
	t := []VecPhysical{Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}

	Label("block")
	Comment("s = min(s, n-8); sp = &src[s]; sp3 = &src[3*ld+s]; dp = &dst[6*s]")
	CMPQ(s, last)
	CMOVQGT(last, s)
	LEAQ(Mem{Base: src, Index: s, Scale: 4}, sp)
	LEAQ(Mem{Base: sp, Index: ld, Scale: 2}, sp3)
	ADDQ(ld, sp3)
	LEAQ(Mem{Base: s, Index: s, Scale: 2}, dp) // 3s
	LEAQ(Mem{Base: dst, Index: dp, Scale: 8}, dp)
	Comment("rows[i] = src[i*ld+s:][:8], i < 6")
	VMOVUPS(Mem{Base: sp}, rows[0])
	VMOVUPS(Mem{Base: sp, Index: ld, Scale: 1}, rows[1])
	VMOVUPS(Mem{Base: sp, Index: ld, Scale: 2}, rows[2])
	VMOVUPS(Mem{Base: sp3}, rows[3])
	VMOVUPS(Mem{Base: sp3, Index: ld, Scale: 1}, rows[4])
	VMOVUPS(Mem{Base: sp3, Index: ld, Scale: 2}, rows[5])
	Comment("transpose as in runs, rows 6 and 7 left out (their lanes unused)")
	for i := 0; i < 6; i += 2 {
		VUNPCKLPS(rows[i+1], rows[i], t[i])
		VUNPCKHPS(rows[i+1], rows[i], t[i+1])
	}
	VSHUFPS(U8(0x44), t[2], t[0], rows[0])
	VSHUFPS(U8(0xee), t[2], t[0], rows[1])
	VSHUFPS(U8(0x44), t[3], t[1], rows[2])
	VSHUFPS(U8(0xee), t[3], t[1], rows[3])
	VSHUFPS(U8(0x44), t[4], t[4], rows[4])
	VSHUFPS(U8(0xee), t[4], t[4], rows[5])
	VSHUFPS(U8(0x44), t[5], t[5], rows[6])
	VSHUFPS(U8(0xee), t[5], t[5], rows[7])
	for j := 0; j < 4; j++ {
		VPERM2F128(U8(0x20), rows[4+j], rows[j], t[j])
		VPERM2F128(U8(0x31), rows[4+j], rows[j], t[4+j])
	}
	Comment("position j's 6 floats (and 2 over position j+1's) at dst[6*(s+j):]")
	for j := 0; j < 7; j++ {
		VMOVUPS(t[j], Mem{Base: dp, Disp: 24 * j})
	}
	VMOVUPS(t[7].AsX(), Mem{Base: dp, Disp: 24 * 7})
	VEXTRACTF128(U8(1), t[7], t[7].AsX())
	VMOVSD(t[7].AsX(), Mem{Base: dp, Disp: 24*7 + 16})
	nextBlock(s, n)
}

// blocks starts the loop over blocks of 8 positions of n: s, the block's
// first position, at 0, and last = n-8, where the last block starts.
func blocks(n Register) (s, last GPVirtual) {
	last = GP64()
	MOVQ(n, last)
	SUBQ(U8(8), last)
	s = GP64()
	XORQ(s, s)
	return s, last
}

// nextBlock ends the loop blocks began, and the routine: s += 8, the next
// block while s < n.
func nextBlock(s, n Register) {
	Comment("s += 8; next block while s < n")
	ADDQ(U8(8), s)
	CMPQ(s, n)
	JL(LabelRef("block"))
	VZEROUPPER()
	RET()
}
