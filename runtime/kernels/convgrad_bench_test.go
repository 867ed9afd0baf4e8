package kernels

import (
	"math/rand"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

// benchConvGradLayers are ResNet-18's convolutions in a training step at
// batch 32 on 96×96 inputs, with the gradients the step computes: dW for
// every layer, dX for the strided ones (stride-1 data gradients run as
// forward convolutions; the stem's dX is not needed).
var benchConvGradLayers = []struct {
	name       string
	cc         convCase
	filterOnly bool
}{
	// n, c, h, w, m, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, g
	{"r18-3-64x96-7x7s2", convCase{32, 3, 96, 96, 64, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1}, true},
	{"r18-64x24-3x3", convCase{32, 64, 24, 24, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, true},
	{"r18-64-128x24-3x3s2", convCase{32, 64, 24, 24, 128, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1}, false},
	{"r18-64-128x24-1x1s2", convCase{32, 64, 24, 24, 128, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1}, false},
	{"r18-128x12-3x3", convCase{32, 128, 12, 12, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, true},
	{"r18-128-256x12-3x3s2", convCase{32, 128, 12, 12, 256, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1}, false},
	{"r18-128-256x12-1x1s2", convCase{32, 128, 12, 12, 256, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1}, false},
	{"r18-256x6-3x3", convCase{32, 256, 6, 6, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, true},
	{"r18-256-512x6-3x3s2", convCase{32, 256, 6, 6, 512, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1}, false},
	{"r18-256-512x6-1x1s2", convCase{32, 256, 6, 6, 512, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1}, false},
	{"r18-512x3-3x3", convCase{32, 512, 3, 3, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, true},
}

// BenchmarkConvGrad runs ConvGradFilter and ConvGradData on
// benchConvGradLayers on one thread and reports multiply-adds per second.
func BenchmarkConvGrad(b *testing.B) {
	r := rand.New(rand.NewSource(4))
	for _, kind := range []string{"filter", "data"} {
		for _, l := range benchConvGradLayers {
			if kind == "data" && l.filterOnly {
				continue
			}
			k := l.cc.kernel(ir.AlgoAuto, ir.Activation{})
			x := f32(gemmRandSlice(r, k.N*k.C*k.H*k.W))
			w := f32(gemmRandSlice(r, k.M*(k.C/k.Group)*k.KH*k.KW))
			dy := f32(gemmRandSlice(r, k.N*k.M*k.OH*k.OW))
			var task Task
			var err error
			if kind == "filter" {
				task, err = (&ConvGradFilter{Conv: *k}).Bind([]*ir.Tensor{x, dy}, []*ir.Tensor{w})
			} else {
				task, err = (&ConvGradData{Conv: *k}).Bind([]*ir.Tensor{dy, w}, []*ir.Tensor{x})
			}
			if err != nil {
				b.Fatal(err)
			}
			macs := float64(k.N * k.M * (k.C / k.Group) * k.KH * k.KW * k.OH * k.OW)
			b.Run(kind+"/"+l.name, func(b *testing.B) {
				run := benchPool(task, 1)
				run()
				b.ResetTimer()
				for range b.N {
					run()
				}
				b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
	}
}
