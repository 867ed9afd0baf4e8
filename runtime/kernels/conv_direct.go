package kernels

import (
	"math"

	"github.com/cnnc/cnnc/ir"
)

// convDirect is a bound AlgoDirect or AlgoDepthwise convolution: a sum
// over the taps (c, kh, kw) of each output channel's group, with no
// matrix built, for the shapes a GEMM takes badly (few channels per
// group, depthwise). A piece is a block of output rows of one or more
// (image, group) units. It copies the rows of the group's input its
// output rows need into a band in its scratch, zero-padded, with each row
// split into SW phases (columns φ, φ+SW, φ+2SW, ...) so that every tap,
// strided or not, reads contiguous floats:
//
//	band[c*chans + r*rowStride + φ*u + v] = X[c, r0+r-PadT, φ+SW*v-PadL]
//
// (0 outside X; r0 = oh0*SH for the block's first output row oh0,
// rowStride = SW*u), so that output (oh, ow) of tap (c, kh, kw) is
// band[off(c, kh, kw) + (oh-oh0)*SH*rowStride + ow] with
//
//	off(c, kh, kw) = c*chans + kh*DH*rowStride + (kw*DW%SW)*u + kw*DW/SW
//
// Then the row kernels (directKernel: assembly, or directRowsGeneric)
// compute the block's rows for up to four output channels at a time,
// each weight a broadcast against vectors of 8 consecutive outputs, with
// the bias, residual and activation.
//
// Depthwise convolutions (one input and one output channel a group) with
// rows of up to directDwMaxOW outputs put a piece's channels in the band
// together (c above counting the piece's units) and run the per-channel
// kernels (directDwKernel) over up to four at a time: one channel alone
// is too little work for a call.
//
// Where even one output row's band would pass directMaxBand (huge pads or
// dilations) the convolution runs plane by plane instead, tap by tap on
// X itself (planar).
type convDirect struct {
	k                   Conv2D
	x, w, bias, z, y    []float32
	cg, mg, ohw         int
	u, rowStride, chans int // band layout: a phase row, a row (SW phases), a channel
	spans               []directSpan
	split               bool // directSpans' split
	band                int  // floats of band a piece needs, overreach included
	planes              int  // channels in the band: cg, or (dw) up to a piece's units
	taps                directTaps
	ohSize, ohs         int // output rows per piece; row blocks per unit
	per, units          int // units (image, group; planar: image, channel) per piece; units in all
	flags               uint64
	lo, hi              float32
	planar, dw          bool
}

// directMaxBand caps a piece's band (floats of scratch): output rows per
// piece shrink to fit it, and a convolution whose single output row needs
// more runs planar. A variable for the tests.
var directMaxBand = 1 << 22

// directDwMaxOW is the widest output row for which depthwise
// convolutions run several channels a call (the per-channel kernels have
// blocks of one row by at most 16 outputs).
const directDwMaxOW = 16

func newConvDepthwise(k *Conv2D, x, w, bias, z, y []float32) *convDirect {
	return newConvDirect(k, x, w, bias, z, y)
}

