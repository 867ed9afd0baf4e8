package kernels

import (
	"math"
	"math/rand"
	"sync"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/reference"
)

// convGradCases cover strides, dilations, asymmetric padding, groups,
// depthwise, 1-D (H = 1), K-blocks past gemmKC, K-blocks and image blocks
// spanning images, windows inside X and in the padding, and every way the
// two kernels split into pieces.
var convGradCases = []convCase{
	// n, c, h, w, m, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, g
	{2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
	{1, 4, 9, 11, 6, 3, 2, 2, 3, 1, 1, 1, 0, 2, 1, 2},
	{3, 2, 8, 8, 5, 3, 3, 1, 1, 2, 2, 2, 1, 0, 2, 1},
	{2, 6, 5, 5, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 6},
	{2, 1, 28, 28, 6, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 1},  // LeNet's C1: 784 positions
	{4, 6, 14, 14, 16, 5, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1}, // C3
	{1, 40, 6, 6, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // 360 taps: two column blocks
	{2, 3, 1, 20, 4, 1, 5, 1, 2, 1, 1, 0, 2, 0, 1, 1},   // 1-D
	{1, 2, 4, 4, 3, 5, 5, 1, 1, 1, 1, 3, 3, 3, 3, 1},    // windows in the padding
	// Batches whose K-blocks (and ConvGradData's image blocks) span images.
	{5, 8, 6, 6, 12, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},  // P = 9: corners only in the padding but one
	{9, 6, 6, 6, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // P = 36, 324 positions: two K-blocks
	{7, 3, 10, 10, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, // two image blocks of 4 and 3
	{4, 8, 9, 9, 12, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2},  // stride 2, groups
	{3, 6, 10, 10, 9, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 3}, // dilation, groups
	{6, 4, 1, 30, 5, 1, 3, 1, 2, 1, 1, 0, 1, 0, 1, 1},  // 1-D
	{3, 20, 8, 8, 40, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1}, // one column block of dW: two row blocks
	{2, 40, 5, 5, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},  // channel blocks of 32 and 8
	{1, 456, 3, 3, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, // 4104 taps: pieces wider than gemmNC
	// Runs of positions inside X (packColT's convGradRuns) between
	// gathered borders, with partial panels of taps gathered throughout.
	{2, 2, 6, 10, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},  // runs of 8
	{4, 4, 9, 20, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},  // runs of 18, K-blocks of 240 spanning images
	{2, 8, 14, 40, 6, 3, 3, 2, 2, 2, 2, 2, 3, 1, 2, 2}, // stride 2, dilation, groups
	{2, 3, 20, 36, 8, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1}, // the stem's 7x7 stride 2: 147 taps
	{3, 5, 1, 50, 7, 1, 4, 1, 1, 1, 1, 0, 1, 0, 2, 1},  // 1-D, runs of 47
	{2, 4, 7, 11, 5, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1},  // stride 3: gathered
}

// convGradShiftedCases take packColTShifted (stride-1 rows, borders or
// short rows): padding 1, 2, 3 and asymmetric, column strides 1 and 2,
// dilation, 1-D, partial panels of taps, and K-blocks spanning images,
// in segments of a whole image and of part of one.
var convGradShiftedCases = []convCase{
	// n, c, h, w, m, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, g
	{5, 3, 7, 9, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},   // padding 1, 315 positions: two K-blocks
	{5, 4, 6, 6, 7, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 1},   // padding 2, 100 taps
	{4, 3, 8, 9, 5, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3, 1},   // padding 3, 147 taps
	{2, 3, 6, 7, 4, 3, 3, 1, 1, 1, 1, 0, 2, 2, 0, 1},   // asymmetric padding
	{3, 4, 9, 17, 6, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 1},  // column stride 2
	{4, 6, 8, 8, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 2},   // dilation, groups
	{40, 8, 3, 3, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},  // 3×3 planes: 9-position segments
	{12, 6, 6, 6, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},  // 6×6 planes
	{4, 2, 1, 40, 5, 1, 5, 1, 1, 1, 2, 0, 3, 0, 3, 1},  // 1-D, dilation
	{2, 3, 20, 30, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, // 600 positions an image: segments within one
	{1, 2, 5, 4, 3, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0, 1},   // inside X but rows of 3
}

func init() { convGradCases = append(convGradCases, convGradShiftedCases...) }

// TestConvGradShifted checks that convGradShiftedCases and ResNet-18's
// stride-1 layers take packColTShifted, and the others do not.
func TestConvGradShifted(t *testing.T) {
	check := func(name string, cc convCase, want bool) {
		k := cc.kernel(ir.AlgoAuto, ir.Activation{})
		task, err := (&ConvGradFilter{Conv: *k}).Bind(
			[]*ir.Tensor{f32(make([]float32, k.N*k.C*k.H*k.W)), f32(make([]float32, k.N*k.M*k.OH*k.OW))},
			[]*ir.Tensor{f32(make([]float32, k.M*(k.C/k.Group)*k.KH*k.KW))})
		if err != nil {
			t.Fatal(err)
		}
		if got := task.(*convGradFilterTask).shiftLen > 0; got != want {
			t.Errorf("%s %v: shifted %v, want %v", name, cc, got, want)
		}
	}
	for _, cc := range convGradShiftedCases {
		check("case", cc, true)
	}
	for _, l := range benchConvGradLayers {
		check(l.name, l.cc, l.cc.sh == 1 && l.cc.kh > 1)
	}
}

// TestConvGrad checks ConvGradData and ConvGradFilter against the
// reference interpreter's kernels at every instruction-set level.
func TestConvGrad(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(5))
		for _, cc := range convGradCases {
			k := cc.kernel(ir.AlgoAuto, ir.Activation{})
			op := ir.Conv{Strides: []int{cc.sh, cc.sw}, Dilations: []int{cc.dh, cc.dw}, Pads: []int{cc.pt, cc.pl, cc.pb, cc.pr}, Group: cc.g}
			xs, ws := ir.Shape{cc.n, cc.c, cc.h, cc.w}, ir.Shape{cc.m, cc.c / cc.g, cc.kh, cc.kw}
			x := ir.FromFloat32(xs, gemmRandSlice(r, xs.NumElements()))
			w := ir.FromFloat32(ws, gemmRandSlice(r, ws.NumElements()))
			dy := ir.FromFloat32(ir.Shape{cc.n, cc.m, k.OH, k.OW}, gemmRandSlice(r, cc.n*cc.m*k.OH*k.OW))
			check := func(name string, kern Kernel, ref ir.Op, in []*ir.Tensor, outShape ir.Shape) {
				want, _ := ir.NewTensor(ir.Float32, outShape)
				if err := reference.Kernel(ref)(ref, in, []*ir.Tensor{want}); err != nil {
					t.Fatal(err)
				}
				got, _ := ir.NewTensor(ir.Float32, outShape)
				for i := range got.F32 {
					got.F32[i] = float32(math.NaN()) // every element must be written
				}
				task, err := kern.Bind(in, []*ir.Tensor{got})
				if err != nil {
					t.Fatalf("%v %s: %v", cc, name, err)
				}
				runTaskDirty(task, r)
				for i, v := range got.F32 {
					if d := math.Abs(float64(v - want.F32[i])); !(d <= 1e-4*(1+math.Abs(float64(want.F32[i])))) {
						t.Errorf("%v %s[%d] = %v, reference %v", cc, name, i, v, want.F32[i])
						return
					}
				}
			}
			check("dX", &ConvGradData{Conv: *k}, &ir.ConvGradData{Conv: op, X: xs}, []*ir.Tensor{dy, w}, xs)
			check("dW", &ConvGradFilter{Conv: *k}, &ir.ConvGradFilter{Conv: op, W: ws}, []*ir.Tensor{x, dy}, ws)
		}
	})
}

// runTaskDirty is runTask with scratch full of NaNs, so that a piece
// reading scratch it did not write (the zeros packColTShifted relies on)
// shows in its output.
func runTaskDirty(task Task, r *rand.Rand) {
	order := r.Perm(task.Tasks())
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			scratch := make([]float32, task.Scratch())
			for i := range scratch {
				scratch[i] = float32(math.NaN())
			}
			for i := w; i < len(order); i += 2 {
				task.Run(order[i], scratch)
			}
		}()
	}
	wg.Wait()
}

// TestConvGradPieces checks that both kernels split every ResNet-18 shape
// of BenchmarkConvGrad into pieces for at least two threads.
func TestConvGradPieces(t *testing.T) {
	for _, l := range benchConvGradLayers {
		k := l.cc.kernel(ir.AlgoAuto, ir.Activation{})
		g := newConvGradGeom(k)
		colSize, cols, rowSize, rows := convGradFilterSplit(k, g.kk, g.mg)
		if n := k.Group * cols * rows; n < 2 {
			t.Errorf("%s: ConvGradFilter has %d pieces (%d×%d columns, %d×%d rows), want 2 or more", l.name, n, cols, colSize, rows, rowSize)
		}
		imgs, imgBlocks, chSize, chBlocks := convGradDataSplit(k)
		if n := k.Group * imgBlocks * chBlocks; n < 2 {
			t.Errorf("%s: ConvGradData has %d pieces (%d×%d images, %d×%d channels), want 2 or more", l.name, n, imgBlocks, imgs, chBlocks, chSize)
		}
	}
}

// TestConvGradPackers checks ConvGradFilter's packing routines
// (convGradRuns, convGradPackDY) against their Go definitions at every
// instruction-set level, for run lengths around the 8-position block,
// with the destination's tail left untouched.
func TestConvGradPackers(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(6))
		for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 23, 24, 47} {
			for _, stride := range []int{1, 2, 3} {
				var offs [gemmNR]int32
				maxOff := 0
				for i := range offs {
					offs[i] = int32(r.Intn(200))
					maxOff = max(maxOff, int(offs[i]))
				}
				src := gemmRandSlice(r, maxOff+stride*(n-1)+1)
				got, want := make([]float32, n*gemmNR+3), make([]float32, n*gemmNR+3)
				convGradRuns(got, src, &offs, maxOff, n, stride)
				convGradRunsGeneric(want, src, &offs, maxOff, n, stride)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("convGradRuns n %d, stride %d: dst[%d] = %v, want %v", n, stride, i, got[i], want[i])
					}
				}
			}
			ld := n + 5
			src := gemmRandSlice(r, (gemmMR-1)*ld+n)
			got, want := make([]float32, n*gemmMR+3), make([]float32, n*gemmMR+3)
			convGradPackDY(got, src, ld, n)
			convGradPackDYGeneric(want, src, ld, n)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("convGradPackDY n %d: dst[%d] = %v, want %v", n, i, got[i], want[i])
				}
			}
		}
	})
}
