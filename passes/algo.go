package passes

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cnnc/cnnc/ir"
)

// AlgoCost is the cost model's estimate for running one convolution with
// one algorithm.
type AlgoCost struct {
	Algo ir.ConvAlgo
	// Cost is the estimated time in nanoseconds on one core: the
	// multiply-accumulates divided by the algorithm's throughput, plus its
	// data-movement and transform terms and a fixed setup cost (see
	// algoModel).
	Cost float64
	// MACs counts the multiply-accumulates the algorithm executes (for
	// Winograd, those of its batched products of transformed tiles, fewer
	// than the direct count).
	MACs int64
	// Moved counts the elements the algorithm copies or transforms besides
	// reading X and writing Y: im2col's unfolded matrix, Winograd's
	// transformed input and output tiles.
	Moved int64
}

// allAlgos lists the concrete convolution algorithms, in the order the
// algo pass lists its candidates.
var allAlgos = [...]ir.ConvAlgo{
	ir.AlgoDirect, ir.AlgoGEMM1x1, ir.AlgoIm2col, ir.AlgoDepthwise, ir.AlgoWinograd2, ir.AlgoWinograd4, ir.AlgoOCBlock,
}

// algoParams are the cost model's constants for one algorithm.
type algoParams struct {
	// macsPerNs is the peak throughput of the algorithm's inner product in
	// multiply-accumulates per nanosecond (AVX2 FMA on one core peaks near
	// 48; a good packed GEMM reaches about a third of it).
	macsPerNs float64
	// gemm marks algorithms whose inner loop is a matrix product, whose
	// throughput falls for small matrices: it is scaled by x/(x+half) for
	// each of the rows (output channels, gemmHalfRows), the reduction depth
	// (gemmHalfDepth) and the columns (output positions or Winograd tiles,
	// gemmHalfCols; few columns leave the product bound by reading the
	// weights).
	gemm bool
	// setupNs is a fixed cost per call (packing, threading, scratch).
	setupNs float64
	// moveNsPerElem is the cost of copying one element (im2col's unfold,
	// Winograd's scatter and gather of tiles).
	moveNsPerElem float64
	// Winograd: tile is m in F(m×m, 3×3); inOps and outOps are the
	// arithmetic operations of the input transform of one (m+2)×(m+2)
	// tile of one channel and of the output transform of one tile of one
	// output channel; transformOpsPerNs their throughput.
	tile              int
	inOps, outOps     float64
	transformOpsPerNs float64
	// packNsPerWeight is the cost of packing one filter element into the
	// layout the algorithm reads (runtime/kernels' BenchmarkPackConv, one
	// thread, 512x512 3x3: Winograd's filter transforms 20 and 9 ms,
	// ocblock 3.4, im2col 3.0). A constant filter is packed once at
	// compile time; one computed at run time, a training step's, each
	// run, which the cost then includes.
	packNsPerWeight float64
}

// Matrix sizes at which a GEMM-based algorithm reaches half its peak
// throughput: register blocking wants 8 or more rows, the packing
// overhead is amortized over a reduction of 16 or more, and each weight
// read from memory should serve 8 or more columns.
const (
	gemmHalfRows  = 8
	gemmHalfDepth = 16
	gemmHalfCols  = 8
)

