package passes

import (
	"math"
	"slices"

	"github.com/cnnc/cnnc/ir"
)

// The gradient rules of the ops that move elements: Pad, Reshape, Split
// and Slice.

// padRule differentiates a constant Pad with pads >= 0: dX is the part
// of dY over X, a Slice.
func (a *autodiff) padRule(name string, n *ir.Node, op *ir.Pad, dy *ir.Value) (*ir.Value, error) {
	pads := op.Pads
	if len(n.Inputs) > 1 && n.Inputs[1] != nil {
		t := a.consts[n.Inputs[1]]
		if t == nil {
			return nil, ir.Unsupportedf("gradient of a Pad whose pads are computed")
		}
		var err error
		if pads, err = t.Ints(); err != nil {
			return nil, err
		}
	}
	xs := n.Inputs[0].Type.Shape
	if op.Mode != ir.PadConstant || len(pads) != 2*len(xs) {
		return nil, ir.Unsupportedf("gradient of a %v Pad with pads %v", op.Mode, pads)
	}
	s := &ir.Slice{Starts: make([]int, len(xs)), Ends: make([]int, len(xs)), Axes: make([]int, len(xs))}
	for i, d := range xs {
		if pads[i] < 0 || pads[len(xs)+i] < 0 {
			return nil, ir.Unsupportedf("gradient of a Pad that crops (pads %v)", pads)
		}
		s.Starts[i], s.Ends[i], s.Axes[i] = pads[i], pads[i]+d, i
	}
	return a.node1(name, s, dy)
}

// reshape returns v reshaped to shape.
func (a *autodiff) reshape(name string, v *ir.Value, shape ir.Shape) (*ir.Value, error) {
	if v.Type.Shape.Equal(shape) {
		return v, nil
	}
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	s := a.constant(name+".shape", ir.FromInt64(ir.Shape{len(dims)}, dims))
	return a.node1(name+".reshape", &ir.Reshape{AllowZero: true}, v, s)
}

// splitRule differentiates a Split: dX is the Concat of the outputs'
// gradients along the axis, zeros for outputs that get none.
func (a *autodiff) splitRule(name string, n *ir.Node, op *ir.Split, dys []*ir.Value) ([]*ir.Value, error) {
	dx := make([]*ir.Value, len(n.Inputs))
	x := n.Inputs[0]
	axis, ok := ir.NormAxis(op.Axis, len(x.Type.Shape))
	if !ok {
		return nil, ir.Invalidf("axis %d is out of range for input shape %v", op.Axis, x.Type.Shape)
	}
	parts := slices.Clone(dys)
	for j, d := range parts {
		if d == nil {
			z, err := ir.NewTensor(ir.Float32, n.Outputs[j].Type.Shape)
			if err != nil {
				return nil, err
			}
			parts[j] = a.constant(name+".zeros", z)
		}
	}
	if len(parts) == 1 {
		dx[0] = parts[0]
		return dx, nil
	}
	var err error
	dx[0], err = a.node1(name, &ir.Concat{Axis: axis}, parts...)
	return dx, err
}

// sliceRule differentiates a Slice whose starts, ends, axes and steps are
// constants: dX is dY scattered back, zero elsewhere. An axis of step s >
// 1 first spreads dY's elements s apart (each gets s-1 zeros after it: a
// Reshape, a Pad and a Reshape back), one of negative step is reversed
// first (a Slice of step -1); then a Pad puts every axis in place,
// cropping what runs past the end.
func (a *autodiff) sliceRule(name string, n *ir.Node, op *ir.Slice, dy *ir.Value) (*ir.Value, error) {
	vals := make([]*ir.Tensor, len(n.Inputs))
	for i, v := range n.Inputs[1:] {
		if v != nil {
			if vals[i+1] = a.consts[v]; vals[i+1] == nil {
				return nil, ir.Unsupportedf("gradient of a Slice whose input %d (%s) is computed", i+1, v.Name)
			}
		}
	}
	xs := n.Inputs[0].Type.Shape
	res, err := op.Resolve(xs, vals)
	if err != nil {
		return nil, err
	}
	rank := len(xs)
	pads := make([]int, 2*rank)
	for d, r := range res {
		start, step := r.Start, r.Step
		if r.Len == 0 {
			// Nothing is taken: dX is zero on this axis, a Pad of an
			// empty dY.
			pads[d], pads[rank+d] = 0, xs[d]
			continue
		}
		if step < 0 {
			rev := &ir.Slice{}
			consts := []int64{-1, math.MinInt64, int64(d), -1}
			ins := []*ir.Value{dy}
			for _, c := range consts {
				ins = append(ins, a.constant(name+".rev", ir.FromInt64(ir.Shape{1}, []int64{c})))
			}
			if dy, err = a.node1(name+".rev", rev, ins...); err != nil {
				return nil, err
			}
			start, step = start+(r.Len-1)*step, -step
		}
		if step > 1 {
			s := dy.Type.Shape
			split := slices.Insert(slices.Clone(s), d+1, 1)
			if dy, err = a.reshape(name+".spread", dy, split); err != nil {
				return nil, err
			}
			p := make([]int, 2*len(split))
			p[len(split)+d+1] = step - 1
			if dy, err = a.node1(name+".spread", &ir.Pad{Pads: p}, dy); err != nil {
				return nil, err
			}
			s = slices.Clone(s)
			s[d] *= step
			if dy, err = a.reshape(name+".spread", dy, s); err != nil {
				return nil, err
			}
		}
		pads[d], pads[rank+d] = start, xs[d]-start-dy.Type.Shape[d]
	}
	return a.node1(name, &ir.Pad{Pads: pads}, dy)
}
