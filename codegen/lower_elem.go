package codegen

import (
	"math"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/kernels"
)

// Lowering of the element-wise and per-channel ops, concatenation and the
// normalizations. Binary, Unary and Affine steps may run in place.

// batchNorm lowers an inference BatchNormalization with constant
// parameters to kernels.Affine, folding them at compile time (in float64)
// into scale[c] = gamma[c]/sqrt(var[c]+eps) and shift[c] = beta[c] -
// mean[c]*scale[c].
func (l *lowering) batchNorm(n *ir.Node, bn *ir.BatchNormalization) error {
	x := input(n, 0)
	var p [4][]float32 // gamma, beta, mean, var
	for i := range p {
		t := l.constOf(input(n, i+1))
		if t == nil || t.DType != ir.Float32 {
			return l.reference(n)
		}
		p[i] = t.F32
	}
	if x == nil || len(n.Outputs) != 1 {
		return l.reference(n)
	}
	if err := checkKnown(x); err != nil {
		return err
	}
	xs := x.Type.Shape
	if len(xs) < 2 {
		return l.reference(n)
	}
	c := xs[1]
	for i, name := range []string{"scale", "B", "mean", "var"} {
		if len(p[i]) != c {
			return ir.Invalidf("%s has %d elements, want %d (the channels of X %v)", name, len(p[i]), c, xs)
		}
	}
	scale, shift := make([]float32, c), make([]float32, c)
	eps := float64(bn.Epsilon)
	for j := range c {
		s := float64(p[0][j]) / math.Sqrt(float64(p[3][j])+eps)
		scale[j] = float32(s)
		shift[j] = float32(float64(p[1][j]) - float64(p[2][j])*s)
	}
	k := &kernels.Affine{N: xs[0], C: c, Inner: numElements(xs[2:])}
	return l.affine(n, k, l.packed(input(n, 1).Name, scale), l.packed(input(n, 2).Name, shift))
}

// channelAffine lowers a ChannelAffine to kernels.Affine.
func (l *lowering) channelAffine(n *ir.Node, a *ir.ChannelAffine) error {
	x := input(n, 0)
	if x == nil || len(n.Outputs) != 1 || len(n.Inputs) != 3 {
		return l.reference(n)
	}
	if err := checkKnown(x); err != nil {
		return err
	}
	xs := x.Type.Shape
	if len(xs) < 2 {
		return l.reference(n)
	}
	so, err := l.operand(input(n, 1), nil)
	if err != nil {
		return err
	}
	ho, err := l.operand(input(n, 2), nil)
	if err != nil {
		return err
	}
	k := &kernels.Affine{N: xs[0], C: xs[1], Inner: numElements(xs[2:]), Act: a.Act}
	return l.affine(n, k, so, ho)
}

// affine emits the Affine step k of n with the given scale and shift,
// which may run in place.
func (l *lowering) affine(n *ir.Node, k *kernels.Affine, scale, shift operandRef) error {
	for _, o := range []operandRef{scale, shift} {
		if o.Shape.NumElements() != k.C {
			return ir.Invalidf("%q has shape %v, want [%d]", o.Name, o.Shape, k.C)
		}
	}
	xo, err := l.operand(input(n, 0), nil)
	if err != nil {
		return err
	}
	yo, err := l.result(n.Outputs[0], nil)
	if err != nil {
		return err
	}
	l.emit(n, k, []operandRef{xo, scale, shift}, []operandRef{yo}, 0)
	return nil
}

// binary lowers an element-wise op of two float32 inputs of one shape
// (Add, Sub, Mul, Div, and Sum, Max, Min of two inputs) to kernels.Binary;
// broadcasting runs the reference kernel.
func (l *lowering) binary(n *ir.Node, op kernels.BinaryOp) error {
	if len(n.Inputs) != 2 || len(n.Outputs) != 1 || n.Inputs[0] == nil || n.Inputs[1] == nil {
		return l.reference(n)
	}
	a, b, y := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	if a.Type.DType != ir.Float32 || b.Type.DType != ir.Float32 ||
		!a.Type.Shape.Equal(b.Type.Shape) || !a.Type.Shape.Equal(y.Type.Shape) {
		return l.reference(n)
	}
	ao, err := l.operand(a, nil)
	if err != nil {
		return err
	}
	bo, err := l.operand(b, nil)
	if err != nil {
		return err
	}
	yo, err := l.result(y, nil)
	if err != nil {
		return err
	}
	l.emit(n, &kernels.Binary{Op: op, Len: y.Type.Shape.NumElements()}, []operandRef{ao, bo}, []operandRef{yo}, 0, 1)
	return nil
}

