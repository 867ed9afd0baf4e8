package kernels

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

// benchDirectLayers are the convolutions the direct kernels are for, at
// batch 1: ResNeXt-50 32x4d's grouped 3×3 layers (32 groups, stride 1 and
// the stride-2 first blocks of stages 2-4) and MobileNet-style depthwise
// 3×3 layers, with the algorithms that take them.
var benchDirectLayers = []struct {
	name  string
	cc    convCase
	algos []ir.ConvAlgo
}{
	{"resnext_128x56_g32", convCase{1, 128, 56, 56, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 32}, []ir.ConvAlgo{ir.AlgoIm2col, ir.AlgoDirect}},
	{"resnext_256x56s2_g32", convCase{1, 256, 56, 56, 256, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 32}, []ir.ConvAlgo{ir.AlgoIm2col, ir.AlgoDirect}},
	{"resnext_256x28_g32", convCase{1, 256, 28, 28, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 32}, []ir.ConvAlgo{ir.AlgoIm2col, ir.AlgoDirect}},
	{"resnext_512x28s2_g32", convCase{1, 512, 28, 28, 512, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 32}, []ir.ConvAlgo{ir.AlgoIm2col, ir.AlgoDirect}},
	{"resnext_512x14_g32", convCase{1, 512, 14, 14, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 32}, []ir.ConvAlgo{ir.AlgoIm2col, ir.AlgoDirect}},
	{"resnext_1024x14s2_g32", convCase{1, 1024, 14, 14, 1024, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 32}, []ir.ConvAlgo{ir.AlgoIm2col, ir.AlgoDirect}},
	{"resnext_1024x7_g32", convCase{1, 1024, 7, 7, 1024, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 32}, []ir.ConvAlgo{ir.AlgoIm2col, ir.AlgoDirect}},
	{"dw32x112", convCase{1, 32, 112, 112, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 32}, []ir.ConvAlgo{ir.AlgoDepthwise, ir.AlgoIm2col}},
	{"dw96x112s2", convCase{1, 96, 112, 112, 96, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 96}, []ir.ConvAlgo{ir.AlgoDepthwise, ir.AlgoIm2col}},
	{"dw144x56", convCase{1, 144, 56, 56, 144, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 144}, []ir.ConvAlgo{ir.AlgoDepthwise, ir.AlgoIm2col}},
	{"dw192x28", convCase{1, 192, 28, 28, 192, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 192}, []ir.ConvAlgo{ir.AlgoDepthwise, ir.AlgoIm2col}},
	{"dw576x14", convCase{1, 576, 14, 14, 576, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 576}, []ir.ConvAlgo{ir.AlgoDepthwise, ir.AlgoIm2col}},
	{"dw960x7", convCase{1, 960, 7, 7, 960, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 960}, []ir.ConvAlgo{ir.AlgoDepthwise, ir.AlgoIm2col}},
	{"dw672x14_5x5", convCase{1, 672, 14, 14, 672, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 672}, []ir.ConvAlgo{ir.AlgoDepthwise, ir.AlgoIm2col}},
}

// BenchmarkConvDirect runs benchDirectLayers (bias and ReLU) per algorithm
// on 1 and 2 threads at the active ISA level and reports GFLOP/s (2 per
// multiply-add of the direct definition).
func BenchmarkConvDirect(b *testing.B) {
	r := rand.New(rand.NewSource(6))
	for _, l := range benchDirectLayers {
		for _, algo := range l.algos {
			k := l.cc.kernel(algo, actRelu)
			x := gemmRandSlice(r, k.N*k.C*k.H*k.W)
			w := gemmRandSlice(r, k.M*(k.C/k.Group)*k.KH*k.KW)
			pw, err := PackConvWeights(k, w)
			if err != nil {
				b.Fatal(err)
			}
			y := make([]float32, k.N*k.M*k.OH*k.OW)
			task, err := k.Bind([]*ir.Tensor{f32(x), f32(pw), f32(gemmRandSlice(r, k.M))}, []*ir.Tensor{f32(y)})
			if err != nil {
				b.Fatal(err)
			}
			flops := 2 * float64(k.N*k.M*(k.C/k.Group)*k.KH*k.KW*k.OH*k.OW)
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%v/threads%d", l.name, algo, threads), func(b *testing.B) {
					run := benchPool(task, threads)
					if threads == 1 {
						// In this goroutine, without the pool's
						// start-up.
						scratch := make([]float32, task.Scratch())
						run = func() {
							for i := range task.Tasks() {
								task.Run(i, scratch)
							}
						}
					}
					run()
					b.ResetTimer()
					for range b.N {
						run()
					}
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// BenchmarkDirectRows measures the row kernels alone on a band in cache:
// the taps of a 3×3 kernel over cg channels, blocks of mb channels by rb
// rows by nv vectors over rows of ow outputs.
func BenchmarkDirectRows(b *testing.B) {
	for _, s := range []struct{ mb, rb, nv, cg, ow, rows int }{
		{4, 1, 2, 4, 56, 56}, {4, 1, 2, 8, 28, 28}, {4, 1, 2, 32, 14, 14},
		{4, 2, 1, 32, 7, 8}, {4, 1, 1, 32, 7, 8},
		{1, 2, 4, 1, 56, 56}, {1, 1, 4, 1, 56, 56}, {1, 4, 2, 1, 14, 16}, {1, 1, 2, 1, 14, 16},
		{1, 8, 1, 1, 7, 8}, {1, 1, 1, 1, 7, 8},
	} {
		b.Run(fmt.Sprintf("%dx%dx%d_cg%d_ow%d", s.mb, s.rb, s.nv, s.cg, s.ow), func(b *testing.B) {
			r := rand.New(rand.NewSource(7))
			u := s.ow + 2
			chans := (s.rows + 2) * u
			off := make([]int32, 0, s.cg*9)
			for c := 0; c < s.cg; c++ {
				for kh := 0; kh < 3; kh++ {
					for kw := 0; kw < 3; kw++ {
						off = append(off, int32(c*chans+kh*u+kw))
					}
				}
			}
			taps := newDirectTaps(off)
			x := gemmRandSlice(r, s.cg*chans+8*directMaxNV)
			w := gemmRandSlice(r, s.mb*len(off))
			ys := s.rows * s.ow
			y := make([]float32, s.mb*ys)
			bias := gemmRandSlice(r, s.mb)
			f := directKernel(s.mb, s.rb, s.nv)
			for range b.N {
				f(&taps, w, x, u, 0, y, nil, ys, s.ow, s.rows, bias, tileBias|tileAct, 0, 1)
			}
			flops := 2 * float64(s.mb*len(off)*ys) * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
