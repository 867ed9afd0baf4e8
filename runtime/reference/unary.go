package reference

import (
	"math"

	"github.com/cnnc/cnnc/ir"
)

// unaryKernel implements the element-wise activations and unary math.
func unaryKernel(op ir.Op) kernel {
	switch op := op.(type) {
	case *ir.Relu:
		return mapF32(func(x float64) float64 { return math.Max(x, 0) })
	case *ir.LeakyRelu:
		a := float64(op.Alpha)
		return mapF32(func(x float64) float64 {
			if x >= 0 {
				return x
			}
			return a * x
		})
	case *ir.Elu:
		a := float64(op.Alpha)
		return mapF32(func(x float64) float64 {
			if x >= 0 {
				return x
			}
			return a * (math.Exp(x) - 1)
		})
	case *ir.Selu:
		a, g := float64(op.Alpha), float64(op.Gamma)
		return mapF32(func(x float64) float64 {
			if x > 0 {
				return g * x
			}
			return g * (a*math.Exp(x) - a)
		})
	case *ir.Sigmoid:
		return mapF32(func(x float64) float64 { return 1 / (1 + math.Exp(-x)) })
	case *ir.Tanh:
		return mapF32(math.Tanh)
	case *ir.Sqrt:
		return mapF32(math.Sqrt)
	case *ir.Exp:
		return mapF32(math.Exp)
	case *ir.Clip:
		return clip
	case *ir.PRelu:
		return prelu
	}
	return nil
}

// mapF32 makes a kernel applying f to every element of input 0.
func mapF32(f func(float64) float64) kernel {
	return func(_ ir.Op, in, out []*ir.Tensor) error {
		x, y := in[0].F32, out[0].F32
		for i := range x {
			y[i] = float32(f(float64(x[i])))
		}
		return nil
	}
}

func clip(op ir.Op, in, out []*ir.Tensor) error {
	c := op.(*ir.Clip)
	lo, hi := c.Min, c.Max
	if len(in) > 1 && in[1] != nil {
		lo = in[1].F32[0]
	}
	if len(in) > 2 && in[2] != nil {
		hi = in[2].F32[0]
	}
	for i, x := range in[0].F32 {
		out[0].F32[i] = min(max(x, lo), hi)
	}
	return nil
}

func prelu(_ ir.Op, in, out []*ir.Tensor) error {
	return broadcast2(in[0], in[1], out[0], func(x, s float64) float64 {
		if x >= 0 {
			return x
		}
		return s * x
	})
}

// constKernel implements Constant.
func constKernel(op ir.Op) kernel {
	if _, ok := op.(*ir.Constant); !ok {
		return nil
	}
	return func(op ir.Op, _, out []*ir.Tensor) error {
		out[0] = op.(*ir.Constant).Value.Clone()
		return nil
	}
}
