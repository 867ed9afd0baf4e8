// Command direct generates the direct convolution's row kernels for
// AVX2/FMA: rows of the output of mb output channels at once, in blocks
// of rb rows by 8·nv columns, each block summing its taps (input channel,
// kernel row, kernel column) from a padded copy of the input
// (conv_direct.go), so that every tap reads whole vectors, with the
// epilogue; and the routines that fill that copy.
//
//	go run ./direct -out ../direct_amd64.s -stubs ../direct_stub_amd64.go -pkg kernels
package main

import (
	"fmt"
	"strings"
	"unicode/utf8"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The epilogue flags; gemm.go's tile flags, which conv_direct.go passes.
const (
	flagBias = 1 << 1 // add bias[m] to channel m
	flagZ    = 1 << 2 // add Z
	flagAct  = 1 << 3 // clamp to [lo, hi]
)

// maxNV is the most vectors a block has: the mask table (for the loads of
// Z in a row's last block) holds 8·maxNV ones then as many zeros.
const maxNV = 4

// shapes are the (mb, rb, nv) kernels generated: blocks of mb output
// channels by rb rows by nv vectors of 8 columns. Eight accumulators keep
// two FMA pipes of latency 4 busy, and the blocks of rb = 1 serve the rows
// left over by a block of more (conv_direct.go's convDirect.rows).
// (Splitting the taps of a block of four accumulators between two sets
// would keep the pipes as busy, but sum those outputs in another order
// than the others'.)
var shapes = [][3]int{
	{1, 1, 1}, {1, 1, 2}, {1, 1, 4}, {2, 1, 1}, {2, 1, 2}, {2, 1, 4}, {4, 1, 1}, {4, 1, 2},
	{1, 2, 4}, {1, 4, 2}, {1, 8, 1}, {2, 2, 2}, {2, 4, 1}, {4, 2, 1},
}

func main() {
	ConstraintExpr("!noasm")

	mask := GLOBL("directMaskAVX2", RODATA|NOPTR)
	for i := 0; i < 2*8*maxNV; i++ {
		v := uint32(0)
		if i < 8*maxNV {
			v = 0xffffffff
		}
		DATA(4*i, U32(v))
	}
	for _, s := range shapes {
		kernel(s[0], s[1], s[2], false, mask)
	}
	for _, s := range dwShapes {
		kernel(s[0], 1, s[1], true, mask)
	}
	copyRows()
	splitRows()
	Generate()
}

// copyRows emits directCopyRowsAVX2, the band's fill at stride 1: rows
// of n floats of planes from x to d, 8 a move.
func copyRows() {
	TEXT("directCopyRowsAVX2", NOSPLIT, "func(d, x *float32, planes, rows, n, dstride, xstride, dplane, xplane int)")
	Pragma("noescape")
	Doc("directCopyRowsAVX2 copies rows of n floats of planes in AVX2:",
		"",
		"\td[p*dplane + r*dstride + i] = x[p*xplane + r*xstride + i]",
		"",
		"for p < planes, r < rows and i < n (planes, rows, n ≥ 1); it reads and",
		"writes only those floats. directCopyRowsGeneric is the same in Go.")
	d := Load(Param("d"), GP64())
	x := Load(Param("x"), GP64())
	planes := Load(Param("planes"), GP64())
	n := Load(Param("n"), GP64())
	full := GP64() // bytes of the whole vectors of a row
	MOVQ(n, full)
	ANDQ(I8(-8), full)
	SHLQ(U8(2), full)
	dr, xr, rows, i := GP64(), GP64(), GP64(), GP64()
	Label("copy_plane")
	MOVQ(d, dr)
	MOVQ(x, xr)
	Load(Param("rows"), rows)
	Label("copy_row")
	XORQ(i, i)
	Label("copy_vec")
	CMPQ(i, full)
	JGE(LabelRef("copy_tail"))
	VMOVUPS(Mem{Base: xr, Index: i, Scale: 1}, Y0)
	VMOVUPS(Y0, Mem{Base: dr, Index: i, Scale: 1})
	ADDQ(U8(32), i)
	JMP(LabelRef("copy_vec"))
	// The last n%8 floats: a whole vector ending at n when n ≥ 8 (the
	// floats before it copied twice), else 4, 2 and 1 at a time; masked
	// moves cost several times as much on Zen 4.
	Label("copy_tail")
	TESTQ(U32(7), n)
	JZ(LabelRef("copy_next"))
	CMPQ(n, U8(8))
	JL(LabelRef("copy_short"))
	VMOVUPS(Mem{Base: xr, Index: n, Scale: 4, Disp: -32}, Y0)
	VMOVUPS(Y0, Mem{Base: dr, Index: n, Scale: 4, Disp: -32})
	JMP(LabelRef("copy_next"))
	Label("copy_short")
	g := GP64()
	TESTQ(U32(4), n)
	JZ(LabelRef("copy_2"))
	VMOVUPS(Mem{Base: xr, Index: i, Scale: 1}, X0)
	VMOVUPS(X0, Mem{Base: dr, Index: i, Scale: 1})
	ADDQ(U8(16), i)
	Label("copy_2")
	TESTQ(U32(2), n)
	JZ(LabelRef("copy_1"))
	MOVQ(Mem{Base: xr, Index: i, Scale: 1}, g)
	MOVQ(g, Mem{Base: dr, Index: i, Scale: 1})
	ADDQ(U8(8), i)
	Label("copy_1")
	TESTQ(U32(1), n)
	JZ(LabelRef("copy_next"))
	MOVL(Mem{Base: xr, Index: i, Scale: 1}, g.As32())
	MOVL(g.As32(), Mem{Base: dr, Index: i, Scale: 1})
	Label("copy_next")
	ds := Load(Param("dstride"), GP64())
	LEAQ(Mem{Base: dr, Index: ds, Scale: 4}, dr)
	xs := Load(Param("xstride"), GP64())
	LEAQ(Mem{Base: xr, Index: xs, Scale: 4}, xr)
	DECQ(rows)
	JNZ(LabelRef("copy_row"))
	dp := Load(Param("dplane"), GP64())
	LEAQ(Mem{Base: d, Index: dp, Scale: 4}, d)
	xp := Load(Param("xplane"), GP64())
	LEAQ(Mem{Base: x, Index: xp, Scale: 4}, x)
	DECQ(planes)
	JNZ(LabelRef("copy_plane"))
	VZEROUPPER()
	RET()
}

// splitRows emits directSplitRowsAVX2, the band's fill at stride 2: rows
// of planes of x split into their even floats (d0) and odd ones (d1), 16
// floats in a turn unpacked into 8 and 8, the last ones one by one.
func splitRows() {
	TEXT("directSplitRowsAVX2", NOSPLIT, "func(d0, d1, x *float32, planes, rows, n0, n1, dstride, xstride, dplane, xplane int)")
	Pragma("noescape")
	Doc("directSplitRowsAVX2 splits rows of planes of x into their even and",
		"odd floats in AVX2:",
		"",
		"\td0[p*dplane + r*dstride + i] = x[p*xplane + r*xstride + 2*i]    for i < n0",
		"\td1[p*dplane + r*dstride + i] = x[p*xplane + r*xstride + 2*i+1]  for i < n1",
		"",
		"for p < planes and r < rows (planes, rows, n0 ≥ 1, n1 = n0 or n0-1);",
		"it reads x[p*xplane + r*xstride:][:n0+n1] and writes only those floats",
		"of d0 and d1. directSplitRowsGeneric is the same in Go.")
	planes := Load(Param("planes"), GP64())
	n0 := Load(Param("n0"), GP64())
	n1 := Load(Param("n1"), GP64())
	// Whole turns: 16 floats of x in, while 16 ≤ n0+n1 - 2i, that is
	// for i < (n0+n1)/16*8.
	vecs := GP64()
	MOVQ(n0, vecs)
	ADDQ(n1, vecs)
	SHRQ(U8(4), vecs)
	SHLQ(U8(3), vecs)
	off := GP64() // the plane's offset in d0 and d1, in bytes
	XORQ(off, off)
	xp := Load(Param("x"), GP64())
	d0, d1, x, rows, i := GP64(), GP64(), GP64(), GP64(), GP64()
	Label("split_plane")
	Load(Param("d0"), d0)
	ADDQ(off, d0)
	Load(Param("d1"), d1)
	ADDQ(off, d1)
	MOVQ(xp, x)
	Load(Param("rows"), rows)
	Label("split_row")
	XORQ(i, i)
	Label("split_vec")
	CMPQ(i, vecs)
	JGE(LabelRef("split_tail"))
	VMOVUPS(Mem{Base: x, Index: i, Scale: 8}, Y0)
	VMOVUPS(Mem{Base: x, Index: i, Scale: 8, Disp: 32}, Y1)
	// In each 128-bit lane: a0 a2 b0 b2 (0x88) and a1 a3 b1 b3 (0xdd);
	// then the 64-bit pairs in order 0 2 1 3.
	VSHUFPS(U8(0x88), Y1, Y0, Y2)
	VSHUFPS(U8(0xdd), Y1, Y0, Y3)
	VPERMPD(U8(0xd8), Y2, Y2)
	VPERMPD(U8(0xd8), Y3, Y3)
	VMOVUPS(Y2, Mem{Base: d0, Index: i, Scale: 4})
	VMOVUPS(Y3, Mem{Base: d1, Index: i, Scale: 4})
	ADDQ(U8(8), i)
	JMP(LabelRef("split_vec"))
	Label("split_tail")
	CMPQ(i, n0)
	JGE(LabelRef("split_next"))
	VMOVSS(Mem{Base: x, Index: i, Scale: 8}, X0)
	VMOVSS(X0, Mem{Base: d0, Index: i, Scale: 4})
	CMPQ(i, n1)
	JGE(LabelRef("split_next"))
	VMOVSS(Mem{Base: x, Index: i, Scale: 8, Disp: 4}, X0)
	VMOVSS(X0, Mem{Base: d1, Index: i, Scale: 4})
	INCQ(i)
	JMP(LabelRef("split_tail"))
	Label("split_next")
	ds := Load(Param("dstride"), GP64())
	LEAQ(Mem{Base: d0, Index: ds, Scale: 4}, d0)
	LEAQ(Mem{Base: d1, Index: ds, Scale: 4}, d1)
	xs := Load(Param("xstride"), GP64())
	LEAQ(Mem{Base: x, Index: xs, Scale: 4}, x)
	DECQ(rows)
	JNZ(LabelRef("split_row"))
	dp := Load(Param("dplane"), GP64())
	LEAQ(Mem{Base: off, Index: dp, Scale: 4}, off)
	xpl := Load(Param("xplane"), GP64())
	LEAQ(Mem{Base: xp, Index: xpl, Scale: 4}, xp)
	DECQ(planes)
	JNZ(LabelRef("split_plane"))
	VZEROUPPER()
	RET()
}

// kernel emits directAVX2_{mb}x{rb}x{nv}, blocks of rb rows by 8·nv
// columns of mb channels that share their input, or, perChannel,
// directDwAVX2_{mb}x{nv}, blocks of one row by 8·nv columns of mb
// channels with an input each (depthwise).
func kernel(mb, rb, nv int, perChannel bool, mask Mem) {
	name := fmt.Sprintf("directAVX2_%dx%dx%d", mb, rb, nv)
	who, xm, xmRead := "sharing their input", "", " xm is not read."
	if perChannel {
		name = fmt.Sprintf("directDwAVX2_%dx%d", mb, nv)
		who, xm, xmRead = "with an input each (depthwise)", "xm*m + ", ""
		if rb != 1 {
			panic(name + ": rows")
		}
	}
	TEXT(name, NOSPLIT, "func(taps *int32, ntaps int, w, x *float32, xrow, xm int, y, z *float32, ys, ow, rows int, bias *float32, flags uint64, lo, hi float32)")
	Pragma("noescape")
	if mb == 1 && !perChannel {
		who = ""
	}
	rowsMul := fmt.Sprintf("rows is a positive multiple of %d", rb)
	if rb == 1 {
		rowsMul = "rows ≥ 1"
	}
	reach := "(rows-1)*xrow"
	if perChannel {
		reach = fmt.Sprintf("xm*%d + %s", mb-1, reach)
	}
	doc := wrap(fmt.Sprintf("%s computes rows of a direct convolution's output in AVX2/FMA, %s, in blocks of %s by %d columns: with",
		name, strings.TrimSpace(plural(mb, "output channel")+" "+who), plural(rb, "row"), 8*nv))
	doc = append(doc, "",
		"\tT(m, r, j) = sum over t < ntaps of w[m*ntaps+t] * x["+xm+"r*xrow + taps[t] + j]",
		"",
		fmt.Sprintf("it sets, for m < %d, r < rows and j < ow,", mb),
		"",
		"\ty[m*ys + r*ow + j] = f(T(m, r, j) + bias[m] + z[m*ys + r*ow + j])",
		"")
	doc = append(doc, wrap(fmt.Sprintf("with bias and z added only under tileBias and tileZ (flags bits 1 and 2) and f clamping to [lo, hi] "+
		"under tileAct (bit 3; NaN stays NaN).%s ntaps ≥ 1, ow ≥ 1, %s and taps[t] ≥ 0. "+
		"It reads x up to index %s + max(taps) + ow rounded up to %d, the columns past ow being discarded, "+
		"and writes y only where it sets it. directRowsGeneric is the same in Go.", xmRead, rowsMul, reach, 8*nv))...)
	Doc(doc...)

	label := func(s string) string { return name + "_" + s }
	// accs[m][r][v]; with one channel the FMAs take x from memory, else
	// the tap's rb·nv vectors of x are loaded once for the mb channels.
	accs := make([][][]VecPhysical, mb)
	n := 0
	for m := range accs {
		accs[m] = make([][]VecPhysical, rb)
		for r := range accs[m] {
			for v := 0; v < nv; v++ {
				accs[m][r] = append(accs[m][r], ymm[n])
				n++
			}
		}
	}
	if mb > 1 && !perChannel && n+rb*nv > 15 || n > 12 {
		panic(name + ": too many registers")
	}
	xs := ymm[n : n+rb*nv] // the tap's vectors of x
	msk := ymm[8 : 8+nv]   // the epilogue's masks
	wv := Y15              // a broadcast weight; a temporary in the epilogue

	// Channel m's weight at the tap wp points at is at wp + m·ws, row r's
	// vectors of the tap at xt + r·xs (xt = the block's x plus the tap's
	// offset): scaled multiples of ws and xs.
	var wmul multiples
	if mb > 1 {
		ws := Load(Param("ntaps"), GP64()) // bytes between channels' weights: ntaps*4
		SHLQ(U8(2), ws)
		wmul = newMultiples(ws, mb)
	}
	var xmul, cmul multiples
	if perChannel {
		xmb := Load(Param("xm"), GP64()) // bytes between channels' inputs
		SHLQ(U8(2), xmb)
		cmul = newMultiples(xmb, mb)
	}
	if rb > 1 {
		xsb := Load(Param("xrow"), GP64()) // bytes between rows of x
		SHLQ(U8(2), xsb)
		xmul = newMultiples(xsb, rb)
	}

	xr := Load(Param("x"), GP64()) // x at the row block
	yr := Load(Param("y"), GP64()) // y at the row block
	rows := Load(Param("rows"), GP64())
	j := GP64() // the block's first column

	Label(label("row"))
	XORQ(j, j)

	Label(label("block"))
	for _, a := range accs {
		for _, ar := range a {
			for _, r := range ar {
				VXORPS(r, r, r)
			}
		}
	}
	xb := GP64()
	LEAQ(Mem{Base: xr, Index: j, Scale: 4}, xb)
	wp := Load(Param("w"), GP64())
	tp := Load(Param("taps"), GP64())
	cnt := Load(Param("ntaps"), GP64())
	xt := GP64()
	// tap adds the tap d after tp's and wp's to the accumulators acc.
	tap := func(d int, acc [][][]VecPhysical) {
		MOVLQSX(Mem{Base: tp, Disp: 4 * d}, xt)
		LEAQ(Mem{Base: xb, Index: xt, Scale: 4}, xt)
		xmem := func(r, v int) Mem {
			m := xmul.at(xt, r)
			m.Disp += 32 * v
			return m
		}
		wmem := func(m int) Mem {
			w := wmul.at(wp, m)
			w.Disp += 4 * d
			return w
		}
		switch {
		case perChannel:
			for m := 0; m < mb; m++ {
				VBROADCASTSS(wmem(m), wv)
				for v := 0; v < nv; v++ {
					x := cmul.at(xt, m)
					x.Disp += 32 * v
					VFMADD231PS(x, wv, acc[m][0][v])
				}
			}
		case mb == 1:
			VBROADCASTSS(wmem(0), wv)
			for r := 0; r < rb; r++ {
				for v := 0; v < nv; v++ {
					VFMADD231PS(xmem(r, v), wv, acc[0][r][v])
				}
			}
		default:
			for r := 0; r < rb; r++ {
				for v := 0; v < nv; v++ {
					VMOVUPS(xmem(r, v), xs[r*nv+v])
				}
			}
			for m := 0; m < mb; m++ {
				VBROADCASTSS(wmem(m), wv)
				for r := 0; r < rb; r++ {
					for v := 0; v < nv; v++ {
						VFMADD231PS(xs[r*nv+v], wv, acc[m][r][v])
					}
				}
			}
		}
	}
	// One tap a turn, in order, into one accumulator an output: every
	// output of every kernel sums its taps in the same order, so that
	// equal inputs give equal outputs wherever they are.
	Label(label("tap"))
	tap(0, accs)
	ADDQ(U8(4), tp)
	ADDQ(U8(4), wp)
	DECQ(cnt)
	JNZ(LabelRef(label("tap")))

	// The epilogue: whole blocks, or the row's last columns, fewer than
	// 8·nv (Z read through masks, Y written in pieces).
	cols := Load(Param("ow"), GP64())
	SUBQ(j, cols)
	CMPQ(cols, U8(8*nv))
	JL(LabelRef(label("partial")))
	epilogue(label("full"), accs, msk, wv, yr, j, nil)
	JMP(LabelRef(label("next")))
	Label(label("partial"))
	// Mask v (columns 8v..8v+7) from directMaskAVX2 at 8·maxNV - cols + 8v.
	mp := GP64()
	LEAQ(mask, mp)
	t := GP64()
	MOVQ(U32(8*maxNV), t)
	SUBQ(cols, t)
	for v := 0; v < nv; v++ {
		VMOVUPS(Mem{Base: mp, Index: t, Scale: 4, Disp: 32 * v}, msk[v])
	}
	epilogue(label("part"), accs, msk, wv, yr, j, cols)

	Label(label("next"))
	ADDQ(U8(8*nv), j)
	CMPQ(j, Load(Param("ow"), GP64()))
	JL(LabelRef(label("block")))
	xrow := Load(Param("xrow"), GP64())
	ow := Load(Param("ow"), GP64())
	for r := 0; r < rb; r++ {
		LEAQ(Mem{Base: xr, Index: xrow, Scale: 4}, xr)
		LEAQ(Mem{Base: yr, Index: ow, Scale: 4}, yr)
	}
	SUBQ(U8(rb), rows)
	JNZ(LabelRef(label("row")))
	VZEROUPPER()
	RET()
}

// dwShapes are the (mb, nv) depthwise kernels generated, for rows of
// up to 16 outputs: the per-channel inputs take a register each for the
// multiples of their stride, which leaves none for rows.
var dwShapes = [][2]int{{2, 1}, {2, 2}, {4, 1}, {4, 2}}

// multiples addresses base + i·s for i < 8 with s in a register: s·1,
// s·2 and s·4 as scaled indexes, 3, 5 and 7 through registers holding
// 3·s, 5·s and 7·s, and 6 as 3·s scaled by 2.
type multiples struct{ s, s3, s5, s7 Register }

// newMultiples returns the multiples of s for i < n, setting the
// registers it needs.
func newMultiples(s Register, n int) multiples {
	ms := multiples{s: s}
	if n > 3 {
		ms.s3 = GP64()
		LEAQ(Mem{Base: s, Index: s, Scale: 2}, ms.s3)
	}
	if n > 5 {
		ms.s5, ms.s7 = GP64(), GP64()
		LEAQ(Mem{Base: s, Index: s, Scale: 4}, ms.s5)
		LEAQ(Mem{Base: ms.s5, Index: s, Scale: 2}, ms.s7)
	}
	return ms
}

// at returns the address base + i·s.
func (ms multiples) at(base Register, i int) Mem {
	switch i {
	case 0:
		return Mem{Base: base}
	case 1:
		return Mem{Base: base, Index: ms.s, Scale: 1}
	case 2:
		return Mem{Base: base, Index: ms.s, Scale: 2}
	case 3:
		return Mem{Base: base, Index: ms.s3, Scale: 1}
	case 4:
		return Mem{Base: base, Index: ms.s, Scale: 4}
	case 5:
		return Mem{Base: base, Index: ms.s5, Scale: 1}
	case 6:
		return Mem{Base: base, Index: ms.s3, Scale: 2}
	case 7:
		return Mem{Base: base, Index: ms.s7, Scale: 1}
	}
	panic("multiple out of range")
}

var ymm = []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}

