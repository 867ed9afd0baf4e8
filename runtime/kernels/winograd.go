package kernels

import "github.com/cnnc/cnnc/ir"

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
// rounded once); V is computed per block of tiles into a worker's scratch;
// the output transform Aᵀ M A is fused with the bias, the residual and the
// activation and writes only the valid output positions.
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
// max|diff|/max|ref|): F(2×2) 2e-7..6e-7, below a direct float32
// convolution's 6e-7..3e-6; F(4×4) about 2e-6..6e-6 with these points,
// where Lavin's gave 5e-6..1.3e-5.
//
// Non-finite values spread further than in a direct convolution: an Inf or
// NaN input makes every output of the tiles whose input tile holds it Inf
// or NaN (a NaN where a direct convolution may give Inf), and the
// transforms can overflow on inputs within about 1/100 of the float32
// range.

// Tuning of the task split. A piece of the task is one block of tiles
// times a range of output channels. Blocks hold a multiple of the GEMM
// micro-kernel's width in tiles, about 1/wgTargetBlocks of them, but at least
// wgMinTiles and at most what keeps the block's transformed input within
// wgVBudget floats; the GEMMs run over wgRows output channels at a time,
// the unit in which the filters are packed. When there are fewer than
// wgMinTasks blocks (deep layers, few tiles), the output channels are
// split too, at least wgMinRows per piece, each piece then transforming
// the block's input again.
const (
	wgTargetBlocks = 16
	wgMinTiles     = 8
	wgMaxTiles     = 64
	wgVBudget      = 1 << 17 // floats (512 KiB)
	wgRows         = 64
	wgMinTasks     = 4
	wgMinRows      = 128
	wgMaxDim       = 1 << 24
)