func newConvDirect(k *Conv2D, x, w, bias, z, y []float32) *convDirect {
	t := &convDirect{k: *k, x: x, w: w, bias: bias, z: z, y: y}
	t.cg, t.mg, t.ohw = k.C/k.Group, k.M/k.Group, k.OH*k.OW
	t.units = k.N * k.Group
	t.u = k.OW + (k.KW-1)*k.DW/k.SW
	t.rowStride = k.SW * t.u
	t.epilogue()
	// Pieces of at least convMinDirectWork multiply-adds: whole units,
	// several to a piece when small, or blocks of output rows when there
	// are fewer units than convMinTasks.
	rowWork := max(1, t.mg*t.cg*k.KH*k.KW*k.OW) // multiply-adds per output row of a unit
	t.per, t.ohSize = 1, k.OH
	if t.units >= convMinTasks {
		t.per = max(1, min(convMinDirectWork/(rowWork*k.OH), (t.units+convMinTasks-1)/convMinTasks))
	} else {
		want := min(k.OH, (convMinTasks+t.units-1)/t.units, max(1, rowWork*k.OH/convMinDirectWork))
		t.ohSize = (k.OH + want - 1) / want
	}
	for {
		t.chans = ((t.ohSize-1)*k.SH + (k.KH-1)*k.DH + 1) * t.rowStride
		t.band = convProduct(t.cg, t.chans)
		if t.band >= 0 && t.band <= directMaxBand || t.ohSize == 1 {
			break
		}
		t.ohSize = (t.ohSize + 1) / 2
	}
	t.ohs = (k.OH + t.ohSize - 1) / t.ohSize
	if t.band < 0 || t.band > directMaxBand {
		t.planar, t.band, t.ohSize, t.ohs = true, 0, k.OH, 1
		t.units = k.N * k.M
		t.per = max(1, min(convMinDirectWork/max(1, rowWork/t.mg*k.OH), (t.units+convMinTasks-1)/convMinTasks))
		return t
	}
	t.planes = t.cg
	if t.cg == 1 && t.mg == 1 && k.OW <= directDwMaxOW && t.per > 1 {
		t.dw = true
		t.planes = max(1, min(t.per, directMaxBand/t.chans))
		t.band = t.planes * t.chans
	}
	// The last tap's vectors reach past the band by up to a block.
	t.band += 8 * directMaxNV
	off := make([]int32, t.cg*k.KH*k.KW)
	for c := 0; c < t.cg; c++ {
		for kh := 0; kh < k.KH; kh++ {
			for kw := 0; kw < k.KW; kw++ {
				off[(c*k.KH+kh)*k.KW+kw] = int32(c*t.chans + kh*k.DH*t.rowStride + (kw*k.DW%k.SW)*t.u + kw*k.DW/k.SW)
			}
		}
	}
	t.taps = newDirectTaps(off)
	t.spans, t.split = directSpans(k, t.u)
	return t
}

// epilogue sets the row kernels' epilogue flags and clamp bounds.
func (t *convDirect) epilogue() {
	k := &t.k
	if t.bias != nil {
		t.flags |= tileBias
	}
	if t.z != nil {
		t.flags |= tileZ
	}
	switch k.Act.Kind {
	case ir.ActRelu:
		t.flags |= tileAct
		t.lo, t.hi = 0, float32(math.Inf(1))
	case ir.ActClip:
		t.flags |= tileAct
		t.lo, t.hi = k.Act.Min, k.Act.Max
	}
}

// Tasks implements Task.
func (t *convDirect) Tasks() int { return (t.units + t.per - 1) / t.per * t.ohs }

// Scratch implements Task: the band.
func (t *convDirect) Scratch() int { return t.band }

// Run implements Task.
func (t *convDirect) Run(piece int, scratch []float32) {
	k := &t.k
	if t.planar {
		t.runPlanar(piece)
		return
	}
	ob, ub := piece%t.ohs, piece/t.ohs
	oh0 := ob * t.ohSize
	oh1 := min(k.OH, oh0+t.ohSize)
	band := scratch[:t.band]
	r0, rows := oh0*k.SH, (oh1-1-oh0)*k.SH+(k.KH-1)*k.DH+1 // the band's rows of X, padded
	first, last := ub*t.per, min(t.units, (ub+1)*t.per)
	if t.dw {
		// Runs of channels of one image, as many as the band holds.
		for u := first; u < last; {
			n, g := u/k.Group, u%k.Group
			c := min(last-u, t.planes, k.Group-g)
			t.fill(band, t.x[u*k.H*k.W:][:c*k.H*k.W], c, r0, rows, u > first)
			for m := 0; m < c; {
				mb := directMB(c - m)
				t.rows(band[m*t.chans:], n, g+m, mb, oh0, oh1, true)
				m += mb
			}
			u += c
		}
		return
	}
	for unit := first; unit < last; unit++ {
		n, g := unit/k.Group, unit%k.Group
		in := t.x[(n*k.C+g*t.cg)*k.H*k.W:][:t.cg*k.H*k.W]
		t.fill(band, in, t.cg, r0, rows, unit > first)
		for m := 0; m < t.mg; {
			mb := directMB(t.mg - m)
			t.rows(band, n, g*t.mg+m, mb, oh0, oh1, false)
			m += mb
		}
	}
}

