package reference

import (
	"math"

	"github.com/cnnc/cnnc/ir"
)

// mathKernel implements the math family.
func mathKernel(op ir.Op) kernel {
	switch op := op.(type) {
	case *ir.Softmax:
		return softmaxKernel(op.Axis, op.Coerce2D, false)
	case *ir.LogSoftmax:
		return softmaxKernel(op.Axis, op.Coerce2D, true)
	case *ir.Gemm:
		return gemmKernel
	case *ir.MatMul:
		return matmulKernel
	case *ir.Add:
		return arithKernel(func(a, b float64) float64 { return a + b }, func(a, b int64) (int64, bool) { return a + b, true })
	case *ir.Sub:
		return arithKernel(func(a, b float64) float64 { return a - b }, func(a, b int64) (int64, bool) { return a - b, true })
	case *ir.Mul:
		return arithKernel(func(a, b float64) float64 { return a * b }, func(a, b int64) (int64, bool) { return a * b, true })
	case *ir.Div:
		return arithKernel(func(a, b float64) float64 { return a / b }, func(a, b int64) (int64, bool) {
			if b == 0 {
				return 0, false
			}
			return a / b, true // Go's division truncates toward zero
		})
	case *ir.Pow:
		return powKernel
	case *ir.Sum:
		return variadicKernel(func(acc, x float64) float64 { return acc + x }, nil, false)
	case *ir.Mean:
		return variadicKernel(func(acc, x float64) float64 { return acc + x }, nil, true)
	case *ir.Max:
		return variadicKernel(math.Max, func(a, b int64) int64 { return max(a, b) }, false)
	case *ir.Min:
		return variadicKernel(math.Min, func(a, b int64) int64 { return min(a, b) }, false)
	case *ir.ReduceSum:
		return reduceKernel(op.Axes, op.NoopWithEmptyAxes, false)
	case *ir.ReduceMean:
		return reduceKernel(op.Axes, false, true)
	}
	return nil
}

// mathProduct returns the product of the dimensions of s (1 for none).
func mathProduct(s ir.Shape) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// softmaxKernel computes Softmax, or LogSoftmax when log is set. Each group
// is n elements spaced inner apart; with coerce2D a group is the whole
// trailing part of the shape from axis on (inner = 1).
func softmaxKernel(axis int, coerce2D, log bool) kernel {
	return func(_ ir.Op, in, out []*ir.Tensor) error {
		x, y, s := in[0].F32, out[0].F32, in[0].Shape
		a, ok := ir.NormAxis(axis, len(s))
		if !ok {
			return ir.Invalidf("axis %d is out of range for shape %v", axis, s)
		}
		outer, n, inner := mathProduct(s[:a]), s[a], mathProduct(s[a+1:])
		if coerce2D {
			n, inner = mathProduct(s[a:]), 1
		}
		for o := 0; o < outer; o++ {
			for i := 0; i < inner; i++ {
				base := o*n*inner + i
				m := math.Inf(-1)
				for k := 0; k < n; k++ {
					m = math.Max(m, float64(x[base+k*inner]))
				}
				sum := 0.0
				for k := 0; k < n; k++ {
					sum += math.Exp(float64(x[base+k*inner]) - m)
				}
				for k := 0; k < n; k++ {
					v := float64(x[base+k*inner]) - m
					if log {
						y[base+k*inner] = float32(v - math.Log(sum))
					} else {
						y[base+k*inner] = float32(math.Exp(v) / sum)
					}
				}
			}
		}
		return nil
	}
}

// gemmKernel computes Y = Alpha*A'*B' + Beta*C.
func gemmKernel(op ir.Op, in, out []*ir.Tensor) error {
	g := op.(*ir.Gemm)
	a, b, y := in[0], in[1], out[0]
	m, n := y.Shape[0], y.Shape[1]
	k := a.Shape[1]
	if g.TransA {
		k = a.Shape[0]
	}
	// at returns element (i, j) of the (possibly transposed) matrix t.
	at := func(t *ir.Tensor, trans bool, i, j int) float64 {
		if trans {
			return float64(t.F32[j*t.Shape[1]+i])
		}
		return float64(t.F32[i*t.Shape[1]+j])
	}
	var c *ir.Tensor
	var ci []int
	if len(in) > 2 && in[2] != nil {
		c, ci = in[2], broadcastIndex(in[2].Shape, y.Shape)
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			sum := 0.0
			for p := 0; p < k; p++ {
				sum += at(a, g.TransA, i, p) * at(b, g.TransB, p, j)
			}
			v := float64(g.Alpha) * sum
			if c != nil {
				v += float64(g.Beta) * float64(c.F32[ci[i*n+j]])
			}
			y.F32[i*n+j] = float32(v)
		}
	}
	return nil
}

