package kernels

// convBand is the input of an implicit convolution (convImplicit,
// convOCBlock): the input rows a block of output rows needs, zero-padded,
// with each row split into SW phases (columns φ, φ+SW, φ+2SW, ...) so that
// a tap of a strided convolution reads contiguous floats:
//
//	band[c*chans + r*rowStride + φ*u + v] = X[c, r0+r-PadT, φ+SW*v-PadL]
//
// (0 outside X), r0 = oh0*SH for the block's first output row oh0,
// rowStride = SW*u. Output (oh, ow) of tap (c, kh, kw) reads
// band[off(c, kh, kw) + (oh-oh0)*rowStep + ow] with rowStep = SH*rowStride
// and
//
//	off(c, kh, kw) = c*chans + kh*DH*rowStride + (kw*DW%SW)*u + kw*DW/SW
//
// A strided 1x1 convolution reads one row in SH and one phase in SW: its
// band is compact, only those (pitch = SH, rowStride = u, rowStep = u),
//
//	band[c*chans + r*u + v] = X[c, r0+SH*r-PadT, SW*v-PadL]
//
// so that its taps read the band as a unit-stride layer reads X.
type convBand struct {
	u, rowStride, chans int     // floats of a phase row; band strides: a row (SW phases), a channel
	rowStep             int     // floats from one output row's band to the next
	pitch               int     // padded input rows a band row steps over: 1, or SH (compact)
	offs                []int32 // off(p) for p = (c*KH+kh)*KW+kw
	maxOff              int     // the largest offset
	// rowUsed and phaseUsed mark the band's rows and phases some tap
	// reads; fill skips the others (a 1x1 stride-2 layer reads a quarter).
	rowUsed, phaseUsed []bool
}

// newConvBand returns the band of cg channels for blocks of ohSize output
// rows whose phase rows hold width outputs (OW, or more for kernels that
// read past the row) plus the taps' reach; false when it would exceed
// implicitMaxBand floats.
func newConvBand(k *Conv2D, cg, width, ohSize int) (convBand, bool) {
	b := convBand{pitch: 1}
	b.u = width + (k.KW-1)*k.DW/k.SW + 1
	b.rowStride = k.SW * b.u
	rows := (ohSize-1)*k.SH + (k.KH-1)*k.DH + 1
	b.rowStep = k.SH * b.rowStride
	if k.KH == 1 && k.KW == 1 && (k.SH > 1 || k.SW > 1) {
		b.pitch, b.rowStride, b.rowStep, rows = k.SH, b.u, b.u, ohSize
	}
	b.chans = rows * b.rowStride
	if convProduct(cg, b.chans) < 0 || cg*b.chans > implicitMaxBand {
		return b, false
	}
	b.setOffsets(k, cg)
	b.rowUsed, b.phaseUsed = make([]bool, rows), make([]bool, k.SW)
	for oh := 0; oh < ohSize; oh++ {
		for kh := 0; kh < k.KH; kh++ {
			b.rowUsed[(oh*k.SH+kh*k.DH)/b.pitch] = true
		}
	}
	for kw := 0; kw < k.KW; kw++ {
		b.phaseUsed[kw*k.DW%k.SW] = true
	}
	return b, true
}

// setOffsets fills the table of the taps' offsets off(c, kh, kw) for cg
// channels, and maxOff.
func (b *convBand) setOffsets(k *Conv2D, cg int) {
	b.offs = make([]int32, cg*k.KH*k.KW)
	for c := 0; c < cg; c++ {
		for kh := 0; kh < k.KH; kh++ {
			for kw := 0; kw < k.KW; kw++ {
				off := c*b.chans + kh*k.DH*b.rowStride + (kw*k.DW%k.SW)*b.u + kw*k.DW/k.SW
				b.offs[(c*k.KH+kh)*k.KW+kw] = int32(off)
				b.maxOff = max(b.maxOff, off)
			}
		}
	}
}

// convImplicit is a bound AlgoIm2col convolution that never builds the
// im2col matrix: the micro-kernel (convRow) reads each B vector, 16
// consecutive output positions of one tap (c, kh, kw), straight from a
// band of the input (convBand), through its table of offsets.
//
// A piece is one (image, group, row block of output channels, block of
// output rows); it fills the band of its rows in its scratch, then runs
// the packed weights (packA, as for im2col) over it K-block by K-block.
type convImplicit struct {
	k        convGemm // geometry, operands and the output channel split
	convBand          // phase rows of OW rounded up to 16
	ohSize   int
	ohs      int // output rows per piece; row blocks
}

