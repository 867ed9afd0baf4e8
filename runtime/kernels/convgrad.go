package kernels

import "github.com/cnnc/cnnc/ir"

// The backward convolutions of a training step, on the packed SGEMM.
// Both index an output position of the whole batch as q = n·P + p (P =
// OH·OW), so that one GEMM runs over several images where P is small, and
// both reach X or dX through a table of the window's taps (convGradTap):
// an output position's window corner plus the tap's offset, bounds-checked
// only where the window overlaps the padding.
//
// ConvGradFilter: for each group, dW_g [mg × cg·KH·KW] = dY_g [mg × N·P]
// · col(X_g)ᵀ [N·P × cg·KH·KW], col the im2col matrix (row a tap (c, kh,
// kw), column q). Its K-blocks run over q across image boundaries: the
// first overwrites dW, the others accumulate (tileAccum). A's panels are
// packed from dY (packDY), several K-blocks at once, and B's straight from
// X (packColT), never building col: where a run of positions of an output
// row has its windows inside X, each tap reads consecutive elements (every
// SW-th), and B's rows are a transpose of the taps' stretches of X
// (convGradRuns); the other positions gather their taps one by one.
// Where output rows are stride 1 and some windows reach into the padding
// (or rows are too short for runs), B comes instead from zero-padded
// copies of the rows a K-block reads, one per kernel column
// (packColTShifted), in which every position is part of a run.
//
// ConvGradData: for each group and block of images, colᵀ [rows × cg·KH·KW]
// = dY_gᵀ [rows × mg] · W_g [mg × cg·KH·KW], with W the row-major B that
// packB reads contiguously and dYᵀ the small A (packDYT); then col2im adds
// each entry of colᵀ into the dX element its tap read (zero first).

// Bind implements Kernel. in is dY and W [M, C/Group, KH, KW]; out is dX.
func (k *ConvGradData) Bind(in, out []*ir.Tensor) (Task, error) {
	c := gradConv(&k.Conv)
	if err := convCheck(c); err != nil {
		return nil, err
	}
	if len(in) != 2 || len(out) != 1 {
		return nil, ir.Invalidf("convgraddata: %d inputs and %d outputs, want 2 and 1", len(in), len(out))
	}
	g := newConvGradGeom(c)
	dy, err := convOperand("convgraddata", "dY", in[0], c.N*c.M*g.p, false)
	if err != nil {
		return nil, err
	}
	w, err := convOperand("convgraddata", "W", in[1], c.M*g.kk, false)
	if err != nil {
		return nil, err
	}
	dx, err := convOperand("convgraddata", "dX", out[0], c.N*c.C*c.H*c.W, false)
	if err != nil {
		return nil, err
	}
	t := &convGradDataTask{convGradGeom: g, dy: dy, w: w, dx: dx}
	t.imgs, t.imgBlocks, t.chSize, t.chBlocks = convGradDataSplit(c)
	return t, nil
}

// convGradDataSplit returns how ConvGradData cuts each group into pieces
// of whole dX planes, so that no two pieces write the same element:
// images per piece and image blocks, input channels per piece and channel
// blocks. An image block of about convGradRows output positions packs its
// block of W once, contiguously; a channel block of at least
// convGradCols taps (whole 16-column panels of colᵀ where the group
// allows) gathers dY's block once. Channel blocks first, down to that
// width, then image blocks, for about convMinTasks pieces.
func convGradDataSplit(c *Conv2D) (imgs, imgBlocks, chSize, chBlocks int) {
	p, khw := c.OH*c.OW, c.KH*c.KW
	imgBlocks = max(1, min(c.N, c.N*p/convGradRows))
	unit := gemmNR / gcd(khw, gemmNR)
	minCh := max(unit, (convGradCols+khw-1)/khw)
	chSize, chBlocks = convSplit(c.C/c.Group, (convMinTasks+c.Group*imgBlocks-1)/(c.Group*imgBlocks), minCh, unit)
	chSize = min(chSize, c.C/c.Group)
	if have := c.Group * imgBlocks * chBlocks; have < convMinTasks {
		imgBlocks = min(c.N, (convMinTasks+c.Group*chBlocks-1)/(c.Group*chBlocks))
	}
	imgs = (c.N + imgBlocks - 1) / imgBlocks
	return imgs, (c.N + imgs - 1) / imgs, chSize, chBlocks
}

