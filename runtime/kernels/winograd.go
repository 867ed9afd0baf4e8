package kernels

import (
	"sync"

	"github.com/cnnc/cnnc/ir"
)

// Winograd convolution F(m×m, 3×3), after Lavin & Gray, "Fast Algorithms
// for Convolutional Neural Networks" (CVPR 2016), for the 3×3, stride-1,
// undilated, ungrouped convolutions that Conv2D runs with AlgoWinograd2
// (m = 2) and AlgoWinograd4 (m = 4).
//
// The output is cut into m×m tiles, each computed from the α×α input tile
// (α = m+2) that covers its windows:
//
//	Y_tile = Aᵀ [ Σ_c (G g_c Gᵀ) ⊙ (Bᵀ d_c B) ] A
//
// for the 3×3 filters g_c and input tiles d_c of the input channels c. At
// each of the α² positions ξ of the transformed tile the sum over c is a
// matrix product over all output channels and tiles at once:
//
//	M_ξ[k, t] = Σ_c U_ξ[k, c] · V_ξ[c, t],  U_ξ = (G g_kc Gᵀ)_ξ, V_ξ = (Bᵀ d_ct B)_ξ
//
// so the convolution becomes α² GEMMs (M×C by C×tiles) between two cheap
// transforms. U is computed once, when the weights are packed (in float64,
// rounded once); V is computed per block of tiles into a worker's scratch,
// 16 tiles a vector (winograd_transform.go; AVX-512 and AVX2/FMA assembly
// from _asm/winograd), directly in the layout of the GEMM's packed B; the
// products run on the SGEMM row kernel; the output transform Aᵀ M A is
// fused with the bias, the residual and the activation and writes only the
// valid output positions.
//
// The transforms are Toom-Cook interpolations at chosen points.
// F(2×2, 3×3) uses Lavin's 0, 1, -1 and ∞ (coefficients 0, ±1, ±1/2, exact
// in binary). F(4×4, 3×3) uses 0, 1, -1, 1/2, -2 and ∞ rather than Lavin's
// 0, ±1, ±2, ∞: the same cost (every coefficient of Aᵀ and Bᵀ is a dyadic
// fraction, exact in float32) and, as Barabasz et al. ("Error analysis and
// improving the accuracy of Winograd convolution for deep neural
// networks", 2020) found, about half to a third of the error, which comes
// mostly from the float32 sums of the GEMMs amplified by Aᵀ. Measured
// against a float64 direct convolution on ResNet layers (C = 64..512,
// max|diff|/max|ref|): F(2×2) 2e-7..9e-7, below a direct float32
// convolution's 6e-7..3e-6; F(4×4) about 2e-6..9.5e-6 with these points
// (the most at 512 channels), where Lavin's gave 5e-6..1.3e-5.
//
// Non-finite values spread further than in a direct convolution: an Inf or
// NaN input makes every output of the tiles whose input tile holds it Inf
// or NaN (a NaN where a direct convolution may give Inf), and the
// transforms can overflow on inputs within about 1/100 of the float32
// range.

// Layout and task split. The tiles are numbered image by image, row by
// row; a block of consecutive tiles is the unit one piece of the task
// transforms. V, the transformed input of a block, is kept as the GEMM's
// packed B: for each position ξ, for each K-block of at most wgKC
// channels, panels of 16 tiles (one vector lane each) holding the block's
// channels in turn, so that the transforms store whole vectors and the
// GEMM micro-kernel reads V in place. M, the products, is kept per output
// channel and ξ as rows of the block's tiles.
//
// A block holds at most wgMaxTiles tiles, a multiple of 16 unless it is
// all of them, and fewer when its V would exceed wgVBudget floats; the
// GEMMs run over wgRows output channels at a time, the unit in which the
// filters are packed. When there are fewer than wgMinTasks blocks (deep
// layers, few tiles), the output channels are split too, at least
// wgMinRows per piece. The block's V is then transformed once by a first
// stage of pieces (wgFillChans channels or more each) into a buffer all
// pieces share (Staged), not by every piece that reads it.
const (
	wgMaxTiles = 64
	wgVBudget  = 36 * 512 * 64 // floats (4.5 MiB): a block of 64 tiles at 512 channels
	wgKC       = 512
	wgRows     = 64
	wgMinTasks = 8
	wgMinRows  = 64
	wgMaxDim   = 1 << 24
	// wgFillChans is the fewest channels a first-stage piece transforms.
	wgFillChans = 32
)