// rows computes output rows [oh0, oh1) of image n's channels [ch,
// ch+mb) from the band x: with the per-channel kernels for depthwise
// channels (perChannel; their inputs chans apart in x), else in blocks of
// rb rows and the rows left over one at a time.
func (t *convDirect) rows(x []float32, n, ch, mb, oh0, oh1 int, perChannel bool) {
	k := &t.k
	ntaps := len(t.taps.off)
	off := (n*k.M+ch)*t.ohw + oh0*k.OW
	var bias, z []float32
	if t.bias != nil {
		bias = t.bias[ch : ch+mb]
	}
	if t.z != nil {
		z = t.z[off:]
	}
	w := t.w[ch*ntaps : (ch+mb)*ntaps]
	xrow := k.SH * t.rowStride
	nv := directNV(mb, k.OW)
	rows := oh1 - oh0
	if perChannel {
		directDwKernel(mb, nv)(&t.taps, w, x, xrow, t.chans, t.y[off:], z, t.ohw, k.OW, rows, bias, t.flags, t.lo, t.hi)
		return
	}
	rb := directMaxAccs / (mb * nv)
	if full := rows / rb * rb; full > 0 {
		directKernel(mb, rb, nv)(&t.taps, w, x, xrow, 0, t.y[off:], z, t.ohw, k.OW, full, bias, t.flags, t.lo, t.hi)
	}
	if left := rows % rb; left > 0 {
		r := rows - left
		if z != nil {
			z = z[r*k.OW:]
		}
		directKernel(mb, 1, nv)(&t.taps, w, x[r*xrow:], xrow, 0, t.y[off+r*k.OW:], z, t.ohw, k.OW, left, bias, t.flags, t.lo, t.hi)
	}
}

// fill writes rows [r0, r0+rows) (padded coordinates) of the planes
// input channels in (H·W floats each) into the band, phase-split,
// zero-padded and zero past them. Only the parts from X are written when
// cleared says the rest of the band already holds the zeros (from a fill
// of the same rows).
func (t *convDirect) fill(band, in []float32, planes, r0, rows int, cleared bool) {
	k := &t.k
	if !cleared {
		clear(band)
	}
	// Rows [ih0, ih1) of X are in the band, at r0+r-PadT = ih.
	ih0, ih1 := max(r0-k.PadT, 0), min(r0+rows-k.PadT, k.H)
	if ih0 >= ih1 {
		return
	}
	hw := k.H * k.W
	src := in[ih0*k.W : (planes-1)*hw+ih1*k.W]
	dst := band[(ih0+k.PadT-r0)*t.rowStride:]
	switch a, b := t.spans[0], t.spans[len(t.spans)-1]; {
	case k.SW == 1 && a.lo < a.hi:
		directCopyRows(dst[a.lo:], src[a.from:], planes, ih1-ih0, a.hi-a.lo, t.rowStride, k.W, t.chans, hw)
	case t.split:
		// The phases take X's even and odd columns from a.from or
		// b.from, whichever is the smaller.
		if a.from > b.from {
			a, b = b, a
		}
		directSplitRows(dst[a.phase*t.u+a.lo:], dst[b.phase*t.u+b.lo:], src[a.from:], planes, ih1-ih0, a.hi-a.lo, b.hi-b.lo, t.rowStride, k.W, t.chans, hw)
	default:
		for c := 0; c < planes; c++ {
			for r := 0; r < ih1-ih0; r++ {
				d, xr := dst[c*t.chans+r*t.rowStride:][:t.rowStride], src[c*hw+r*k.W:][:k.W]
				for phase, s := range t.spans {
					if s.lo < s.hi {
						directGather(d[phase*t.u+s.lo:phase*t.u+s.hi], xr[s.from:], k.SW)
					}
				}
			}
		}
	}
}