// Tuning of ConvGradData's pieces (convGradDataSplit): about the output
// positions (rows of colᵀ) and the least taps (columns) of a piece, so
// that packing its blocks of W and of dYᵀ costs little next to the
// product.
const (
	convGradRows = 128
	convGradCols = 128
)

// gcd returns the greatest common divisor of a and b (positive).
func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Bind implements Kernel. in is X and dY; out is dW [M, C/Group, KH, KW].
func (k *ConvGradFilter) Bind(in, out []*ir.Tensor) (Task, error) {
	c := gradConv(&k.Conv)
	if err := convCheck(c); err != nil {
		return nil, err
	}
	if len(in) != 2 || len(out) != 1 {
		return nil, ir.Invalidf("convgradfilter: %d inputs and %d outputs, want 2 and 1", len(in), len(out))
	}
	g := newConvGradGeom(c)
	x, err := convOperand("convgradfilter", "X", in[0], c.N*c.C*c.H*c.W, false)
	if err != nil {
		return nil, err
	}
	dy, err := convOperand("convgradfilter", "dY", in[1], c.N*c.M*g.p, false)
	if err != nil {
		return nil, err
	}
	dw, err := convOperand("convgradfilter", "dW", out[0], c.M*g.kk, false)
	if err != nil {
		return nil, err
	}
	t := &convGradFilterTask{convGradGeom: g, x: x, dy: dy, dw: dw}
	t.colSize, t.cols, t.rowSize, t.rows = convGradFilterSplit(c, g.kk, g.mg)
	t.shiftLen = t.shiftedLen()
	return t, nil
}

// shiftedLen returns the floats of scratch packColTShifted needs, or 0
// where packColT reads X in place instead: where the rows are strided
// (consecutive output rows are then not consecutive in the copy), where
// every window lies inside X and output rows are long enough for
// convGradRuns anyway, or where the copy would outgrow a K-block of B.
// The bound is for segments of at most one K-block within one image
// (l positions over at most rows output rows), the channels the widest
// run of taps packColT is given can touch, and the zeroed stretch.
func (t *convGradFilterTask) shiftedLen() int {
	k := t.k
	inside := k.PadT == 0 && k.PadL == 0 && (k.OH-1)*k.SH < t.inH && (k.OW-1)*k.SW < t.inW
	if k.SH != 1 || inside && k.OW >= convGradMinRun && k.SW <= 2 {
		return 0
	}
	khw := k.KH * k.KW
	kb := gemmDepth(k.N * t.p)
	l := min(kb, t.p)
	rows := min(k.OH, (k.OW+l-2)/k.OW+1) + (k.KH-1)*k.DH
	cc := min(t.colSize, gemmNC)
	chans := min(t.cg, (cc+khw-2)/khw+1)
	n := chans*k.KW*rows*k.OW + k.OW + l
	if n > gemmKC*gemmNC {
		return 0
	}
	return n
}

// convGradFilterSplit returns how ConvGradFilter cuts each group's dW
// into pieces: columns per piece (whole 16-column panels) and column
// blocks, rows per piece (whole 6-row panels) and row blocks. Each
// column block packs all of dY_g again, so blocks are at least
// convGradFilterCols wide, except that a group gets two where it has four
// panels of columns or more; each row block gathers the same B again, so
// there are two only where the columns still give a single piece.
func convGradFilterSplit(c *Conv2D, kk, mg int) (colSize, cols, rowSize, rows int) {
	want := max(1, (convMinTasks+c.Group-1)/c.Group)
	colSize, cols = convSplit(kk, want, convGradFilterCols, gemmNR)
	if c.Group*cols == 1 && kk >= 2*4*gemmNR {
		colSize, cols = convSplit(kk, 2, 4*gemmNR, gemmNR)
	}
	rowSize, rows = mg, 1
	if c.Group*cols == 1 {
		rowSize, rows = convSplit(mg, 2, convMinRows, gemmMR)
	}
	return colSize, cols, rowSize, rows
}

// convGradFilterCols is the least number of dW columns (taps) of a
// ConvGradFilter piece where there are more.
const convGradFilterCols = 256

