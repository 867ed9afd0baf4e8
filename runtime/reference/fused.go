package reference

import "github.com/cnnc/cnnc/ir"

// fusedKernel implements the compiler's fused ops as the chains of ONNX ops
// they stand for: the unfused kernel, then the residual add and the
// activation on the float32 result.
func fusedKernel(op ir.Op) kernel {
	switch op := op.(type) {
	case *ir.FusedConv:
		return func(_ ir.Op, in, out []*ir.Tensor) error {
			if err := conv(&op.Conv, in[:min(len(in), 3)], out); err != nil {
				return err
			}
			var z *ir.Tensor
			if len(in) > 3 {
				z = in[3]
			}
			return finish(out[0], z, op.Act)
		}
	case *ir.FusedGemm:
		return func(_ ir.Op, in, out []*ir.Tensor) error {
			if err := gemmKernel(&op.Gemm, in, out); err != nil {
				return err
			}
			return finish(out[0], nil, op.Act)
		}
	case *ir.ChannelAffine:
		return channelAffine
	}
	return nil
}

// finish adds the optional residual z to y and applies act.
func finish(y, z *ir.Tensor, act ir.Activation) error {
	if z != nil && len(z.F32) != len(y.F32) {
		return ir.Invalidf("residual has %d elements, output %d", len(z.F32), len(y.F32))
	}
	for i, v := range y.F32 {
		if z != nil {
			v += z.F32[i]
		}
		y.F32[i] = act.Apply(v)
	}
	return nil
}

// channelAffine is Y[n, c, ...] = Act(X[n, c, ...]*Scale[c] + Shift[c]).
func channelAffine(op ir.Op, in, out []*ir.Tensor) error {
	act := op.(*ir.ChannelAffine).Act
	x, scale, shift, y := in[0], in[1].F32, in[2].F32, out[0]
	c := x.Shape[1]
	inner := mathProduct(x.Shape[2:])
	for i, v := range x.F32 {
		ch := i / inner % c
		y.F32[i] = act.Apply(float32(float64(v)*float64(scale[ch]) + float64(shift[ch])))
	}
	return nil
}