// Tuning of the implicit convolution: it pays where output rows fill the
// 16-wide tiles (OW ≥ implicitMinOW) and the band fits a worker's scratch.
const (
	implicitMinOW    = 12
	implicitMaxBand  = 1 << 22 // floats
	implicitMaxPhase = 4       // largest SW
	// implicitRowFloats bounds the B vectors of a K-block of one output
	// row (16 KiB) that one call runs through every tile of the row.
	implicitRowFloats = 4096
)

// newConvImplicit returns the implicit form of an AlgoIm2col convolution,
// or nil where it does not pay or apply.
func newConvImplicit(g *convGemm) *convImplicit {
	k := &g.k
	if k.OW < implicitMinOW || k.SW > implicitMaxPhase {
		return nil
	}
	t := &convImplicit{k: *g}
	// Output row blocks: about convMinTasks pieces in all, as the GEMM
	// split has them.
	have := k.N * k.Group * g.rows
	want := max(1, min(k.OH, (convMinTasks+have-1)/have))
	t.ohSize = (k.OH + want - 1) / want
	t.ohs = (k.OH + t.ohSize - 1) / t.ohSize
	var ok bool
	if t.convBand, ok = newConvBand(k, g.cg, gemmRoundUp(k.OW, gemmNR), t.ohSize); !ok {
		return nil
	}
	return t
}

// Tasks implements Task.
func (t *convImplicit) Tasks() int { return t.k.k.N * t.k.k.Group * t.k.rows * t.ohs }

// Scratch implements Task: the band, and a tile's overreach past it.
func (t *convImplicit) Scratch() int { return t.k.cg*t.chans + gemmNR }

// Run implements Task.
func (t *convImplicit) Run(piece int, scratch []float32) {
	g, k := &t.k, &t.k.k
	ob := piece % t.ohs
	piece /= t.ohs
	rb := piece % g.rows
	piece /= g.rows
	grp, n := piece%k.Group, piece/k.Group

	oh0 := ob * t.ohSize
	oh1 := min(k.OH, oh0+t.ohSize)
	band := scratch[:g.cg*t.chans+gemmNR]
	in := g.x[(n*k.C+grp*g.cg)*k.H*k.W:][:g.cg*k.H*k.W]
	t.fill(k, g.cg, band, in, oh0*k.SH, (oh1-1-oh0)*k.SH+(k.KH-1)*k.DH+1)

	i0 := rb * g.rowSize
	m := min(g.rowSize, g.mg-i0)
	pa := g.w[grp*g.packLen+i0*g.kk:]
	ch := grp*g.mg + i0 // first output channel
	ep := epilogue{act: k.Act, z: g.z}
	if g.bias != nil {
		ep.bias = g.bias[ch : ch+m]
	}
	kb := gemmDepth(g.kk)
	for p0 := 0; p0 < g.kk; p0 += kb {
		kc := min(kb, g.kk-p0)
		flags, lo, hi := ep.tileFlags(p0 == 0, p0+kc == g.kk)
		offs := t.offs[p0 : p0+kc]
		// Each tile of 16 outputs runs against every panel of A in turn,
		// so that its B vectors stay in L1 while A streams from L2; where
		// a whole output row's vectors fit in L1 anyway (short K-blocks,
		// as in grouped convolutions), one call does the row.
		step := gemmNR
		if kc*gemmRoundUp(k.OW, gemmNR) <= implicitRowFloats {
			step = k.OW
		}
		for oh := oh0; oh < oh1; oh++ {
			x := band[(oh-oh0)*t.rowStep:]
			for j := 0; j < k.OW; j += step {
				for q := 0; q*gemmMR < m; q++ {
					rows := min(gemmMR, m-q*gemmMR)
					a := pa[q*gemmMR*g.kk+p0*gemmMR:][:kc*gemmMR]
					var bias []float32
					if flags&tileBias != 0 {
						bias = ep.bias[q*gemmMR : q*gemmMR+rows]
					}
					off := (n*k.M+ch+q*gemmMR)*g.ohw + oh*k.OW + j
					var z []float32
					if flags&tileZ != 0 {
						z = g.z[off:]
					}
					convRow(kc, a, offs, x[j:], t.maxOff, g.y[off:], g.ohw, z, bias, rows, min(step, k.OW-j), flags, lo, hi)
				}
			}
		}
	}
}

