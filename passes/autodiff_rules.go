package passes

import (
	"github.com/cnnc/cnnc/ir"
)

// rule returns the gradients of node n's inputs from those of its outputs,
// dys (nil where an output gets none): an entry per input, nil where want
// is false or the input gets nothing. Each is built from IR ops, so that a
// training step is a graph the compiler optimizes like any other.
func (a *autodiff) rule(n *ir.Node, dys []*ir.Value, want []bool) ([]*ir.Value, error) {
	dx := make([]*ir.Value, len(n.Inputs))
	name := n.Name + ".grad"
	if op, ok := n.Op.(*ir.Split); ok {
		// Any of its outputs may be the one read.
		return a.splitRule(name, n, op, dys)
	}
	dy := dys[0]
	if dy == nil {
		return dx, nil // only a second output (MaxPool's Indices) is read
	}
	var err error
	switch op := n.Op.(type) {
	case *ir.Conv:
		x, w := n.Inputs[0], n.Inputs[1]
		if want[0] {
			if dx[0], err = a.convGradData(name+".x", op, x, w, dy); err != nil {
				return nil, err
			}
		}
		if want[1] {
			if dx[1], err = a.node1(name+".w", &ir.ConvGradFilter{Conv: *op, W: w.Type.Shape.Clone()}, x, dy); err != nil {
				return nil, err
			}
		}
		if len(n.Inputs) > 2 && want[2] {
			dx[2], err = a.biasGrad(name+".b", dy)
		}
	case *ir.ConvTranspose:
		return a.convTransposeRule(n, op, dy, want)
	case *ir.Gemm:
		return a.gemmRule(n, op, dy, want)
	case *ir.MatMul:
		return a.matMulRule(n, dy, want)
	case *ir.BatchNormTrain:
		g, err := a.node(name, &ir.BatchNormGrad{}, 3, n.Inputs[0], n.Inputs[1], n.Outputs[3], n.Outputs[4], dy)
		if err != nil {
			return nil, err
		}
		for i := range 3 {
			if want[i] {
				dx[i] = g[i]
			}
		}
	case *ir.Relu, *ir.Sigmoid, *ir.Tanh:
		// These derivatives read Y alone (Relu's: Y > 0, as PyTorch's
		// threshold_backward), so X need not outlive the forward node,
		// which leaves the convolution before it free to fuse it.
		y := n.Outputs[0]
		dx[0], err = a.node1(name, &ir.ActGrad{Op: op}, y, y, dy)
	case *ir.LeakyRelu, *ir.Clip:
		dx[0], err = a.node1(name, &ir.ActGrad{Op: op}, n.Inputs[0], n.Outputs[0], dy)
	case *ir.MaxPool:
		p := *op
		p.Indices = false
		dx[0], err = a.node1(name, &ir.MaxPoolGrad{Pool: p}, n.Inputs[0], dy)
	case *ir.AveragePool:
		dx[0], err = a.node1(name, &ir.AveragePoolGrad{Pool: *op}, n.Inputs[0], dy)
	case *ir.GlobalAveragePool:
		dx[0], err = a.node1(name, &ir.GlobalPoolGrad{}, n.Inputs[0], dy)
	case *ir.GlobalMaxPool:
		dx[0], err = a.node1(name, &ir.GlobalPoolGrad{Max: true}, n.Inputs[0], dy)
	case *ir.Flatten, *ir.Reshape, *ir.Squeeze, *ir.Unsqueeze:
		dx[0], err = a.reshape(name, dy, n.Inputs[0].Type.Shape)
	case *ir.Identity:
		dx[0] = dy
	case *ir.Transpose:
		var perm []int
		if perm, err = op.Permutation(len(dy.Type.Shape)); err != nil {
			return nil, err
		}
		inv := make([]int, len(perm))
		for i, p := range perm {
			inv[p] = i
		}
		dx[0], err = a.node1(name, &ir.Transpose{Perm: inv}, dy)
	case *ir.Slice:
		dx[0], err = a.sliceRule(name, n, op, dy)
	case *ir.Softmax:
		dx[0], err = a.softmaxRule(name, op.Axis, op.Coerce2D, false, n.Outputs[0], dy)
	case *ir.LogSoftmax:
		dx[0], err = a.softmaxRule(name, op.Axis, op.Coerce2D, true, n.Outputs[0], dy)
	case *ir.LRN:
		dx[0], err = a.node1(name, &ir.LRNGrad{LRN: *op}, n.Inputs[0], dy)
	case *ir.Pad:
		dx[0], err = a.padRule(name, n, op, dy)
	case *ir.Dropout: // ratio 0: the identity (others became DropoutTrain)
		dx[0] = dy
	case *ir.DropoutTrain, *ir.StochasticDepthTrain:
		dx[0], err = a.node1(name, &ir.Mul{}, dy, n.Outputs[1])
	case *ir.Add, *ir.Sum:
		for i, v := range n.Inputs {
			if want[i] {
				if dx[i], err = a.reduceTo(name, dy, v.Type.Shape); err != nil {
					return nil, err
				}
			}
		}
	case *ir.Sub:
		if want[0] {
			if dx[0], err = a.reduceTo(name, dy, n.Inputs[0].Type.Shape); err != nil {
				return nil, err
			}
		}
		if want[1] {
			neg, err := a.scale(name+".neg", dy, -1)
			if err != nil {
				return nil, err
			}
			if dx[1], err = a.reduceTo(name, neg, n.Inputs[1].Type.Shape); err != nil {
				return nil, err
			}
		}
	case *ir.Mul:
		for i := range 2 {
			if !want[i] {
				continue
			}
			prod, err := a.node1(name, &ir.Mul{}, dy, n.Inputs[1-i])
			if err != nil {
				return nil, err
			}
			if dx[i], err = a.reduceTo(name, prod, n.Inputs[i].Type.Shape); err != nil {
				return nil, err
			}
		}
	case *ir.Div:
		return a.divRule(n, dy, want)
	case *ir.Concat:
		axis, _ := ir.NormAxis(op.Axis, len(dy.Type.Shape))
		split := make([]int, len(n.Inputs))
		for i, v := range n.Inputs {
			split[i] = v.Type.Shape[axis]
		}
		parts, err := a.node(name, &ir.Split{Axis: axis, Split: split, NumOutputs: len(split)}, len(split), dy)
		if err != nil {
			return nil, err
		}
		for i := range parts {
			if want[i] {
				dx[i] = parts[i]
			}
		}
	default:
		return nil, ir.Unsupportedf("no gradient for %s yet", n.Op.OpType())
	}
	if err != nil {
		return nil, err
	}
	return dx, nil
}