// algoModel is the cost model: one entry per algorithm. The numbers are
// estimates for the kernels on one core of the 2-core AMD EPYC (Zen 4)
// with the AVX2/FMA GEMM micro-kernel (runtime/kernels), from their
// single-thread benchmarks (BenchmarkConv, BenchmarkGemm): 1×1 and im2col
// products run at 40-45 multiply-adds per ns on layer-sized matrices, the
// im2col gather costs about 0.3 ns per element it moves, the direct
// convolution (4 channels × 2 rows × 8 columns a step, no GEMM shape to
// suffer from) runs grouped layers such as ResNeXt's at 31-41 and dense
// ones at about the im2col rate, and depthwise at 9-18. Only the ratios
// matter for the choice.
// Winograd F(2×2,3×3) transforms a 4×4 input tile with 32 additions and
// produces a 2×2 output tile with 24; F(4×4,3×3) needs about 240
// operations per 6×6 input tile and 160 per 4×4 output tile, 16 tiles a
// vector in the AVX-512 transforms (about 64 scalar operations per ns; the
// Go ones below avx512 about 4). Its batched products have 36 positions of
// (M×C)·(C×tiles) per 16 outputs, a quarter of direct's 9 MACs per output,
// against 16 per 4 outputs (4 per output) for F(2×2); they run on the
// SGEMM row kernel at about 32 multiply-adds per ns over the tiles padded
// to whole 16-tile panels, and each block of tiles streams all the
// transformed filters (about 0.1 ns per float). Fitted to BenchmarkWinograd
// (ResNet-18's 3x3 layers, one thread: F(4×4) 1.05, 1.1, 1.6 and 5.9 ms
// from 64x56 to 512x7; F(2×2) 1.8, 1.7, 1.6 and 2.6 ms).
var algoModel = [...]algoParams{
	ir.AlgoDirect:    {macsPerNs: 36, moveNsPerElem: 0.3, packNsPerWeight: 0.3},
	ir.AlgoGEMM1x1:   {macsPerNs: 45, gemm: true, setupNs: 1000, packNsPerWeight: 1.3},
	ir.AlgoIm2col:    {macsPerNs: 45, gemm: true, setupNs: 2000, moveNsPerElem: 0.3, packNsPerWeight: 1.3},
	ir.AlgoDepthwise: {macsPerNs: 17, packNsPerWeight: 0.3},
	ir.AlgoWinograd2: {macsPerNs: 32, gemm: true, setupNs: 2000, moveNsPerElem: 0.1, tile: 2, inOps: 32, outOps: 24, transformOpsPerNs: 64, packNsPerWeight: 3.8},
	ir.AlgoWinograd4: {macsPerNs: 32, gemm: true, setupNs: 2000, moveNsPerElem: 0.1, tile: 4, inOps: 240, outOps: 160, transformOpsPerNs: 64, packNsPerWeight: 8.5},
	ir.AlgoOCBlock:   {macsPerNs: 50, setupNs: 1000, moveNsPerElem: 0.3, packNsPerWeight: 1.4},
}

// ocGenericMACsPerNs is AlgoOCBlock's rate below avx512, where it runs its
// pure-Go loop.
const ocGenericMACsPerNs = 2

// convGeom is a 1-D or 2-D convolution's geometry, 1-D as H = 1.
type convGeom struct {
	N, C, M, Group int
	H, W, OH, OW   int
	KH, KW         int
	SH, SW         int
	DH, DW         int
	padded         bool
	twoD           bool
	isa            string // Options.ISA
	// packed is true when the filter is computed at run time (a training
	// step's parameter): the kernel packs it every run.
	packed bool
}

// geometry resolves a FusedConv's geometry; ok is false when a shape is
// unknown or the convolution is not 1-D or 2-D.
func geometry(n *ir.Node, fc *ir.FusedConv) (convGeom, bool) {
	if len(n.Inputs) < 2 || n.Inputs[0] == nil || n.Inputs[1] == nil {
		return convGeom{}, false
	}
	x, w := n.Inputs[0].Type.Shape, n.Inputs[1].Type.Shape
	if !x.Known() || !w.Known() || (len(x) != 3 && len(x) != 4) {
		return convGeom{}, false
	}
	win, err := fc.Conv.Geometry(x, w)
	if err != nil || len(win.Out) != len(x)-2 {
		return convGeom{}, false
	}
	g := convGeom{N: x[0], C: x[1], M: w[0], Group: fc.Conv.Group, H: 1, OH: 1, KH: 1, SH: 1, DH: 1, twoD: len(x) == 4, packed: n.Inputs[1].Const == nil}
	for _, p := range append(append([]int{}, win.PadBegin...), win.PadEnd...) {
		g.padded = g.padded || p != 0
	}
	last := len(win.Out) - 1
	g.W, g.OW, g.KW, g.SW, g.DW = win.In[last], win.Out[last], win.Kernel[last], win.Strides[last], win.Dilations[last]
	if g.twoD {
		g.H, g.OH, g.KH, g.SH, g.DH = win.In[0], win.Out[0], win.Kernel[0], win.Strides[0], win.Dilations[0]
	}
	return g, true
}