// directSpan is the part [lo, hi) of a band's phase row that lies in X,
// from X's column from on: the same for every row.
type directSpan struct{ phase, lo, hi, from int }

// directSpans returns the spans of the SW phases of k's band rows of u
// floats: phase φ's v covers input column φ + SW*v - PadL. split says
// that there are two phases, which directSplitRows can fill: both
// non-empty, from columns e and e+1, the one from e as long as the other
// or one longer.
func directSpans(k *Conv2D, u int) (spans []directSpan, split bool) {
	spans = make([]directSpan, k.SW)
	for phase := range spans {
		lo := 0
		if s := k.PadL - phase; s > 0 {
			lo = min((s+k.SW-1)/k.SW, u)
		}
		hi := lo
		if last := k.W - 1 + k.PadL - phase; last >= 0 {
			hi = max(lo, min(u, last/k.SW+1))
		}
		spans[phase] = directSpan{phase, lo, hi, phase + k.SW*lo - k.PadL}
	}
	if k.SW == 2 {
		a, b := spans[0], spans[1]
		if a.from > b.from {
			a, b = b, a
		}
		na, nb := a.hi-a.lo, b.hi-b.lo
		split = na >= 1 && b.from == a.from+1 && (nb == na || nb == na-1)
	}
	return spans, split
}

// runPlanar computes the piece's output planes Y[n, m]: each starts as
// the bias plus the residual, then every tap (c, kh, kw) adds W[m, c, kh,
// kw] times the shifted input rows it reaches, and the activation ends it.
func (t *convDirect) runPlanar(piece int) {
	k := &t.k
	hw := k.H * k.W
	for pl := piece * t.per; pl < min(t.units, (piece+1)*t.per); pl++ {
		n, m := pl/k.M, pl%k.M
		yp := t.y[pl*t.ohw : (pl+1)*t.ohw]
		var b float32
		if t.bias != nil {
			b = t.bias[m]
		}
		for i := range yp {
			yp[i] = b
		}
		if t.z != nil {
			for i, v := range t.z[pl*t.ohw : (pl+1)*t.ohw] {
				yp[i] += v
			}
		}
		first := n*k.C + m/t.mg*t.cg // first input channel of m's group
		for c := 0; c < t.cg; c++ {
			xp := t.x[(first+c)*hw : (first+c+1)*hw]
			wk := t.w[(m*t.cg+c)*k.KH*k.KW:][:k.KH*k.KW]
			t.plane(yp, xp, wk)
		}
		gemmApplyAct(yp, k.Act)
	}
}

// plane adds to the output plane yp the window sums of one input plane xp
// with the kernel wk (KH×KW), one tap at a time.
func (t *convDirect) plane(yp, xp, wk []float32) {
	k := &t.k
	for kh := 0; kh < k.KH; kh++ {
		for kw := 0; kw < k.KW; kw++ {
			wv := wk[kh*k.KW+kw]
			base := kw*k.DW - k.PadL
			lo, hi := convTapRange(base, k.SW, k.W, k.OW)
			if lo >= hi {
				continue
			}
			for oh := 0; oh < k.OH; oh++ {
				ih := oh*k.SH - k.PadT + kh*k.DH
				if ih < 0 || ih >= k.H {
					continue
				}
				xr := xp[ih*k.W : (ih+1)*k.W]
				yr := yp[oh*k.OW : (oh+1)*k.OW]
				for i, iw := lo, lo*k.SW+base; i < hi; i, iw = i+1, iw+k.SW {
					yr[i] += wv * xr[iw]
				}
			}
		}
	}
}

