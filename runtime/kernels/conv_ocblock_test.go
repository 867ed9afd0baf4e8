package kernels

import (
	"math/rand"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

// TestConvOCBlock checks the output-channel blocked convolution against
// the formula on every dispatch path: output widths around the 14-wide
// tiles (rows of one to three tiles, of equal and unequal widths), output
// channels around the 32-channel blocks (masked lanes), strides 1 to 4,
// dilation, asymmetric padding, groups, long sums, batches, row and
// channel-block splits, with bias, residual and activations.
func TestConvOCBlock(t *testing.T) {
	cases := []convCase{
		// n, c, h, w, m, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, g
		{1, 3, 5, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{1, 4, 7, 7, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{1, 5, 9, 13, 31, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{2, 6, 8, 14, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{1, 3, 6, 15, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{1, 2, 6, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{1, 2, 5, 29, 65, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{1, 8, 14, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // ResNet's 56: 4 tiles of 14
		{1, 3, 30, 30, 40, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1},   // stem-like
		{1, 3, 51, 51, 20, 11, 11, 4, 4, 1, 1, 2, 2, 2, 2, 1}, // AlexNet-like
		{1, 4, 20, 40, 6, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1},    // stride 3
		{1, 4, 20, 20, 36, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1},   // dilated
		{1, 4, 20, 34, 6, 3, 5, 2, 2, 2, 3, 1, 4, 0, 2, 1},    // mixed
		{1, 8, 16, 16, 72, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4},   // groups of 18 channels
		{1, 8, 9, 9, 64, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2},     // 1x1 grouped
		{1, 16, 9, 9, 48, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1},    // 1x1 strided: a compact band
		{2, 5, 11, 10, 33, 1, 1, 3, 2, 1, 1, 1, 0, 0, 1, 1},   // 1x1, strides 3x2, padded
		{1, 6, 8, 30, 20, 1, 1, 1, 2, 1, 1, 0, 0, 0, 0, 1},    // 1x1, width stride only
		{1, 6, 9, 8, 20, 1, 1, 2, 1, 1, 1, 0, 0, 0, 0, 2},     // 1x1, row stride only, grouped
		{1, 130, 7, 7, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // K = 1170
		{1, 33, 16, 24, 9, 3, 3, 2, 1, 1, 1, 1, 1, 0, 1, 1},   // row stride only
		{3, 2, 4, 4, 3, 5, 5, 1, 1, 1, 1, 4, 4, 4, 4, 1},      // windows wholly in padding
	}
	acts := []ir.Activation{{}, actRelu, {Kind: ir.ActClip, Min: -0.3, Max: 0.4}}
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(8))
		for i, cc := range cases {
			for v := 0; v < 2; v++ {
				convCheckCase(t, r, cc, ir.AlgoOCBlock, (i+v)%2 == 0, (i+v)%3 == 1, acts[(i+v)%len(acts)])
			}
		}
	})
}

// TestConvOCBlockSplit checks that the pieces tile the output exactly:
// every row block and channel-block range, for shapes that split by rows
// (large maps), by channel blocks (7x7 maps of many channels) and both.
func TestConvOCBlockSplit(t *testing.T) {
	for _, cc := range []convCase{
		{1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{1, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{1, 128, 28, 28, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{8, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{1, 8, 3, 3, 600, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},
	} {
		k := cc.kernel(ir.AlgoOCBlock, ir.Activation{})
		tk, err := newConvOCBlock(k, nil, nil, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tk.ohSize*tk.ohs < k.OH || (tk.ohs-1)*tk.ohSize >= k.OH ||
			tk.blockSize*tk.bpieces < tk.blocks || (tk.bpieces-1)*tk.blockSize >= tk.blocks {
			t.Errorf("%v: rows %d×%d, blocks %d×%d of %d: not an exact cover", cc, tk.ohs, tk.ohSize, tk.bpieces, tk.blockSize, tk.blocks)
		}
		sum := 0
		for _, p := range tk.seg {
			if p < 1 || p > ocMaxP {
				t.Errorf("%v: tile width %d", cc, p)
			}
			sum += p
		}
		if sum != k.OW {
			t.Errorf("%v: tiles %v cover %d of %d columns", cc, tk.seg, sum, k.OW)
		}
		t.Logf("%v: %d tasks (rows %d×%d, blocks %d×%d), tiles %v", cc, tk.Tasks(), tk.ohs, tk.ohSize, tk.bpieces, tk.blockSize, tk.seg)
	}
}