// gradConv returns a copy of c as the backward convolutions check and
// use it: the algorithm and activation, which they ignore, set to ones
// every geometry allows.
func gradConv(c *Conv2D) *Conv2D {
	g := *c
	g.Algo, g.Act = ir.AlgoDirect, ir.Activation{}
	return &g
}

// convGradGeom is the geometry both backward convolutions share.
type convGradGeom struct {
	k      *Conv2D
	cg, mg int
	kk     int // taps of a group: cg·KH·KW
	p      int // output positions of an image: OH·OW
	taps   []convGradTap
	// inH and inW bound the window corners (rows, columns) of the output
	// positions whose whole window lies inside X: [0, inH) and [0, inW).
	inH, inW int
	// owEnd bounds the output columns whose window corner column lies in
	// [0, inW): past the last of them, a row's windows cross X's right
	// edge.
	owEnd int
}

// convGradTap is tap j = (c, kh, kw) of a group's window, relative to the
// window's top-left corner in the group's channel 0.
type convGradTap struct {
	off    int32 // c·H·W + kh·DH·W + kw·DW: the element's offset from the corner
	dh, dw int32 // kh·DH, kw·DW: its row and column from the corner
}

func newConvGradGeom(c *Conv2D) convGradGeom {
	cg := c.C / c.Group
	g := convGradGeom{k: c, cg: cg, mg: c.M / c.Group, kk: cg * c.KH * c.KW, p: c.OH * c.OW}
	g.taps = make([]convGradTap, g.kk)
	for j := range g.taps {
		ch, kh, kw := j/(c.KH*c.KW), j/c.KW%c.KH, j%c.KW
		dh, dw := kh*c.DH, kw*c.DW
		g.taps[j] = convGradTap{off: int32(ch*c.H*c.W + dh*c.W + dw), dh: int32(dh), dw: int32(dw)}
	}
	g.inH, g.inW = c.H-(c.KH-1)*c.DH, c.W-(c.KW-1)*c.DW
	if g.inW > 0 {
		g.owEnd = min(c.OW, (g.inW-1+c.PadL)/c.SW+1)
	}
	return g
}

// convGradCorner is an output position's window corner: its offset in X
// (or dX) from the group's channel 0, outside the plane when the window
// starts in the padding, its row and column, and whether the whole window
// lies inside X.
type convGradCorner struct {
	base, ih, iw int
	inside       bool
}

// corner returns the window corner of output position q = n·P + p in
// group grp.
func (g *convGradGeom) corner(q, grp int) convGradCorner {
	k := g.k
	n, p := q/g.p, q%g.p
	ih, iw := p/k.OW*k.SH-k.PadT, p%k.OW*k.SW-k.PadL
	return convGradCorner{
		base:   (n*k.C+grp*g.cg)*k.H*k.W + ih*k.W + iw,
		ih:     ih,
		iw:     iw,
		inside: ih >= 0 && ih < g.inH && iw >= 0 && iw < g.inW,
	}
}

// packDY packs rows [i0, i0+m) (output channels of group grp) and columns
// [q0, q0+kc) (output positions of the batch) of dY_g into dst as packA
// lays out an m×kc matrix: per image, gemmMR rows of dY interleaved.
func (g *convGradGeom) packDY(dst, dy []float32, grp, i0, m, q0, kc int) {
	k := g.k
	for q := q0; q < q0+kc; {
		n, p := q/g.p, q%g.p
		run := min(g.p-p, q0+kc-q) // the rest of image n
		src := dy[(n*k.M+grp*g.mg+i0)*g.p+p:]
		for i := 0; i < m; i += gemmMR {
			d := dst[i*kc+(q-q0)*gemmMR:][:run*gemmMR]
			if m-i < gemmMR {
				packDYPart(d, src[i*g.p:], g.p, m-i, run)
				continue
			}
			convGradPackDY(d, src[i*g.p:], g.p, run)
		}
		q += run
	}
}

// convGradPackDYGeneric interleaves n floats of gemmMR rows of src, ld
// apart, into dst: dst[s*gemmMR+i] = src[i*ld+s], a full panel of packDY.
func convGradPackDYGeneric(dst, src []float32, ld, n int) {
	r0, r1, r2 := src[:n], src[ld:][:n], src[2*ld:][:n]
	r3, r4, r5 := src[3*ld:][:n], src[4*ld:][:n], src[5*ld:][:n]
	for s := range n {
		e := (*[gemmMR]float32)(dst[s*gemmMR:])
		e[0], e[1], e[2], e[3], e[4], e[5] = r0[s], r1[s], r2[s], r3[s], r4[s], r5[s]
	}
}

