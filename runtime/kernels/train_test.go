package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/reference"
)

// checkAgainstReference runs kern and the reference kernel of ref on the
// same inputs and compares every output element (NaN-filled first, so
// that each must be written).
func checkAgainstReference(t *testing.T, name string, kern Kernel, ref ir.Op, in []*ir.Tensor, outs []ir.Shape, r *rand.Rand) {
	t.Helper()
	var want, got []*ir.Tensor
	for _, s := range outs {
		w, _ := ir.NewTensor(ir.Float32, s)
		g, _ := ir.NewTensor(ir.Float32, s)
		for i := range g.F32 {
			g.F32[i] = float32(math.NaN())
		}
		want, got = append(want, w), append(got, g)
	}
	if err := reference.Kernel(ref)(ref, in, want); err != nil {
		t.Fatalf("%s: reference: %v", name, err)
	}
	task, err := kern.Bind(in, got)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	runTask(task, r)
	for o := range got {
		for i, v := range got[o].F32 {
			w := want[o].F32[i]
			if d := math.Abs(float64(v - w)); !(d <= 1e-5*(1+math.Abs(float64(w)))) {
				t.Errorf("%s: output %d[%d] = %v, reference %v", name, o, i, v, w)
				break
			}
		}
	}
}

// TestPoolGrad checks PoolGrad against the reference MaxPoolGrad and
// AveragePoolGrad: overlapping windows, padding, ceil mode, dilation,
// count_include_pad, ties (the first maximum takes the gradient), NaNs.
func TestPoolGrad(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for _, tc := range []struct {
		xs                    ir.Shape
		kernel, strides, pads []int
		dil                   []int
		ceil, countPad, ties  bool
		nan                   bool // some inputs NaN: a NaN is the maximum once met
	}{
		{xs: ir.Shape{2, 3, 8, 8}, kernel: []int{2, 2}, strides: []int{2, 2}},
		{xs: ir.Shape{1, 2, 9, 7}, kernel: []int{3, 3}, strides: []int{2, 2}, pads: []int{1, 1, 1, 1}},
		{xs: ir.Shape{1, 2, 7, 7}, kernel: []int{3, 2}, strides: []int{2, 1}, pads: []int{1, 0, 0, 1}, ceil: true, countPad: true},
		{xs: ir.Shape{2, 1, 6, 6}, kernel: []int{2, 2}, strides: []int{1, 1}, ties: true},
		{xs: ir.Shape{1, 2, 1, 12}, kernel: []int{1, 3}, strides: []int{1, 2}, pads: []int{0, 1, 0, 1}},
		{xs: ir.Shape{1, 2, 11, 10}, kernel: []int{3, 3}, strides: []int{2, 2}, pads: []int{1, 1, 1, 1}, dil: []int{2, 2}},
		{xs: ir.Shape{2, 2, 9, 9}, kernel: []int{3, 3}, strides: []int{2, 2}, pads: []int{1, 1, 1, 1}, nan: true},
	} {
		x := ir.FromFloat32(tc.xs, gemmRandSlice(r, tc.xs.NumElements()))
		if tc.ties {
			for i := range x.F32 {
				x.F32[i] = float32(i % 3)
			}
		}
		if tc.nan {
			for i := 0; i < len(x.F32); i += 7 {
				x.F32[i] = float32(math.NaN())
			}
		}
		mp := ir.MaxPool{Kernel: tc.kernel, Strides: tc.strides, Pads: tc.pads, Dilations: tc.dil, CeilMode: tc.ceil}
		ap := ir.AveragePool{Kernel: tc.kernel, Strides: tc.strides, Pads: tc.pads, CeilMode: tc.ceil, CountIncludePad: tc.countPad}
		for _, max := range []bool{true, false} {
			var fwd ir.Op = &ap
			var ref ir.Op = &ir.AveragePoolGrad{Pool: ap}
			if max {
				fwd, ref = &mp, &ir.MaxPoolGrad{Pool: mp}
			}
			ys, err := fwd.Infer([]ir.Type{x.Type()}, nil)
			if err != nil {
				t.Fatal(err)
			}
			dy := ir.FromFloat32(ys[0].Shape, gemmRandSlice(r, ys[0].Shape.NumElements()))
			var win ir.Window
			if max {
				win, err = mp.Geometry(tc.xs)
			} else {
				win, err = ap.Geometry(tc.xs)
			}
			if err != nil {
				t.Fatal(err)
			}
			k := &PoolGrad{Pool: Pool2D{Max: max, CountIncludePad: tc.countPad && !max,
				N: tc.xs[0], C: tc.xs[1], H: tc.xs[2], W: tc.xs[3], OH: win.Out[0], OW: win.Out[1],
				KH: win.Kernel[0], KW: win.Kernel[1], SH: win.Strides[0], SW: win.Strides[1], DH: win.Dilations[0], DW: win.Dilations[1],
				PadT: win.PadBegin[0], PadL: win.PadBegin[1], PadB: win.PadEnd[0], PadR: win.PadEnd[1]}}
			checkAgainstReference(t, ref.OpType(), k, ref, []*ir.Tensor{x, dy}, []ir.Shape{tc.xs}, r)
		}
	}
}

