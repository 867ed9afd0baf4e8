package codegen

import (
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/kernels"
)

// Lowering of the training ops (ir/ops_train.go) that have kernels: the
// pools' and activations' gradients, the SGD update, and the ReduceSum
// of a bias gradient. The losses and Adam run the reference kernel.

// poolGrad lowers a MaxPoolGrad or AveragePoolGrad to kernels.PoolGrad.
func (l *lowering) poolGrad(n *ir.Node, win ir.Window, err error, k *kernels.PoolGrad) error {
	if err != nil {
		return err
	}
	if len(n.Inputs) != 2 || len(n.Outputs) != 1 || !poolGeom(&k.Pool, n.Inputs[0].Type.Shape, win) {
		return l.reference(n)
	}
	return l.emitAll(n, k)
}

// emitAll emits k reading n's inputs and writing its outputs as they are.
func (l *lowering) emitAll(n *ir.Node, k Kernel) error {
	var in, out []operandRef
	for _, v := range n.Inputs {
		o, err := l.operand(v, nil)
		if err != nil {
			return err
		}
		in = append(in, o)
	}
	for _, v := range n.Outputs {
		o, err := l.result(v, nil)
		if err != nil {
			return err
		}
		out = append(out, o)
	}
	l.emit(n, k, in, out)
	return nil
}

// actGrad lowers an ActGrad to kernels.ActGrad.
func (l *lowering) actGrad(n *ir.Node, op *ir.ActGrad) error {
	if len(n.Inputs) != 3 || len(n.Outputs) != 1 {
		return l.reference(n)
	}
	k := &kernels.ActGrad{Len: n.Outputs[0].Type.Shape.NumElements()}
	switch f := op.Op.(type) {
	case *ir.Relu:
		k.Op = kernels.UnRelu
	case *ir.LeakyRelu:
		k.Op, k.Alpha = kernels.UnLeakyRelu, f.Alpha
	case *ir.Sigmoid:
		k.Op = kernels.UnSigmoid
	case *ir.Tanh:
		k.Op = kernels.UnTanh
	case *ir.Clip:
		k.Op, k.Min, k.Max = kernels.UnClip, f.Min, f.Max
	default:
		return l.reference(n)
	}
	return l.emitAll(n, k)
}

// sgd lowers an SGD update to kernels.SGD.
func (l *lowering) sgd(n *ir.Node, op *ir.SGD) error {
	if len(n.Inputs) != 4 || n.Inputs[0] == nil {
		return l.reference(n)
	}
	return l.emitAll(n, &kernels.SGD{Len: n.Inputs[0].Type.Shape.NumElements(), Momentum: op.Momentum, WeightDecay: op.WeightDecay, Nesterov: op.Nesterov})
}

// adam lowers an Adam update to kernels.Adam.
func (l *lowering) adam(n *ir.Node, op *ir.Adam) error {
	if len(n.Inputs) != 6 || len(n.Outputs) != 3 || n.Inputs[0] == nil {
		return l.reference(n)
	}
	return l.emitAll(n, &kernels.Adam{Len: n.Inputs[0].Type.Shape.NumElements(), Beta1: op.Beta1, Beta2: op.Beta2,
		Eps: op.Eps, WeightDecay: op.WeightDecay, Decoupled: op.Decoupled})
}