// packDYPart is packDY's last, partial panel: rows < gemmMR rows of run
// floats, src[i*ld:], interleaved into d and zero-padded.
func packDYPart(d, src []float32, ld, rows, run int) {
	for s := range run {
		e := d[s*gemmMR:][:gemmMR]
		for i := range e {
			e[i] = 0
			if i < rows {
				e[i] = src[i*ld+s]
			}
		}
	}
}

// packColT packs rows [q0, q0+kc) and columns [j0, j0+nc) of group grp's
// col(X)ᵀ (row q an output position of the batch, column j a tap) into
// dst as packB lays a kc×nc block out: panels of gemmNR columns,
// zero-padded. A row is a gather of the taps from its window's corner,
// except that a run of positions of one output row whose windows lie
// inside X fills a whole panel's rows at once (convGradRuns): each tap
// then reads consecutive elements of X, every SW-th, so that the rows are
// a transpose of the 16 taps' stretches of X.
//
// With y (the filter task's shiftLen floats, else nil), it packs through
// packColTShifted instead.
func (g *convGradGeom) packColT(dst, x, y []float32, grp, q0, kc, j0, nc int) {
	if y != nil {
		g.packColTShifted(dst, x, y, grp, q0, kc, j0, nc)
		return
	}
	// Corners and runs first, the same for every panel: runs[qq] is the
	// length of the run starting at qq, else 0.
	var corners [gemmKC]convGradCorner
	var runs [gemmKC]int32
	k := g.k
	for qq := range kc {
		corners[qq], runs[qq] = g.corner(q0+qq, grp), 0
	}
	for qq := 0; qq < kc; qq++ {
		if !corners[qq].inside || k.SW > 2 { // the assembly takes strides 1 and 2
			continue
		}
		if n := min(g.owEnd-(q0+qq)%g.p%k.OW, kc-qq); n >= convGradMinRun {
			runs[qq] = int32(n)
			qq += n - 1
		}
	}
	// Panel by panel, so that the writes run contiguously (a row's
	// panels lie kc·16 floats apart, often a multiple of 4 KiB).
	for r := 0; r < nc; r += gemmNR {
		tp := g.taps[j0+r : j0+min(nc, r+gemmNR)]
		panel := dst[r*kc:][:kc*gemmNR]
		var offs [gemmNR]int32
		maxOff := 0
		for i, tap := range tp {
			offs[i], maxOff = tap.off, max(maxOff, int(tap.off))
		}
		for qq := 0; qq < kc; {
			// A partial panel's taps are gathered: runs take 16.
			if n := int(runs[qq]); n > 0 && len(tp) == gemmNR {
				convGradRuns(panel[qq*gemmNR:], x[corners[qq].base:], &offs, maxOff, n, k.SW)
				qq += n
				continue
			}
			g.gatherTaps(panel[qq*gemmNR:][:gemmNR], x, tp, corners[qq])
			qq++
		}
	}
}