// reduceTo sums the gradient d over the axes along which a value of shape
// to was broadcast to d's shape (numpy rules), and gives it that shape.
func (a *autodiff) reduceTo(name string, d *ir.Value, to ir.Shape) (*ir.Value, error) {
	from := d.Type.Shape
	if from.Equal(to) {
		return d, nil
	}
	lead := len(from) - len(to)
	if lead < 0 {
		return nil, ir.Invalidf("gradient of shape %v for a value of shape %v", from, to)
	}
	var axes []int
	for i := range from {
		if i < lead || (to[i-lead] == 1 && from[i] != 1) {
			axes = append(axes, i)
		}
	}
	r := d
	if len(axes) > 0 {
		var err error
		if r, err = a.node1(name+".sum", &ir.ReduceSum{Axes: axes, KeepDims: true}, d); err != nil {
			return nil, err
		}
	}
	return a.reshape(name, r, to)
}

// scale returns v·k, a Mul by a scalar constant.
func (a *autodiff) scale(name string, v *ir.Value, k float32) (*ir.Value, error) {
	c := a.constant(name+".factor", ir.FromFloat32(ir.Shape{}, []float32{k}))
	return a.node1(name, &ir.Mul{}, v, c)
}

// divRule differentiates Y = A / B: dA = dY / B and dB = -dY·Y / B, each
// summed over its operand's broadcast axes.
func (a *autodiff) divRule(n *ir.Node, dy *ir.Value, want []bool) ([]*ir.Value, error) {
	dx := make([]*ir.Value, 2)
	name := n.Name + ".grad"
	A, B := n.Inputs[0], n.Inputs[1]
	if want[0] {
		q, err := a.node1(name+".a", &ir.Div{}, dy, B)
		if err != nil {
			return nil, err
		}
		if dx[0], err = a.reduceTo(name+".a", q, A.Type.Shape); err != nil {
			return nil, err
		}
	}
	if want[1] {
		p, err := a.node1(name+".b", &ir.Mul{}, dy, n.Outputs[0])
		if err != nil {
			return nil, err
		}
		if p, err = a.node1(name+".b", &ir.Div{}, p, B); err != nil {
			return nil, err
		}
		if p, err = a.scale(name+".b", p, -1); err != nil {
			return nil, err
		}
		if dx[1], err = a.reduceTo(name+".b", p, B.Type.Shape); err != nil {
			return nil, err
		}
	}
	return dx, nil
}

// softmaxRule differentiates Y = Softmax(X), dX = Y·(dY - Σ dY·Y), or
// (logSoftmax) Y = LogSoftmax(X), dX = dY - exp(Y)·Σ dY, the sums over
// each group of the forward op: the axis, or with coerce2D every axis
// from it on.
func (a *autodiff) softmaxRule(name string, axis int, coerce2D, logSoftmax bool, y, dy *ir.Value) (*ir.Value, error) {
	rank := len(y.Type.Shape)
	ax, ok := ir.NormAxis(axis, rank)
	if !ok {
		return nil, ir.Invalidf("axis %d is out of range for rank %d", axis, rank)
	}
	axes := []int{ax}
	for i := ax + 1; coerce2D && i < rank; i++ {
		axes = append(axes, i)
	}
	sum := func(v *ir.Value) (*ir.Value, error) {
		return a.node1(name+".sum", &ir.ReduceSum{Axes: axes, KeepDims: true}, v)
	}
	if logSoftmax {
		s, err := sum(dy)
		if err != nil {
			return nil, err
		}
		e, err := a.node1(name+".exp", &ir.Exp{}, y)
		if err != nil {
			return nil, err
		}
		if e, err = a.node1(name+".mul", &ir.Mul{}, e, s); err != nil {
			return nil, err
		}
		return a.node1(name, &ir.Sub{}, dy, e)
	}
	p, err := a.node1(name+".mul", &ir.Mul{}, dy, y)
	if err != nil {
		return nil, err
	}
	s, err := sum(p)
	if err != nil {
		return nil, err
	}
	d, err := a.node1(name+".sub", &ir.Sub{}, dy, s)
	if err != nil {
		return nil, err
	}
	return a.node1(name, &ir.Mul{}, y, d)
}
