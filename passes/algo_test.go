package passes

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

// algoGraph has one convolution of each kind the cost model tells apart.
func algoGraph(t *testing.T) *ir.Graph {
	b := ir.NewBuilder("algo", 1)
	x := b.Input("x", 1, 16, 32, 32)
	y := b.Apply("stem", ir.Conv2d(64, 5, ir.Padding(2)), x)                    // 16->64 5x5 32x32: im2col
	y = b.Apply("big3x3", ir.Conv2d(64, 3, ir.Padding(1)), y)                   // 64->64 3x3 32x32: im2col, not winograd
	y = b.Apply("pointwise", ir.Conv2d(64, 1), y)                               // 1x1: gemm1x1
	y = b.Apply("depthwise", ir.Conv2d(64, 3, ir.Padding(1), ir.Groups(64)), y) // depthwise
	y = b.Apply("tiny", ir.Conv2d(2, 3, ir.Padding(1), ir.Stride(8)), y)        // 64->2, 4x4 output: im2col
	y = b.Apply("dilated", ir.Conv2d(2, 3, ir.Padding(2), ir.Dilation(2)), y)   // not winograd
	b.Output(y)
	return build(t, b)
}

func TestAlgoChoice(t *testing.T) {
	g := algoGraph(t)
	var log strings.Builder
	got := runOnly(t, g, Options{Log: &log}, "fuse", "algo")
	wantIR(t, got, `
		input %x: f32[1,16,32,32]
		const %stem.weight: f32[64,16,5,5]
		const %stem.bias: f32[64]
		const %big3x3.weight: f32[64,64,3,3]
		const %big3x3.bias: f32[64]
		const %pointwise.weight: f32[64,64,1,1]
		const %pointwise.bias: f32[64]
		const %depthwise.weight: f32[64,1,3,3]
		const %depthwise.bias: f32[64]
		const %tiny.weight: f32[2,64,3,3]
		const %tiny.bias: f32[2]
		const %dilated.weight: f32[2,2,3,3]
		const %dilated.bias: f32[2]
		%stem: f32[1,64,32,32] = cnnc.FusedConv[im2col](%x, %stem.weight, %stem.bias)
		%big3x3: f32[1,64,32,32] = cnnc.FusedConv[im2col](%stem, %big3x3.weight, %big3x3.bias)
		%pointwise: f32[1,64,32,32] = cnnc.FusedConv[gemm1x1](%big3x3, %pointwise.weight, %pointwise.bias)
		%depthwise: f32[1,64,32,32] = cnnc.FusedConv[depthwise](%pointwise, %depthwise.weight, %depthwise.bias)
		%tiny: f32[1,2,4,4] = cnnc.FusedConv[im2col](%depthwise, %tiny.weight, %tiny.bias)
		%dilated: f32[1,2,4,4] = cnnc.FusedConv[direct](%tiny, %dilated.weight, %dilated.bias)
		output %dilated`)
	// One line per pass; the algo table lines under the algo pass's line.
	lines := strings.Split(strings.TrimSuffix(log.String(), "\n"), "\n")
	if len(lines) != 8 {
		t.Fatalf("log has %d lines, want 8:\n%s", len(lines), log.String())
	}
	if want := "algo: 6 convs (im2col 3, depthwise 1, direct 1, gemm1x1 1) ("; !strings.HasPrefix(lines[1], want) {
		t.Errorf("algo line %q, want it to start %q", lines[1], want)
	}
	row := regexp.MustCompile(`^  \S+ \d+->\d+ k\dx\d s\d \d+x\d+( g\d+)?: ((direct|gemm1x1|im2col|depthwise|winograd2|winograd4|ocblock) [0-9.]+(ns|µs|ms)(, |$| ->))+ (direct|gemm1x1|im2col|depthwise|winograd2|winograd4)$`)
	for _, l := range lines[2:] {
		if !row.MatchString(l) {
			t.Errorf("table row %q does not match %v", l, row)
		}
	}
	if want := "  depthwise 64->64 k3x3 s1 32x32 g64: direct "; !strings.HasPrefix(lines[5], want) {
		t.Errorf("row %q, want it to start %q", lines[5], want)
	}
	sameOutputs(t, g, got, 1e-5)
}