// wgPlan is the geometry of one Winograd convolution, derived from its
// Conv2D alone, so that packing and binding agree on the packed layout.
type wgPlan struct {
	k                     Conv2D
	m, alpha, a2          int // output tile, input tile, transformed positions
	tilesH, tilesW, tiles int // tiles per image along H and W; over all images
	blockT, blocks        int // tiles of the largest block (16·panels, or all tiles); blocks
	panels                int // 16-tile panels of the largest block
	basePanels, extra     int // blocks have basePanels panels, the first extra one more
	kc, kbs               int // channels per K-block (the last may have fewer); K-blocks
	rows                  int // output channels per filter chunk: wgRows rounded up to the GEMM's tile
	subs, perTask, splits int // filter chunks; filter chunks per piece; pieces per block
	subLen                int // packed floats of a full chunk: a2·packedALen(rows, C)
	packedLen             int
	vLen, oLen            int // scratch: V of a block; M of a chunk (16 floats of slack)
	fills, fillC          int // first-stage pieces (0: each piece transforms its block); channels each
}

// winogradCheck returns an error saying why Winograd cannot compute k, or
// nil when it can.
func winogradCheck(k *Conv2D) error {
	_, err := newWGPlan(k)
	return err
}

// newWGPlan checks that k is a convolution Winograd computes and returns its
// plan.
func newWGPlan(k *Conv2D) (*wgPlan, error) {
	p := &wgPlan{k: *k}
	switch k.Algo {
	case ir.AlgoWinograd2:
		p.m = 2
	case ir.AlgoWinograd4:
		p.m = 4
	default:
		return nil, ir.Invalidf("conv2d: algo %v is not a Winograd algorithm", k.Algo)
	}
	switch {
	case k.KH != 3 || k.KW != 3:
		return nil, ir.Invalidf("conv2d: algo %v needs a 3x3 kernel, got %dx%d", k.Algo, k.KH, k.KW)
	case k.SH != 1 || k.SW != 1:
		return nil, ir.Invalidf("conv2d: algo %v needs strides 1x1, got %dx%d", k.Algo, k.SH, k.SW)
	case k.DH != 1 || k.DW != 1:
		return nil, ir.Invalidf("conv2d: algo %v needs dilations 1x1, got %dx%d", k.Algo, k.DH, k.DW)
	case k.Group != 1:
		return nil, ir.Invalidf("conv2d: algo %v needs group 1, got %d", k.Algo, k.Group)
	}
	for _, d := range [...]struct {
		name string
		v    int
	}{{"N", k.N}, {"C", k.C}, {"H", k.H}, {"W", k.W}, {"M", k.M}, {"OH", k.OH}, {"OW", k.OW}} {
		if d.v < 1 || d.v > wgMaxDim {
			return nil, ir.Invalidf("conv2d: %s is %d, want 1..%d", d.name, d.v, wgMaxDim)
		}
	}
	if k.PadT < -wgMaxDim || k.PadT > wgMaxDim || k.PadL < -wgMaxDim || k.PadL > wgMaxDim {
		return nil, ir.Invalidf("conv2d: pads %d, %d out of range ±%d", k.PadT, k.PadL, wgMaxDim)
	}
	if err := k.Act.Check(); err != nil {
		return nil, err
	}
	if _, ok := wgProduct(k.N, k.C, k.H, k.W); !ok {
		return nil, ir.Invalidf("conv2d: X is %dx%dx%dx%d, too large", k.N, k.C, k.H, k.W)
	}
	if _, ok := wgProduct(k.N, k.M, k.OH, k.OW); !ok {
		return nil, ir.Invalidf("conv2d: Y is %dx%dx%dx%d, too large", k.N, k.M, k.OH, k.OW)
	}
	if _, ok := wgProduct(k.M, k.C, 36); !ok {
		return nil, ir.Invalidf("conv2d: %dx%d Winograd filters, too large", k.M, k.C)
	}
	p.alpha = p.m + 2
	p.a2 = p.alpha * p.alpha
	p.tilesH = (k.OH + p.m - 1) / p.m
	p.tilesW = (k.OW + p.m - 1) / p.m
	if _, ok := wgProduct(k.N, p.tilesH, p.tilesW); !ok {
		return nil, ir.Invalidf("conv2d: %d images of %dx%d tiles, too many", k.N, p.tilesH, p.tilesW)
	}
	p.tiles = k.N * p.tilesH * p.tilesW

	// Blocks: as few as fit wgMaxTiles and the V budget, the panels of 16
	// tiles dealt out evenly (196 tiles: 4, 3, 3 and 3 panels, not 4, 4, 4
	// and 1, which left one of two workers idle for a quarter of the layer).
	p.blocks, p.basePanels, p.extra = wgBlocking(p.tiles, p.a2*k.C)
	p.panels = p.basePanels + btoi(p.extra > 0)
	p.blockT = min(p.panels*16, p.tiles)
	p.kbs = (k.C + wgKC - 1) / wgKC
	p.kc = (k.C + p.kbs - 1) / p.kbs

	p.rows = (wgRows + gemmMR - 1) / gemmMR * gemmMR
	p.subs = (k.M + p.rows - 1) / p.rows
	p.perTask = p.subs
	if p.blocks < wgMinTasks {
		want := min((wgMinTasks+p.blocks-1)/p.blocks, max(k.M/wgMinRows, 1))
		p.perTask = (p.subs + want - 1) / want
	}
	p.splits = (p.subs + p.perTask - 1) / p.perTask

	p.subLen = p.a2 * packedALen(min(p.rows, k.M), k.C)
	last := k.M - (p.subs-1)*p.rows
	p.packedLen = (p.subs-1)*p.subLen + p.a2*packedALen(last, k.C)
	p.vLen = p.a2 * k.C * p.panels * 16
	if p.splits > 1 {
		parts := min(max(wgMinTasks/p.blocks, 1), max(k.C/wgFillChans, 1))
		p.fillC = (k.C + parts - 1) / parts
		p.fills = p.blocks * ((k.C + p.fillC - 1) / p.fillC)
	}
	p.oLen = min(p.rows, k.M)*p.a2*p.panels*16 + 16
	return p, nil
}