// packColTShifted is packColT for stride-1 rows, every position through
// convGradRuns: per segment of the K-block in one image, it first copies
// the X rows the segment reads into y, zero-padded, once per kernel
// column kw and shifted by it (y[c][kw][row][ow] = X[c][row][ow·SW+kw·DW]
// from the segment's first window row), so that tap (c, kh, kw) reads the
// segment's positions p as consecutive elements kh·DH rows into its copy,
// across output rows, borders and all. A partial panel's missing taps read
// a zeroed stretch past the copies.
func (g *convGradGeom) packColTShifted(dst, x, y []float32, grp, q0, kc, j0, nc int) {
	k := g.k
	khw := k.KH * k.KW
	cLo := j0 / khw
	chans := (j0+nc-1)/khw + 1 - cLo
	// Every segment's copies are rows rows apart, enough for the longest
	// segment, so that the taps' offsets are the same for all of them.
	rows := min(k.OH, (k.OW+min(kc, g.p)-2)/k.OW+1) + (k.KH-1)*k.DH
	ys := y[:chans*k.KW*rows*k.OW]
	var offs [gemmNC / gemmNR][gemmNR]int32
	var maxOff [gemmNC / gemmNR]int
	for r := 0; r < nc; r += gemmNR {
		o := &offs[r/gemmNR]
		for i := range o {
			off := len(ys) // the zeroed stretch
			if j := j0 + r + i; r+i < nc {
				c, kh, kw := j/khw-cLo, j/k.KW%k.KH, j%k.KW
				off = ((c*k.KW+kw)*rows + kh*k.DH) * k.OW
			}
			o[i], maxOff[r/gemmNR] = int32(off), max(maxOff[r/gemmNR], off)
		}
	}
	for qq := 0; qq < kc; {
		n, p0 := (q0+qq)/g.p, (q0+qq)%g.p
		l := min(g.p-p0, kc-qq)
		oh0 := p0 / k.OW
		g.fillShifted(ys, x, n, grp, cLo, chans, oh0, rows, (p0+l-1)/k.OW+1-oh0+(k.KH-1)*k.DH)
		// The runs start at the first position's column, base < OW, so
		// the zeroed stretch is read from len(ys)+base on.
		base := p0 - oh0*k.OW
		src := y[base : len(ys)+base+l]
		clear(src[len(ys)-base:])
		for r := 0; r < nc; r += gemmNR {
			convGradRuns(dst[r*kc+qq*gemmNR:], src, &offs[r/gemmNR], maxOff[r/gemmNR], l, 1)
		}
		qq += l
	}
}

// fillShifted sets packColTShifted's copies in y for image n of group grp:
// for channels [c0, c0+chans) of the group and each kernel column kw, a
// copy of rows rows, OW elements each, of which the first fill are set:
// window row i from output row oh0's first, X's element the position's
// window reads in that column, 0 in the padding.
func (g *convGradGeom) fillShifted(y, x []float32, n, grp, c0, chans, oh0, rows, fill int) {
	k := g.k
	hw := k.H * k.W
	plane := x[(n*k.C+grp*g.cg+c0)*hw:][:chans*hw]
	for kw := range k.KW {
		// Output columns [lo, hi) read inside X's row.
		a, b := k.PadL-kw*k.DW, k.W-1+k.PadL-kw*k.DW
		lo, hi := 0, 0
		if a > 0 {
			lo = (a + k.SW - 1) / k.SW
		}
		if b >= 0 {
			hi = min(k.OW, b/k.SW+1)
		}
		lo = min(lo, k.OW)
		hi = max(hi, lo)
		for c := range chans {
			for i := range fill {
				row := y[((c*k.KW+kw)*rows+i)*k.OW:][:k.OW]
				ih := oh0 + i - k.PadT
				if uint(ih) >= uint(k.H) {
					clear(row)
					continue
				}
				clear(row[:lo])
				clear(row[hi:])
				xr := plane[c*hw+ih*k.W:][:k.W]
				iw := lo*k.SW - k.PadL + kw*k.DW
				if k.SW == 1 {
					copy(row[lo:hi], xr[iw:])
					continue
				}
				for ow := lo; ow < hi; ow++ {
					row[ow] = xr[iw]
					iw += k.SW
				}
			}
		}
	}
}

// convGradMinRun is the shortest run of positions packColT hands to
// convGradRuns: the assembly's block of 8 positions, which it (and
// convGradPackDY's) needs at least one of.
const convGradMinRun = 8

// convGradRunsGeneric sets the packed B rows of n positions of a run for a
// panel's 16 taps: dst[s*16+i] = src[offs[i]+stride*s], with src starting
// at the run's first window corner and maxOff the largest of offs.
func convGradRunsGeneric(dst, src []float32, offs *[gemmNR]int32, maxOff, n, stride int) {
	src = src[:maxOff+stride*(n-1)+1]
	for s := range n {
		d, row := (*[gemmNR]float32)(dst[s*gemmNR:]), src[stride*s:]
		for i, o := range offs {
			d[i] = row[o]
		}
	}
}

