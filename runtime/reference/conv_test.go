package reference

import (
	"math"
	"math/rand"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

// convRun runs op on constant inputs (nil for an omitted one) through the
// interpreter's node path and returns its nOut outputs.
func convRun(op ir.Op, nOut int, in ...*ir.Tensor) ([]*ir.Tensor, error) {
	n := &ir.Node{Name: "n", Op: op}
	for i := 0; i < nOut; i++ {
		n.Outputs = append(n.Outputs, &ir.Value{})
	}
	for _, t := range in {
		if t == nil {
			n.Inputs = append(n.Inputs, nil)
			continue
		}
		n.Inputs = append(n.Inputs, &ir.Value{Type: t.Type(), Const: t})
	}
	return runNode(n, map[*ir.Value]*ir.Tensor{})
}

func convF(shape ir.Shape, v ...float32) *ir.Tensor { return ir.FromFloat32(shape, v) }

// convSeq returns a tensor of the given shape holding from, from+1, ...
func convSeq(shape ir.Shape, from float32) *ir.Tensor {
	v := make([]float32, shape.NumElements())
	for i := range v {
		v[i] = from + float32(i)
	}
	return ir.FromFloat32(shape, v)
}

// convOnes returns a tensor of ones.
func convOnes(shape ir.Shape) *ir.Tensor {
	v := make([]float32, shape.NumElements())
	for i := range v {
		v[i] = 1
	}
	return ir.FromFloat32(shape, v)
}

// convCheck runs op and compares its outputs with want: same type and
// values within 1e-5 relative (NaN equals NaN, infinities exactly).
func convCheck(t *testing.T, name string, op ir.Op, want []*ir.Tensor, in ...*ir.Tensor) {
	t.Helper()
	got, err := convRun(op, len(want), in...)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	for k, w := range want {
		g := got[k]
		if g.DType != w.DType || !g.Shape.Equal(w.Shape) || g.Len() != w.Len() {
			t.Errorf("%s: output %d is %v, want %v", name, k, g, w)
			continue
		}
		for i := 0; i < w.Len(); i++ {
			gv, wv := g.Float64At(i), w.Float64At(i)
			if (math.IsNaN(gv) && math.IsNaN(wv)) || gv == wv {
				continue
			}
			if math.Abs(gv-wv) > 1e-5*math.Max(1, math.Abs(wv)) {
				t.Errorf("%s: output %d element %d = %v, want %v (got %v)", name, k, i, gv, wv, g)
				break
			}
		}
	}
}

func one(t *ir.Tensor) []*ir.Tensor { return []*ir.Tensor{t} }

func TestConvKernel(t *testing.T) {
	x := convSeq(ir.Shape{1, 1, 3, 3}, 0) // 0 1 2 / 3 4 5 / 6 7 8
	w := convOnes(ir.Shape{1, 1, 2, 2})
	cases := []struct {
		name string
		op   ir.Op
		want *ir.Tensor
		in   []*ir.Tensor
	}{
		{"2-D", &ir.Conv{Group: 1}, convF(ir.Shape{1, 1, 2, 2}, 8, 12, 20, 24), []*ir.Tensor{x, w}},
		{"bias", &ir.Conv{Group: 1}, convF(ir.Shape{1, 1, 2, 2}, 9, 13, 21, 25), []*ir.Tensor{x, w, convF(ir.Shape{1}, 1)}},
		{"omitted bias", &ir.Conv{Group: 1}, convF(ir.Shape{1, 1, 2, 2}, 8, 12, 20, 24), []*ir.Tensor{x, w, nil}},
		// Padding one row at the top: windows over rows (-1,0) and (0,1), ...
		{"asymmetric pads", &ir.Conv{Pads: []int{1, 0, 0, 0}, Group: 1},
			convF(ir.Shape{1, 1, 3, 2}, 1, 3, 8, 12, 20, 24), []*ir.Tensor{x, w}},
		{"strides", &ir.Conv{Strides: []int{2, 1}, Pads: []int{1, 1, 1, 1}, Group: 1},
			convF(ir.Shape{1, 1, 2, 4}, 0, 1, 3, 2, 9, 20, 24, 13), []*ir.Tensor{x, w}},
		{"depthwise", &ir.Conv{Group: 2},
			convF(ir.Shape{1, 2, 2, 2}, 2, 4, 6, 8, 15, 18, 21, 24),
			[]*ir.Tensor{convSeq(ir.Shape{1, 2, 2, 2}, 1), convF(ir.Shape{2, 1, 1, 1}, 2, 3)}},
		{"groups of two channels", &ir.Conv{Group: 2},
			convF(ir.Shape{1, 2, 1, 1}, 3, -1),
			[]*ir.Tensor{convSeq(ir.Shape{1, 4, 1, 1}, 1), convF(ir.Shape{2, 2, 1, 1}, 1, 1, 1, -1)}},
		{"batch and channels", &ir.Conv{Group: 1},
			convF(ir.Shape{2, 2, 1, 1}, 1+2, 1-2, 3+4, 3-4),
			[]*ir.Tensor{convSeq(ir.Shape{2, 2, 1, 1}, 1), convF(ir.Shape{2, 2, 1, 1}, 1, 1, 1, -1)}},
		// x = 1 2 3 4, w = 1 2 3, stride 2: SAME pads 1 in total.
		{"1-D same upper", &ir.Conv{Strides: []int{2}, AutoPad: ir.AutoPadSameUpper, Group: 1},
			convF(ir.Shape{1, 1, 2}, 14, 11), []*ir.Tensor{convSeq(ir.Shape{1, 1, 4}, 1), convF(ir.Shape{1, 1, 3}, 1, 2, 3)}},
		{"1-D same lower", &ir.Conv{Strides: []int{2}, AutoPad: ir.AutoPadSameLower, Group: 1},
			convF(ir.Shape{1, 1, 2}, 8, 20), []*ir.Tensor{convSeq(ir.Shape{1, 1, 4}, 1), convF(ir.Shape{1, 1, 3}, 1, 2, 3)}},
		{"1-D dilated", &ir.Conv{Dilations: []int{3}, Group: 1},
			convF(ir.Shape{1, 1, 2}, 5, 7), []*ir.Tensor{convSeq(ir.Shape{1, 1, 5}, 1), convOnes(ir.Shape{1, 1, 2})}},
		{"3-D", &ir.Conv{Group: 1}, convF(ir.Shape{1, 1, 1, 1, 1}, 36),
			[]*ir.Tensor{convSeq(ir.Shape{1, 1, 2, 2, 2}, 1), convOnes(ir.Shape{1, 1, 2, 2, 2})}},
	}
	for _, c := range cases {
		convCheck(t, c.name, c.op, one(c.want), c.in...)
	}
}

func TestConvTransposeKernel(t *testing.T) {
	x := convF(ir.Shape{1, 1, 2}, 1, 2)
	w := convF(ir.Shape{1, 1, 2}, 1, 10)
	cases := []struct {
		name string
		op   *ir.ConvTranspose
		want *ir.Tensor
		in   []*ir.Tensor
	}{
		{"stride 2", &ir.ConvTranspose{Strides: []int{2}, Group: 1}, convF(ir.Shape{1, 1, 4}, 1, 10, 2, 20), []*ir.Tensor{x, w}},
		{"overlap", &ir.ConvTranspose{Group: 1}, convF(ir.Shape{1, 1, 3}, 1, 12, 20), []*ir.Tensor{x, w}},
		{"output_padding and bias", &ir.ConvTranspose{Strides: []int{2}, OutputPadding: []int{1}, Group: 1},
			convF(ir.Shape{1, 1, 5}, 1.5, 10.5, 2.5, 20.5, 0.5), []*ir.Tensor{x, w, convF(ir.Shape{1}, 0.5)}},
		{"pads", &ir.ConvTranspose{Strides: []int{2}, Pads: []int{1, 0}, Group: 1},
			convF(ir.Shape{1, 1, 3}, 10, 2, 20), []*ir.Tensor{x, w}},
		// Full result 4 long; output_shape 5 pads -1 in total: at the end
		// (NOTSET), at the beginning (SAME_UPPER).
		{"output_shape", &ir.ConvTranspose{Strides: []int{2}, OutputShape: []int{5}, Group: 1},
			convF(ir.Shape{1, 1, 5}, 1, 10, 2, 20, 0), []*ir.Tensor{x, w}},
		{"output_shape same upper", &ir.ConvTranspose{Strides: []int{2}, OutputShape: []int{5}, AutoPad: ir.AutoPadSameUpper, Group: 1},
			convF(ir.Shape{1, 1, 5}, 0, 1, 10, 2, 20), []*ir.Tensor{x, w}},
		{"output_shape smaller", &ir.ConvTranspose{Strides: []int{2}, OutputShape: []int{2}, Group: 1},
			convF(ir.Shape{1, 1, 2}, 10, 2), []*ir.Tensor{x, w}},
		{"same lower", &ir.ConvTranspose{Strides: []int{1}, AutoPad: ir.AutoPadSameLower, Group: 1},
			convF(ir.Shape{1, 1, 2}, 12, 20), []*ir.Tensor{x, w}},
		{"groups", &ir.ConvTranspose{Group: 2}, convF(ir.Shape{1, 2, 1}, 2, 6),
			[]*ir.Tensor{convF(ir.Shape{1, 2, 1}, 1, 2), convF(ir.Shape{2, 1, 1}, 2, 3)}},
		{"two outputs per group", &ir.ConvTranspose{Group: 1}, convF(ir.Shape{1, 2, 1}, 1+4, 2+6),
			[]*ir.Tensor{convF(ir.Shape{1, 2, 1}, 1, 2), convF(ir.Shape{2, 2, 1}, 1, 2, 2, 3)}},
		// ONNX's test_convtranspose_dilations.
		{"2-D dilations", &ir.ConvTranspose{Dilations: []int{2, 2}, Group: 1},
			convF(ir.Shape{1, 1, 5, 5},
				21, 56, 13, 16, 2,
				63, 35, 67, 10, 14,
				24, 22, 76, 76, 21,
				9, 5, 88, 45, 63,
				3, 2, 33, 18, 54),
			[]*ir.Tensor{convF(ir.Shape{1, 1, 3, 3}, 3, 8, 1, 9, 5, 7, 3, 2, 6), convF(ir.Shape{1, 1, 2, 2}, 7, 2, 1, 9)}},
	}
	for _, c := range cases {
		convCheck(t, c.name, c.op, one(c.want), c.in...)
	}
}

// TestConvTransposeIsAdjoint checks on random geometries that
// ConvTranspose with W is the adjoint of Conv with W:
// <Conv(x), y> = <x, ConvTranspose(y)>, output_padding restoring x's size.
func TestConvTransposeIsAdjoint(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	randT := func(s ir.Shape) *ir.Tensor {
		v := make([]float32, s.NumElements())
		for i := range v {
			v[i] = float32(r.Intn(7) - 3)
		}
		return ir.FromFloat32(s, v)
	}
	dot := func(a, b *ir.Tensor) float64 {
		s := 0.0
		for i := range a.F32 {
			s += float64(a.F32[i]) * float64(b.F32[i])
		}
		return s
	}
	for iter := 0; iter < 200; iter++ {
		n := 1 + r.Intn(3)
		group := 1 + r.Intn(3)
		cg, mg := 1+r.Intn(2), 1+r.Intn(2)
		xs := ir.Shape{1 + r.Intn(2), cg * group}
		ws := ir.Shape{mg * group, cg}
		c := &ir.Conv{Group: group, Strides: make([]int, n), Dilations: make([]int, n), Pads: make([]int, 2*n)}
		ct := &ir.ConvTranspose{Group: group, Strides: c.Strides, Dilations: c.Dilations, Pads: c.Pads, OutputPadding: make([]int, n)}
		for i := 0; i < n; i++ {
			k := 1 + r.Intn(3)
			c.Strides[i], c.Dilations[i] = 1+r.Intn(3), 1+r.Intn(2)
			c.Pads[i], c.Pads[n+i] = r.Intn(k), r.Intn(k)
			in := (k-1)*c.Dilations[i] + 1 + r.Intn(5)
			xs, ws = append(xs, in), append(ws, k)
			span := in + c.Pads[i] + c.Pads[n+i] - ((k-1)*c.Dilations[i] + 1)
			ct.OutputPadding[i] = span % c.Strides[i] // the rows Conv's floor dropped
		}
		x, w := randT(xs), randT(ws)
		y, err := convRun(c, 1, x, w)
		if err != nil {
			t.Fatalf("Conv %+v on %v, %v: %v", c, xs, ws, err)
		}
		dy := randT(y[0].Shape)
		dx, err := convRun(ct, 1, dy, w)
		if err != nil {
			t.Fatalf("ConvTranspose %+v on %v, %v: %v", ct, dy.Shape, ws, err)
		}
		if !dx[0].Shape.Equal(xs) {
			t.Fatalf("ConvTranspose %+v gives %v, want x's shape %v", ct, dx[0].Shape, xs)
		}
		if a, b := dot(y[0], dy), dot(x, dx[0]); a != b {
			t.Errorf("Conv %+v, x %v, w %v: <Conv(x), y> = %v, <x, ConvTranspose(y)> = %v", c, xs, ws, a, b)
		}
	}
}

func TestMaxPoolKernel(t *testing.T) {
	x := convF(ir.Shape{1, 1, 2, 3}, 1, 5, 3, 4, 2, 6)
	i64 := func(s ir.Shape, v ...int64) *ir.Tensor { return ir.FromInt64(s, v) }
	convCheck(t, "indices row major", &ir.MaxPool{Kernel: []int{2, 2}, Indices: true},
		[]*ir.Tensor{convF(ir.Shape{1, 1, 1, 2}, 5, 6), i64(ir.Shape{1, 1, 1, 2}, 1, 5)}, x)
	convCheck(t, "indices column major", &ir.MaxPool{Kernel: []int{2, 2}, Indices: true, StorageOrder: 1},
		[]*ir.Tensor{convF(ir.Shape{1, 1, 1, 2}, 5, 6), i64(ir.Shape{1, 1, 1, 2}, 2, 5)}, x)
	convCheck(t, "indices of the second plane", &ir.MaxPool{Kernel: []int{2}, Indices: true},
		[]*ir.Tensor{convF(ir.Shape{1, 2, 1}, 2, 7), i64(ir.Shape{1, 2, 1}, 1, 2)}, convF(ir.Shape{1, 2, 2}, 1, 2, 7, 3))
	// ONNX's test_maxpool_2d_dilations.
	convCheck(t, "dilations", &ir.MaxPool{Kernel: []int{2, 2}, Dilations: []int{2, 2}},
		one(convF(ir.Shape{1, 1, 2, 2}, 11, 12, 15, 16)), convSeq(ir.Shape{1, 1, 4, 4}, 1))
	// Windows at -1 (all padding), 0 and 1 (all padding).
	convCheck(t, "all-padding window", &ir.MaxPool{Kernel: []int{1}, Pads: []int{1, 1}, Indices: true},
		[]*ir.Tensor{convF(ir.Shape{1, 1, 3}, float32(math.Inf(-1)), 5, float32(math.Inf(-1))), i64(ir.Shape{1, 1, 3}, -1, 0, -1)},
		convF(ir.Shape{1, 1, 1}, 5))
	nan := float32(math.NaN())
	convCheck(t, "NaN", &ir.MaxPool{Kernel: []int{2}}, one(convF(ir.Shape{1, 1, 2}, nan, nan)), convF(ir.Shape{1, 1, 3}, 1, nan, 3))
	convCheck(t, "-Inf", &ir.MaxPool{Kernel: []int{2}}, one(convF(ir.Shape{1, 1, 1}, float32(math.Inf(-1)))),
		convF(ir.Shape{1, 1, 2}, float32(math.Inf(-1)), float32(math.Inf(-1))))
	// Values checked against PyTorch 1.13 max_pool1d(ceil_mode=True).
	x6 := convSeq(ir.Shape{1, 1, 6}, 1)
	convCheck(t, "ceil", &ir.MaxPool{Kernel: []int{3}, Strides: []int{2}, Pads: []int{1, 1}, CeilMode: true},
		one(convF(ir.Shape{1, 1, 4}, 2, 4, 6, 6)), x6)
	x4 := convSeq(ir.Shape{1, 1, 4}, 1)
	convCheck(t, "ceil keeps a window starting in the input", &ir.MaxPool{Kernel: []int{3}, Strides: []int{2}, Pads: []int{1, 1}, CeilMode: true},
		one(convF(ir.Shape{1, 1, 3}, 2, 4, 4)), x4)
	convCheck(t, "ceil drops a window starting in the end padding", &ir.MaxPool{Kernel: []int{2}, Strides: []int{2}, Pads: []int{0, 1}, CeilMode: true},
		one(convF(ir.Shape{1, 1, 2}, 2, 4)), x4)
	convCheck(t, "same upper", &ir.MaxPool{Kernel: []int{2}, AutoPad: ir.AutoPadSameUpper},
		one(convF(ir.Shape{1, 1, 4}, 2, 3, 4, 4)), x4)
	convCheck(t, "3-D", &ir.MaxPool{Kernel: []int{2, 2, 2}}, one(convF(ir.Shape{1, 1, 1, 1, 2}, 11, 12)), convSeq(ir.Shape{1, 1, 2, 2, 3}, 1))
}

func TestAveragePoolKernel(t *testing.T) {
	// Values checked against PyTorch 1.13 avg_pool1d(x, 3, 2, padding=1,
	// ceil_mode=True): the last window covers x[5], one padding element
	// and one position past the padded input.
	x6 := convSeq(ir.Shape{1, 1, 6}, 1)
	convCheck(t, "ceil, count_include_pad", &ir.AveragePool{Kernel: []int{3}, Strides: []int{2}, Pads: []int{1, 1}, CeilMode: true, CountIncludePad: true},
		one(convF(ir.Shape{1, 1, 4}, 1, 3, 5, 3)), x6)
	convCheck(t, "ceil", &ir.AveragePool{Kernel: []int{3}, Strides: []int{2}, Pads: []int{1, 1}, CeilMode: true},
		one(convF(ir.Shape{1, 1, 4}, 1.5, 3, 5, 6)), x6)
	x3 := convSeq(ir.Shape{1, 1, 3}, 1)
	convCheck(t, "same lower", &ir.AveragePool{Kernel: []int{2}, AutoPad: ir.AutoPadSameLower},
		one(convF(ir.Shape{1, 1, 3}, 1, 1.5, 2.5)), x3)
	convCheck(t, "same lower, count_include_pad", &ir.AveragePool{Kernel: []int{2}, AutoPad: ir.AutoPadSameLower, CountIncludePad: true},
		one(convF(ir.Shape{1, 1, 3}, 0.5, 1.5, 2.5)), x3)
	convCheck(t, "2-D strides", &ir.AveragePool{Kernel: []int{2, 2}, Strides: []int{2, 2}},
		one(convF(ir.Shape{1, 2, 1, 1}, 2.5, 6.5)), convSeq(ir.Shape{1, 2, 2, 2}, 1))
	convCheck(t, "all-padding window", &ir.AveragePool{Kernel: []int{1}, Pads: []int{1, 0}},
		one(convF(ir.Shape{1, 1, 2}, 0, 5)), convF(ir.Shape{1, 1, 1}, 5))
}

func TestGlobalPoolKernels(t *testing.T) {
	x := convF(ir.Shape{1, 2, 2, 2}, 1, 2, 3, 4, -1, -5, 2, 0)
	convCheck(t, "average", &ir.GlobalAveragePool{}, one(convF(ir.Shape{1, 2, 1, 1}, 2.5, -1)), x)
	convCheck(t, "max", &ir.GlobalMaxPool{}, one(convF(ir.Shape{1, 2, 1, 1}, 4, 2)), x)
	x1 := convF(ir.Shape{2, 1, 3}, 1, 2, 6, -3, -2, -1)
	convCheck(t, "average 1-D", &ir.GlobalAveragePool{}, one(convF(ir.Shape{2, 1, 1}, 3, -2)), x1)
	convCheck(t, "max 1-D", &ir.GlobalMaxPool{}, one(convF(ir.Shape{2, 1, 1}, 6, -1)), x1)
	nan := float32(math.NaN())
	convCheck(t, "max NaN", &ir.GlobalMaxPool{}, one(convF(ir.Shape{1, 1, 1}, nan)), convF(ir.Shape{1, 1, 3}, 1, nan, 2))
}

func TestBatchNormKernel(t *testing.T) {
	x := convSeq(ir.Shape{2, 2, 1, 2}, 1)
	c := func(v ...float32) *ir.Tensor { return convF(ir.Shape{2}, v...) }
	// Channel 0: (x-1)/2; channel 1: (x-3)/0.5*2 + 1.
	convCheck(t, "bn", &ir.BatchNormalization{},
		one(convF(ir.Shape{2, 2, 1, 2}, 0, 0.5, 1, 5, 2, 2.5, 17, 21)),
		x, c(1, 2), c(0, 1), c(1, 3), c(4, 0.25))
	convCheck(t, "bn epsilon, 2-D", &ir.BatchNormalization{Epsilon: 1},
		one(convF(ir.Shape{1, 2}, 0.5, 2)), convF(ir.Shape{1, 2}, 1, 3), c(1, 1), c(0, 0), c(0, 1), c(3, 0))
}

func TestLRNKernel(t *testing.T) {
	// size 2: the window of channel c is {c, c+1}; alpha/size = 1.5.
	convCheck(t, "size 2", &ir.LRN{Size: 2, Alpha: 3, Beta: 1, Bias: 1},
		one(convF(ir.Shape{1, 3, 1, 1}, 1/(1+1.5*5), 2/(1+1.5*13), 3/(1+1.5*9))), convSeq(ir.Shape{1, 3, 1, 1}, 1))
	// size 3: {c-1, c, c+1}; beta 0.5.
	want := []float32{1, 2, 3}
	sums := []float64{1 + 4, 1 + 4 + 9, 4 + 9}
	for i := range want {
		want[i] /= float32(math.Sqrt(2 + 0.5*sums[i]))
	}
	convCheck(t, "size 3", &ir.LRN{Size: 3, Alpha: 1.5, Beta: 0.5, Bias: 2},
		one(convF(ir.Shape{1, 3, 1}, want...)), convSeq(ir.Shape{1, 3, 1}, 1))
}