// wgBlocking cuts tiles, perTile transformed floats each, into blocks: as
// few as hold at most wgMaxTiles tiles and wgVBudget floats of V, with the
// tiles' panels of 16 dealt out evenly, basePanels to each and one more to
// the first extra. (passes/algo.go's wgBlocks mirrors it.)
func wgBlocking(tiles, perTile int) (blocks, basePanels, extra int) {
	maxT := min(wgMaxTiles, max(wgVBudget/max(perTile, 1)/16*16, 16))
	panels := (tiles + 15) / 16
	blocks = (tiles + maxT - 1) / maxT
	return blocks, panels / blocks, panels % blocks
}

// block returns the first tile and the number of tiles of block blk.
func (p *wgPlan) block(blk int) (t0, nt int) {
	t0 = 16 * (blk*p.basePanels + min(blk, p.extra))
	n := 16 * (p.basePanels + btoi(blk < p.extra))
	return t0, min(n, p.tiles-t0)
}

// wgMaxLen bounds every element count a Winograd plan computes, so that
// no product of its sizes overflows an int.
const wgMaxLen = int(^uint(0)>>1) >> 8

// wgProduct returns the product of dims (each >= 0) and whether it is at
// most wgMaxLen.
func wgProduct(dims ...int) (int, bool) {
	p := 1
	for _, d := range dims {
		if d < 0 || d != 0 && p > wgMaxLen/d {
			return 0, false
		}
		p *= d
	}
	return p, true
}