// convTapRange returns the output columns [lo, hi) whose input column ow*SW +
// base lies in [0, W).
func convTapRange(base, sw, w, ow int) (lo, hi int) {
	if base < 0 {
		lo = (-base + sw - 1) / sw
	}
	if base < w {
		hi = min(ow, (w-1-base)/sw+1)
	}
	return min(lo, ow), hi
}

// directGather sets d[i] = x[i*stride] for i < len(d).
func directGather(d, x []float32, stride int) {
	x = x[:(len(d)-1)*stride+1]
	for i := range d {
		d[i] = x[i*stride]
	}
}

// directCopyRows and directSplitRows fill the band at strides 1 and 2
// (setDirectISA); directCopyRowsGeneric and directSplitRowsGeneric define
// them.
var (
	directCopyRows  = directCopyRowsGeneric
	directSplitRows = directSplitRowsGeneric
)

// directCopyRowsChecked checks the operands of directCopyRows as
// directCopyRowsGeneric states them.
func directCopyRowsChecked(d, x []float32, planes, rows, n, dstride, xstride, dplane, xplane int) {
	if planes < 1 || rows < 1 || n < 1 || dstride < n || xstride < n || dplane < 0 || xplane < 0 ||
		len(d) < (planes-1)*dplane+(rows-1)*dstride+n || len(x) < (planes-1)*xplane+(rows-1)*xstride+n {
		panic("kernels: direct band copy operands out of range")
	}
}

// directCopyRowsGeneric copies rows of n floats of planes:
//
//	d[p*dplane + r*dstride + i] = x[p*xplane + r*xstride + i]
//
// for p < planes, r < rows and i < n.
func directCopyRowsGeneric(d, x []float32, planes, rows, n, dstride, xstride, dplane, xplane int) {
	directCopyRowsChecked(d, x, planes, rows, n, dstride, xstride, dplane, xplane)
	for p := 0; p < planes; p++ {
		for r := 0; r < rows; r++ {
			copy(d[p*dplane+r*dstride:][:n], x[p*xplane+r*xstride:][:n])
		}
	}
}

// directSplitRowsChecked checks the operands of directSplitRows as
// directSplitRowsGeneric states them.
func directSplitRowsChecked(d0, d1, x []float32, planes, rows, n0, n1, dstride, xstride, dplane, xplane int) {
	if planes < 1 || rows < 1 || n0 < 1 || (n1 != n0 && n1 != n0-1) || dstride < n0 || xstride < n0+n1 || dplane < 0 || xplane < 0 ||
		len(d0) < (planes-1)*dplane+(rows-1)*dstride+n0 || len(d1) < (planes-1)*dplane+(rows-1)*dstride+n1 ||
		len(x) < (planes-1)*xplane+(rows-1)*xstride+n0+n1 {
		panic("kernels: direct band split operands out of range")
	}
}

// directSplitRowsGeneric splits rows of planes of x into their even and
// odd floats (n1 = n0 or n0-1):
//
//	d0[p*dplane + r*dstride + i] = x[p*xplane + r*xstride + 2*i]    for i < n0
//	d1[p*dplane + r*dstride + i] = x[p*xplane + r*xstride + 2*i+1]  for i < n1
//
// for p < planes and r < rows.
func directSplitRowsGeneric(d0, d1, x []float32, planes, rows, n0, n1, dstride, xstride, dplane, xplane int) {
	directSplitRowsChecked(d0, d1, x, planes, rows, n0, n1, dstride, xstride, dplane, xplane)
	for p := 0; p < planes; p++ {
		for r := 0; r < rows; r++ {
			xr := x[p*xplane+r*xstride:][:n0+n1]
			e, o := d0[p*dplane+r*dstride:][:n0], d1[p*dplane+r*dstride:][:n1]
			for i := range o {
				e[i], o[i] = xr[2*i], xr[2*i+1]
			}
			if n1 < n0 {
				e[n1] = xr[2*n1]
			}
		}
	}
}

