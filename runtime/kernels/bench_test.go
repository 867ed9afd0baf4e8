package kernels

import (
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

// BenchmarkGemm measures the single-threaded SGEMM core, C = A·B with A
// packed beforehand, in GFLOP/s (2·m·n·k per product), on layer-like
// shapes; BenchmarkSGEMM1024 has the square one against the FMA peak.
func BenchmarkGemm(b *testing.B) {
	for _, s := range [][3]int{{64, 3136, 64}, {256, 256, 256}, {512, 49, 256}} {
		m, n, k := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(b *testing.B) {
			r := rand.New(rand.NewSource(1))
			a, bb := gemmRandSlice(r, m*k), gemmRandSlice(r, k*n)
			pa := make([]float32, packedALen(m, k))
			packA(pa, a, m, k, k, 1)
			c := make([]float32, m*n)
			scratch := make([]float32, gemmScratch(k, n))
			b.ResetTimer()
			cpu := processCPU()
			for range b.N {
				gemmPacked(m, n, k, pa, bb, n, c, n, scratch)
			}
			flops := 2 * float64(m*n*k) * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			reportCPU(b, flops/1e9, cpu, "GFLOP/cpu-s")
		})
	}
}

// benchConvLayers are ResNet-18's convolution shapes at 224×224, batch 1,
// and some of ResNet-50's (r50-), VGG's (vgg-) and DenseNet-121's (dn-),
// with the algorithms that take them.
var benchConvLayers = []struct {
	name  string
	cc    convCase
	algos []ir.ConvAlgo
}{
	{"stem3-64x224_7x7s2", convCase{1, 3, 224, 224, 64, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1}, []ir.ConvAlgo{ir.AlgoIm2col, ir.AlgoDirect, ir.AlgoOCBlock}},
	{"64x56_3x3", convCase{1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, []ir.ConvAlgo{ir.AlgoIm2col, ir.AlgoDirect, ir.AlgoOCBlock}},
	{"64-128x56_3x3s2", convCase{1, 64, 56, 56, 128, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1}, []ir.ConvAlgo{ir.AlgoIm2col, ir.AlgoOCBlock}},
	{"128-256x28_3x3s2", convCase{1, 128, 28, 28, 256, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1}, []ir.ConvAlgo{ir.AlgoIm2col, ir.AlgoOCBlock}},
	{"256-512x14_3x3s2", convCase{1, 256, 14, 14, 512, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1}, []ir.ConvAlgo{ir.AlgoIm2col, ir.AlgoOCBlock}},
	{"512x7_3x3", convCase{1, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, []ir.ConvAlgo{ir.AlgoIm2col, ir.AlgoDirect, ir.AlgoOCBlock}},
	{"256x14_1x1", convCase{1, 256, 14, 14, 256, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1}, []ir.ConvAlgo{ir.AlgoGEMM1x1, ir.AlgoIm2col, ir.AlgoOCBlock}},
	{"64-128x56_1x1s2", convCase{1, 64, 56, 56, 128, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1}, []ir.ConvAlgo{ir.AlgoIm2col, ir.AlgoOCBlock}},
	{"256-512x7_1x1", convCase{1, 256, 7, 7, 512, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1}, []ir.ConvAlgo{ir.AlgoGEMM1x1, ir.AlgoOCBlock}},
	{"r50-64-256x56_1x1", convCase{1, 64, 56, 56, 256, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1}, []ir.ConvAlgo{ir.AlgoGEMM1x1, ir.AlgoOCBlock}},
	{"r50-256-64x56_1x1", convCase{1, 256, 56, 56, 64, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1}, []ir.ConvAlgo{ir.AlgoGEMM1x1, ir.AlgoOCBlock}},
	{"r50-256-512x56_1x1s2", convCase{1, 256, 56, 56, 512, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1}, []ir.ConvAlgo{ir.AlgoIm2col, ir.AlgoOCBlock}},
	{"vgg-64x224_3x3", convCase{1, 64, 224, 224, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, []ir.ConvAlgo{ir.AlgoIm2col, ir.AlgoOCBlock}},
	{"dn-128-32x56_3x3", convCase{1, 128, 56, 56, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, []ir.ConvAlgo{ir.AlgoIm2col, ir.AlgoOCBlock}},
	{"dn-128-32x28_3x3", convCase{1, 128, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, []ir.ConvAlgo{ir.AlgoIm2col, ir.AlgoOCBlock}},
	{"dw128x56_3x3", convCase{1, 128, 56, 56, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 128}, []ir.ConvAlgo{ir.AlgoDepthwise}},
	// ResNeXt-50 32x4d's grouped 3x3 layers: 4 to 32 channels a group.
	{"rx-128x56_3x3g32", convCase{1, 128, 56, 56, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 32}, []ir.ConvAlgo{ir.AlgoDirect}},
	{"rx-512x14_3x3g32", convCase{1, 512, 14, 14, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 32}, []ir.ConvAlgo{ir.AlgoDirect, ir.AlgoOCBlock}},
	{"rx-256x56_3x3s2g32", convCase{1, 256, 56, 56, 256, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 32}, []ir.ConvAlgo{ir.AlgoDirect, ir.AlgoOCBlock}},
	{"rx-1024x14_3x3s2g32", convCase{1, 1024, 14, 14, 1024, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 32}, []ir.ConvAlgo{ir.AlgoDirect, ir.AlgoOCBlock}},
	// ResNet-18's 3x3 layers in bench/train's training step: batch 32 on
	// 96x96 images.
	{"t32-64x24_3x3", convCase{32, 64, 24, 24, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, benchTrainAlgos},
	{"t32-128x12_3x3", convCase{32, 128, 12, 12, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, benchTrainAlgos},
	{"t32-256x6_3x3", convCase{32, 256, 6, 6, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, benchTrainAlgos},
	{"t32-512x3_3x3", convCase{32, 512, 3, 3, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, benchTrainAlgos},
}

// benchTrainAlgos are the algorithms that take a 3x3 stride-1 layer.
var benchTrainAlgos = []ir.ConvAlgo{ir.AlgoIm2col, ir.AlgoDirect, ir.AlgoOCBlock, ir.AlgoWinograd2, ir.AlgoWinograd4}

// BenchmarkConv runs ResNet-18's layer shapes (with bias and ReLU) per
// algorithm on 1 and 2 threads and reports multiply-adds per second.
func BenchmarkConv(b *testing.B) {
	r := rand.New(rand.NewSource(2))
	for _, l := range benchConvLayers {
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
			macs := float64(k.N * k.M * (k.C / k.Group) * k.KH * k.KW * k.OH * k.OW)
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%v/threads%d", l.name, algo, threads), func(b *testing.B) {
					run := benchPool(task, threads)
					run()
					b.ResetTimer()
					cpu := processCPU()
					for range b.N {
						run()
					}
					b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
					reportCPU(b, macs*float64(b.N)/1e9, cpu, "GMAC/cpu-s")
				})
			}
		}
	}
}

// BenchmarkFC runs ResNet-18's classifier (512 -> 1000) at batch 1 and 16.
func BenchmarkFC(b *testing.B) {
	r := rand.New(rand.NewSource(3))
	for _, m := range []int{1, 16} {
		k := &Gemm{M: m, N: 1000, K: 512}
		pb, err := PackGemmB(k, gemmRandSlice(r, k.K*k.N))
		if err != nil {
			b.Fatal(err)
		}
		task, err := k.Bind([]*ir.Tensor{f32(gemmRandSlice(r, m*k.K)), f32(pb), f32(gemmRandSlice(r, k.N))},
			[]*ir.Tensor{f32(make([]float32, m*k.N))})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("M%d/threads1", m), func(b *testing.B) {
			run := benchPool(task, 1)
			for range b.N {
				run()
			}
			b.ReportMetric(float64(m*k.N*k.K)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}

// reportCPU reports work (in units of 1e9) per second of the process's CPU
// time since cpu, where that is measured: on a shared machine, the rate
// the code would reach with its cores to itself.
func reportCPU(b *testing.B, work, cpu float64, unit string) {
	if used := processCPU() - cpu; cpu > 0 && used > 0 {
		b.ReportMetric(work/used, unit)
	}
}

// benchPool returns a function running every piece of task on threads
// workers taking pieces from an atomic counter, as the runtime's pool
// does (a Staged task's first stage first).
func benchPool(task Task, threads int) func() {
	scratch := make([][]float32, threads)
	for i := range scratch {
		scratch[i] = make([]float32, task.Scratch())
	}
	first := int64(0)
	if st, ok := task.(Staged); ok {
		first = int64(st.Stage())
	}
	n := int64(task.Tasks())
	return func() {
		for _, stage := range [][2]int64{{0, first}, {first, n}} {
			var next atomic.Int64
			next.Store(stage[0])
			var wg sync.WaitGroup
			for w := 0; w < threads; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for {
						t := next.Add(1) - 1
						if t >= stage[1] {
							return
						}
						task.Run(int(t), scratch[w])
					}
				}(w)
			}
			wg.Wait()
		}
	}
}