// winogradPackedLen returns the length of the filters packed by
// PackConvWeights for k, or 0 when k is not a convolution Winograd computes
// (bindWinograd then says why).
func winogradPackedLen(k *Conv2D) int {
	p, err := newWGPlan(k)
	if err != nil {
		return 0
	}
	return p.packedLen
}

// packRows (below) transforms W [M, C, 3, 3] (Group 1) into the Winograd
// domain and packs it for the batched GEMMs, in the order and layout of
// packA: for each chunk of the plan's rows output channels (wgRows rounded
// up to the GEMM's row tile; the last chunk may have fewer), for each
// transformed position ξ, the chunk's rows of U_ξ [M, C], U_ξ[k, c] = (G
// g_kc Gᵀ)_ξ computed in float64 and rounded once to float32.

// checkPack checks the lengths of the filters w and the packed out.
func (p *wgPlan) checkPack(out, w []float32) error {
	if len(w) != p.k.M*p.k.C*9 {
		return ir.Invalidf("conv2d: weights have %d elements, want %d (%dx%dx3x3)", len(w), p.k.M*p.k.C*9, p.k.M, p.k.C)
	}
	if len(out) != p.packedLen {
		return ir.Invalidf("conv2d: packed Winograd weights have %d elements, want %d", len(out), p.packedLen)
	}
	return nil
}

// packRows writes the packed filters of output channels [r0, r1), src
// ([r1-r0, C, 3, 3]), into out, with r0 and r1 on row tiles (multiples of
// gemmMR, or r1 = M), and the
// zero rows that pad a chunk's last tile: pieces of disjoint ranges write
// disjoint elements.
//
// It goes a row tile at a time, wgPackC channels at a time, transforming
// into a small buffer laid out as the destination (ξ-major, then channel,
// then row) whose ξ planes are wgPackStride apart, then copies each plane
// out whole. Writing the planes directly, 36 streams exactly a multiple of
// 4 KiB apart, was three times slower.
func (p *wgPlan) packRows(out, src []float32, r0, r1 int) {
	C, M := p.k.C, p.k.M
	var u [36]float32
	var buf [36 * wgPackStride]float32
	for r := r0; r < r1; r += gemmMR {
		s, i := r/p.rows, r%p.rows
		mr := min(p.rows, M-s*p.rows)
		pal := packedALen(mr, C) // floats of one ξ of the chunk
		end := min(r+gemmMR, s*p.rows+mr)
		tile := out[s*p.subLen+i*C:]
		for c0 := 0; c0 < C; c0 += wgPackC {
			nc := min(wgPackC, C-c0)
			for c := 0; c < nc; c++ {
				for t := 0; t < gemmMR; t++ {
					if r+t >= end {
						for xi := 0; xi < p.a2; xi++ {
							buf[xi*wgPackStride+c*gemmMR+t] = 0
						}
						continue
					}
					wgTransformFilter(p.m, src[((r-r0+t)*C+c0+c)*9:][:9], &u)
					for xi, v := range u[:p.a2] {
						buf[xi*wgPackStride+c*gemmMR+t] = v
					}
				}
			}
			for xi := 0; xi < p.a2; xi++ {
				copy(tile[xi*pal+c0*gemmMR:][:nc*gemmMR], buf[xi*wgPackStride:][:nc*gemmMR])
			}
		}
	}
}

// wgPackC is the channels packRows transforms before copying them out, and
// wgPackStride the distance of its buffer's ξ planes: wgPackC row tiles
// and a cache line, so that the planes fall in different L1 sets.
const (
	wgPackC      = 32
	wgPackStride = wgPackC*gemmMR + 16
)