// matmulKernel computes the numpy matrix product: batch dimensions broadcast, a
// 1-D operand is a row (A) or column (B) vector.
func matmulKernel(_ ir.Op, in, out []*ir.Tensor) error {
	a, b, y := in[0], in[1], out[0]
	as, bs := a.Shape, b.Shape
	if len(as) == 1 {
		as = ir.Shape{1, as[0]}
	}
	if len(bs) == 1 {
		bs = ir.Shape{bs[0], 1}
	}
	m, k, n := as[len(as)-2], as[len(as)-1], bs[len(bs)-1]
	ab, bb := as[:len(as)-2], bs[:len(bs)-2]
	batch, err := ir.BroadcastShapes(ab, bb)
	if err != nil {
		return err
	}
	ia, ib := broadcastIndex(ab, batch), broadcastIndex(bb, batch)
	for t := range ia {
		ao, bo, yo := ia[t]*m*k, ib[t]*k*n, t*m*n
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				sum := 0.0
				for p := 0; p < k; p++ {
					sum += float64(a.F32[ao+i*k+p]) * float64(b.F32[bo+p*n+j])
				}
				y.F32[yo+i*n+j] = float32(sum)
			}
		}
	}
	return nil
}

// arithKernel makes the kernel of a broadcasting binary op: f on floats, fi on
// integers (computed in int64; ok false means division by zero).
func arithKernel(f func(a, b float64) float64, fi func(a, b int64) (int64, bool)) kernel {
	return func(_ ir.Op, in, out []*ir.Tensor) error {
		a, b, y := in[0], in[1], out[0]
		if y.DType == ir.Float32 {
			return broadcast2(a, b, y, f)
		}
		ia, ib := broadcastIndex(a.Shape, y.Shape), broadcastIndex(b.Shape, y.Shape)
		for k := range ia {
			v, ok := fi(mathIntAt(a, ia[k]), mathIntAt(b, ib[k]))
			if !ok {
				return ir.Invalidf("integer division by zero (output element %d)", k)
			}
			mathSetInt(y, k, v)
		}
		return nil
	}
}

// mathIntAt returns element i of an Int64 or Int32 tensor.
func mathIntAt(t *ir.Tensor, i int) int64 {
	if t.DType == ir.Int32 {
		return int64(t.I32[i])
	}
	return t.I64[i]
}

// mathSetInt stores v as element i of an Int64 or Int32 tensor, wrapping to 32
// bits for Int32.
func mathSetInt(t *ir.Tensor, i int, v int64) {
	if t.DType == ir.Int32 {
		t.I32[i] = int32(v)
	} else {
		t.I64[i] = v
	}
}

// powKernel computes Z = X^Y in float64, truncated toward zero for an
// integer Z.
func powKernel(_ ir.Op, in, out []*ir.Tensor) error {
	x, e, z := in[0], in[1], out[0]
	ix, ie := broadcastIndex(x.Shape, z.Shape), broadcastIndex(e.Shape, z.Shape)
	for k := range ix {
		v := math.Pow(x.Float64At(ix[k]), e.Float64At(ie[k]))
		if z.DType == ir.Float32 {
			z.F32[k] = float32(v)
		} else {
			mathSetInt(z, k, int64(v))
		}
	}
	return nil
}

// variadicKernel makes the kernel of Sum, Mean, Max or Min: the inputs are folded
// in order with f (floats, in float64) or fi (integers); mean divides the
// result by the number of inputs.
func variadicKernel(f func(acc, x float64) float64, fi func(acc, x int64) int64, mean bool) kernel {
	return func(_ ir.Op, in, out []*ir.Tensor) error {
		y := out[0]
		if y.DType != ir.Float32 {
			for j, t := range in {
				idx := broadcastIndex(t.Shape, y.Shape)
				for k, i := range idx {
					v := mathIntAt(t, i)
					if j > 0 {
						v = fi(mathIntAt(y, k), v)
					}
					mathSetInt(y, k, v)
				}
			}
			return nil
		}
		acc := make([]float64, len(y.F32))
		for j, t := range in {
			idx := broadcastIndex(t.Shape, y.Shape)
			for k, i := range idx {
				v := float64(t.F32[i])
				if j > 0 {
					v = f(acc[k], v)
				}
				acc[k] = v
			}
		}
		for k, v := range acc {
			if mean {
				v /= float64(len(in))
			}
			y.F32[k] = float32(v)
		}
		return nil
	}
}

// reduceKernel makes the kernel of ReduceSum (or ReduceMean with mean set) over
// axes, or over the axes input 1 when it is given.
func reduceKernel(axes []int, noop, mean bool) kernel {
	return func(_ ir.Op, in, out []*ir.Tensor) error {
		x, y, ax := in[0], out[0], axes
		if len(in) > 1 && in[1] != nil {
			var err error
			if ax, err = in[1].Ints(); err != nil {
				return err
			}
		}
		red, err := ir.ReduceAxes(ax, len(x.Shape), noop)
		if err != nil {
			return err
		}
		// Output stride of each input dimension: 0 where it is reduced.
		str := make([]int, len(x.Shape))
		s := 1
		for d := len(x.Shape) - 1; d >= 0; d-- {
			if !red[d] {
				str[d] = s
				s *= x.Shape[d]
			}
		}
		acc := make([]float64, len(y.F32))
		pos := make([]int, len(x.Shape))
		off := 0
		for _, v := range x.F32 {
			acc[off] += float64(v)
			for d := len(pos) - 1; d >= 0; d-- {
				pos[d]++
				off += str[d]
				if pos[d] < x.Shape[d] {
					break
				}
				off -= str[d] * pos[d]
				pos[d] = 0
			}
		}
		count := 1.0
		for d, r := range red {
			if r {
				count *= float64(x.Shape[d])
			}
		}
		for k, v := range acc {
			if mean {
				v /= count
			}
			y.F32[k] = float32(v)
		}
		return nil
	}
}