// reduceSum lowers a ReduceSum over every axis but one (a bias gradient:
// axes 0, 2, 3 of [N, C, H, W], or 0 of [N, C]) to kernels.ChannelSum, and
// any other to the reference kernel.
func (l *lowering) reduceSum(n *ir.Node, op *ir.ReduceSum) error {
	if len(n.Inputs) != 1 || len(n.Outputs) != 1 || n.Inputs[0] == nil {
		return l.reference(n)
	}
	xs := n.Inputs[0].Type.Shape
	kept := -1
	reduced := make([]bool, len(xs))
	for _, a := range op.Axes {
		if a < 0 {
			a += len(xs)
		}
		if a < 0 || a >= len(xs) || reduced[a] {
			return l.reference(n)
		}
		reduced[a] = true
	}
	for i, r := range reduced {
		if !r {
			if kept >= 0 {
				return l.reference(n)
			}
			kept = i
		}
	}
	if kept < 0 || len(op.Axes) == 0 {
		return l.reference(n)
	}
	k := &kernels.ChannelSum{Outer: 1, Channels: xs[kept], Inner: 1}
	for i, d := range xs {
		switch {
		case i < kept:
			k.Outer *= d
		case i > kept:
			k.Inner *= d
		}
	}
	return l.emitAll(n, k)
}

// flipFilter lowers a FlipFilter of a known, f32 filter to its kernel.
func (l *lowering) flipFilter(n *ir.Node, op *ir.FlipFilter) error {
	ws := input(n, 0).Type.Shape
	if len(n.Inputs) != 1 || len(n.Outputs) != 1 || len(ws) < 3 || !ws.Known() || input(n, 0).Type.DType != ir.Float32 {
		return l.reference(n)
	}
	return l.emitAll(n, &kernels.FlipFilter{M: ws[0], C: ws[1] * op.Group, Group: op.Group, K: ws[2:].NumElements()})
}

// packedFlips returns g's FlipFilter nodes, by output, that the packing
// of the convolutions reading them can do instead (kernels.PackConv.Flip):
// a 2-D or 1-D filter of known shape, read only as the filter of
// convolutions whose filter is packed at run time, and no graph output.
func packedFlips(g *ir.Graph) map[*ir.Value]*ir.Node {
	flips := map[*ir.Value]*ir.Node{}
	for _, n := range g.Nodes {
		if _, ok := n.Op.(*ir.FlipFilter); ok && len(n.Inputs) == 1 && len(n.Outputs) == 1 {
			if s := n.Outputs[0].Type.Shape; s.Known() && (len(s) == 3 || len(s) == 4) && n.Inputs[0].Const == nil {
				flips[n.Outputs[0]] = n
			}
		}
	}
	for _, v := range g.Outputs {
		delete(flips, v)
	}
	for _, n := range g.Nodes {
		for i, v := range n.Inputs {
			if flips[v] == nil {
				continue
			}
			switch n.Op.(type) {
			case *ir.Conv, *ir.FusedConv:
				if i == 1 {
					continue
				}
			}
			delete(flips, v)
		}
	}
	return flips
}

// batchNormShape returns N, C and the product of the spatial dimensions
// of X, or false when X is not [N, C, ...].
func batchNormShape(x *ir.Value) (n, c, inner int, ok bool) {
	s := x.Type.Shape
	if len(s) < 2 {
		return 0, 0, 0, false
	}
	inner = 1
	for _, d := range s[2:] {
		inner *= d
	}
	return s[0], s[1], inner, true
}

// batchNormTrain lowers a BatchNormTrain to its kernel.
func (l *lowering) batchNormTrain(n *ir.Node, op *ir.BatchNormTrain) error {
	nn, c, inner, ok := batchNormShape(n.Inputs[0])
	if !ok || len(n.Inputs) != 5 || len(n.Outputs) != 5 {
		return l.reference(n)
	}
	return l.emitAll(n, &kernels.BatchNormTrain{N: nn, C: c, Inner: inner, Epsilon: op.Epsilon, Momentum: op.Momentum})
}

// batchNormGrad lowers a BatchNormGrad to its kernel.
func (l *lowering) batchNormGrad(n *ir.Node) error {
	nn, c, inner, ok := batchNormShape(n.Inputs[0])
	if !ok || len(n.Inputs) != 5 || len(n.Outputs) != 3 {
		return l.reference(n)
	}
	return l.emitAll(n, &kernels.BatchNormGrad{N: nn, C: c, Inner: inner})
}