// wgTransformFilter writes U = G f Gᵀ of the 3×3 filter f (row-major) for
// F(m×m, 3×3) into u[:(m+2)²] (row-major), in float64 rounded once: G
// applied to f's columns, then to each row of the result. The products are
// spelled out (wgG2x, wgG4x) and the intermediate kept in registers: a
// training step transforms every filter each run.
func wgTransformFilter(m int, f []float32, u *[36]float32) {
	f = f[:9]
	f0, f1, f2 := float64(f[0]), float64(f[1]), float64(f[2])
	f3, f4, f5 := float64(f[3]), float64(f[4]), float64(f[5])
	f6, f7, f8 := float64(f[6]), float64(f[7]), float64(f[8])
	if m == 2 {
		a0, a1, a2, a3 := wgG2x(f0, f3, f6)
		b0, b1, b2, b3 := wgG2x(f1, f4, f7)
		c0, c1, c2, c3 := wgG2x(f2, f5, f8)
		wgStore4(u[0:4], a0, b0, c0)
		wgStore4(u[4:8], a1, b1, c1)
		wgStore4(u[8:12], a2, b2, c2)
		wgStore4(u[12:16], a3, b3, c3)
		return
	}
	a0, a1, a2, a3, a4, a5 := wgG4x(f0, f3, f6)
	b0, b1, b2, b3, b4, b5 := wgG4x(f1, f4, f7)
	c0, c1, c2, c3, c4, c5 := wgG4x(f2, f5, f8)
	wgStore6(u[0:6], a0, b0, c0)
	wgStore6(u[6:12], a1, b1, c1)
	wgStore6(u[12:18], a2, b2, c2)
	wgStore6(u[18:24], a3, b3, c3)
	wgStore6(u[24:30], a4, b4, c4)
	wgStore6(u[30:36], a5, b5, c5)
}

// wgStore4 and wgStore6 write G·(a, b, c), one row of U, into o.
func wgStore4(o []float32, a, b, c float64) {
	o = o[:4]
	u0, u1, u2, u3 := wgG2x(a, b, c)
	o[0], o[1], o[2], o[3] = float32(u0), float32(u1), float32(u2), float32(u3)
}

func wgStore6(o []float32, a, b, c float64) {
	o = o[:6]
	u0, u1, u2, u3, u4, u5 := wgG4x(a, b, c)
	o[0], o[1], o[2], o[3], o[4], o[5] = float32(u0), float32(u1), float32(u2), float32(u3), float32(u4), float32(u5)
}

// wgG2x and wgG4x return G·(f0, f1, f2) for F(2×2, 3×3) and F(4×4, 3×3):
// the rows of G (wgG2 and wgG4, in winograd_test.go, which holds these
// to them), their zeros and shared sums taken out.
func wgG2x(f0, f1, f2 float64) (_, _, _, _ float64) {
	s := (f0 + f2) * 0.5
	h := f1 * 0.5
	return f0, s + h, s - h, f2
}

func wgG4x(f0, f1, f2 float64) (_, _, _, _, _, _ float64) {
	const third, fifteenth = 1.0 / 3, 1.0 / 15
	s := (f0 + f2) * third
	h := f1 * third
	return f0, s + h, h - s, -(16*f0 + 8*f1 + 4*f2) * fifteenth, (f0 - 2*f1 + 4*f2) * fifteenth, f2
}

// bindWinograd returns the task computing k (3x3, stride 1, dilation 1,
// Group 1, any padding) on X, the packed filters pw, the optional bias
// (nil) and residual z (nil), into Y, with k.Act applied. z may be y (each
// output element reads only its own residual element); x must not overlap
// y.
func bindWinograd(k *Conv2D, x, pw, bias, z, y []float32) (Task, error) {
	p, err := newWGPlan(k)
	if err != nil {
		return nil, err
	}
	in, out := k.N*k.C*k.H*k.W, k.N*k.M*k.OH*k.OW
	switch {
	case len(x) != in:
		return nil, ir.Invalidf("conv2d: X has %d elements, want %d", len(x), in)
	case len(pw) != p.packedLen:
		return nil, ir.Invalidf("conv2d: packed Winograd weights have %d elements, want %d", len(pw), p.packedLen)
	case bias != nil && len(bias) != k.M:
		return nil, ir.Invalidf("conv2d: bias has %d elements, want %d", len(bias), k.M)
	case z != nil && len(z) != out:
		return nil, ir.Invalidf("conv2d: residual has %d elements, want %d", len(z), out)
	case len(y) != out:
		return nil, ir.Invalidf("conv2d: Y has %d elements, want %d", len(y), out)
	}
	t := &wgTask{wgPlan: p, x: x, pw: pw, bias: bias, z: z, y: y}
	t.flags, t.lo, t.hi = (&epilogue{bias: bias, z: z, act: k.Act}).tileFlags(true, true)
	return t, nil
}

