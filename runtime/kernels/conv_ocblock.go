package kernels

import (
	"sync"

	"github.com/cnnc/cnnc/ir"
)

// The AlgoOCBlock micro-kernel's tile: ocBlock output channels (two
// 16-float vectors) by up to ocMaxP consecutive output positions of one
// row.
const (
	ocBlock = 32
	ocMaxP  = 14
)

// convOCBlock is a bound AlgoOCBlock convolution. Its micro-kernel
// (convOCRow) computes a tile of 32 output channels by p ≤ 14 consecutive
// output positions of one row with the channels on the vector lanes: for
// each tap (c, kh, kw) it broadcasts the p input values from a band of the
// input (convBand) and multiplies each by the tap's 32 packed weights.
// Every tap runs in one pass, so the sums never leave the registers; the
// epilogue adds the bias, transposes the tile in the registers, and adds
// Z and applies the activation to each channel's row of outputs as it
// stores it to the NCHW output.
//
// The weights are packed per group and block of 32 output channels as
// [tap][32] (PackConvWeights; channels past the group's are zero). A piece
// is one (image, group, range of channel blocks, block of output rows); it
// runs each of its channel blocks over every tile of its rows. The band
// is the padded input of each image and group, filled once by a first
// stage of pieces (Staged) into a buffer they share; where that would
// exceed ocMaxShared floats, each piece fills the band of its own rows in
// its scratch instead. A convolution without padding and with a unit
// stride along the width (1x1 layers) reads X in place: its band is X
// itself (inPlace).
type convOCBlock struct {
	k                  *Conv2D
	x, w, bias, z, y   []float32
	cg, mg, kk, ohw    int
	blocks             int  // channel blocks per group
	convBand                // phase rows of OW
	inPlace            bool // the band is X (chans H·W, rows W)
	shared             bool // the band is the shared buffer, filled by the first stage
	fills, fillSize    int  // the first stage's pieces: channel ranges of each image and group
	once               sync.Once
	buf                []float32 // the shared buffer
	ohSize, ohs        int       // output rows per piece; row blocks
	blockSize, bpieces int       // channel blocks per piece; pieces of a group's blocks
	seg                []int     // the widths of a row's tiles, in order
	flags              uint64
	lo, hi             float32 // the micro-kernel's epilogue
}

// ocPackedLen returns the packed length of a group's weights: its
// ceil(mg/32) blocks of kk taps × 32 floats.
func ocPackedLen(mg, kk int) int { return (mg + ocBlock - 1) / ocBlock * kk * ocBlock }

// packOC packs one group's weights w [mg][kk] into dst [block][kk][32].
func packOC(dst, w []float32, mg, kk int) {
	clear(dst)
	for o := 0; o < mg; o++ {
		b, lane := o/ocBlock, o%ocBlock
		d := dst[b*kk*ocBlock:]
		for p, v := range w[o*kk : (o+1)*kk] {
			d[p*ocBlock+lane] = v
		}
	}
}

// newConvOCBlock binds an AlgoOCBlock convolution (convCheck has checked
// its stride), or fails when even a piece's band would be too large.
func newConvOCBlock(k *Conv2D, x, w, bias, z, y []float32) (*convOCBlock, error) {
	t := &convOCBlock{k: k, x: x, w: w, bias: bias, z: z, y: y,
		cg: k.C / k.Group, mg: k.M / k.Group, ohw: k.OH * k.OW}
	t.kk = t.cg * k.KH * k.KW
	t.blocks = (t.mg + ocBlock - 1) / ocBlock
	t.flags, t.lo, t.hi = (&epilogue{act: k.Act, bias: bias, z: z}).tileFlags(true, true)
	t.inPlace = k.SW == 1 && k.PadT == 0 && k.PadL == 0 &&
		(k.OH-1)*k.SH+(k.KH-1)*k.DH < k.H && k.OW-1+(k.KW-1)*k.DW < k.W
	if !t.inPlace {
		// The whole padded input, shared, where it is small enough.
		b, ok := newConvBand(k, t.cg, k.OW, k.OH)
		if ok && convProduct(k.N*k.Group, t.cg*b.chans) >= 0 && k.N*k.Group*t.cg*b.chans <= ocMaxShared {
			t.convBand, t.shared = b, true
			per := max(1, (convMinTasks+k.N*k.Group-1)/(k.N*k.Group))
			t.fillSize = (t.cg + per - 1) / per
			t.fills = k.N * k.Group * ((t.cg + t.fillSize - 1) / t.fillSize)
		}
	}
	t.split()
	switch {
	case t.inPlace:
		t.convBand = inPlaceBand(k, t.cg)
	case !t.shared:
		var ok bool
		if t.convBand, ok = newConvBand(k, t.cg, k.OW, t.ohSize); !ok {
			return nil, ir.Unsupportedf("conv2d: ocblock's input band of %d channels of %d rows exceeds %d floats", t.cg, t.ohSize, implicitMaxBand)
		}
	}
	// A row's tiles: as few as fit ocMaxP, of widths differing by at most 1.
	n := (k.OW + ocMaxP - 1) / ocMaxP
	for i := 0; i < n; i++ {
		t.seg = append(t.seg, k.OW/n+btoi(i < k.OW%n))
	}
	return t, nil
}

