package kernels

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

// benchFCLayers are fully connected layers of the torchvision models, K
// inputs to N outputs: at batch 1 each streams its K·N weights once, so
// they are measured in GB/s of packed weights read.
var benchFCLayers = []struct {
	name string
	k, n int
}{
	{"resnet18_512x1000", 512, 1000},
	{"resnet50_2048x1000", 2048, 1000},
	{"alexnet_9216x4096", 9216, 4096},
	{"alexnet_4096x4096", 4096, 4096},
	{"vgg16_25088x4096", 25088, 4096},
}

// BenchmarkGemv runs the batch-1 fully connected layers (bias and ReLU)
// on 1 and 2 threads at the active ISA level and reports the weight
// streaming rate (GB/s of packed B) and GFLOP/s. On one thread the pieces
// run in the benchmark's goroutine, without the pool's start-up.
func BenchmarkGemv(b *testing.B) {
	r := rand.New(rand.NewSource(4))
	for _, l := range benchFCLayers {
		k := &Gemm{M: 1, N: l.n, K: l.k, Act: actRelu}
		pb, err := PackGemmB(k, gemmRandSlice(r, k.K*k.N))
		if err != nil {
			b.Fatal(err)
		}
		task, err := k.Bind([]*ir.Tensor{f32(gemmRandSlice(r, k.K)), f32(pb), f32(gemmRandSlice(r, k.N))},
			[]*ir.Tensor{f32(make([]float32, k.N))})
		if err != nil {
			b.Fatal(err)
		}
		bytes := 4 * float64(len(pb))
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads%d", l.name, threads), func(b *testing.B) {
				run := benchPool(task, threads)
				if threads == 1 {
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
				s := b.Elapsed().Seconds()
				b.ReportMetric(bytes*float64(b.N)/s/1e9, "GB/s")
				b.ReportMetric(2*float64(k.K*k.N)*float64(b.N)/s/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkGemvBlock measures gemvBlock alone on one K-block of kc rows
// and n columns that stays in cache (L1: 16 KiB, L2: 64 and 512 KiB), the
// kernel's rate without memory's limit.
func BenchmarkGemvBlock(b *testing.B) {
	for _, s := range [][2]int{{64, 64}, {256, 64}, {256, 512}} {
		kc, n := s[0], s[1]
		b.Run(fmt.Sprintf("kc%d_n%d", kc, n), func(b *testing.B) {
			r := rand.New(rand.NewSource(5))
			x, pb, y := gemmRandSlice(r, kc), gemmRandSlice(r, kc*n), make([]float32, n)
			for range b.N {
				gemvBlock(x, pb, y)
			}
			b.ReportMetric(4*float64(len(pb))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}