// fill writes rows [r0, r0+rows) (padded coordinates) of the cg channels
// of input in into the band, phase-split and zero-padded: the rows and
// phases some tap reads (the rest of the band is left as it was; a
// compact band holds one row in pitch).
func (t *convBand) fill(k *Conv2D, cg int, band, in []float32, r0, rows int) {
	rows = (rows-1)/t.pitch + 1
	// Each phase's row holds input columns [lo, hi) of the phase, the
	// same for every row.
	var span [implicitMaxPhase][2]int
	for phase := 0; phase < k.SW; phase++ {
		// v covers input column iw = phase + SW*v - PadL.
		lo := 0
		if s := k.PadL - phase; s > 0 {
			lo = min((s+k.SW-1)/k.SW, t.u)
		}
		hi := lo
		if last := k.W - 1 + k.PadL - phase; last >= 0 {
			hi = max(lo, min(t.u, last/k.SW+1))
		}
		span[phase] = [2]int{lo, hi}
	}
	if k.SW == 1 {
		t.fillRows(k, cg, band, in, r0, rows, span[0][0], span[0][1])
		return
	}
	for c := 0; c < cg; c++ {
		src := in[c*k.H*k.W : (c+1)*k.H*k.W]
		for r := 0; r < rows; r++ {
			if !t.rowUsed[r] {
				continue
			}
			dst := band[c*t.chans+r*t.rowStride : c*t.chans+(r+1)*t.rowStride]
			ih := r0 + r*t.pitch - k.PadT
			if ih < 0 || ih >= k.H {
				clear(dst)
				continue
			}
			xr := src[ih*k.W : (ih+1)*k.W]
			for phase := 0; phase < k.SW; phase++ {
				if !t.phaseUsed[phase] {
					continue
				}
				d := dst[phase*t.u : (phase+1)*t.u]
				lo, hi := span[phase][0], span[phase][1]
				// The padding is a few floats: loops beat calls.
				for i := range d[:lo] {
					d[i] = 0
				}
				iw := phase + k.SW*lo - k.PadL
				switch {
				case k.SW == 1:
					copy(d[lo:hi], xr[lo-k.PadL:hi-k.PadL])
				case k.SW == 2 && hi > lo:
					stride2Copy(d[lo:hi], xr[iw:])
				default:
					for v := lo; v < hi; v++ {
						d[v] = xr[iw]
						iw += k.SW
					}
				}
				for i := hi; i < len(d); i++ {
					d[i] = 0
				}
			}
		}
	}
	clear(band[cg*t.chans:])
}

// fillRows is fill for a unit stride along the width (one phase): each
// row is lo zeros, input columns [lo-PadL, hi-PadL), then zeros.
func (t *convBand) fillRows(k *Conv2D, cg int, band, in []float32, r0, rows, lo, hi int) {
	u := t.u
	for c := 0; c < cg; c++ {
		src := in[c*k.H*k.W : (c+1)*k.H*k.W]
		plane := band[c*t.chans : c*t.chans+rows*u]
		for r := 0; r < rows; r++ {
			d := plane[r*u : (r+1)*u]
			ih := r0 + r*t.pitch - k.PadT
			if !t.rowUsed[r] {
				continue
			}
			if ih < 0 || ih >= k.H {
				clear(d)
				continue
			}
			// The padding is a few floats: loops beat calls. So do rows
			// of fewer than 16 floats; copy's vector moves win past that
			// (56-float rows fill 2.3 times as fast).
			for i := range d[:lo] {
				d[i] = 0
			}
			x := src[ih*k.W+lo-k.PadL : ih*k.W+hi-k.PadL]
			if len(x) >= 16 {
				copy(d[lo:hi], x)
			} else {
				dd := d[lo:hi]
				for i := range dd {
					dd[i] = x[i]
				}
			}
			for i := hi; i < len(d); i++ {
				d[i] = 0
			}
		}
	}
	clear(band[cg*t.chans:])
}

// stride2Copy is stride2CopyGeneric or its assembly version (see
// setElemISA).
var stride2Copy = stride2CopyGeneric

// stride2CopyGeneric sets dst[v] = src[2v] for v < len(dst): a phase row
// of a stride-2 band. src holds at least 2·len(dst)-1 floats.
func stride2CopyGeneric(dst, src []float32) {
	if len(dst) == 0 {
		return
	}
	src = src[:2*len(dst)-1]
	for v := range dst {
		dst[v] = src[2*v]
	}
}