// gatherTaps sets d[i] to the element of x tap tp[i] reads from window
// corner cn (0 in the padding), and zeroes d past len(tp).
func (g *convGradGeom) gatherTaps(d, x []float32, tp []convGradTap, cn convGradCorner) {
	switch {
	case cn.inside && len(tp) == gemmNR:
		e, t16 := (*[gemmNR]float32)(d), (*[gemmNR]convGradTap)(tp)
		for i := range e {
			e[i] = x[cn.base+int(t16[i].off)]
		}
		return
	case cn.inside:
		for i, tap := range tp {
			d[i] = x[cn.base+int(tap.off)]
		}
	default:
		h, w := uint(g.k.H), uint(g.k.W)
		for i, tap := range tp {
			var v float32
			if uint(cn.ih+int(tap.dh)) < h && uint(cn.iw+int(tap.dw)) < w {
				v = x[cn.base+int(tap.off)]
			}
			d[i] = v
		}
	}
	clear(d[len(tp):])
}

// convGradFilterTask is a bound ConvGradFilter. A piece is a group's
// block of dW rows and columns, summed over the batch.
type convGradFilterTask struct {
	convGradGeom
	x, dy, dw     []float32
	colSize, cols int // dW columns (taps) per piece, a multiple of gemmNR; column blocks
	rowSize, rows int // dW rows (output channels) per piece, a multiple of gemmMR; row blocks
	shiftLen      int // floats of packColTShifted's copies, 0 where packColT reads X in place
}

// Tasks implements Task.
func (t *convGradFilterTask) Tasks() int { return t.k.Group * t.rows * t.cols }

// Scratch implements Task: a stretch of dY_g packed as A, one K-block of
// B, and packColTShifted's copies of X where it uses them.
func (t *convGradFilterTask) Scratch() int {
	kb := gemmDepth(t.k.N * t.p)
	return packedALen(t.rowSize, t.depthA(t.rowSize, kb)) + kb*gemmRoundUp(min(t.colSize, gemmNC), gemmNR) + t.shiftLen
}

// depthA returns how many output positions of dY Run packs at once as A
// for m rows and K-blocks of kb: whole K-blocks, as many as fit in
// convGradFilterA floats, so that packDY reads each row of dY in
// stretches of several KiB, which the hardware prefetchers follow (1 KiB
// stretches of 64 rows ran at 1 ns a float, waiting on memory).
func (t *convGradFilterTask) depthA(m, kb int) int {
	return min(t.k.N*t.p, kb*max(1, convGradFilterA/(gemmRoundUp(m, gemmMR)*kb)))
}

// convGradFilterA bounds the floats of A a ConvGradFilter piece packs at
// once: 256 KiB, which stays in L2 next to a K-block of B.
const convGradFilterA = 64 << 10

// Run implements Task: dW's block is the sum over the K-blocks of the
// batch's output positions.
func (t *convGradFilterTask) Run(piece int, scratch []float32) {
	cb := piece % t.cols
	piece /= t.cols
	rb, grp := piece%t.rows, piece/t.rows
	i0, j0 := rb*t.rowSize, cb*t.colSize
	m, nc := min(t.rowSize, t.mg-i0), min(t.colSize, t.kk-j0)
	q := t.k.N * t.p
	kb := gemmDepth(q)
	ka := t.depthA(t.rowSize, kb)
	pa := scratch[:packedALen(m, ka)]
	pb := scratch[len(pa):][:kb*gemmRoundUp(min(t.colSize, gemmNC), gemmNR)]
	var y []float32
	if t.shiftLen > 0 {
		y = scratch[len(pa)+len(pb):][:t.shiftLen]
	}
	c := t.dw[(grp*t.mg+i0)*t.kk+j0:]
	ep := &epilogue{}
	for a0 := 0; a0 < q; a0 += ka {
		depth := min(ka, q-a0)
		a := pa[:packedALen(m, depth)]
		t.packDY(a, t.dy, grp, i0, m, a0, depth)
		for q0 := a0; q0 < a0+depth; q0 += kb {
			kc := min(kb, a0+depth-q0)
			for c0 := 0; c0 < nc; c0 += gemmNC {
				cc := min(gemmNC, nc-c0)
				b := pb[:kc*gemmRoundUp(cc, gemmNR)]
				t.packColT(b, t.x, y, grp, q0, kc, j0+c0, cc)
				gemmBlock(m, cc, depth, q0-a0, kc, a, b, c[c0:], t.kk, ep, 0, q0 == 0, false)
			}
		}
	}
}