// String formats the geometry for the log: "64->128 k3x3 s2 56x56".
func (g convGeom) String() string {
	s := fmt.Sprintf("%d->%d k%dx%d s%d %dx%d", g.C, g.M, g.KH, g.KW, max(g.SH, g.SW), g.H, g.W)
	if g.Group > 1 {
		s += fmt.Sprintf(" g%d", g.Group)
	}
	if g.N > 1 {
		s += fmt.Sprintf(" n%d", g.N)
	}
	return s
}

// valid reports whether algorithm a can compute a convolution of this
// geometry.
func (g convGeom) valid(a ir.ConvAlgo) bool {
	switch a {
	case ir.AlgoDirect, ir.AlgoIm2col:
		return true
	case ir.AlgoOCBlock:
		return g.SW <= implicitMaxStride
	case ir.AlgoGEMM1x1:
		return g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && !g.padded
	case ir.AlgoDepthwise:
		return g.Group == g.C && g.C == g.M
	case ir.AlgoWinograd2, ir.AlgoWinograd4:
		return g.twoD && g.KH == 3 && g.KW == 3 && g.SH == 1 && g.SW == 1 && g.DH == 1 && g.DW == 1 && g.Group == 1
	}
	return false
}

// cost estimates algorithm a on this geometry (which it must be valid
// for).
func (g convGeom) cost(a ir.ConvAlgo) AlgoCost {
	p := algoModel[a]
	n, cg, mg := float64(g.N), float64(g.C/g.Group), float64(g.M/g.Group)
	out := float64(g.OH * g.OW)
	k := float64(g.KH * g.KW)
	direct := n * float64(g.M) * out * cg * k
	c := AlgoCost{Algo: a}
	throughput := p.macsPerNs
	macs, moved, transform := direct, 0.0, 0.0
	switch a {
	case ir.AlgoDirect:
		// Four output channels of a group a step; short sums pay the
		// step's overhead.
		throughput *= mg / float64(ceilDiv(g.M/g.Group, directBlock)*directBlock) * efficiency(cg*k, gemmHalfDepth)
		if g.Group != g.C || g.C != g.M {
			// Vectors of 8 outputs of a row: narrow maps leave lanes idle
			// (3 wide: 49 ms on BenchmarkConv t32-512x3_3x3, ocblock 13.5).
			throughput *= tileFill(g.OW, directVector)
		}
		moved = n * float64(g.C*g.H*g.W) // its padded copy of the input
	case ir.AlgoGEMM1x1:
		throughput *= efficiency(mg, gemmHalfRows) * efficiency(cg, gemmHalfDepth) * efficiency(out, gemmHalfCols) * tileFill(g.OH*g.OW, gemmNR)
	case ir.AlgoIm2col:
		throughput *= efficiency(mg, gemmHalfRows) * efficiency(cg*k, gemmHalfDepth) * efficiency(out, gemmHalfCols)
		moved = n * float64(g.C) * k * out
		if g.OW >= implicitMinOW && g.SW <= implicitMaxStride {
			// The implicit form copies the input once instead, and tiles
			// each output row.
			moved = n * float64(g.C*g.H*g.W)
			throughput *= tileFill(g.OW, gemmNR)
		} else {
			throughput *= tileFill(g.OH*g.OW, gemmNR)
		}
	case ir.AlgoOCBlock:
		// Blocks of 32 output channels of a group by tiles of up to 14
		// positions of a row, the channels on the vector lanes: narrow
		// groups waste lanes, narrow tiles reload the weights more often.
		// Each tile's epilogue transposes it (about half the cost of
		// moving its outputs, and the reason short sums pay more than in
		// a GEMM); the input is copied into a padded band unless the
		// convolution has no padding and a unit stride along the width.
		if g.isa != "avx512" {
			throughput = ocGenericMACsPerNs
		}
		tiles := ceilDiv(g.OW, ocMaxP)
		throughput *= tileFill(g.M/g.Group, ocBlock) * efficiency(cg*k, ocHalfDepth) * efficiency(float64(g.OW)/float64(tiles), ocHalfP)
		moved = n * float64(g.M) * out / 2
		if g.padded || g.SW != 1 {
			moved += n * float64(g.C*g.H*g.W)
		}
	case ir.AlgoWinograd2, ir.AlgoWinograd4:
		m := p.tile
		t := float64((m + 2) * (m + 2))
		tiles := g.N * ceilDiv(g.OH, m) * ceilDiv(g.OW, m)
		blocks, lanes := wgBlocks(tiles, int(t)*g.C)
		macs = t * float64(g.M) * float64(g.C) * float64(lanes)
		throughput *= efficiency(float64(g.M), gemmHalfRows) * efficiency(float64(g.C), gemmHalfDepth)
		ops := p.transformOpsPerNs
		switch g.isa {
		case "avx512":
		case "avx2":
			// The AVX2 transforms, 8 tiles a vector; the products on the
			// AVX2 kernel (6×16 tiles: twice the loads per multiply-add).
			ops, throughput = p.transformOpsPerNs/2, throughput*wgAVX2Rate
		default:
			// The transforms and products in Go.
			ops, throughput = 4, throughput/8
		}
		// Each block streams every transformed filter, t·M·C floats: the
		// cost that makes deep layers on small maps lose.
		moved = float64(tiles)*t*float64(g.C+g.M) + float64(blocks)*t*float64(g.M)*float64(g.C)
		transform = (p.inOps*float64(g.C) + p.outOps*float64(g.M)) * float64(tiles) / ops
	}
	c.MACs, c.Moved = int64(macs), int64(moved)
	c.Cost = p.setupNs + macs/throughput + moved*p.moveNsPerElem + transform
	if g.packed {
		c.Cost += float64(g.M) * cg * k * p.packNsPerWeight
	}
	return c
}