// unary emits k, a Unary with its function set, over n's single float32
// input; it may run in place.
func (l *lowering) unary(n *ir.Node, k *kernels.Unary) error {
	x := input(n, 0)
	if x == nil || len(n.Outputs) != 1 || x.Type.DType != ir.Float32 {
		return l.reference(n)
	}
	k.Len = x.Type.Shape.NumElements()
	return l.emitOneToOne(n, x, k, true)
}

// clip lowers a Clip whose bounds are attributes or constants to
// kernels.Unary; bounds computed at run time run the reference kernel.
func (l *lowering) clip(n *ir.Node, c *ir.Clip) error {
	bounds := [2]float32{c.Min, c.Max}
	for i := range bounds {
		v := input(n, i+1)
		if v == nil {
			continue
		}
		t := l.constOf(v)
		if t == nil || t.DType != ir.Float32 || len(t.F32) != 1 {
			return l.reference(n)
		}
		bounds[i] = t.F32[0]
	}
	// Only X is an operand: the bounds are parameters.
	return l.unary(n, &kernels.Unary{Op: kernels.UnClip, Min: bounds[0], Max: bounds[1]})
}

// concat lowers a float32 Concat to kernels.Concat: viewing input j as
// [Outer, Inner[j]], with Outer the product of the dimensions before the
// axis.
func (l *lowering) concat(n *ir.Node, c *ir.Concat) error {
	if len(n.Outputs) != 1 || n.Outputs[0].Type.DType != ir.Float32 || len(n.Inputs) == 0 {
		return l.reference(n)
	}
	y := n.Outputs[0]
	if err := checkKnown(y); err != nil {
		return err
	}
	ys := y.Type.Shape
	axis, ok := ir.NormAxis(c.Axis, len(ys))
	if !ok {
		return ir.Invalidf("axis %d is out of range for output shape %v", c.Axis, ys)
	}
	if l.elided[n] {
		// Its inputs were written in place; their steps made its buffer.
		for _, v := range n.Inputs {
			if _, err := l.loc(v); err != nil {
				return err
			}
		}
		l.bufOf(y)
		return nil
	}
	k := &kernels.Concat{Outer: numElements(ys[:axis])}
	var in []operandRef
	for _, v := range n.Inputs {
		if v == nil {
			return l.reference(n)
		}
		o, err := l.operand(v, nil)
		if err != nil {
			return err
		}
		if len(o.Shape) != len(ys) {
			return ir.Invalidf("input %q has shape %v, want rank %d like output %v", v.Name, o.Shape, len(ys), ys)
		}
		in = append(in, o)
		k.Inner = append(k.Inner, numElements(o.Shape[axis:]))
	}
	yo, err := l.result(y, nil)
	if err != nil {
		return err
	}
	l.emit(n, k, in, []operandRef{yo})
	return nil
}

// softmax lowers Softmax and LogSoftmax to kernels.Softmax when each
// reduced group is contiguous: Coerce2D (the groups are the rows of the 2-D
// view at Axis), or an axis after which every dimension is 1. Other axes
// run the reference kernel.
func (l *lowering) softmax(n *ir.Node, axis int, coerce2D, log bool) error {
	x := input(n, 0)
	if x == nil || len(n.Outputs) != 1 {
		return l.reference(n)
	}
	if err := checkKnown(x); err != nil {
		return err
	}
	xs := x.Type.Shape
	a, ok := ir.NormAxis(axis, len(xs))
	if !ok {
		return ir.Invalidf("axis %d is out of range for input shape %v", axis, xs)
	}
	k := &kernels.Softmax{Outer: numElements(xs[:a]), Log: log}
	switch {
	case coerce2D:
		k.N = numElements(xs[a:])
	case numElements(xs[a+1:]) == 1:
		k.N = xs[a]
	default:
		return l.reference(n)
	}
	return l.emitOneToOne(n, x, k, false)
}

// lrn lowers LRN to kernels.LRN.
func (l *lowering) lrn(n *ir.Node, op *ir.LRN) error {
	x := input(n, 0)
	if x == nil || len(n.Outputs) != 1 {
		return l.reference(n)
	}
	if err := checkKnown(x); err != nil {
		return err
	}
	xs := x.Type.Shape
	if len(xs) < 2 {
		return l.reference(n)
	}
	k := &kernels.LRN{N: xs[0], C: xs[1], Inner: numElements(xs[2:]), Size: op.Size, Alpha: op.Alpha, Beta: op.Beta, Bias: op.Bias}
	return l.emitOneToOne(n, x, k, false)
}
