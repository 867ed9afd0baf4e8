package kernels

import (
	"fmt"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

// wgResNetLayers are ResNet-18's 3x3 stride-1 convolutions at 224x224,
// batch 1: channels (C = M) and spatial size.
var wgResNetLayers = []struct{ c, hw int }{{64, 56}, {128, 28}, {256, 14}, {512, 7}}

// BenchmarkWinograd runs ResNet-18's 3x3 layers (with bias and ReLU)
// through Conv2D with each Winograd variant and, for comparison, im2col, on
// 1 and 2 threads, and reports the effective rate: the direct
// convolution's multiply-adds (M·C·9·OH·OW) per second.
func BenchmarkWinograd(b *testing.B) {
	for _, l := range wgResNetLayers {
		tc := wgCase{n: 1, c: l.c, m: l.c, h: l.hw, w: l.hw, padT: 1, padL: 1, padB: 1, padR: 1, bias: true,
			act: ir.Activation{Kind: ir.ActRelu}}
		d := wgRandom(tc, 1)
		for _, algo := range []ir.ConvAlgo{ir.AlgoIm2col, ir.AlgoWinograd2, ir.AlgoWinograd4} {
			k := tc.conv(algo)
			pw, err := PackConvWeights(k, d.w)
			if err != nil {
				b.Fatal(err)
			}
			y, err := ir.NewTensor(ir.Float32, ir.Shape{k.N, k.M, k.OH, k.OW})
			if err != nil {
				b.Fatal(err)
			}
			task, err := k.Bind([]*ir.Tensor{
				ir.FromFloat32(ir.Shape{k.N, k.C, k.H, k.W}, d.x),
				ir.FromFloat32(ir.Shape{len(pw)}, pw),
				ir.FromFloat32(ir.Shape{k.M}, d.bias),
			}, []*ir.Tensor{y})
			if err != nil {
				b.Fatal(err)
			}
			macs := float64(k.N * k.M * k.C * 9 * k.OH * k.OW)
			for _, threads := range []int{1, 2} {
				name := fmt.Sprintf("%dx%dx%d/%v/threads%d", l.c, l.hw, l.hw, algo, threads)
				b.Run(name, func(b *testing.B) {
					run := benchPool(task, threads)
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
}