// TestAlgoCostModel holds the model to the trends it must show.
func TestAlgoCostModel(t *testing.T) {
	conv3 := func(c, hw int) convGeom {
		return convGeom{N: 1, C: c, M: c, Group: 1, H: hw, W: hw, OH: hw, OW: hw, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, padded: true, twoD: true}
	}
	cost := func(g convGeom, a ir.ConvAlgo) float64 { return g.cost(a).Cost }
	large := conv3(128, 56)
	if !(cost(large, ir.AlgoWinograd4) < cost(large, ir.AlgoWinograd2) && cost(large, ir.AlgoIm2col) < cost(large, ir.AlgoDirect)) {
		t.Errorf("128->128 3x3 at 56x56: want winograd4 < winograd2 and im2col < direct, got %v", costsOf(large))
	}
	// With its AVX-512 transforms, F(4×4) beats the AVX-512 blocked
	// convolution on ResNet-18's and VGG-16's 3x3 layers (measured, two
	// threads: 0.97-1.1 ms against 1.5-1.6 on ResNet-18's), except on 7x7
	// maps, where its 4 tiles fill a quarter of a panel and the products
	// stream 36 MB of transformed filters (3.1 ms against 1.5).
	for _, g := range []convGeom{conv3(64, 56), conv3(128, 28), conv3(256, 14), conv3(256, 56), conv3(512, 28), conv3(64, 224)} {
		g.isa = "avx512"
		if cost(g, ir.AlgoWinograd4) >= cost(g, ir.AlgoOCBlock) {
			t.Errorf("%d->%d 3x3 at %dx%d: want winograd4 < ocblock, got %v", g.C, g.M, g.H, g.W, costsOf(g))
		}
	}
	if g := conv3(512, 7); true {
		g.isa = "avx512"
		if cost(g, ir.AlgoWinograd4) <= cost(g, ir.AlgoOCBlock) {
			t.Errorf("512->512 3x3 at 7x7: want ocblock < winograd4, got %v", costsOf(g))
		}
	}
	if r := float64(large.cost(ir.AlgoDirect).MACs) / float64(large.cost(ir.AlgoWinograd4).MACs); r < 3.5 || r > 4.5 {
		t.Errorf("winograd4 executes %.2fx fewer MACs than direct on a large layer, want about 4", r)
	}
	if r := float64(large.cost(ir.AlgoDirect).MACs) / float64(large.cost(ir.AlgoWinograd2).MACs); r < 2 || r > 2.5 {
		t.Errorf("winograd2 executes %.2fx fewer MACs than direct on a large layer, want 2.25", r)
	}
	small := conv3(8, 4)
	if !(cost(small, ir.AlgoWinograd4) > cost(small, ir.AlgoWinograd2) && cost(small, ir.AlgoWinograd2) > cost(small, ir.AlgoDirect)) {
		t.Errorf("8->8 3x3 at 4x4: want winograd4 > winograd2 > direct (transforms dominate), got %v", costsOf(small))
	}
	// The output-channel blocked convolution wins where the GEMM tiles
	// fill badly (7x7 maps, strided layers) only with its AVX-512 kernels.
	deep := conv3(512, 7)
	for _, isa := range []string{"", "avx2", "avx512"} {
		deep.isa = isa
		if wins := cost(deep, ir.AlgoOCBlock) < cost(deep, ir.AlgoIm2col); wins != (isa == "avx512") {
			t.Errorf("512->512 3x3 at 7x7, ISA %q: ocblock cheaper than im2col is %v, want %v: %v", isa, wins, !wins, costsOf(deep))
		}
	}
	// A training step's filters are packed every run: at 3x3, batch 32,
	// F(4x4)'s 20 ms transform of a 512x512 filter outweighs its 13 ms
	// convolution (BenchmarkPackConv, BenchmarkConv t32-512x3_3x3), and
	// the direct convolution's 8-wide rows run 3 wide (49 ms against
	// ocblock's 13.5).
	train := conv3(512, 3)
	train.N, train.isa = 32, "avx512"
	if cost(train, ir.AlgoWinograd4) >= cost(train, ir.AlgoOCBlock) {
		t.Errorf("512->512 3x3 at 3x3, batch 32, constant filter: want winograd4 < ocblock, got %v", costsOf(train))
	}
	train.packed = true
	for _, a := range []ir.ConvAlgo{ir.AlgoWinograd4, ir.AlgoWinograd2, ir.AlgoDirect} {
		if cost(train, a) <= cost(train, ir.AlgoOCBlock) {
			t.Errorf("512->512 3x3 at 3x3, batch 32, filter packed each run: want ocblock < %v, got %v", a, costsOf(train))
		}
	}
	// Validity.
	tests := []struct {
		g    convGeom
		want []ir.ConvAlgo
	}{
		{conv3(4, 8), []ir.ConvAlgo{ir.AlgoDirect, ir.AlgoIm2col, ir.AlgoWinograd2, ir.AlgoWinograd4, ir.AlgoOCBlock}},
		{convGeom{N: 1, C: 4, M: 4, Group: 4, H: 8, W: 8, OH: 8, OW: 8, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, twoD: true},
			[]ir.ConvAlgo{ir.AlgoDirect, ir.AlgoGEMM1x1, ir.AlgoIm2col, ir.AlgoDepthwise, ir.AlgoOCBlock}},
		{convGeom{N: 1, C: 4, M: 4, Group: 1, H: 8, W: 8, OH: 8, OW: 8, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, padded: true, twoD: true},
			[]ir.ConvAlgo{ir.AlgoDirect, ir.AlgoIm2col, ir.AlgoOCBlock}},
		{convGeom{N: 1, C: 4, M: 4, Group: 1, H: 1, W: 8, OH: 1, OW: 8, KH: 1, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1},
			[]ir.ConvAlgo{ir.AlgoDirect, ir.AlgoIm2col, ir.AlgoOCBlock}},
		{convGeom{N: 1, C: 4, M: 4, Group: 1, H: 40, W: 40, OH: 8, OW: 8, KH: 3, KW: 3, SH: 5, SW: 5, DH: 1, DW: 1, twoD: true},
			[]ir.ConvAlgo{ir.AlgoDirect, ir.AlgoIm2col}},
	}
	for _, tt := range tests {
		var got []ir.ConvAlgo
		for _, a := range allAlgos {
			if tt.g.valid(a) {
				got = append(got, a)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%v: valid %v, want %v", tt.g, got, tt.want)
		}
	}
}

// costsOf lists every algorithm's cost for a geometry, for messages.
func costsOf(g convGeom) []AlgoCost {
	var out []AlgoCost
	for _, a := range allAlgos {
		if g.valid(a) {
			out = append(out, g.cost(a))
		}
	}
	return out
}

// TestAlgoOptions: Options.Algos restricts the choice, Options.Algo
// overrides it; every forced algorithm gives the reference's numbers.
func TestAlgoOptions(t *testing.T) {
	g := algoGraph(t)
	picks := func(got *ir.Graph) []string {
		var out []string
		for _, n := range got.Nodes {
			out = append(out, n.Op.(*ir.FusedConv).Algo.String())
		}
		return out
	}
	restricted := runOnly(t, g, Options{Algos: []ir.ConvAlgo{ir.AlgoDirect, ir.AlgoIm2col}}, "fuse", "algo")
	if got, want := picks(restricted), []string{"im2col", "im2col", "im2col", "direct", "im2col", "direct"}; !slices.Equal(got, want) {
		t.Errorf("with Algos [direct im2col]: picks %v, want %v", got, want)
	}
	for _, force := range allAlgos {
		var seen [][]ir.ConvAlgo
		opts := Options{Algo: func(n *ir.Node, costs []AlgoCost) ir.ConvAlgo {
			var c []ir.ConvAlgo
			for _, a := range costs {
				c = append(c, a.Algo)
			}
			seen = append(seen, c)
			if slices.Contains(c, force) {
				return force
			}
			return ir.AlgoAuto
		}}
		got := runOnly(t, g, opts, "fuse", "algo")
		if len(seen) != 6 {
			t.Errorf("Options.Algo called %d times, want 6 (once per conv)", len(seen))
		}
		n := 0
		for i, p := range picks(got) {
			if slices.Contains(seen[i], force) {
				n++
				if p != force.String() {
					t.Errorf("forcing %v: conv %d got %s", force, i, p)
				}
			}
		}
		if n == 0 {
			t.Errorf("forcing %v: no conv could take it", force)
		}
		sameOutputs(t, g, got, 1e-5)
	}
}

func TestAlgoErrors(t *testing.T) {
	g := algoGraph(t)
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"override outside the candidates", Options{Algo: func(*ir.Node, []AlgoCost) ir.ConvAlgo { return ir.AlgoWinograd4 }},
			`invalid model: node "stem" (cnnc.FusedConv): pass algo: Options.Algo chose winograd4 for a 16->64 k5x5 s1 32x32 convolution; want one of the candidates direct, im2col`},
		{"no allowed algorithm", Options{Algos: []ir.ConvAlgo{ir.AlgoGEMM1x1, ir.AlgoWinograd2}},
			`unsupported: node "stem" (cnnc.FusedConv): pass algo: no allowed convolution algorithm ([gemm1x1 winograd2]) can compute a 16->64 k5x5 s1 32x32 convolution: gemm1x1, winograd2 are not valid for it`},
		{"auto in Algos", Options{Algos: []ir.ConvAlgo{ir.AlgoAuto}},
			`invalid model: passes: Algos lists auto, want a concrete algorithm`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runOnlyErr(g, tt.opts, "fuse", "algo")
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %v\nwant %s", err, tt.want)
			}
		})
	}
}