// directMaxNV is the widest block of the row kernels, in vectors of 8
// outputs.
const directMaxNV = 4

// directMaxAccs is the number of accumulators of a row kernel's block,
// mb·rb·nv: eight keep two FMA pipes of latency 4 busy.
const directMaxAccs = 8

// directMB returns how many of the rem output channels left the next
// calls of the row kernels take: 4, then 2 and 1 for the last.
func directMB(rem int) int {
	switch {
	case rem >= 4:
		return 4
	case rem >= 2:
		return 2
	}
	return 1
}

// directNV returns the vectors per row of the row kernel's blocks for mb
// output channels and rows of ow outputs: as few as cover the row when it
// is narrow, else 4, 2 for four channels (mb·nv ≤ directMaxAccs; the
// rest of the accumulators go to rows).
func directNV(mb, ow int) int {
	switch {
	case ow <= 8:
		return 1
	case ow <= 16 || mb == 4:
		return 2
	}
	return 4
}

// directLog2 returns the base-2 logarithm of 1, 2, 4 or 8.
func directLog2(n int) int {
	switch n {
	case 1:
		return 0
	case 2:
		return 1
	case 4:
		return 2
	}
	return 3
}

// directTaps is a row kernel's table of tap offsets, with its largest
// entry, which bounds the kernel's reads.
type directTaps struct {
	off []int32
	max int
}

// newDirectTaps returns the table of the offsets off, which are ≥ 0.
func newDirectTaps(off []int32) directTaps {
	t := directTaps{off: off}
	for _, o := range off {
		if o < 0 {
			panic("kernels: negative tap offset")
		}
		t.max = max(t.max, int(o))
	}
	return t
}

// directFunc is the row kernel for blocks of mb output channels by rb
// rows by nv vectors of 8 columns: with
//
//	T(m, r, j) = sum over t of w[m*ntaps+t] * x[m*xm + r*xrow + taps.off[t] + j]
//
// (ntaps = len(taps.off); xm is 0 but for the per-channel kernels), it
// sets, for m < mb, r < rows (a multiple of rb) and j < ow,
//
//	y[m*ys + r*ow + j] = f(T(m, r, j) + bias[m] + z[m*ys + r*ow + j])
//
// with bias and z added under tileBias and tileZ and f clamping to [lo,
// hi] under tileAct (NaN stays NaN). It reads x up to (mb-1)*xm +
// (rows-1)*xrow + taps.max + ow rounded up to 8·nv.
type directFunc func(taps *directTaps, w, x []float32, xrow, xm int, y, z []float32, ys, ow, rows int, bias []float32, flags uint64, lo, hi float32)

// directKernels and directDwKernels are the row kernels at the active
// instruction-set level (setDirectISA): those whose channels share their
// input (xm = 0), indexed by directLog2 of mb, rb and nv, and the
// per-channel ones (rb = 1), by directLog2 of mb and nv.
var (
	directKernels   [4][4][3]directFunc
	directDwKernels [4][3]directFunc
)

// directKernel returns the row kernel whose channels share their input
// for blocks of mb channels by rb rows by nv vectors (mb, rb in 1, 2, 4,
// 8, nv in 1, 2, 4; mb·rb·nv ≤ directMaxAccs).
func directKernel(mb, rb, nv int) directFunc {
	return directKernels[directLog2(mb)][directLog2(rb)][directLog2(nv)]
}

// directDwKernel returns the per-channel row kernel for blocks of mb
// channels by one row by nv vectors (rows of up to directDwMaxOW
// outputs).
func directDwKernel(mb, nv int) directFunc {
	return directDwKernels[directLog2(mb)][directLog2(nv)]
}

