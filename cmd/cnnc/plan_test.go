package main

import (
	"testing"

	"github.com/cnnc/cnnc/codegen"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/kernels"
)

func TestKernelDesc(t *testing.T) {
	relu := ir.Activation{Kind: ir.ActRelu}
	res := []codegen.Operand{{Loc: codegen.LocArena}, {Loc: codegen.LocWeights}, {Loc: codegen.LocNone}, {Loc: codegen.LocArena}}
	for _, c := range []struct {
		k    codegen.Kernel
		in   []codegen.Operand
		want string
		macs int64
	}{
		{&kernels.Conv2D{N: 1, C: 64, H: 56, W: 56, M: 128, OH: 28, OW: 28, KH: 3, KW: 3, SH: 2, SW: 2, DH: 1, DW: 1, PadT: 1, PadL: 1, Group: 1, Algo: ir.AlgoIm2col, Act: relu},
			nil, "conv2d im2col 3x3/s2 p1 64->128 relu", 28 * 28 * 128 * 64 * 9},
		{&kernels.Conv2D{N: 2, C: 32, M: 32, OH: 7, OW: 7, KH: 3, KW: 1, SH: 1, SW: 2, DH: 2, DW: 2, Group: 32, Algo: ir.AlgoDepthwise, Act: ir.Activation{Kind: ir.ActClip, Max: 6}},
			nil, "conv2d depthwise 3x1/s1x2 d2 32->32 g32 clip(0,6)", 2 * 32 * 49 * 3},
		{&kernels.Conv2D{N: 1, C: 8, M: 8, OH: 4, OW: 4, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, Group: 1, Algo: ir.AlgoGEMM1x1},
			res, "conv2d gemm1x1 1x1/s1 8->8 +residual", 8 * 16 * 8},
		{&kernels.Conv2D{C: 3, Group: 2}, nil, "conv2d auto 0x0/s0 d0 3->0 g2", -1},
		{&kernels.Gemm{M: 4, N: 10, K: 84}, nil, "gemm 84->10", 4 * 10 * 84},
		{&kernels.Pool2D{KH: 3, KW: 3, SH: 2, SW: 2, DH: 1, DW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Max: true}, nil, "maxpool 3x3/s2 p1", 0},
		{&kernels.Pool2D{KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1, PadB: 1, CountIncludePad: true}, nil, "avgpool 2x2/s2 p0,0,1,0 count-pad", 0},
		{&kernels.GlobalPool{}, nil, "globalpool avg", 0},
		{&kernels.Affine{Act: relu}, nil, "affine relu", 0},
		{&kernels.Binary{Op: kernels.BinAdd, Act: relu}, nil, "binary add relu", 0},
		{&kernels.Unary{Op: kernels.UnSigmoid}, nil, "unary sigmoid", 0},
		{&kernels.Unary{Op: kernels.UnLeakyRelu, Alpha: 0.1}, nil, "unary leakyrelu(0.1)", 0},
		{&kernels.Concat{Inner: []int{1, 2, 3}}, nil, "concat 3 inputs", 0},
		{&kernels.Softmax{N: 10, Log: true}, nil, "logsoftmax 10", 0},
		{&kernels.LRN{Size: 5}, nil, "lrn size 5", 0},
		{&kernels.Reference{Op: &ir.Relu{}}, nil, "reference Relu", 0},
		{nil, nil, "none", 0},
	} {
		st := &codegen.Step{Kernel: c.k, In: c.in}
		if got := kernelDesc(st); got != c.want {
			t.Errorf("kernelDesc(%#v) = %q, want %q", c.k, got, c.want)
		}
		if got := kernelMACs(c.k); got != c.macs {
			t.Errorf("kernelMACs(%#v) = %d, want %d", c.k, got, c.macs)
		}
	}
	if got := product(1<<40, 1<<30); got != -1 {
		t.Errorf("product overflowing int64 = %d, want -1", got)
	}
}
