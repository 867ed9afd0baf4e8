package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/reference"
)

// TestPackConv checks that the PackConv kernel, its pieces run in any
// order on two workers, writes every element of what PackConvWeights
// returns, bit for bit: Winograd with a last chunk short of the row tile
// and pieces of a few channels, and the GEMM, ocblock and direct layouts
// in one piece and in several.
func TestPackConv(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	base := Conv2D{N: 1, H: 6, W: 6, OH: 6, OW: 6, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PadT: 1, PadL: 1, Group: 1}
	cases := []struct {
		algo        ir.ConvAlgo
		c, m, group int
	}{
		{ir.AlgoWinograd4, 5, 70, 1},    // two chunks, the last of 4 rows
		{ir.AlgoWinograd2, 300, 7, 1},   // pieces of a few output channels
		{ir.AlgoWinograd4, 300, 140, 1}, // pieces of a tile, chunks of 66, 66 and 8
		{ir.AlgoIm2col, 6, 8, 2},
		{ir.AlgoIm2col, 600, 20, 2}, // blocks of 6 and 4 rows a group
		{ir.AlgoOCBlock, 4, 40, 1},
		{ir.AlgoOCBlock, 600, 70, 1}, // blocks of 32, 32 and 6 rows
		{ir.AlgoDirect, 1200, 6, 2},  // a piece a group
	}
	for _, tc := range cases {
		k := base
		k.Algo, k.C, k.M, k.Group = tc.algo, tc.c, tc.m, tc.group
		w := gemmRandSlice(r, k.M*(k.C/k.Group)*9)
		want, err := PackConvWeights(&k, w)
		if err != nil {
			t.Fatalf("%v: %v", tc, err)
		}
		got := ir.FromFloat32(ir.Shape{len(want)}, make([]float32, len(want)))
		for i := range got.F32 {
			got.F32[i] = float32(math.NaN())
		}
		task, err := (&PackConv{Conv: k}).Bind([]*ir.Tensor{ir.FromFloat32(ir.Shape{len(w)}, w)}, []*ir.Tensor{got})
		if err != nil {
			t.Fatalf("%v: %v", tc, err)
		}
		runTask(task, r)
		samePacked(t, fmt.Sprintf("%v (%d pieces)", tc, task.Tasks()), got.F32, want)

		// Flip: packing the FlipFilter of the forward filter w0 as it goes.
		w0 := ir.FromFloat32(ir.Shape{k.C, k.M / k.Group, k.KH, k.KW}, gemmRandSlice(r, len(w)))
		wf := ir.FromFloat32(ir.Shape{len(w)}, make([]float32, len(w)))
		flip := &ir.FlipFilter{Group: k.Group}
		if err := reference.Kernel(flip)(flip, []*ir.Tensor{w0}, []*ir.Tensor{wf}); err != nil {
			t.Fatal(err)
		}
		if want, err = PackConvWeights(&k, wf.F32); err != nil {
			t.Fatal(err)
		}
		if task, err = (&PackConv{Conv: k, Flip: true}).Bind([]*ir.Tensor{w0}, []*ir.Tensor{got}); err != nil {
			t.Fatalf("%v flip: %v", tc, err)
		}
		runTask(task, r)
		samePacked(t, fmt.Sprintf("%v flip", tc), got.F32, want)
	}
}

// samePacked reports the first element of got that differs from want in
// its bits.
func samePacked(t *testing.T, name string, got, want []float32) {
	t.Helper()
	for i, v := range got {
		if math.Float32bits(v) != math.Float32bits(want[i]) {
			t.Errorf("%s: packed[%d] = %v, PackConvWeights %v", name, i, v, want[i])
			return
		}
	}
}

// TestWinogradTransformFilter holds the factored filter transforms to G f
// Gᵀ with the matrices as written (wgG2, wgG4), in float64.
func TestWinogradTransformFilter(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	for m, g := range map[int][][3]float64{2: wgG2[:], 4: wgG4[:]} {
		a := m + 2
		for trial := 0; trial < 50; trial++ {
			f := gemmRandSlice(r, 9)
			var u [36]float32
			wgTransformFilter(m, f, &u)
			for i := 0; i < a; i++ {
				for j := 0; j < a; j++ {
					want := 0.0
					for p := 0; p < 3; p++ {
						for q := 0; q < 3; q++ {
							want += g[i][p] * float64(f[p*3+q]) * g[j][q]
						}
					}
					if d := math.Abs(float64(u[i*a+j]) - want); d > 1e-6*(1+math.Abs(want)) {
						t.Fatalf("F(%d): U[%d][%d] = %v, G f Gᵀ %v", m, i, j, u[i*a+j], want)
					}
				}
			}
		}
	}
}

// BenchmarkPackConv packs ResNet-18's 512x512 3x3 filters as a training
// step does each run, on one thread, and (-flip) their FlipFilter, as the
// data gradient's convolution does.
func BenchmarkPackConv(b *testing.B) {
	for _, algo := range []ir.ConvAlgo{ir.AlgoWinograd4, ir.AlgoWinograd2, ir.AlgoOCBlock, ir.AlgoIm2col} {
		for _, flip := range []bool{false, true} {
			name := algo.String()
			if flip {
				name += "-flip"
			}
			b.Run(name, func(b *testing.B) {
				k := Conv2D{N: 32, C: 512, M: 512, H: 3, W: 3, OH: 3, OW: 3, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PadT: 1, PadL: 1, Group: 1, Algo: algo}
				w := gemmRandSlice(rand.New(rand.NewSource(1)), k.M*k.C*9)
				out := make([]float32, PackedConvLen(&k))
				task, err := (&PackConv{Conv: k, Flip: flip}).Bind([]*ir.Tensor{ir.FromFloat32(ir.Shape{len(w)}, w)}, []*ir.Tensor{ir.FromFloat32(ir.Shape{len(out)}, out)})
				if err != nil {
					b.Fatal(err)
				}
				scratch := make([]float32, task.Scratch())
				for b.Loop() {
					for p := range task.Tasks() {
						task.Run(p, scratch)
					}
				}
			})
		}
	}
}
