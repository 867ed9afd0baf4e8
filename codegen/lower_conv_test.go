package codegen

import (
	"slices"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/kernels"
)

// checkConvStep checks that step s is a Conv2D with the parameters want
// whose packed weights are PackConvWeights of w.
func checkConvStep(t *testing.T, p *Plan, s int, want kernels.Conv2D, w []float32) {
	t.Helper()
	st := p.Steps[s]
	k, ok := st.Kernel.(*kernels.Conv2D)
	if !ok {
		t.Fatalf("step %d is %s, want conv2d", s, st.Kernel.Name())
	}
	if *k != want {
		t.Errorf("step %d:\n got %+v\nwant %+v", s, *k, want)
	}
	packed, err := kernels.PackConvWeights(k, w)
	if err != nil {
		t.Fatal(err)
	}
	if got := weightF32(t, p, st.In[1]); !slices.Equal(got, packed) {
		t.Errorf("step %d: packed weights differ from PackConvWeights (%d and %d elements)", s, len(got), len(packed))
	}
}

func TestLowerConv(t *testing.T) { runLowerCases(t, convCases) }

var (
	convW3   = seqF32(0.01, 8, 4, 3, 3)
	convW1   = seqF32(0.01, 8, 4, 1, 1)
	convWd   = seqF32(0.01, 4, 1, 3, 3)
	convW1d  = seqF32(0.01, 4, 4, 3)
	convBias = seqF32(1, 8)
)