// split chooses the pieces: about convMinTasks per image and group (or
// as near as rows and channel blocks allow), cutting the output
// rows (each row block fills its band, re-reading the rows its taps share
// with the next, and reads every weight) or the channel blocks (each range
// reads its weights once but fills the whole band), whichever moves less.
func (t *convOCBlock) split() {
	k := t.k
	want := max(1, (convMinTasks+k.N*k.Group-1)/(k.N*k.Group))
	want = min(want, k.OH*t.blocks)
	weights := t.blocks * t.kk * ocBlock
	best, bestShort := -1, 0
	for r := 1; r <= min(k.OH, want); r++ {
		b := min(t.blocks, (want+r-1)/r)
		ohSize := (k.OH + r - 1) / r
		ohs := (k.OH + ohSize - 1) / ohSize
		short := max(0, want-ohs*b) // pieces fewer than wanted
		rows := (ohSize-1)*k.SH + (k.KH-1)*k.DH + 1
		moved := ohs * weights
		if !t.inPlace && !t.shared {
			moved += b * ohs * t.cg * rows * k.W
		}
		if best < 0 || short < bestShort || (short == bestShort && moved < best) {
			best, bestShort = moved, short
			t.ohSize, t.ohs = ohSize, ohs
			t.blockSize = (t.blocks + b - 1) / b
			t.bpieces = (t.blocks + t.blockSize - 1) / t.blockSize
		}
	}
}

// inPlaceBand returns the band that is the cg channels of X: no padding,
// one phase (SW is 1).
func inPlaceBand(k *Conv2D, cg int) convBand {
	b := convBand{u: k.W, rowStride: k.W, rowStep: k.SH * k.W, pitch: 1, chans: k.H * k.W}
	b.setOffsets(k, cg)
	return b
}

// btoi is 1 for true, 0 for false.
func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ocMaxShared bounds the shared padded input, in floats (64 MiB).
const ocMaxShared = 1 << 24

// Tasks implements Task: the first stage's, then the tiles'.
func (t *convOCBlock) Tasks() int { return t.fills + t.k.N*t.k.Group*t.bpieces*t.ohs }

// Stage implements Staged.
func (t *convOCBlock) Stage() int { return t.fills }

// Shared implements Staged.
func (t *convOCBlock) Shared() int {
	if !t.shared {
		return 0
	}
	return t.k.N * t.k.Group * t.cg * t.chans
}

// UseShared implements Staged.
func (t *convOCBlock) UseShared(buf []float32) { t.buf = buf[:t.Shared()] }

// Scratch implements Task: the band of a piece's rows, unless shared.
func (t *convOCBlock) Scratch() int {
	if t.inPlace || t.shared {
		return 0
	}
	return t.cg * t.chans
}

// Run implements Task.
func (t *convOCBlock) Run(piece int, scratch []float32) {
	k := t.k
	if t.shared {
		t.once.Do(func() {
			if t.buf == nil {
				t.buf = make([]float32, t.Shared())
			}
		})
	}
	if piece < t.fills {
		// Channels [c0, c1) of an image and group, every row.
		per := (t.cg + t.fillSize - 1) / t.fillSize
		c0 := piece % per * t.fillSize
		c1 := min(t.cg, c0+t.fillSize)
		ng := piece / per // n*Group + grp
		band := t.buf[(ng*t.cg+c0)*t.chans : (ng*t.cg+c1)*t.chans]
		in := t.x[(ng*t.cg+c0)*k.H*k.W : (ng*t.cg+c1)*k.H*k.W]
		t.fill(k, c1-c0, band, in, 0, (len(t.rowUsed)-1)*t.pitch+1)
		return
	}
	piece -= t.fills
	ob := piece % t.ohs
	piece /= t.ohs
	bp := piece % t.bpieces
	piece /= t.bpieces
	grp, n := piece%k.Group, piece/k.Group

	oh0 := ob * t.ohSize
	oh1 := min(k.OH, oh0+t.ohSize)
	band := t.x[(n*k.C+grp*t.cg)*k.H*k.W:][:t.cg*k.H*k.W]
	r0 := 0 // the band's first row, in output rows
	switch {
	case t.shared:
		band = t.buf[(n*k.Group+grp)*t.cg*t.chans:][:t.cg*t.chans]
	case !t.inPlace:
		in := band
		band = scratch[:t.cg*t.chans]
		t.fill(k, t.cg, band, in, oh0*k.SH, (oh1-1-oh0)*k.SH+(k.KH-1)*k.DH+1)
		r0 = oh0
	}

	b0, b1 := bp*t.blockSize, min(t.blocks, (bp+1)*t.blockSize)
	// Rows of at most ocMaxP/2 outputs go two to a tile.
	step := 1
	if 2*k.OW <= ocMaxP {
		step = 2
	}
	for b := b0; b < b1; b++ {
		for oh := oh0; oh < oh1; oh += step {
			t.tiles(band, n, grp, b, oh, min(oh+step, oh1), r0)
		}
	}
}