// convGradDataTask is a bound ConvGradData. A piece is one group's block
// of input channels in a block of images: those dX planes are the
// piece's alone.
type convGradDataTask struct {
	convGradGeom
	dy, w, dx        []float32
	chSize, chBlocks int // input channels of a group per piece; channel blocks
	imgs, imgBlocks  int // images per piece; image blocks
}

// Tasks implements Task.
func (t *convGradDataTask) Tasks() int { return t.k.Group * t.chBlocks * t.imgBlocks }

// Scratch implements Task: dY_gᵀ packed as A, colᵀ, and B's packing.
func (t *convGradDataTask) Scratch() int {
	rows, cols := t.imgs*t.p, t.chSize*t.k.KH*t.k.KW
	return packedALen(rows, t.mg) + rows*cols + gemmScratch(t.mg, cols)
}

// Run implements Task: one product for the piece's images and channels,
// then col2im into their zeroed dX planes.
func (t *convGradDataTask) Run(piece int, scratch []float32) {
	k := t.k
	ib := piece % t.imgBlocks
	piece /= t.imgBlocks
	cb, grp := piece%t.chBlocks, piece/t.chBlocks
	n0, c0 := ib*t.imgs, cb*t.chSize
	imgs, chans := min(t.imgs, k.N-n0), min(t.chSize, t.cg-c0)
	khw := k.KH * k.KW
	rows, j0, nc := imgs*t.p, c0*khw, chans*khw
	pa := scratch[:packedALen(rows, t.mg)]
	colT := scratch[len(pa):][:rows*nc]
	rest := scratch[len(pa)+len(colT):]
	t.packDYT(pa, t.dy, grp, n0*t.p, rows)
	gemmPacked(rows, nc, t.mg, pa, t.w[grp*t.mg*t.kk+j0:], t.kk, colT, nc, rest)
	hw := k.H * k.W
	for n := n0; n < n0+imgs; n++ {
		clear(t.dx[(n*k.C+grp*t.cg+c0)*hw:][:chans*hw])
	}
	t.col2im(t.dx, colT, grp, n0*t.p, rows, j0, nc)
}

// packDYT packs rows [q0, q0+rows) (output positions of the batch) of
// group grp's dY_gᵀ, whose columns are the group's output channels, into
// dst as packA lays out a rows×mg matrix.
func (g *convGradGeom) packDYT(dst, dy []float32, grp, q0, rows int) {
	k := g.k
	for i0 := 0; i0 < rows; i0 += gemmMR {
		r := min(gemmMR, rows-i0)
		var src [gemmMR]int // where each row's channel 0 is in dY
		for i := range r {
			n, p := (q0+i0+i)/g.p, (q0+i0+i)%g.p
			src[i] = (n*k.M+grp*g.mg)*g.p + p
		}
		panel := dst[i0*g.mg:][:gemmMR*g.mg]
		if r == gemmMR && src[gemmMR-1] == src[0]+gemmMR-1 {
			// Six positions of one image: a run of dY's rows, one per channel.
			for m := 0; m < g.mg; m++ {
				*(*[gemmMR]float32)(panel[m*gemmMR:]) = *(*[gemmMR]float32)(dy[src[0]+m*g.p:])
			}
			continue
		}
		for m := 0; m < g.mg; m++ {
			d := panel[m*gemmMR:][:gemmMR]
			for i := range d {
				d[i] = 0
				if i < r {
					d[i] = dy[src[i]+m*g.p]
				}
			}
		}
	}
}

// col2im adds colᵀ's rows [q0, q0+rows) (output positions of the batch),
// whose columns are the taps [j0, j0+nc), into the dX elements of group
// grp the taps read.
func (g *convGradGeom) col2im(dx, colT []float32, grp, q0, rows, j0, nc int) {
	taps := g.taps[j0 : j0+nc]
	h, w := uint(g.k.H), uint(g.k.W)
	for qq := 0; qq < rows; qq++ {
		src := colT[qq*nc:][:nc]
		cn := g.corner(q0+qq, grp)
		if cn.inside {
			for i, tap := range taps {
				dx[cn.base+int(tap.off)] += src[i]
			}
			continue
		}
		for i, tap := range taps {
			if uint(cn.ih+int(tap.dh)) < h && uint(cn.iw+int(tap.dw)) < w {
				dx[cn.base+int(tap.off)] += src[i]
			}
		}
	}
}