var convCases = []lowerCase{
	{
		name: "algorithms",
		build: func(b *ir.Builder) {
			x := b.Input("x", 2, 4, 9, 9)
			y := b.Node1("c3", &ir.Conv{Group: 1, Pads: []int{1, 1, 1, 1}}, x, b.Const("w3", convW3), b.Const("b", convBias))
			z := b.Node1("c1", &ir.Conv{Group: 1}, x, b.Const("w1", convW1))
			s2 := b.Node1("c1s2", &ir.Conv{Group: 1, Strides: []int{2, 2}}, x, b.Const("w1b", convW1))
			d := b.Node1("dw", &ir.Conv{Group: 4, Dilations: []int{2, 2}, Strides: []int{1, 2}}, x, b.Const("wd", convWd))
			b.Output(y, z, s2, d)
		},
		steps: "c3 conv2d; c1 conv2d; c1s2 conv2d; dw conv2d",
		check: func(t *testing.T, p *Plan) {
			checkConvStep(t, p, 0, kernels.Conv2D{N: 2, C: 4, H: 9, W: 9, M: 8, OH: 9, OW: 9, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1,
				PadT: 1, PadL: 1, Group: 1, Algo: ir.AlgoIm2col}, convW3.F32)
			checkConvStep(t, p, 1, kernels.Conv2D{N: 2, C: 4, H: 9, W: 9, M: 8, OH: 9, OW: 9, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1,
				Group: 1, Algo: ir.AlgoGEMM1x1}, convW1.F32)
			checkConvStep(t, p, 2, kernels.Conv2D{N: 2, C: 4, H: 9, W: 9, M: 8, OH: 5, OW: 5, KH: 1, KW: 1, SH: 2, SW: 2, DH: 1, DW: 1,
				Group: 1, Algo: ir.AlgoIm2col}, convW1.F32)
			checkConvStep(t, p, 3, kernels.Conv2D{N: 2, C: 4, H: 9, W: 9, M: 4, OH: 5, OW: 3, KH: 3, KW: 3, SH: 1, SW: 2, DH: 2, DW: 2,
				Group: 4, Algo: ir.AlgoDepthwise}, convWd.F32)
			if b := p.Steps[0].In[2]; b.Loc != LocWeights || !slices.Equal(weightF32(t, p, b), convBias.F32) {
				t.Errorf("bias operand %+v", b)
			}
			if z := p.Steps[0].In[3]; z.Loc != LocNone {
				t.Errorf("residual operand %+v, want none", z)
			}
			// The two 1x1 convolutions share W: their packings are
			// stored once if they are the same.
			a, b := p.Steps[1].In[1], p.Steps[2].In[1]
			if same := slices.Equal(weightF32(t, p, a), weightF32(t, p, b)); same != (a.Offset == b.Offset) {
				t.Errorf("equal packings %v, at offsets %d and %d", same, a.Offset, b.Offset)
			}
		},
	},
	{
		name: "fused with residual",
		build: func(b *ir.Builder) {
			x := b.Input("x", 1, 4, 5, 5)
			r := b.Node1("relu", &ir.Relu{}, b.Input("r", 1, 8, 5, 5))
			act := ir.Activation{Kind: ir.ActClip, Min: 0, Max: 6}
			b.Output(b.Node1("fc", &ir.FusedConv{Conv: ir.Conv{Group: 1, Pads: []int{1, 1, 1, 1}}, Act: act, Algo: ir.AlgoDirect},
				x, b.Const("w3", convW3), nil, r))
		},
		steps: "relu unary; fc conv2d",
		check: func(t *testing.T, p *Plan) {
			checkConvStep(t, p, 1, kernels.Conv2D{N: 1, C: 4, H: 5, W: 5, M: 8, OH: 5, OW: 5, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1,
				PadT: 1, PadL: 1, Group: 1, Algo: ir.AlgoDirect, Act: ir.Activation{Kind: ir.ActClip, Max: 6}}, convW3.F32)
			st := p.Steps[1]
			if st.In[2].Loc != LocNone || st.In[3].Name != "relu" || st.In[3].Offset != p.Steps[0].Out[0].Offset {
				t.Errorf("bias %+v, residual %+v: want none and relu's output", st.In[2], st.In[3])
			}
		},
	},
	{
		name: "1-D",
		build: func(b *ir.Builder) {
			x := b.Input("x", 1, 4, 10)
			b.Output(b.Node1("c", &ir.Conv{Group: 1, Pads: []int{2, 0}, Strides: []int{2}}, x, b.Const("w", convW1d)))
		},
		steps: "c conv2d",
		check: func(t *testing.T, p *Plan) {
			checkConvStep(t, p, 0, kernels.Conv2D{N: 1, C: 4, H: 1, W: 10, M: 4, OH: 1, OW: 5, KH: 1, KW: 3, SH: 1, SW: 2, DH: 1, DW: 1,
				PadL: 2, Group: 1, Algo: ir.AlgoIm2col}, convW1d.F32)
			st := p.Steps[0]
			if !st.In[0].Shape.Equal(ir.Shape{1, 4, 1, 10}) || !st.Out[0].Shape.Equal(ir.Shape{1, 4, 1, 5}) {
				t.Errorf("operands viewed as %v and %v, want 4-D", st.In[0].Shape, st.Out[0].Shape)
			}
		},
	},
	{
		name: "reference convolutions",
		build: func(b *ir.Builder) {
			x := b.Input("x", 1, 4, 3, 3, 3)
			y := b.Node1("c3d", &ir.Conv{Group: 1}, x, b.Const("w", seqF32(1, 2, 4, 1, 1, 1)))
			x2, w := b.Input("x2", 1, 4, 5, 5), b.Input("w2", 8, 4, 1, 1)
			b.Output(y, b.Node1("wvar", &ir.Conv{Group: 1}, x2, w))
		},
		steps: "c3d reference Conv; wvar packconv; wvar conv2d",
	},
}

func TestLowerConvErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		algo ir.ConvAlgo
		pads []int
		want string
	}{
		{"gemm1x1 on 3x3", ir.AlgoGEMM1x1, nil, `invalid model: node "c" (cnnc.FusedConv): algorithm gemm1x1 needs a 1x1 kernel`},
		{"depthwise", ir.AlgoDepthwise, nil, `algorithm depthwise needs group == C == M, got group 1, C 4, M 8`},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := graphOf(t, func(b *ir.Builder) {
				x := b.Input("x", 1, 4, 5, 5)
				b.Output(b.Node1("c", &ir.FusedConv{Conv: ir.Conv{Group: 1, Pads: c.pads}, Algo: c.algo}, x, b.Const("w", seqF32(1, 8, 4, 3, 3))))
			})
			if _, err := Lower(g, Options{}); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want %q", err, c.want)
			}
		})
	}
}

func TestLowerGemm(t *testing.T) { runLowerCases(t, gemmCases) }