// tiles runs channel block b of group grp of image n over output rows
// [oh, oh1), one row or two (a two-row tile), of the band whose first row
// is output row r0's.
func (t *convOCBlock) tiles(band []float32, n, grp, b, oh, oh1, r0 int) {
	k := t.k
	a := t.w[(grp*t.blocks+b)*t.kk*ocBlock:][:t.kk*ocBlock]
	ch := grp*t.mg + b*ocBlock // first output channel
	ocs := min(ocBlock, t.mg-b*ocBlock)
	var bias []float32
	if t.bias != nil {
		bias = t.bias[ch : ch+ocs]
	}
	x := band[(oh-r0)*t.rowStep:]
	off := (n*k.M+ch)*t.ohw + oh*k.OW
	var z []float32
	if oh1-oh == 2 {
		if t.z != nil {
			z = t.z[off:]
		}
		x2 := band[(oh+1-r0)*t.rowStep:]
		convOCRow(t.kk, a, t.offs, x, x2, k.OW, t.maxOff, t.y[off:], t.ohw, z, bias, ocs, 2*k.OW, t.flags, t.lo, t.hi)
		return
	}
	ow := 0
	for _, p := range t.seg {
		if t.z != nil {
			z = t.z[off+ow:]
		}
		convOCRow(t.kk, a, t.offs, x[ow:], nil, 0, t.maxOff, t.y[off+ow:], t.ohw, z, bias, ocs, p, t.flags, t.lo, t.hi)
		ow += p
	}
}

// convOCRowGeneric is the reference loop of the AlgoOCBlock micro-kernel:
// for output channels o < ocs and positions j < p, with a the block's
// packed weights [kk][32] and offs the taps' offsets into x,
//
//	s := sum over t < kk of a[t*32+o] * x[offs[t]+j]   (in order of t)
//	s += bias[o]     under tileBias
//	s += z[o*ohw+j]  under tileZ
//	y[o*ohw+j] = min(max(s, lo), hi) under tileAct (NaN stays NaN), else s
//
// With split > 0 the tile is two output rows of split = p/2 positions,
// and positions j ≥ split read x2[offs[t]+j-split] instead. (maxOff, the
// largest offset, serves the assembly's bounds check.)
func convOCRowGeneric(kk int, a []float32, offs []int32, x, x2 []float32, split, maxOff int, y []float32, ohw int, z, bias []float32, ocs, p int, flags uint64, lo, hi float32) {
	for o := 0; o < ocs; o++ {
		for j := 0; j < p; j++ {
			xs, jj := x, j
			if split > 0 && j >= split {
				xs, jj = x2, j-split
			}
			var s float32
			for t, off := range offs[:kk] {
				s += a[t*ocBlock+o] * xs[int(off)+jj]
			}
			if flags&tileBias != 0 {
				s += bias[o]
			}
			if flags&tileZ != 0 {
				s += z[o*ohw+j]
			}
			if flags&tileAct != 0 {
				if s < lo {
					s = lo
				} else if s > hi {
					s = hi
				}
			}
			y[o*ohw+j] = s
		}
	}
}

// convOCRow is the AlgoOCBlock micro-kernel at the active level
// (setOCBlockISA).
var convOCRow = convOCRowGeneric

// convOCRowChecked panics unless the micro-kernel's operands hold what
// its reference loop reads and writes.
func convOCRowChecked(kk int, a []float32, offs []int32, x, x2 []float32, split, maxOff int, y []float32, ohw int, z, bias []float32, ocs, p int, flags uint64) {
	last := (ocs-1)*ohw + p // one past the last output
	reach := p              // floats read past an offset in x
	if split > 0 {
		reach = split
	}
	if kk < 1 || ocs < 1 || ocs > ocBlock || p < 1 || p > ocMaxP || ohw < p ||
		(split != 0 && (2*split != p || len(x2) < maxOff+split)) ||
		len(a) < kk*ocBlock || len(offs) < kk || maxOff < 0 || len(x) < maxOff+reach || len(y) < last ||
		(flags&tileZ != 0 && len(z) < last) || (flags&tileBias != 0 && len(bias) < ocs) {
		panic("kernels: ocblock row operands out of range")
	}
}