// TestActGrad checks ActGrad against the reference for each activation,
// with values at the kinks.
func TestActGrad(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	n := 3*trainChunk + 5 // several pieces and a short one
	for _, tc := range []struct {
		k   *ActGrad
		fwd ir.Op
	}{
		{&ActGrad{Op: UnRelu}, &ir.Relu{}},
		{&ActGrad{Op: UnLeakyRelu, Alpha: 0.1}, &ir.LeakyRelu{Alpha: 0.1}},
		{&ActGrad{Op: UnSigmoid}, &ir.Sigmoid{}},
		{&ActGrad{Op: UnTanh}, &ir.Tanh{}},
		{&ActGrad{Op: UnClip, Min: -0.5, Max: 0.5}, &ir.Clip{Min: -0.5, Max: 0.5}},
	} {
		tc.k.Len = n
		x := ir.FromFloat32(ir.Shape{n}, gemmRandSlice(r, n))
		x.F32[0], x.F32[1], x.F32[2] = 0, -0.5, 0.5
		y, _ := ir.NewTensor(ir.Float32, ir.Shape{n})
		if err := reference.Kernel(tc.fwd)(tc.fwd, []*ir.Tensor{x}, []*ir.Tensor{y}); err != nil {
			t.Fatal(err)
		}
		dy := ir.FromFloat32(ir.Shape{n}, gemmRandSlice(r, n))
		checkAgainstReference(t, tc.fwd.OpType(), tc.k, &ir.ActGrad{Op: tc.fwd}, []*ir.Tensor{x, y, dy}, []ir.Shape{{n}}, r)
	}
}

// TestChannelSum checks a bias gradient's sum against ReduceSum.
func TestChannelSum(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	for _, s := range []ir.Shape{{4, 6, 5, 5}, {128, 10}, {3, 7, 1}} {
		axes := []int{0}
		for i := 2; i < len(s); i++ {
			axes = append(axes, i)
		}
		x := ir.FromFloat32(s, gemmRandSlice(r, s.NumElements()))
		inner := 1
		for _, d := range s[2:] {
			inner *= d
		}
		checkAgainstReference(t, "channelsum", &ChannelSum{Outer: s[0], Channels: s[1], Inner: inner},
			&ir.ReduceSum{Axes: axes}, []*ir.Tensor{x}, []ir.Shape{{s[1]}}, r)
	}
}

// TestFlipFilter checks FlipFilter against the reference: grouped, 1-D
// and 3-D filters, and one with more rows than a piece holds.
func TestFlipFilter(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	for _, tc := range []struct {
		w     ir.Shape
		group int
	}{{ir.Shape{6, 2, 3, 2}, 3}, {ir.Shape{4, 5, 7}, 1}, {ir.Shape{2, 2, 2, 3, 2}, 2}, {ir.Shape{40, 600, 1, 1}, 1}} {
		w := ir.FromFloat32(tc.w, gemmRandSlice(r, tc.w.NumElements()))
		out := tc.w.Clone()
		out[0], out[1] = tc.w[1]*tc.group, tc.w[0]/tc.group
		k := &FlipFilter{M: tc.w[0], C: tc.w[1] * tc.group, Group: tc.group, K: tc.w[2:].NumElements()}
		checkAgainstReference(t, fmt.Sprint("flipfilter ", tc.w), k, &ir.FlipFilter{Group: tc.group}, []*ir.Tensor{w}, []ir.Shape{out}, r)
	}
}