// directRowsChecked checks the operands of a row kernel for blocks of mb
// channels by rb rows by nv vectors as directFunc states them, so that
// an assembly kernel, which does not, stays within them.
func directRowsChecked(mb, rb, nv int, taps *directTaps, w, x []float32, xrow, xm int, y, z []float32, ys, ow, rows int, bias []float32, flags uint64) {
	n := len(taps.off)
	last := (mb-1)*ys + rows*ow
	if n < 1 || ow < 1 || rows < 1 || rows%rb != 0 || xrow < 0 || xm < 0 || ys < rows*ow || len(w) < mb*n ||
		len(x) < (mb-1)*xm+(rows-1)*xrow+taps.max+gemmRoundUp(ow, 8*nv) || len(y) < last ||
		(flags&tileZ != 0 && len(z) < last) || (flags&tileBias != 0 && len(bias) < mb) {
		panic("kernels: direct convolution row operands out of range")
	}
}

// directRowsGeneric is the row kernel for mb output channels in Go (any
// block): each row of Y built in place, four taps a pass.
func directRowsGeneric(mb int, taps *directTaps, w, x []float32, xrow, xm int, y, z []float32, ys, ow, rows int, bias []float32, flags uint64, lo, hi float32) {
	n := len(taps.off)
	for m := 0; m < mb; m++ {
		wm := w[m*n : (m+1)*n]
		var b float32
		if flags&tileBias != 0 {
			b = bias[m]
		}
		for r := 0; r < rows; r++ {
			yr := y[m*ys+r*ow : m*ys+(r+1)*ow]
			if flags&tileZ != 0 {
				zr := z[m*ys+r*ow : m*ys+(r+1)*ow]
				for j := range yr {
					yr[j] = b + zr[j]
				}
			} else {
				for j := range yr {
					yr[j] = b
				}
			}
			xr := x[m*xm+r*xrow:]
			// Four taps a pass over the row, then the rest one by one.
			t := 0
			for ; t+4 <= n; t += 4 {
				w0, w1, w2, w3 := wm[t], wm[t+1], wm[t+2], wm[t+3]
				x0 := xr[taps.off[t]:][:len(yr)]
				x1 := xr[taps.off[t+1]:][:len(yr)]
				x2 := xr[taps.off[t+2]:][:len(yr)]
				x3 := xr[taps.off[t+3]:][:len(yr)]
				for j := range yr {
					yr[j] += w0*x0[j] + w1*x1[j] + w2*x2[j] + w3*x3[j]
				}
			}
			for ; t < n; t++ {
				wv, xs := wm[t], xr[taps.off[t]:][:len(yr)]
				for j := range yr {
					yr[j] += wv * xs[j]
				}
			}
			if flags&tileAct != 0 {
				clamp(yr, lo, hi)
			}
		}
	}
}

// directGenericKernels returns directKernels and directDwKernels for
// pure Go: directRowsGeneric at every shape, with the operands checked as
// for the assembly, so that every level takes the same operands.
func directGenericKernels() (ks [4][4][3]directFunc, dw [4][3]directFunc) {
	for i, mb := range []int{1, 2, 4, 8} {
		for l, nv := range []int{1, 2, 4} {
			for j, rb := range []int{1, 2, 4, 8} {
				ks[i][j][l] = directGeneric(mb, rb, nv)
			}
			dw[i][l] = directGeneric(mb, 1, nv)
		}
	}
	return ks, dw
}

// directGeneric returns directRowsGeneric as the row kernel for blocks of
// mb channels by rb rows by nv vectors, its operands checked first.
func directGeneric(mb, rb, nv int) directFunc {
	return func(taps *directTaps, w, x []float32, xrow, xm int, y, z []float32, ys, ow, rows int, bias []float32, flags uint64, lo, hi float32) {
		directRowsChecked(mb, rb, nv, taps, w, x, xrow, xm, y, z, ys, ow, rows, bias, flags)
		directRowsGeneric(mb, taps, w, x, xrow, xm, y, z, ys, ow, rows, bias, flags, lo, hi)
	}
}
