package kernels

import "github.com/cnnc/cnnc/ir"

// convGemm is a bound AlgoGEMM1x1 or AlgoIm2col convolution: per image n
// and group g, Y_ng (M/Group × OH·OW) = A_g (M/Group × K) · B_ng (K ×
// OH·OW) with the epilogue, K = C/Group·KH·KW. For 1×1 kernels B_ng is X's
// channels of the group read in place; otherwise it is the im2col matrix
// of the windows, built block by block straight into the packed-B layout.
// A piece is one (image, group, row block, column block).
type convGemm struct {
	k                        Conv2D
	x, w, bias, z, y         []float32
	cg, mg, kk, ohw          int
	oneByOne                 bool
	rowSize, rows            int // output channels per piece (a multiple of gemmMR); row blocks
	colSize, cols            int // output positions per piece (a multiple of gemmNR); column blocks
	packLen, rowBuf, scratch int
}

func newConvGemm(k *Conv2D, x, w, bias, z, y []float32) *convGemm {
	t := &convGemm{k: *k, x: x, w: w, bias: bias, z: z, y: y}
	t.cg, t.mg = k.C/k.Group, k.M/k.Group
	t.kk, t.ohw = t.cg*k.KH*k.KW, k.OH*k.OW
	t.oneByOne = k.Algo == ir.AlgoGEMM1x1
	// Pieces of columns first: each packs its own columns of B once. When
	// that gives fewer than convMinTasks pieces, narrower ones (down to
	// convMinCols), and then two blocks of rows, which pack the same B
	// twice.
	t.colSize, t.cols = convSplit(t.ohw, (t.ohw+convMaxCols-1)/convMaxCols, 1, gemmNR)
	if have := k.N * k.Group * t.cols; have < convMinTasks {
		t.colSize, t.cols = convSplit(t.ohw, (convMinTasks+k.N*k.Group-1)/(k.N*k.Group), convMinCols, gemmNR)
	}
	t.rowSize, t.rows = t.mg, 1
	if have := k.N * k.Group * t.cols; have < convMinTasks {
		t.rowSize, t.rows = convSplit(t.mg, 2, convMinRows, gemmMR)
	}
	t.packLen = packedALen(t.mg, t.kk)
	cols := gemmRoundUp(t.colSize, gemmNR)
	t.scratch = min(t.kk, gemmKC) * cols
	if !t.oneByOne {
		t.rowBuf = cols
		t.scratch += cols
	}
	return t
}

// Tasks implements Task.
func (t *convGemm) Tasks() int { return t.k.N * t.k.Group * t.rows * t.cols }

// Scratch implements Task.
func (t *convGemm) Scratch() int { return t.scratch }

// Run implements Task.
func (t *convGemm) Run(piece int, scratch []float32) {
	cb := piece % t.cols
	piece /= t.cols
	rb := piece % t.rows
	piece /= t.rows
	g, n := piece%t.k.Group, piece/t.k.Group

	i0, j0 := rb*t.rowSize, cb*t.colSize
	m, nc := min(t.rowSize, t.mg-i0), min(t.colSize, t.ohw-j0)
	pa := t.w[g*t.packLen+i0*t.kk:]
	ch := g*t.mg + i0 // first output channel
	off := (n*t.k.M+ch)*t.ohw + j0
	ep := epilogue{act: t.k.Act}
	if t.bias != nil {
		ep.bias = t.bias[ch : ch+m]
	}
	if t.z != nil {
		ep.z = t.z[off:]
	}
	c := t.y[off:]
	in := t.x[(n*t.k.C+g*t.cg)*t.k.H*t.k.W:][:t.cg*t.k.H*t.k.W]
	ncPad := gemmRoundUp(nc, gemmNR)
	kb := gemmDepth(t.kk)
	for p0 := 0; p0 < t.kk; p0 += kb {
		kc := min(kb, t.kk-p0)
		pb := scratch[:kc*ncPad]
		if t.oneByOne {
			packB(pb, in[p0*t.ohw+j0:], kc, nc, t.ohw)
		} else {
			t.im2col(pb, scratch[len(scratch)-t.rowBuf:], in, p0, kc, j0, nc)
		}
		gemmBlock(m, nc, t.kk, p0, kc, pa, pb, c, t.ohw, &ep, 0, p0 == 0, p0+kc == t.kk)
	}
}

// im2col packs rows [p0, p0+kc) and columns [j0, j0+nc) of the group's
// im2col matrix, B(p, j) = X[c, oh*SH-PadT+kh*DH, ow*SW-PadL+kw*DW] (0
// outside X) for p = (c*KH+kh)*KW+kw and j = oh*OW+ow, into dst as packB
// would. row is scratch for one row of the block; in is the group's
// input channels.
func (t *convGemm) im2col(dst, row, in []float32, p0, kc, j0, nc int) {
	k := &t.k
	ncPad := gemmRoundUp(nc, gemmNR)
	row = row[:ncPad]
	for j := nc; j < ncPad; j++ {
		row[j] = 0
	}
	plane := k.H * k.W
	for pp := 0; pp < kc; pp++ {
		p := p0 + pp
		c, r := p/(k.KH*k.KW), p%(k.KH*k.KW)
		kh, kw := r/k.KW, r%k.KW
		src := in[c*plane : (c+1)*plane]
		// Valid output columns of this kw: 0 <= ow*SW - PadL + kw*DW < W.
		base := kw*k.DW - k.PadL
		lo := 0
		if base < 0 {
			lo = (-base + k.SW - 1) / k.SW
		}
		hi := 0
		if base < k.W {
			hi = min(k.OW, (k.W-1-base)/k.SW+1)
		}
		oh, ow := j0/k.OW, j0%k.OW
		for j := 0; j < nc; {
			seg := min(k.OW-ow, nc-j)
			out := row[j : j+seg]
			ih := oh*k.SH - k.PadT + kh*k.DH
			if ih < 0 || ih >= k.H || lo >= hi {
				clear(out)
			} else {
				xr := src[ih*k.W : (ih+1)*k.W]
				a, b := min(max(lo-ow, 0), seg), min(max(hi-ow, 0), seg)
				clear(out[:a])
				if a < b {
					if k.SW == 1 {
						s := ow + a + base
						copy(out[a:b], xr[s:s+b-a])
					} else {
						iw := (ow+a)*k.SW + base
						for i := a; i < b; i++ {
							out[i] = xr[iw]
							iw += k.SW
						}
					}
				}
				clear(out[b:])
			}
			j += seg
			ow = 0
			oh++
		}
		// Scatter the row into the panels.
		packRow(dst[pp*gemmNR:], row, kc*gemmNR, ncPad/gemmNR)
	}
}
