package kernels

import (
	"math/rand"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

// TestConvImplicit checks the implicit im2col convolution (output rows of
// 12 or more) against the formula on every dispatch path: output widths
// around the 16-wide tiles, strides 1 to 4 (phase-split bands), dilation,
// asymmetric padding, groups, K-blocks past gemmKC, and output channels
// around the 6-row panels, with bias, residual and activations; rows whose
// last tile has 8 columns or fewer take the half-width loop.
func TestConvImplicit(t *testing.T) {
	cases := []convCase{
		// n, c, h, w, m, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, g
		{1, 3, 12, 12, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{1, 4, 15, 15, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{2, 5, 16, 16, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{1, 3, 17, 17, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{1, 2, 9, 33, 12, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1},
		{1, 8, 14, 65, 17, 1, 3, 1, 1, 1, 1, 0, 2, 0, 1, 1},
		{1, 3, 30, 30, 8, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1},   // stem-like
		{1, 3, 51, 51, 4, 11, 11, 4, 4, 1, 1, 2, 2, 2, 2, 1}, // AlexNet-like
		{1, 4, 20, 40, 6, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1},   // stride 3
		{1, 4, 20, 20, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1},   // dilated
		{1, 4, 20, 34, 6, 3, 5, 2, 2, 2, 3, 1, 4, 0, 2, 1},   // mixed
		{1, 8, 16, 16, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4},   // groups
		{1, 64, 13, 13, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},  // K = 576: two K-blocks
		{1, 33, 16, 24, 9, 3, 3, 2, 1, 1, 1, 1, 1, 0, 1, 1},  // row stride only
		{1, 2, 12, 12, 3, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 1},
		{1, 5, 10, 24, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},  // 16 + a full 8-wide tile
		{1, 40, 6, 56, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, // ResNet's 56: 3 tiles + 8, per tile
		{1, 8, 25, 27, 10, 1, 1, 2, 2, 1, 1, 0, 1, 1, 0, 1}, // 1x1 strided, padded: a compact band
		{2, 4, 13, 40, 6, 1, 1, 3, 3, 1, 1, 0, 0, 0, 0, 1},  // 1x1, stride 3
	}
	acts := []ir.Activation{{}, actRelu, {Kind: ir.ActClip, Min: -0.3, Max: 0.4}}
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(7))
		for i, cc := range cases {
			k := cc.kernel(ir.AlgoIm2col, ir.Activation{})
			if k.OW < implicitMinOW {
				t.Fatalf("%v: output width %d, below implicitMinOW: not an implicit case", cc, k.OW)
			}
			pw := make([]float32, PackedConvLen(k))
			task, err := k.Bind([]*ir.Tensor{f32(make([]float32, k.N*k.C*k.H*k.W)), f32(pw)},
				[]*ir.Tensor{f32(make([]float32, k.N*k.M*k.OH*k.OW))})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := task.(*convImplicit); !ok {
				t.Fatalf("%v: bound as %T, want the implicit convolution", cc, task)
			}
			convCheckCase(t, r, cc, ir.AlgoIm2col, i%2 == 0, i%3 == 1, acts[i%len(acts)])
		}
	})
}

// TestStride2Copy checks stride2Copy at every level against its loop for
// every length up to 50, with the source ending at its last read float
// (the guard tests catch an over-read) and guards after dst.
func TestStride2Copy(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		for n := 0; n <= 50; n++ {
			src := make([]float32, max(2*n-1, 0))
			for i := range src {
				src[i] = float32(i)
			}
			buf := make([]float32, n+3)
			for i := range buf {
				buf[i] = -1
			}
			stride2Copy(buf[:n:n], src)
			for v := 0; v < n; v++ {
				if buf[v] != float32(2*v) {
					t.Fatalf("n %d: dst[%d] = %v, want %d", n, v, buf[v], 2*v)
				}
			}
			for i := n; i < len(buf); i++ {
				if buf[i] != -1 {
					t.Fatalf("n %d: guard dst[%d] overwritten", n, i)
				}
			}
		}
	})
}