// wgPlan is the geometry of one Winograd convolution, derived from its
// Conv2D alone, so that packing and binding agree on the packed layout.
type wgPlan struct {
	k                     Conv2D
	m, alpha, a2          int // output tile, input tile, transformed positions
	tilesH, tilesW, tiles int // tiles per image along H and W; over all images
	blockT, blocks        int // tiles per block (the last may have fewer); blocks
	rows                  int // output channels per filter chunk: wgRows rounded up to the GEMM's tile
	subs, perTask, splits int // filter chunks; filter chunks per piece; pieces per block
	subLen                int // packed floats of a full chunk: a2·packedALen(rows, C)
	packedLen             int
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

	// The GEMM core computes tiles of mr×nr; blocks of tiles and chunks of
	// output channels are multiples of them where they can be.
	mr := min(max(packedALen(1, 1), 1), 16)
	nr := min(max(gemmScratch(1, 1), 1), 16)
	t := p.tiles / wgTargetBlocks / nr * nr
	t = min(max(t, (wgMinTiles+nr-1)/nr*nr), max(wgVBudget/(p.a2*k.C)/nr*nr, nr), wgMaxTiles/nr*nr, p.tiles)
	p.blockT = t
	p.blocks = (p.tiles + t - 1) / t

	p.rows = (wgRows + mr - 1) / mr * mr
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
	return p, nil
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
// packWinograd for k, or 0 when k is not a convolution Winograd computes
// (bindWinograd then says why).
func winogradPackedLen(k *Conv2D) int {
	p, err := newWGPlan(k)
	if err != nil {
		return 0
	}
	return p.packedLen
}

// The transform matrices, in float64. G is α×3.
var (
	wgG2 = [4][3]float64{
		{1, 0, 0},
		{1.0 / 2, 1.0 / 2, 1.0 / 2},
		{1.0 / 2, -1.0 / 2, 1.0 / 2},
		{0, 0, 1},
	}
	wgG4 = [6][3]float64{
		{1, 0, 0},
		{1.0 / 3, 1.0 / 3, 1.0 / 3},
		{-1.0 / 3, 1.0 / 3, -1.0 / 3},
		{-16.0 / 15, -8.0 / 15, -4.0 / 15},
		{1.0 / 15, -2.0 / 15, 4.0 / 15},
		{0, 0, 1},
	}
)

// packWinograd transforms W [M, C, 3, 3] (Group 1) into the Winograd domain
// and packs it for the batched GEMMs: for each chunk of the plan's rows
// output channels (wgRows rounded up to the GEMM's row tile; the last
// chunk may have fewer), for each transformed position ξ,
// packA of the chunk's rows of U_ξ [M, C], U_ξ[k, c] = (G g_kc Gᵀ)_ξ
// computed in float64 and rounded once to float32.
func packWinograd(k *Conv2D, w []float32) ([]float32, error) {
	p, err := newWGPlan(k)
	if err != nil {
		return nil, err
	}
	C, M := k.C, k.M
	if len(w) != M*C*9 {
		return nil, ir.Invalidf("conv2d: weights have %d elements, want %d (%dx%dx3x3)", len(w), M*C*9, M, C)
	}
	var g [][3]float64
	if p.m == 2 {
		g = wgG2[:]
	} else {
		g = wgG4[:]
	}
	a := p.alpha
	out := make([]float32, p.packedLen)
	rows := min(p.rows, M)
	u := make([]float32, p.a2*rows*C) // one chunk, [ξ][row][c]
	var tmp [6][3]float64
	for s := 0; s < p.subs; s++ {
		r0 := s * p.rows
		mr := min(p.rows, M-r0)
		for r := 0; r < mr; r++ {
			for c := 0; c < C; c++ {
				f := w[((r0+r)*C+c)*9:][:9]
				for i := 0; i < a; i++ { // tmp = G g
					for j := 0; j < 3; j++ {
						tmp[i][j] = g[i][0]*float64(f[j]) + g[i][1]*float64(f[3+j]) + g[i][2]*float64(f[6+j])
					}
				}
				for i := 0; i < a; i++ { // U = tmp Gᵀ
					for j := 0; j < a; j++ {
						v := tmp[i][0]*g[j][0] + tmp[i][1]*g[j][1] + tmp[i][2]*g[j][2]
						u[((i*a+j)*mr+r)*C+c] = float32(v)
					}
				}
			}
		}
		pal := packedALen(mr, C)
		dst := out[s*p.subLen:]
		for xi := 0; xi < p.a2; xi++ {
			packA(dst[xi*pal:(xi+1)*pal], u[xi*mr*C:(xi+1)*mr*C], mr, C, C, 1)
		}
	}
	return out, nil
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
	last := p.tiles - (p.blocks-1)*p.blockT
	t.vLen = k.C * p.a2 * p.blockT
	t.oLen = min(p.rows, k.M) * p.a2 * p.blockT
	t.gLen = max(gemmScratch(k.C, p.blockT), gemmScratch(k.C, last))
	return t, nil
}

// wgTask is a bound Winograd convolution. Piece t computes block t/splits
// of tiles for the filter chunks perTask·(t%splits) up to the next
// perTask.
type wgTask struct {
	*wgPlan
	x, pw, bias, z, y []float32
	vLen, oLen, gLen  int // scratch: V, M for one filter chunk, GEMM's own
}

// Tasks implements Task.
func (t *wgTask) Tasks() int { return t.blocks * t.splits }

// Scratch implements Task.
func (t *wgTask) Scratch() int { return t.vLen + t.oLen + t.gLen + wgTileScratch }

// wgTileScratch is the scratch the input transforms keep one zero-padded
// border tile in (a local array would escape to the heap through the row
// pointers into it, allocating on every piece).
const wgTileScratch = 36

// Run implements Task.
func (t *wgTask) Run(piece int, scratch []float32) {
	blk, sp := piece/t.splits, piece%t.splits
	t0 := blk * t.blockT
	nt := min(t.tiles-t0, t.blockT)
	ld := t.a2 * nt // row stride of V and M: [row][ξ][tile]
	C, M := t.k.C, t.k.M
	v := scratch[:C*ld]
	o := scratch[t.vLen : t.vLen+min(t.rows, M)*ld]
	gs := scratch[t.vLen+t.oLen : t.vLen+t.oLen+t.gLen]
	d := (*[wgTileScratch]float32)(scratch[t.vLen+t.oLen+t.gLen:])
	if t.m == 2 {
		t.input2(v, d, t0, nt)
	} else {
		t.input4(v, d, t0, nt)
	}
	s1 := min(t.subs, (sp+1)*t.perTask)
	for s := sp * t.perTask; s < s1; s++ {
		r0 := s * t.rows
		mr := min(t.rows, M-r0)
		pal := packedALen(mr, C)
		pa := t.pw[s*t.subLen:]
		for xi := 0; xi < t.a2; xi++ {
			gemmPacked(mr, nt, C, pa[xi*pal:(xi+1)*pal], v[xi*nt:], ld, o[xi*nt:], ld, gs)
		}
		if t.m == 2 {
			t.output2(o, r0, mr, t0, nt)
		} else {
			t.output4(o, r0, mr, t0, nt)
		}
	}
}

// tileAt returns image n and tile row and column of tile index t.
func (p *wgPlan) tileAt(t int) (n, th, tw int) {
	per := p.tilesH * p.tilesW
	n, t = t/per, t%per
	return n, t / p.tilesW, t % p.tilesW
}

// next advances a tile position by one.
func (p *wgPlan) next(n, th, tw int) (int, int, int) {
	if tw++; tw == p.tilesW {
		tw = 0
		if th++; th == p.tilesH {
			th = 0
			n++
		}
	}
	return n, th, tw
}

// wgTile4 points rows at the 4×4 input tile whose top-left corner is
// (ih, iw) in the H×W plane: into the plane when the tile lies inside it,
// else into d, filled with the tile and zeros outside the plane.
func wgTile4(rows *[4]*[4]float32, d *[16]float32, plane []float32, H, W, ih, iw int) {
	if ih >= 0 && iw >= 0 && ih+4 <= H && iw+4 <= W {
		off := ih*W + iw
		for r := range rows {
			rows[r] = (*[4]float32)(plane[off+r*W:])
		}
		return
	}
	wgFill(d[:], 4, plane, H, W, ih, iw)
	for r := range rows {
		rows[r] = (*[4]float32)(d[4*r:])
	}
}

// wgTile6 is wgTile4 for 6×6 tiles.
func wgTile6(rows *[6]*[6]float32, d *[36]float32, plane []float32, H, W, ih, iw int) {
	if ih >= 0 && iw >= 0 && ih+6 <= H && iw+6 <= W {
		off := ih*W + iw
		for r := range rows {
			rows[r] = (*[6]float32)(plane[off+r*W:])
		}
		return
	}
	wgFill(d[:], 6, plane, H, W, ih, iw)
	for r := range rows {
		rows[r] = (*[6]float32)(d[6*r:])
	}
}

// wgFill copies the α×α input tile with top-left corner (ih, iw) of the
// H×W plane into d (row-major), with zeros outside the plane.
func wgFill(d []float32, alpha int, plane []float32, H, W, ih, iw int) {
	d = d[:alpha*alpha]
	for i := range d {
		d[i] = 0
	}
	c0, c1 := max(0, -iw), min(alpha, W-iw)
	if c0 >= c1 {
		return
	}
	for r := max(0, -ih); r < min(alpha, H-ih); r++ {
		copy(d[r*alpha+c0:r*alpha+c1], plane[(ih+r)*W+iw+c0:])
	}
}

// input2 writes V = Bᵀ d B of the tiles t0..t0+nt-1 for every channel into
// v[c][ξ][t] (row stride 16·nt), with (points 0, 1, -1, ∞)
//
//	Bᵀ = [1  0 -1  0
//	      0  1  1  0
//	      0 -1  1  0
//	      0  1  0 -1]
func (t *wgTask) input2(v []float32, d *[36]float32, t0, nt int) {
	k := &t.k
	ld := 16 * nt
	hw := k.H * k.W
	var rows [4]*[4]float32
	for c := 0; c < k.C; c++ {
		n, th, tw := t.tileAt(t0)
		for i := 0; i < nt; i++ {
			plane := t.x[(n*k.C+c)*hw:][:hw]
			wgTile4(&rows, (*[16]float32)(d[:16]), plane, k.H, k.W, th*2-k.PadT, tw*2-k.PadL)
			var s [16]float32
			for j := 0; j < 4; j++ {
				s[j], s[4+j], s[8+j], s[12+j] = wgBT2(rows[0][j], rows[1][j], rows[2][j], rows[3][j])
			}
			dst := v[c*ld+i:]
			for r := 0; r < 4; r++ {
				q := (*[4]float32)(s[4*r:])
				b := 4 * r * nt
				dst[b], dst[b+nt], dst[b+2*nt], dst[b+3*nt] = wgBT2(q[0], q[1], q[2], q[3])
			}
			n, th, tw = t.next(n, th, tw)
		}
	}
}

// wgBT2 returns Bᵀ·(d0..d3) for F(2×2, 3×3) (see input2).
func wgBT2(d0, d1, d2, d3 float32) (t0, t1, t2, t3 float32) {
	return d0 - d2, d1 + d2, d2 - d1, d1 - d3
}

// input4 writes V = Bᵀ d B of the tiles t0..t0+nt-1 for every channel into
// v[c][ξ][t] (row stride 36·nt), with (points 0, 1, -1, 1/2, -2, ∞)
//
//	Bᵀ = [1 -3/2   -2  3/2   1 0
//	      0   -1  1/2  5/2   1 0
//	      0    1 -5/2  1/2   1 0
//	      0   -2   -1    2   1 0
//	      0  1/2   -1 -1/2   1 0
//	      0    1 -3/2   -2 3/2 1]
func (t *wgTask) input4(v []float32, d *[36]float32, t0, nt int) {
	k := &t.k
	ld := 36 * nt
	hw := k.H * k.W
	var rows [6]*[6]float32
	for c := 0; c < k.C; c++ {
		n, th, tw := t.tileAt(t0)
		for i := 0; i < nt; i++ {
			plane := t.x[(n*k.C+c)*hw:][:hw]
			wgTile6(&rows, d, plane, k.H, k.W, th*4-k.PadT, tw*4-k.PadL)
			var s [36]float32
			for j := 0; j < 6; j++ {
				s[j], s[6+j], s[12+j], s[18+j], s[24+j], s[30+j] = wgBT4(rows[0][j], rows[1][j], rows[2][j], rows[3][j], rows[4][j], rows[5][j])
			}
			dst := v[c*ld+i:]
			for r := 0; r < 6; r++ {
				q := (*[6]float32)(s[6*r:])
				b := 6 * r * nt
				dst[b], dst[b+nt], dst[b+2*nt], dst[b+3*nt], dst[b+4*nt], dst[b+5*nt] = wgBT4(q[0], q[1], q[2], q[3], q[4], q[5])
			}
			n, th, tw = t.next(n, th, tw)
		}
	}
}

// wgBT4 returns Bᵀ·(d0..d5) for F(4×4, 3×3) (see input4).
func wgBT4(d0, d1, d2, d3, d4, d5 float32) (t0, t1, t2, t3, t4, t5 float32) {
	e31, e42 := d3-d1, d4-d2
	t0 = (d0 + d4) - 2*d2 + 1.5*e31
	t1 = (d4 - d1) + 0.5*d2 + 2.5*d3
	t2 = (d4 + d1) - 2.5*d2 + 0.5*d3
	t3 = e42 + 2*e31
	t4 = e42 - 0.5*e31
	t5 = (d1 + d5) - 2*d3 + 1.5*e42
	return
}

// output2 computes Aᵀ M A for output channels r0..r0+mr-1 of the tiles
// t0..t0+nt-1 from o[row][ξ][t] (row stride 16·nt), with
// Aᵀ = [1 1 1 0; 0 1 -1 -1], and stores them.
func (t *wgTask) output2(o []float32, r0, mr, t0, nt int) {
	ld := 16 * nt
	var e [4]float32
	for r := 0; r < mr; r++ {
		oi := o[r*ld : (r+1)*ld]
		ep := t.epilogue(r0 + r)
		n, th, tw := t.tileAt(t0)
		for i := 0; i < nt; i++ {
			var s [8]float32 // Aᵀ M, 2×4
			for j := 0; j < 4; j++ {
				s[j], s[4+j] = wgAT2(oi[j*nt+i], oi[(4+j)*nt+i], oi[(8+j)*nt+i], oi[(12+j)*nt+i])
			}
			e[0], e[1] = wgAT2(s[0], s[1], s[2], s[3])
			e[2], e[3] = wgAT2(s[4], s[5], s[6], s[7])
			t.store(e[:], 2, &ep, n, th*2, tw*2)
			n, th, tw = t.next(n, th, tw)
		}
	}
}

// wgAT2 returns Aᵀ·(m0..m3) for F(2×2, 3×3) (see output2).
func wgAT2(m0, m1, m2, m3 float32) (o0, o1 float32) {
	return m0 + m1 + m2, m1 - m2 - m3
}

// output4 computes Aᵀ M A for output channels r0..r0+mr-1 of the tiles
// t0..t0+nt-1 from o[row][ξ][t] (row stride 36·nt), with
//
//	Aᵀ = [1  1  1   1  1 0
//	      0  1 -1 1/2 -2 0
//	      0  1  1 1/4  4 0
//	      0  1 -1 1/8 -8 1]
//
// and stores them.
func (t *wgTask) output4(o []float32, r0, mr, t0, nt int) {
	ld := 36 * nt
	var e [16]float32
	for r := 0; r < mr; r++ {
		oi := o[r*ld : (r+1)*ld]
		ep := t.epilogue(r0 + r)
		n, th, tw := t.tileAt(t0)
		for i := 0; i < nt; i++ {
			var s [24]float32 // Aᵀ M, 4×6
			for j := 0; j < 6; j++ {
				s[j], s[6+j], s[12+j], s[18+j] = wgAT4(oi[j*nt+i], oi[(6+j)*nt+i], oi[(12+j)*nt+i],
					oi[(18+j)*nt+i], oi[(24+j)*nt+i], oi[(30+j)*nt+i])
			}
			for q := 0; q < 4; q++ {
				w := (*[6]float32)(s[6*q:])
				e[4*q], e[4*q+1], e[4*q+2], e[4*q+3] = wgAT4(w[0], w[1], w[2], w[3], w[4], w[5])
			}
			t.store(e[:], 4, &ep, n, th*4, tw*4)
			n, th, tw = t.next(n, th, tw)
		}
	}
}

// wgAT4 returns Aᵀ·(m0..m5) for F(4×4, 3×3) (see output4).
func wgAT4(m0, m1, m2, m3, m4, m5 float32) (o0, o1, o2, o3 float32) {
	a, b := m1+m2, m1-m2
	o0 = m0 + a + m3 + m4
	o1 = b + 0.5*m3 - 2*m4
	o2 = a + 0.25*m3 + 4*m4
	o3 = b + 0.125*m3 - 8*m4 + m5
	return
}

// wgEpilogue is what the output transform adds to one output channel:
// Act(e + Bias[ch] + Z).
type wgEpilogue struct {
	ch     int
	bias   float32
	kind   ir.ActKind
	lo, hi float32
}

// epilogue returns the epilogue of output channel ch.
func (t *wgTask) epilogue(ch int) wgEpilogue {
	ep := wgEpilogue{ch: ch, kind: t.k.Act.Kind, lo: t.k.Act.Min, hi: t.k.Act.Max}
	if t.bias != nil {
		ep.bias = t.bias[ch]
	}
	return ep
}

// store writes the m×m output tile e (row-major) of image n and ep's
// output channel at (oh, ow), clipped to the output, as Act(e + B + Z).
func (t *wgTask) store(e []float32, m int, ep *wgEpilogue, n, oh, ow int) {
	k := &t.k
	rows, cols := min(m, k.OH-oh), min(m, k.OW-ow)
	base := ((n*k.M+ep.ch)*k.OH+oh)*k.OW + ow
	b := ep.bias
	if t.z == nil && ep.kind == ir.ActRelu {
		for r := 0; r < rows; r++ {
			off := base + r*k.OW
			y := t.y[off : off+cols]
			er := e[r*m : r*m+cols]
			for j := range y {
				y[j] = max(er[j]+b, 0) // branch-free; NaN stays NaN
			}
		}
		return
	}
	for r := 0; r < rows; r++ {
		off := base + r*k.OW
		y := t.y[off : off+cols]
		er := e[r*m : r*m+cols]
		if t.z != nil {
			z := t.z[off : off+cols]
			for j := range y {
				y[j] = er[j] + b + z[j]
			}
		} else {
			for j := range y {
				y[j] = er[j] + b
			}
		}
		switch ep.kind {
		case ir.ActRelu:
			for j, v := range y {
				y[j] = max(v, 0)
			}
		case ir.ActClip:
			for j, v := range y {
				y[j] = min(max(v, ep.lo), ep.hi)
			}
		}
	}
}