// wgTask is a bound Winograd convolution. With a first stage (fills >
// 0), piece t < fills transforms channels fillC·(t%per) up to the next
// fillC of block t/per (per pieces a block) into the shared V; the others,
// and every piece without one, compute block t/splits of tiles for the
// filter chunks perTask·(t%splits) up to the next perTask.
type wgTask struct {
	*wgPlan
	x, pw, bias, z, y []float32
	flags             uint64 // the output's epilogue: tileBias, tileZ, tileAct
	lo, hi            float32
	once              sync.Once
	buf               []float32 // the shared V of every block (first stage)
}

// Tasks implements Task.
func (t *wgTask) Tasks() int { return t.fills + t.blocks*t.splits }

// Stage implements Staged.
func (t *wgTask) Stage() int { return t.fills }

// Shared implements Staged: V of every block, with a first stage.
func (t *wgTask) Shared() int {
	if t.fills == 0 {
		return 0
	}
	return t.blocks * t.vLen
}

// UseShared implements Staged.
func (t *wgTask) UseShared(buf []float32) { t.buf = buf[:t.Shared()] }

// Scratch implements Task: M of a chunk, and V of a block unless shared.
func (t *wgTask) Scratch() int {
	if t.fills > 0 {
		return t.oLen
	}
	return t.vLen + t.oLen
}

// Run implements Task.
func (t *wgTask) Run(piece int, scratch []float32) {
	if t.fills > 0 {
		t.once.Do(func() {
			if t.buf == nil {
				t.buf = make([]float32, t.Shared())
			}
		})
		per := t.fills / t.blocks
		if piece < t.fills {
			blk := piece / per
			t0, nt := t.block(blk)
			c0 := piece % per * t.fillC
			t.input(t.buf[blk*t.vLen:][:t.vLen], t0, nt, c0, min(t.k.C, c0+t.fillC))
			return
		}
		piece -= t.fills
	}
	blk, sp := piece/t.splits, piece%t.splits
	t0, nt := t.block(blk)
	var v, o []float32
	if t.fills > 0 {
		v, o = t.buf[blk*t.vLen:][:t.vLen], scratch[:t.oLen]
	} else {
		v, o = scratch[:t.vLen], scratch[t.vLen:t.vLen+t.oLen]
		t.input(v, t0, nt, 0, t.k.C)
	}
	s1 := min(t.subs, (sp+1)*t.perTask)
	for s := sp * t.perTask; s < s1; s++ {
		r0 := s * t.rows
		mr := min(t.rows, t.k.M-r0)
		t.products(o, v, s, mr, nt)
		t.output(o, r0, mr, t0, nt)
	}
}

// segments calls f for each run of at most 16 consecutive tiles of one
// tile row among the nt tiles from t0: image n, tile row th, first tile
// column tw, ns tiles, the first being the block's tile b.
func (p *wgPlan) segments(t0, nt int, f func(n, th, tw, ns, b int)) {
	per := p.tilesH * p.tilesW
	for b := 0; b < nt; {
		t := t0 + b
		n, th, tw := t/per, t%per/p.tilesW, t%p.tilesW
		ns := min(16, p.tilesW-tw, nt-b)
		f(n, th, tw, ns, b)
		b += ns
	}
}