var (
	gemmB46 = seqF32(0.5, 6, 4) // B for TransB: [N=6, K=4]
	gemmB64 = seqF32(0.5, 4, 6) // B: [K=4, N=6]
	gemmC6  = seqF32(1, 6)
)

var gemmCases = []lowerCase{
	{
		name: "folded",
		build: func(b *ir.Builder) {
			x := b.Input("x", 3, 4)
			y1 := b.Node1("transB", &ir.Gemm{Alpha: 2, Beta: 0.5, TransB: true}, x, b.Const("bt", gemmB46), b.Const("c", gemmC6))
			y2 := b.Node1("plain", &ir.FusedGemm{Gemm: ir.Gemm{Alpha: 1, Beta: 1}, Act: ir.Activation{Kind: ir.ActRelu}}, x, b.Const("b", gemmB64),
				b.Const("c1n", ir.FromFloat32(ir.Shape{1, 6}, gemmC6.F32)))
			y3 := b.Node1("scalar", &ir.Gemm{Alpha: 1, Beta: 3}, x, b.Const("b2", gemmB64), b.Const("s", ir.FromFloat32(ir.Shape{}, []float32{2})))
			y4 := b.Node1("mm", &ir.MatMul{}, x, b.Const("b3", gemmB64))
			y5 := b.Node1("beta0", &ir.Gemm{Alpha: 1, Beta: 0}, x, b.Const("b4", gemmB64), b.Input("cvar", 3, 6))
			b.Output(y1, y2, y3, y4, y5)
		},
		steps: "transB gemm; plain gemm; scalar gemm; mm gemm; beta0 gemm",
		check: func(t *testing.T, p *Plan) {
			// B' = 2 * transpose(bt) = b64 scaled by 2 when b64 is
			// bt's transpose; build it directly.
			want := make([]float32, 24)
			for k := range 4 {
				for n := range 6 {
					want[k*6+n] = 2 * gemmB46.F32[n*4+k]
				}
			}
			for s, c := range []struct {
				b    []float32
				bias []float32
				act  ir.ActKind
			}{
				{want, []float32{0.5, 1, 1.5, 2, 2.5, 3}, ir.ActNone},
				{gemmB64.F32, gemmC6.F32, ir.ActRelu},
				{gemmB64.F32, []float32{6, 6, 6, 6, 6, 6}, ir.ActNone},
				{gemmB64.F32, nil, ir.ActNone},
				{gemmB64.F32, nil, ir.ActNone},
			} {
				st := p.Steps[s]
				k := st.Kernel.(*kernels.Gemm)
				if k.M != 3 || k.N != 6 || k.K != 4 || k.Act.Kind != c.act {
					t.Errorf("step %d: %+v", s, k)
				}
				packed, err := kernels.PackGemmB(k, c.b)
				if err != nil {
					t.Fatal(err)
				}
				if got := weightF32(t, p, st.In[1]); !slices.Equal(got, packed) {
					t.Errorf("step %d: packed B differs from PackGemmB of the folded B", s)
				}
				switch {
				case c.bias == nil && st.In[2].Loc != LocNone:
					t.Errorf("step %d: bias %+v, want none", s, st.In[2])
				case c.bias != nil && !slices.Equal(weightF32(t, p, st.In[2]), c.bias):
					t.Errorf("step %d: bias %v, want %v", s, weightF32(t, p, st.In[2]), c.bias)
				}
			}
		},
	},
	{
		name: "reference forms",
		build: func(b *ir.Builder) {
			x := b.Input("x", 4, 3)
			y1 := b.Node1("transA", &ir.Gemm{Alpha: 1, Beta: 1, TransA: true}, x, b.Const("b", gemmB64))
			y2 := b.Node1("cmn", &ir.Gemm{Alpha: 1, Beta: 1}, y1, b.Const("b2", seqF32(1, 6, 6)), b.Const("c", seqF32(1, 3, 6)))
			y3 := b.Node1("bvar", &ir.Gemm{Alpha: 1, Beta: 1}, y2, b.Input("bv", 6, 2))
			y4 := b.Node1("mm3", &ir.MatMul{}, b.Input("x3", 2, 3, 4), b.Const("b3", gemmB64))
			b.Output(y3, y4)
		},
		steps: "transA reference Gemm; cmn reference Gemm; bvar packgemm; bvar gemm; mm3 reference MatMul",
	},
}