// epilogue finishes the block of columns [j, j+8·nv) of the rb rows at
// yr: adds bias and Z, clamps and stores, by flags. With cols non-nil the
// block has cols < 8·nv columns: Z is read through the masks in msk, the
// vector holding the last columns stored 4, 2 and 1 floats at a time, and
// vectors wholly past cols skipped.
func epilogue(name string, accs [][][]VecPhysical, msk []VecPhysical, tmp VecPhysical, yr, j Register, cols Register) {
	masked := cols != nil
	mb, rb, nv := len(accs), len(accs[0]), len(accs[0][0])
	flags, err := Param("flags").Resolve()
	check(err)
	lo, err := Param("lo").Resolve()
	check(err)
	hi, err := Param("hi").Resolve()
	check(err)
	l := func(s string) string { return name + "_" + s }

	yb := GP64()
	LEAQ(Mem{Base: yr, Index: j, Scale: 4}, yb)
	ysb := Load(Param("ys"), GP64())
	SHLQ(U8(2), ysb)
	var owb Register
	if rb > 1 {
		owb = Load(Param("ow"), GP64())
		SHLQ(U8(2), owb)
	}

	// each(body) runs body(m, r, v, p) for the block's vectors, p pointing
	// at row r of channel m (p0 + m·ys + r·ow); with masks, vectors past
	// cols are skipped.
	each := func(tag string, p0 Register, body func(m, r, v int, p Register)) {
		p := GP64()
		for m := 0; m < mb; m++ {
			if m == 0 {
				MOVQ(p0, p)
			} else {
				ADDQ(ysb, p0)
				MOVQ(p0, p)
			}
			for r := 0; r < rb; r++ {
				if r > 0 {
					ADDQ(owb, p)
				}
				skip := l(fmt.Sprintf("%s_m%d_r%d", tag, m, r))
				for v := 0; v < nv; v++ {
					if masked && v > 0 {
						CMPQ(cols, U8(8*v))
						JLE(LabelRef(skip))
					}
					body(m, r, v, p)
				}
				if masked && nv > 1 {
					Label(skip)
				}
			}
		}
	}

	TESTQ(U32(flagBias), flags.Addr)
	JZ(LabelRef(l("z")))
	bias := Load(Param("bias"), GP64())
	for m := 0; m < mb; m++ {
		VBROADCASTSS(Mem{Base: bias, Disp: 4 * m}, tmp)
		for _, ar := range accs[m] {
			for _, a := range ar {
				VADDPS(tmp, a, a)
			}
		}
	}
	Label(l("z"))
	TESTQ(U32(flagZ), flags.Addr)
	JZ(LabelRef(l("act")))
	zp := Load(Param("z"), GP64())
	SUBQ(Load(Param("y"), GP64()), zp)
	ADDQ(yb, zp) // z at the block: yb + (z - y)
	each("z", zp, func(m, r, v int, p Register) {
		a := accs[m][r][v]
		src := Mem{Base: p, Disp: 32 * v}
		if masked {
			VMASKMOVPS(src, msk[v], tmp)
			VADDPS(tmp, a, a)
		} else {
			VADDPS(src, a, a)
		}
	})
	Label(l("act"))
	TESTQ(U32(flagAct), flags.Addr)
	JZ(LabelRef(l("store")))
	// max(lo, x) then min(hi, x) with x the second source, so a NaN in x
	// passes through as NaN.
	VBROADCASTSS(lo.Addr, tmp)
	for _, am := range accs {
		for _, ar := range am {
			for _, a := range ar {
				VMAXPS(a, tmp, a)
			}
		}
	}
	VBROADCASTSS(hi.Addr, tmp)
	for _, am := range accs {
		for _, ar := range am {
			for _, a := range ar {
				VMINPS(a, tmp, a)
			}
		}
	}
	Label(l("store"))
	// The last vector of a partial block goes out 4, 2 and 1 floats at a
	// time (a masked store costs several times as much on Zen 4).
	var q, c Register
	if masked {
		q, c = GP64(), GP64()
	}
	each("st", yb, func(m, r, v int, p Register) {
		a := accs[m][r][v]
		dst := Mem{Base: p, Disp: 32 * v}
		if !masked {
			VMOVUPS(a, dst)
			return
		}
		part := l(fmt.Sprintf("st_m%d_r%d_v%d", m, r, v))
		CMPQ(cols, U8(8*(v+1)))
		JL(LabelRef(part))
		VMOVUPS(a, dst)
		JMP(LabelRef(part + "_done"))
		Label(part)
		LEAQ(dst, q)
		MOVQ(cols, c)
		SUBQ(U8(8*v), c)
		storeTail(part, a, q, c)
		Label(part + "_done")
	})
}

// storeTail stores the first c (1 to 7) floats of a at q, 4, 2 and 1
// at a time, a and q clobbered.
func storeTail(name string, a VecPhysical, q, c Register) {
	x := a.AsX()
	TESTQ(U32(4), c)
	JZ(LabelRef(name + "_2"))
	VMOVUPS(x, Mem{Base: q})
	VEXTRACTF128(U8(1), a, x)
	ADDQ(U8(16), q)
	Label(name + "_2")
	TESTQ(U32(2), c)
	JZ(LabelRef(name + "_1"))
	VMOVSD(x, Mem{Base: q})
	VMOVHLPS(x, x, x)
	ADDQ(U8(8), q)
	Label(name + "_1")
	TESTQ(U32(1), c)
	JZ(LabelRef(name + "_end"))
	VMOVSS(x, Mem{Base: q})
	Label(name + "_end")
}

// plural returns n and noun, in the plural unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// wrap breaks text into lines of at most 72 characters.
func wrap(text string) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) > 72 {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(lines, line)
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}