// input writes V of channels [c0, c1), the transform of the nt tiles from
// t0, into v.
func (t *wgTask) input(v []float32, t0, nt, c0, c1 int) {
	k := &t.k
	m, a := t.m, t.alpha
	hw := k.H * k.W
	xs := k.C * t.panels * 16 // one position ξ
	t.segments(t0, nt, func(n, th, tw, ns, b int) {
		ih, iw := th*m-k.PadT, tw*m-k.PadL
		var rows uint64
		for r := 0; r < a; r++ {
			if ih+r >= 0 && ih+r < k.H {
				rows |= 1 << r
			}
		}
		lo, hi := max(0, -iw), min(m*ns+2, k.W-iw)
		if lo >= hi {
			rows = 0
		}
		cm0, cm1 := wgBits(lo, min(hi, 64)), wgBits(max(lo, 64)-64, max(hi, 64)-64)
		p, l := b/16, b%16
		first := min(ns, 16-l)
		msk := wgBits(0, first) | wgBits(16-l, ns)<<16
		for kb := c0 / t.kc; kb*t.kc < c1; kb++ {
			kb0 := kb * t.kc
			kcb := min(t.kc, k.C-kb0)
			ch0, ch1 := max(c0, kb0), min(c1, kb0+kcb) // channels of this K-block
			off := kb0*t.panels*16 + (ch0-kb0)*16      // the K-block's panels, channel ch0
			wgInput(m, t.x, v, wgIn{
				xb: (n*k.C + ch0) * hw, off: ih*k.W + iw, ld: k.W, hw: hw, nc: ch1 - ch0,
				rows: rows, cm0: cm0, cm1: cm1,
				d0: off + p*kcb*16 + l, d1: off + (p+1)*kcb*16 - (16 - l), msk: msk, xs: xs,
			})
		}
	})
}

// wgBits returns the mask of bits [lo, hi) (none when hi <= lo).
func wgBits(lo, hi int) uint64 {
	if hi <= lo {
		return 0
	}
	var m uint64 = ^uint64(0)
	if hi < 64 {
		m = 1<<hi - 1
	}
	return m &^ (1<<lo - 1)
}

// products computes M = U·V for filter chunk s (mr output channels) over
// the block's nt tiles into o: row i of ξ at o[i·ldo + ξ·16·panels].
func (t *wgTask) products(o, v []float32, s, mr, nt int) {
	C := t.k.C
	os := t.panels * 16
	ldo := t.a2 * os
	xs := C * os
	pal := packedALen(mr, C)
	pa := t.pw[s*t.subLen:]
	for xi := 0; xi < t.a2; xi++ {
		u := pa[xi*pal : (xi+1)*pal]
		for kb := 0; kb < t.kbs; kb++ {
			c0 := kb * t.kc
			kcb := min(t.kc, C-c0)
			var flags uint64
			if kb > 0 {
				flags = tileAccum
			}
			b := v[xi*xs+c0*os:]
			for i0 := 0; i0 < mr; i0 += gemmMR {
				gemmRow(kcb, u[i0*C+c0*gemmMR:][:kcb*gemmMR], b, o[i0*ldo+xi*os:], ldo, nil, nil, min(gemmMR, mr-i0), nt, flags, 0, 0)
			}
		}
	}
}

// output transforms M of output channels r0..r0+mr-1 over the block's nt
// tiles from t0 and stores them with the epilogue.
func (t *wgTask) output(o []float32, r0, mr, t0, nt int) {
	k := &t.k
	m := t.m
	ohw := k.OH * k.OW
	os := t.panels * 16
	var bias []float32
	if t.bias != nil {
		bias = t.bias[r0 : r0+mr]
	}
	t.segments(t0, nt, func(n, th, tw, ns, b int) {
		oh, ow := th*m, tw*m
		wgOutput(m, o, t.y, t.z, bias, wgOut{
			ob: b, os: os, ldo: t.a2 * os, nk: mr,
			yb: (n*k.M+r0)*ohw + oh*k.OW + ow, ldy: k.OW, ohw: ohw,
			rows: min(m, k.OH-oh), cm: wgBits(0, min(m*ns, k.OW-ow)),
			flags: t.flags, lo: t.lo, hi: t.hi,
		})
	})
}