// The implicit im2col convolution of runtime/kernels (conv_implicit.go,
// implicitMinOW and implicitMaxPhase there) reads the im2col matrix in
// place for output rows at least implicitMinOW wide and strides up to
// implicitMaxStride.
const (
	implicitMinOW     = 12
	implicitMaxStride = 4
)

// The output-channel blocked convolution (runtime/kernels, conv_ocblock.go)
// computes tiles of ocBlock output channels by up to ocMaxP positions of a
// row; its rate is about half its peak at tiles ocHalfP wide, and at sums
// of ocHalfDepth terms.
const (
	ocBlock     = 32
	ocMaxP      = 14
	ocHalfP     = 1.5
	ocHalfDepth = 24
)

// gemmNR is the width of the GEMM micro-kernel's tiles of output positions
// (runtime/kernels, gemm.go).
const gemmNR = 16

// The Winograd convolution (runtime/kernels, winograd.go) runs its tiles in
// blocks of at most wgMaxTiles, fewer when a block's transformed input
// (positions × channels × tiles) would exceed wgVBudget floats, each a
// whole number of 16-tile panels unless it is the only block.
const (
	wgMaxTiles = 64
	wgVBudget  = 36 * 512 * 64
)

// wgAVX2Rate is the AVX2 GEMM kernel's rate on Winograd's products
// relative to the AVX-512 one's (BenchmarkWinograd at CNNC_ISA=avx2: F(4×4)
// 2.3 ms on ResNet-18's 64x56 layer against 1.05-1.2 at avx512, and
// im2col 3.9).
const wgAVX2Rate = 0.5

// wgBlocks returns the number of blocks the Winograd kernel cuts tiles
// into, with perTile transformed floats a tile, and the tiles they span
// padded to whole panels of 16: the columns its products compute.
func wgBlocks(tiles, perTile int) (blocks, lanes int) {
	maxT := min(wgMaxTiles, max(wgVBudget/max(perTile, 1)/16*16, 16))
	return ceilDiv(tiles, maxT), ceilDiv(tiles, 16) * 16
}

