package ir

import (
	"math/rand"
	"strings"
	"testing"
)

// convT is a float32 type with the given dims (nil: unknown rank).
func convT(dims ...int) Type {
	if dims == nil {
		return Type{DType: Float32}
	}
	return Type{DType: Float32, Shape: Shape(dims)}
}

// convCase is one Infer check: either the output shapes or an error
// containing errSub of the given kind.
type convCase struct {
	name   string
	op     Op
	in     []Type
	want   []Shape // output shapes; a nil entry is an unknown rank
	errSub string
	kind   ErrorKind
}

func runConvCases(t *testing.T, cases []convCase) {
	t.Helper()
	for _, c := range cases {
		got, err := c.op.Infer(c.in, make([]*Tensor, len(c.in)))
		if c.errSub != "" {
			e, ok := err.(*Error)
			switch {
			case err == nil:
				t.Errorf("%s: got %v, want an error containing %q", c.name, got, c.errSub)
			case !ok || e.Kind != c.kind || !strings.Contains(err.Error(), c.errSub):
				t.Errorf("%s: got error %v, want kind %d containing %q", c.name, err, c.kind, c.errSub)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: got %d outputs, want %d", c.name, len(got), len(c.want))
			continue
		}
		for i := range got {
			if !got[i].Shape.Equal(c.want[i]) {
				t.Errorf("%s: output %d is %v, want %v", c.name, i, got[i], c.want[i])
			}
		}
	}
}

func TestConvInfer(t *testing.T) {
	none := Type{}
	runConvCases(t, []convCase{
		{name: "resnet stem", op: &Conv{Kernel: []int{7, 7}, Strides: []int{2, 2}, Pads: []int{3, 3, 3, 3}, Group: 1},
			in: []Type{convT(-1, 3, 224, 224), convT(64, 3, 7, 7), convT(64)}, want: []Shape{{-1, 64, 112, 112}}},
		{name: "kernel from W", op: &Conv{Group: 1},
			in: []Type{convT(1, 3, 5, 5), convT(8, 3, 3, 3)}, want: []Shape{{1, 8, 3, 3}}},
		{name: "omitted bias", op: &Conv{Group: 1},
			in: []Type{convT(1, 3, 5, 5), convT(8, 3, 3, 3), none}, want: []Shape{{1, 8, 3, 3}}},
		{name: "depthwise", op: &Conv{Pads: []int{1, 1, 1, 1}, Group: 32},
			in: []Type{convT(1, 32, 10, 10), convT(32, 1, 3, 3)}, want: []Shape{{1, 32, 10, 10}}},
		{name: "groups", op: &Conv{Group: 2},
			in: []Type{convT(1, 4, 5, 5), convT(6, 2, 3, 3)}, want: []Shape{{1, 6, 3, 3}}},
		{name: "same upper", op: &Conv{Strides: []int{2, 2}, AutoPad: AutoPadSameUpper, Group: 1},
			in: []Type{convT(1, 1, 5, 6), convT(1, 1, 3, 3)}, want: []Shape{{1, 1, 3, 3}}},
		{name: "same lower, unknown height", op: &Conv{Strides: []int{2, 2}, AutoPad: AutoPadSameLower, Pads: []int{0, 0, 0, 0}, Group: 1},
			in: []Type{convT(1, 1, -1, 5), convT(1, 1, 3, 3)}, want: []Shape{{1, 1, -1, 3}}},
		{name: "valid", op: &Conv{AutoPad: AutoPadValid, Strides: []int{2}, Group: 1},
			in: []Type{convT(2, 1, 8), convT(4, 1, 3)}, want: []Shape{{2, 4, 3}}},
		{name: "dilated", op: &Conv{Dilations: []int{2, 2}, Group: 1},
			in: []Type{convT(1, 1, 7, 7), convT(1, 1, 3, 3)}, want: []Shape{{1, 1, 3, 3}}},
		{name: "3-D", op: &Conv{Kernel: []int{2, 3, 4}, Group: 1},
			in: []Type{convT(1, 2, 4, 5, 6), convT(3, 2, 2, 3, 4)}, want: []Shape{{1, 3, 3, 3, 3}}},
		{name: "unknown X rank", op: &Conv{Group: 1},
			in: []Type{convT(), convT(8, 3, 3, 3)}, want: []Shape{{-1, 8, -1, -1}}},
		{name: "unknown W rank", op: &Conv{Kernel: []int{3, 3}, Group: 1},
			in: []Type{convT(1, 3, 5, 5), convT(), convT(16)}, want: []Shape{{1, 16, 3, 3}}},
		{name: "unknown W rank, no kernel_shape", op: &Conv{Group: 1},
			in: []Type{convT(1, 3, 5, 5), convT()}, want: []Shape{{1, -1, -1, -1}}},
		{name: "unknown ranks", op: &Conv{Group: 1},
			in: []Type{convT(), convT()}, want: []Shape{nil}},

		{name: "arity", op: &Conv{Group: 1}, in: []Type{convT(1, 3, 5, 5)},
			errSub: "got 1 inputs, want 2 to 3", kind: KindInvalid},
		{name: "int input", op: &Conv{Group: 1}, in: []Type{{DType: Int64, Shape: Shape{1, 3, 5, 5}}, convT(8, 3, 3, 3)},
			errSub: "element type i64", kind: KindUnsupported},
		{name: "rank 2", op: &Conv{Group: 1}, in: []Type{convT(1, 3), convT(8, 3, 3)},
			errSub: "X has shape [1,3], want rank >= 3", kind: KindInvalid},
		{name: "ranks differ", op: &Conv{Group: 1}, in: []Type{convT(1, 3, 5, 5), convT(8, 3, 3)},
			errSub: "ranks differ", kind: KindInvalid},
		{name: "channels", op: &Conv{Group: 1}, in: []Type{convT(1, 4, 5, 5), convT(8, 3, 3, 3)},
			errSub: "W shape [8,3,3,3] wants 3 input channels (3 per group, 1 groups), X [1,4,5,5] has 4", kind: KindInvalid},
		{name: "group vs M", op: &Conv{Group: 2}, in: []Type{convT(1, 4, 5, 5), convT(3, 2, 3, 3)},
			errSub: "3 output channels do not divide into 2 groups", kind: KindInvalid},
		{name: "group vs C", op: &Conv{Group: 2}, in: []Type{convT(1, 3, 5, 5), convT(4, 1, 3, 3)},
			errSub: "3 channels do not divide into 2 groups", kind: KindInvalid},
		{name: "group 0", op: &Conv{}, in: []Type{convT(1, 3, 5, 5), convT(4, 3, 3, 3)},
			errSub: "group is 0", kind: KindInvalid},
		{name: "kernel vs W", op: &Conv{Kernel: []int{3, 5}, Group: 1}, in: []Type{convT(1, 3, 5, 5), convT(4, 3, 3, 3)},
			errSub: "kernel_shape [3 5] disagrees with W shape [4,3,3,3]", kind: KindInvalid},
		{name: "strides length", op: &Conv{Strides: []int{1, 1, 1}, Group: 1}, in: []Type{convT(1, 3, 5, 5), convT(4, 3, 3, 3)},
			errSub: "strides [1 1 1] has 3 entries, want 2", kind: KindInvalid},
		{name: "stride 0", op: &Conv{Strides: []int{1, 0}, Group: 1}, in: []Type{convT(1, 3, 5, 5), convT(4, 3, 3, 3)},
			errSub: "strides [1 0]: entry 0 is out of range", kind: KindInvalid},
		{name: "negative pad", op: &Conv{Pads: []int{0, -1, 0, 0}, Group: 1}, in: []Type{convT(1, 3, 5, 5), convT(4, 3, 3, 3)},
			errSub: "pads [0 -1 0 0]: entry -1 is out of range", kind: KindInvalid},
		{name: "pads with auto_pad", op: &Conv{Pads: []int{1, 1, 1, 1}, AutoPad: AutoPadSameUpper, Group: 1},
			in: []Type{convT(1, 3, 5, 5), convT(4, 3, 3, 3)}, errSub: "pads [1 1 1 1] are given with auto_pad SAME_UPPER", kind: KindInvalid},
		{name: "bad auto_pad", op: &Conv{AutoPad: 9, Group: 1}, in: []Type{convT(1, 3, 5, 5), convT(4, 3, 3, 3)},
			errSub: "auto_pad is AutoPad(9)", kind: KindInvalid},
		{name: "kernel too big", op: &Conv{Group: 1}, in: []Type{convT(1, 1, 2, 2), convT(1, 1, 3, 3)},
			errSub: "spatial axis 0: input size 2 padded by 0+0 is smaller than the dilated kernel size 3", kind: KindInvalid},
		{name: "bias shape", op: &Conv{Group: 1}, in: []Type{convT(1, 3, 5, 5), convT(8, 3, 3, 3), convT(4)},
			errSub: "B has shape [4], want [8]", kind: KindInvalid},
		{name: "huge dimension", op: &Conv{Group: 1}, in: []Type{convT(1, 1, 1<<40, 1), convT(1, 1, 1, 1)},
			errSub: "a dimension above", kind: KindInvalid},
		{name: "huge output", op: &Conv{Group: 1}, in: []Type{convT(1, 1, 1<<14, 1<<14), convT(2, 1, 1, 1)},
			errSub: "output shape [1,2,16384,16384] has more than", kind: KindInvalid},
		{name: "empty kernel", op: &Conv{Group: 1}, in: []Type{convT(1, 1, 4, 4), convT(1, 1, 0, 3)},
			errSub: "an empty kernel", kind: KindInvalid},
	})
}

func TestConvTransposeInfer(t *testing.T) {
	x, w := convT(1, 1, 3, 3), convT(1, 2, 3, 3)
	runConvCases(t, []convCase{
		{name: "default", op: &ConvTranspose{Group: 1}, in: []Type{x, w}, want: []Shape{{1, 2, 5, 5}}},
		{name: "output_padding", op: &ConvTranspose{Strides: []int{3, 2}, OutputPadding: []int{1, 1}, Group: 1},
			in: []Type{x, w}, want: []Shape{{1, 2, 10, 8}}},
		{name: "output_shape", op: &ConvTranspose{Strides: []int{3, 2}, OutputShape: []int{10, 8}, Group: 1},
			in: []Type{x, w}, want: []Shape{{1, 2, 10, 8}}},
		{name: "full output_shape", op: &ConvTranspose{Strides: []int{3, 2}, OutputShape: []int{1, 2, 10, 8}, Group: 1},
			in: []Type{x, w}, want: []Shape{{1, 2, 10, 8}}},
		{name: "output_shape with unknown X", op: &ConvTranspose{Strides: []int{3, 2}, OutputShape: []int{10, 8}, Group: 1},
			in: []Type{convT(-1, 1, -1, -1), w}, want: []Shape{{-1, 2, 10, 8}}},
		{name: "pads", op: &ConvTranspose{Strides: []int{3, 2}, Pads: []int{1, 2, 1, 2}, Group: 1},
			in: []Type{x, w}, want: []Shape{{1, 2, 7, 3}}},
		{name: "same upper", op: &ConvTranspose{Strides: []int{2, 2}, AutoPad: AutoPadSameUpper, Group: 1},
			in: []Type{x, w}, want: []Shape{{1, 2, 6, 6}}},
		{name: "dilations", op: &ConvTranspose{Dilations: []int{2, 2}, Group: 1},
			in: []Type{x, convT(1, 1, 2, 2)}, want: []Shape{{1, 1, 5, 5}}},
		{name: "groups", op: &ConvTranspose{Group: 2},
			in: []Type{convT(1, 4, 3, 3), convT(4, 3, 3, 3), convT(6)}, want: []Shape{{1, 6, 5, 5}}},
		{name: "1-D", op: &ConvTranspose{Group: 1}, in: []Type{convT(1, 1, 3), convT(1, 2, 3)}, want: []Shape{{1, 2, 5}}},
		{name: "unknown W", op: &ConvTranspose{Group: 1}, in: []Type{x, convT()}, want: []Shape{{1, -1, -1, -1}}},

		{name: "channels", op: &ConvTranspose{Group: 1}, in: []Type{convT(1, 2, 3, 3), w},
			errSub: "W shape [1,2,3,3] wants 1 input channels, X [1,2,3,3] has 2", kind: KindInvalid},
		{name: "group vs W", op: &ConvTranspose{Group: 2}, in: []Type{convT(1, 3, 3, 3), convT(3, 1, 3, 3)},
			errSub: "3 input channels do not divide into 2 groups", kind: KindInvalid},
		{name: "output_padding too big", op: &ConvTranspose{Strides: []int{2, 2}, OutputPadding: []int{2, 0}, Group: 1},
			in: []Type{x, w}, errSub: "output_padding [2 0]: 2 on spatial axis 0 is not less than the stride 2", kind: KindInvalid},
		{name: "output_shape length", op: &ConvTranspose{OutputShape: []int{10, 8, 1}, Group: 1},
			in: []Type{x, w}, errSub: "output_shape [10 8 1] has 3 entries", kind: KindInvalid},
		{name: "pads eat everything", op: &ConvTranspose{Pads: []int{3, 0, 3, 0}, Group: 1},
			in: []Type{x, w}, errSub: "leaves no output", kind: KindInvalid},
	})
}

func TestPoolInfer(t *testing.T) {
	runConvCases(t, []convCase{
		{name: "max 2x2", op: &MaxPool{Kernel: []int{2, 2}, Strides: []int{2, 2}},
			in: []Type{convT(-1, 3, 32, 32)}, want: []Shape{{-1, 3, 16, 16}}},
		{name: "max floor", op: &MaxPool{Kernel: []int{3, 3}, Strides: []int{2, 2}},
			in: []Type{convT(1, 1, 4, 4)}, want: []Shape{{1, 1, 1, 1}}},
		{name: "max ceil", op: &MaxPool{Kernel: []int{3, 3}, Strides: []int{2, 2}, CeilMode: true},
			in: []Type{convT(1, 1, 4, 4)}, want: []Shape{{1, 1, 2, 2}}},
		{name: "max indices", op: &MaxPool{Kernel: []int{2}, Indices: true, StorageOrder: 1},
			in: []Type{convT(1, 1, 4)}, want: []Shape{{1, 1, 3}, {1, 1, 3}}},
		{name: "max dilations", op: &MaxPool{Kernel: []int{2, 2}, Dilations: []int{2, 2}},
			in: []Type{convT(1, 1, 4, 4)}, want: []Shape{{1, 1, 2, 2}}},
		{name: "max unknown rank", op: &MaxPool{Kernel: []int{2, 2}}, in: []Type{convT()}, want: []Shape{{-1, -1, -1, -1}}},
		{name: "average same lower", op: &AveragePool{Kernel: []int{2, 2}, AutoPad: AutoPadSameLower},
			in: []Type{convT(1, 3, 32, 32)}, want: []Shape{{1, 3, 32, 32}}},
		{name: "average 3-D", op: &AveragePool{Kernel: []int{2, 2, 2}},
			in: []Type{convT(1, 3, 32, 32, 32)}, want: []Shape{{1, 3, 31, 31, 31}}},
		{name: "global average", op: &GlobalAveragePool{}, in: []Type{convT(2, 3, 4, 5)}, want: []Shape{{2, 3, 1, 1}}},
		{name: "global max 1-D", op: &GlobalMaxPool{}, in: []Type{convT(-1, 3, 7)}, want: []Shape{{-1, 3, 1}}},
		{name: "global unknown rank", op: &GlobalMaxPool{}, in: []Type{convT()}, want: []Shape{nil}},

		{name: "no kernel", op: &MaxPool{}, in: []Type{convT(1, 1, 4, 4)},
			errSub: "kernel_shape is missing", kind: KindInvalid},
		{name: "rank vs kernel", op: &AveragePool{Kernel: []int{2, 2}}, in: []Type{convT(1, 1, 4)},
			errSub: "X has shape [1,1,4], want rank 4", kind: KindInvalid},
		{name: "storage order", op: &MaxPool{Kernel: []int{2}, StorageOrder: 2}, in: []Type{convT(1, 1, 4)},
			errSub: "storage_order is 2", kind: KindInvalid},
		{name: "kernel too big", op: &AveragePool{Kernel: []int{5}}, in: []Type{convT(1, 1, 4)},
			errSub: "smaller than the dilated kernel size 5", kind: KindInvalid},
		{name: "kernel 0", op: &AveragePool{Kernel: []int{0}}, in: []Type{convT(1, 1, 4)},
			errSub: "kernel_shape [0]: entry 0 is out of range", kind: KindInvalid},
		{name: "global rank 2", op: &GlobalAveragePool{}, in: []Type{convT(1, 3)},
			errSub: "want rank >= 3", kind: KindInvalid},
		{name: "global empty", op: &GlobalAveragePool{}, in: []Type{convT(1, 3, 0)},
			errSub: "empty spatial axis", kind: KindInvalid},
		{name: "pool arity", op: &GlobalMaxPool{}, in: []Type{convT(1, 3, 2), convT(1)},
			errSub: "got 2 inputs, want 1", kind: KindInvalid},
	})
}

func TestNormInfer(t *testing.T) {
	bn := &BatchNormalization{Epsilon: 1e-5, Momentum: 0.9}
	c := convT(3)
	runConvCases(t, []convCase{
		{name: "bn", op: bn, in: []Type{convT(-1, 3, 4, 4), c, c, c, c}, want: []Shape{{-1, 3, 4, 4}}},
		{name: "bn 2-D", op: bn, in: []Type{convT(2, 3), c, c, c, c}, want: []Shape{{2, 3}}},
		{name: "bn unknown", op: bn, in: []Type{convT(), c, convT(), c, c}, want: []Shape{nil}},
		{name: "lrn", op: &LRN{Size: 5, Alpha: 1e-4, Beta: 0.75, Bias: 1}, in: []Type{convT(1, 8, 4, 4)}, want: []Shape{{1, 8, 4, 4}}},

		{name: "bn arity", op: bn, in: []Type{convT(1, 3, 4, 4), c, c, c}, errSub: "got 4 inputs, want 5", kind: KindInvalid},
		{name: "bn rank 1", op: bn, in: []Type{convT(3), c, c, c, c}, errSub: "X has shape [3], want rank >= 2", kind: KindInvalid},
		{name: "bn var", op: bn, in: []Type{convT(1, 3, 4, 4), c, c, c, convT(4)},
			errSub: "var has shape [4], want [3]", kind: KindInvalid},
		{name: "bn mean rank", op: bn, in: []Type{convT(1, 3, 4, 4), c, c, convT(1, 3), c},
			errSub: "mean has shape [1,3], want [3]", kind: KindInvalid},
		{name: "lrn size", op: &LRN{}, in: []Type{convT(1, 8, 4, 4)}, errSub: "size is 0", kind: KindInvalid},
		{name: "lrn rank", op: &LRN{Size: 3}, in: []Type{convT(8)}, errSub: "want rank >= 2", kind: KindInvalid},
	})
}

func TestConvOutputSizes(t *testing.T) {
	for _, c := range []struct {
		in, k, s, d, pb, pe int
		ceil                bool
		want                int
	}{
		{224, 7, 2, 1, 3, 3, false, 112},
		{5, 3, 1, 1, 0, 0, false, 3},
		{7, 3, 1, 2, 0, 0, false, 3},
		{4, 3, 2, 1, 0, 0, false, 1},
		{4, 3, 2, 1, 0, 0, true, 2},
		{5, 2, 2, 1, 0, 0, true, 3},
		{4, 2, 2, 1, 0, 1, false, 2},
		{4, 2, 2, 1, 0, 1, true, 2}, // the third window would start in the end padding
		{6, 3, 2, 1, 1, 1, true, 4},
		{2, 3, 1, 1, 0, 0, false, 0},
		{-1, 3, 1, 1, 0, 0, false, -1},
		{5, -1, 1, 1, 0, 0, false, -1},
		{5, 3, 0, 1, 0, 0, false, 0},
		{5, 3, 1, 0, 0, 0, false, 0},
		{5, 0, 1, 1, 0, 0, false, 0},
		{1 << 40, 3, 1, 1, 0, 0, false, 0},
		{5, 3, 1, 1 << 40, 0, 0, false, 0},
	} {
		if got := PoolOutputSize(c.in, c.k, c.s, c.d, c.pb, c.pe, c.ceil); got != c.want {
			t.Errorf("PoolOutputSize(%d, %d, %d, %d, %d, %d, %v) = %d, want %d", c.in, c.k, c.s, c.d, c.pb, c.pe, c.ceil, got, c.want)
		}
		if !c.ceil {
			if got := ConvOutputSize(c.in, c.k, c.s, c.d, c.pb, c.pe); got != c.want {
				t.Errorf("ConvOutputSize(%d, %d, %d, %d, %d, %d) = %d, want %d", c.in, c.k, c.s, c.d, c.pb, c.pe, got, c.want)
			}
		}
	}
}

func TestAutoPads(t *testing.T) {
	for _, c := range []struct {
		mode          AutoPad
		in, k, s, d   int
		wantB, wantE  int
		wantOutOfConv int
	}{
		{AutoPadSameUpper, 4, 3, 2, 1, 0, 1, 2},
		{AutoPadSameLower, 4, 3, 2, 1, 1, 0, 2},
		{AutoPadSameUpper, 5, 3, 1, 1, 1, 1, 5},
		{AutoPadSameUpper, 5, 3, 1, 2, 2, 2, 5},
		{AutoPadSameUpper, 5, 1, 3, 1, 0, 0, 2}, // no padding needed: clamped at 0
		{AutoPadSameLower, 5, 2, 1, 1, 1, 0, 5},
		{AutoPadValid, 5, 3, 2, 1, 0, 0, 2},
		{AutoPadNotSet, 5, 3, 2, 1, 0, 0, 2},
		{AutoPadSameUpper, -1, 3, 2, 1, -1, -1, -1},
		{AutoPadSameUpper, 4, 3, 0, 1, 0, 0, 0},
	} {
		b, e := AutoPads(c.mode, c.in, c.k, c.s, c.d)
		if b != c.wantB || e != c.wantE {
			t.Errorf("AutoPads(%v, %d, %d, %d, %d) = %d, %d, want %d, %d", c.mode, c.in, c.k, c.s, c.d, b, e, c.wantB, c.wantE)
		}
		if got := ConvOutputSize(c.in, c.k, c.s, c.d, b, e); got != c.wantOutOfConv {
			t.Errorf("%v: ConvOutputSize(%d, %d, %d, %d, %d, %d) = %d, want %d", c.mode, c.in, c.k, c.s, c.d, b, e, got, c.wantOutOfConv)
		}
	}
}

func TestConvTransposeSizes(t *testing.T) {
	if got := ConvTransposeOutputSize(3, 3, 3, 1, 1, 0, 0); got != 10 {
		t.Errorf("ConvTransposeOutputSize(3, 3, 3, 1, 1, 0, 0) = %d, want 10", got)
	}
	if got := ConvTransposeOutputSize(3, 3, 2, 1, 0, 2, 2); got != 3 {
		t.Errorf("ConvTransposeOutputSize(3, 3, 2, 1, 0, 2, 2) = %d, want 3", got)
	}
	if got := ConvTransposeOutputSize(3, 3, 1, 1, 0, 3, 3); got != 0 {
		t.Errorf("ConvTransposeOutputSize with pads eating the output = %d, want 0", got)
	}
	if got := ConvTransposeOutputSize(-1, 3, 1, 1, 0, 0, 0); got != -1 {
		t.Errorf("ConvTransposeOutputSize(unknown) = %d, want -1", got)
	}
	for _, c := range []struct {
		mode                  AutoPad
		in, k, s, d, adj, out int
		wantB, wantE          int
	}{
		{AutoPadSameUpper, 3, 3, 2, 1, 0, 6, 0, 1}, // full 7, total 1: odd element at the end
		{AutoPadSameLower, 3, 3, 2, 1, 0, 6, 1, 0},
		{AutoPadNotSet, 3, 3, 3, 1, 0, 10, 0, -1}, // full 9, output_shape 10: extended at the end
		{AutoPadNotSet, 3, 3, 2, 1, 0, 4, 2, 1},
		{AutoPadSameUpper, 3, 3, 3, 1, 0, 10, -1, 0},
		{AutoPadNotSet, 3, 3, 3, 1, 1, 10, 0, 0},
	} {
		b, e := ConvTransposePads(c.mode, c.in, c.k, c.s, c.d, c.adj, c.out)
		if b != c.wantB || e != c.wantE {
			t.Errorf("ConvTransposePads(%v, %d, %d, %d, %d, %d, %d) = %d, %d, want %d, %d",
				c.mode, c.in, c.k, c.s, c.d, c.adj, c.out, b, e, c.wantB, c.wantE)
		}
	}
}

func TestAutoPadNames(t *testing.T) {
	for _, a := range []AutoPad{AutoPadNotSet, AutoPadSameUpper, AutoPadSameLower, AutoPadValid} {
		got, ok := ParseAutoPad(a.String())
		if !ok || got != a {
			t.Errorf("ParseAutoPad(%q) = %v, %v", a.String(), got, ok)
		}
	}
	if _, ok := ParseAutoPad("SAME"); ok {
		t.Error(`ParseAutoPad("SAME") succeeded`)
	}
}

func TestConvGeometry(t *testing.T) {
	c := &Conv{Strides: []int{2}, AutoPad: AutoPadSameLower, Group: 1}
	g, err := c.Geometry(Shape{1, 1, 4}, Shape{1, 1, 3})
	if err != nil {
		t.Fatal(err)
	}
	want := Window{In: []int{4}, Out: []int{2}, Kernel: []int{3}, Strides: []int{2}, Dilations: []int{1}, PadBegin: []int{1}, PadEnd: []int{0}}
	if !convWindowEqual(g, want) {
		t.Errorf("Geometry = %+v, want %+v", g, want)
	}
	ct := &ConvTranspose{Strides: []int{3}, OutputShape: []int{10}, Group: 1}
	g, err = ct.Geometry(Shape{1, 1, 3}, Shape{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	want = Window{In: []int{3}, Out: []int{10}, Kernel: []int{3}, Strides: []int{3}, Dilations: []int{1}, PadBegin: []int{0}, PadEnd: []int{-1}}
	if !convWindowEqual(g, want) {
		t.Errorf("ConvTranspose Geometry = %+v, want %+v", g, want)
	}
}

func convWindowEqual(a, b Window) bool {
	return Shape(a.In).Equal(b.In) && Shape(a.Out).Equal(b.Out) && Shape(a.Kernel).Equal(b.Kernel) &&
		Shape(a.Strides).Equal(b.Strides) && Shape(a.Dilations).Equal(b.Dilations) &&
		Shape(a.PadBegin).Equal(b.PadBegin) && Shape(a.PadEnd).Equal(b.PadEnd)
}

// TestConvInferNoPanic feeds random, mostly invalid attributes and shapes
// to every op of the family: Infer may fail but must not panic, and the
// sliding-window ops, whose output can outgrow their input, must not
// accept an output with more than MaxElements elements.
func TestConvInferNoPanic(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	val := func() int {
		switch r.Intn(6) {
		case 0:
			return -1 - r.Intn(3)
		case 1:
			return 1 << (20 + r.Intn(40))
		default:
			return r.Intn(6)
		}
	}
	ints := func() []int {
		if r.Intn(3) == 0 {
			return nil
		}
		v := make([]int, r.Intn(7))
		for i := range v {
			v[i] = val()
		}
		return v
	}
	typ := func() Type {
		if r.Intn(8) == 0 {
			return Type{}
		}
		if r.Intn(6) == 0 {
			return convT()
		}
		return Type{DType: Float32, Shape: Shape(append([]int{}, ints()...))}
	}
	for i := 0; i < 20000; i++ {
		ap := AutoPad(r.Intn(5))
		ops := []Op{
			&Conv{Kernel: ints(), Strides: ints(), Dilations: ints(), Pads: ints(), AutoPad: ap, Group: val()},
			&ConvTranspose{Kernel: ints(), Strides: ints(), Dilations: ints(), Pads: ints(), AutoPad: ap, Group: val(),
				OutputPadding: ints(), OutputShape: ints()},
			&MaxPool{Kernel: ints(), Strides: ints(), Dilations: ints(), Pads: ints(), AutoPad: ap, CeilMode: r.Intn(2) == 0,
				StorageOrder: val(), Indices: r.Intn(2) == 0},
			&AveragePool{Kernel: ints(), Strides: ints(), Pads: ints(), AutoPad: ap, CeilMode: r.Intn(2) == 0},
			&GlobalAveragePool{}, &GlobalMaxPool{}, &BatchNormalization{}, &LRN{Size: val()},
		}
		op := ops[r.Intn(len(ops))]
		in := make([]Type, r.Intn(6))
		for j := range in {
			in[j] = typ()
		}
		out, err := op.Infer(in, make([]*Tensor, len(in)))
		switch op.(type) {
		case *GlobalAveragePool, *GlobalMaxPool, *BatchNormalization, *LRN:
			continue // outputs no larger than the input, which may be absurd
		}
		if err == nil {
			for _, o := range out {
				if o.Shape.Known() && o.Shape.NumElements() < 0 {
					t.Fatalf("%s%+v on %v: output %v is too large", op.OpType(), op, in, o)
				}
			}
		}
	}
}