// TestSGD checks the update against the reference for plain, momentum
// and Nesterov steps with weight decay.
func TestSGD(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	n := trainChunk + 3
	for _, op := range []ir.SGD{{}, {WeightDecay: 5e-4}, {Momentum: 0.9, WeightDecay: 5e-4}, {Momentum: 0.9, Nesterov: true}} {
		w, dw := ir.FromFloat32(ir.Shape{n}, gemmRandSlice(r, n)), ir.FromFloat32(ir.Shape{n}, gemmRandSlice(r, n))
		lr := ir.FromFloat32(ir.Shape{}, []float32{0.1})
		in, outs := []*ir.Tensor{w, dw, nil, lr}, []ir.Shape{{n}}
		if op.Momentum != 0 {
			in[2] = ir.FromFloat32(ir.Shape{n}, gemmRandSlice(r, n))
			outs = append(outs, ir.Shape{n})
		}
		checkAgainstReference(t, "sgd", &SGD{Len: n, Momentum: op.Momentum, WeightDecay: op.WeightDecay, Nesterov: op.Nesterov}, &op, in, outs, r)
	}
}

// TestAdam checks the update against the reference for Adam with and
// without weight decay and AdamW, at the first step and a later one.
func TestAdam(t *testing.T) {
	r := rand.New(rand.NewSource(8))
	n := trainChunk + 5
	for _, op := range []ir.Adam{{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, {Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, WeightDecay: 0.01},
		{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.05, Decoupled: true}} {
		for _, step := range []float32{1, 7} {
			vec := func() *ir.Tensor { return ir.FromFloat32(ir.Shape{n}, gemmRandSlice(r, n)) }
			v := vec()
			for i := range v.F32 {
				v.F32[i] *= v.F32[i] // a second moment is not negative
			}
			in := []*ir.Tensor{vec(), vec(), vec(), v, ir.FromFloat32(ir.Shape{}, []float32{0.01}), ir.FromFloat32(ir.Shape{}, []float32{step})}
			checkAgainstReference(t, fmt.Sprintf("adam %+v step %v", op, step), &Adam{Len: n, Beta1: op.Beta1, Beta2: op.Beta2, Eps: op.Eps,
				WeightDecay: op.WeightDecay, Decoupled: op.Decoupled}, &op, in, []ir.Shape{{n}, {n}, {n}}, r)
		}
	}
}

// TestBatchNormTrainGrad checks the batch-norm kernels against the
// reference: statistics, running updates and the three gradients.
func TestBatchNormTrainGrad(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for _, s := range []ir.Shape{{4, 3, 5, 5}, {16, 10}, {2, 5, 3, 2, 2}} {
		inner := 1
		for _, d := range s[2:] {
			inner *= d
		}
		c := s[1]
		vec := func(lo, hi float32) *ir.Tensor {
			v := ir.FromFloat32(ir.Shape{c}, gemmRandSlice(r, c))
			for i := range v.F32 {
				v.F32[i] = lo + (v.F32[i]+1)/2*(hi-lo)
			}
			return v
		}
		x := ir.FromFloat32(s, gemmRandSlice(r, s.NumElements()))
		for i := range x.F32 {
			x.F32[i] = 3*x.F32[i] + 1 // a mean and spread to normalize away
		}
		cs := ir.Shape{c}
		checkAgainstReference(t, "batchnormtrain", &BatchNormTrain{N: s[0], C: c, Inner: inner, Epsilon: 1e-5, Momentum: 0.9},
			&ir.BatchNormTrain{Epsilon: 1e-5, Momentum: 0.9}, []*ir.Tensor{x, vec(0.5, 1.5), vec(-1, 1), vec(-1, 1), vec(0.5, 2)},
			[]ir.Shape{s, cs, cs, cs, cs}, r)
		fwd := make([]*ir.Tensor, 5)
		for i, sh := range []ir.Shape{s, cs, cs, cs, cs} {
			fwd[i], _ = ir.NewTensor(ir.Float32, sh)
		}
		scale := vec(0.5, 1.5)
		ref := &ir.BatchNormTrain{Epsilon: 1e-5, Momentum: 0.9}
		if err := reference.Kernel(ref)(ref, []*ir.Tensor{x, scale, vec(-1, 1), vec(-1, 1), vec(0.5, 2)}, fwd); err != nil {
			t.Fatal(err)
		}
		dy := ir.FromFloat32(s, gemmRandSlice(r, s.NumElements()))
		checkAgainstReference(t, "batchnormgrad", &BatchNormGrad{N: s[0], C: c, Inner: inner}, &ir.BatchNormGrad{},
			[]*ir.Tensor{x, scale, fwd[3], fwd[4], dy}, []ir.Shape{s, cs, cs}, r)
	}
}

// BenchmarkTrainKernels runs the training step's element-wise kernels on
// one thread on ResNet-18's layer1 shape in bench/train's step (batch 32,
// 64 channels of 24x24), the stem's max pool gradient, and an SGD update
// of as many parameters (1.2M).
func BenchmarkTrainKernels(b *testing.B) {
	r := rand.New(rand.NewSource(7))
	const n, c, inner = 32, 64, 24 * 24
	x := ir.FromFloat32(ir.Shape{n, c, inner}, gemmRandSlice(r, n*c*inner))
	dy := ir.FromFloat32(ir.Shape{n, c, inner}, gemmRandSlice(r, n*c*inner))
	vec := func(v float32) *ir.Tensor {
		t, _ := ir.NewTensor(ir.Float32, ir.Shape{c})
		for i := range t.F32 {
			t.F32[i] = v
		}
		return t
	}
	out, _ := ir.NewTensor(ir.Float32, ir.Shape{n, c, inner})
	pool := Pool2D{Max: true, N: n, C: c, H: 48, W: 48, OH: 24, OW: 24, KH: 3, KW: 3, SH: 2, SW: 2, DH: 1, DW: 1, PadT: 1, PadL: 1}
	px := ir.FromFloat32(ir.Shape{n, c, 48, 48}, gemmRandSlice(r, n*c*48*48))
	pdx, _ := ir.NewTensor(ir.Float32, ir.Shape{n, c, 48, 48})
	cases := []struct {
		name    string
		k       Kernel
		in, out []*ir.Tensor
	}{
		{"batchnormtrain", &BatchNormTrain{N: n, C: c, Inner: inner, Epsilon: 1e-5, Momentum: 0.9},
			[]*ir.Tensor{x, vec(1), vec(0), vec(0), vec(1)}, []*ir.Tensor{out, vec(0), vec(0), vec(0), vec(0)}},
		{"batchnormgrad", &BatchNormGrad{N: n, C: c, Inner: inner},
			[]*ir.Tensor{x, vec(1), vec(0), vec(1), dy}, []*ir.Tensor{out, vec(0), vec(0)}},
		{"actgrad-relu", &ActGrad{Op: UnRelu, Len: n * c * inner}, []*ir.Tensor{x, x, dy}, []*ir.Tensor{out}},
		{"poolgrad-max3x3s2", &PoolGrad{Pool: pool}, []*ir.Tensor{px, dy}, []*ir.Tensor{pdx}},
		{"sgd-momentum", &SGD{Len: n * c * inner, Momentum: 0.9, WeightDecay: 5e-4},
			[]*ir.Tensor{x, dy, ir.FromFloat32(ir.Shape{n, c, inner}, gemmRandSlice(r, n*c*inner)), ir.FromFloat32(ir.Shape{}, []float32{0.1})},
			[]*ir.Tensor{out, ir.FromFloat32(ir.Shape{n, c, inner}, make([]float32, n*c*inner))}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			task, err := tc.k.Bind(tc.in, tc.out)
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