// tileFill is the fraction of the tiles of width w that n items fill.
func tileFill(n, w int) float64 { return float64(n) / float64(ceilDiv(n, w)*w) }

// directBlock is the number of output channels the direct convolution
// computes a step (runtime/kernels, conv_direct.go).
const directBlock = 4

// directVector is the outputs of a row the direct convolution computes
// per vector (AVX2).
const directVector = 8

// efficiency is x/(x+half): the fraction of peak a GEMM dimension of size
// x reaches.
func efficiency(x, half float64) float64 { return x / (x + half) }

// ceilDiv returns ceil(a/b) for positive b.
func ceilDiv(a, b int) int { return (a + b - 1) / b }

// algo sets the Algo of every FusedConv whose shapes are known: among the
// algorithms valid for its geometry and listed in Options.Algos, the one
// the cost model (algoModel) estimates cheapest, unless Options.Algo
// overrides it. The log gets one line per convolution with its geometry,
// every candidate's estimated cost and the pick. A FusedConv with an
// unknown shape keeps AlgoAuto (dce then reports the shape).
func algo(u *unit) error {
	allowed := u.opts.Algos
	if allowed == nil {
		allowed = allAlgos[:]
	}
	picked := map[ir.ConvAlgo]int{}
	count := 0
	for _, n := range u.g.Nodes {
		fc, ok := n.Op.(*ir.FusedConv)
		if !ok {
			continue
		}
		g, ok := geometry(n, fc)
		if !ok {
			continue
		}
		g.isa = u.opts.ISA
		var costs []AlgoCost
		var invalid []string
		for _, a := range allAlgos {
			if !slices.Contains(allowed, a) {
				continue
			}
			if !g.valid(a) {
				invalid = append(invalid, a.String())
				continue
			}
			costs = append(costs, g.cost(a))
		}
		if len(costs) == 0 {
			return ir.AtNode(ir.Unsupportedf("no allowed convolution algorithm (%v) can compute a %v convolution: %s are not valid for it",
				allowed, g, strings.Join(invalid, ", ")), n.Name, n.Op.OpType())
		}
		best := costs[0]
		for _, c := range costs[1:] {
			if c.Cost < best.Cost {
				best = c
			}
		}
		pick := best.Algo
		if u.opts.Algo != nil {
			if a := u.opts.Algo(n, slices.Clone(costs)); a != ir.AlgoAuto {
				if !slices.ContainsFunc(costs, func(c AlgoCost) bool { return c.Algo == a }) {
					return ir.AtNode(ir.Invalidf("Options.Algo chose %v for a %v convolution; want one of the candidates %s",
						a, g, candidateNames(costs)), n.Name, n.Op.OpType())
				}
				pick = a
			}
		}
		c := *fc
		c.Algo = pick
		n.Op = &c
		picked[pick]++
		count++
		u.detail("%s", algoLine(n.Name, g, costs, pick))
	}
	if count > 0 {
		names := map[string]int{}
		for a, k := range picked {
			names[a.String()] = k
		}
		u.changed("%s (%s)", plural(count, "conv", "convs"), opCounts(names))
	}
	return nil
}

// candidateNames lists the algorithms of costs.
func candidateNames(costs []AlgoCost) string {
	names := make([]string, len(costs))
	for i, c := range costs {
		names[i] = c.Algo.String()
	}
	return strings.Join(names, ", ")
}

// algoLine formats one convolution's row of the log table: "layer1.0.conv1
// 64->64 k3x3 s1 56x56: direct 1.2ms, im2col 300µs, ... -> winograd4".
func algoLine(name string, g convGeom, costs []AlgoCost, pick ir.ConvAlgo) string {
	parts := make([]string, len(costs))
	for i, c := range costs {
		parts[i] = c.Algo.String() + " " + fmtNs(c.Cost)
	}
	return fmt.Sprintf("%s %s: %s -> %v", name, g, strings.Join(parts, ", "), pick)
}

// fmtNs formats an estimated time in nanoseconds with three significant
// digits.
func fmtNs(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.3gms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.3gµs", ns/1e3)
	}
	return fmt.Sprintf("%.3gns", ns)
}
