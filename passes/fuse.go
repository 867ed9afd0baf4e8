package passes

import (
	"github.com/cnnc/cnnc/ir"
)

// fuse turns every 1-D and 2-D Conv into an ir.FusedConv and every Gemm
// into an ir.FusedGemm, then folds into them, and into ChannelAffine nodes,
// what follows them:
//
//   - a residual Add (or two-input Sum) of a FusedConv output and another
//     value Z of exactly the same known shape (no broadcasting), when the
//     conv has no activation or residual yet and its output goes to the Add
//     alone: Z becomes the FusedConv's input 3;
//   - a Relu, or a Clip with constant bounds (ReLU6), of an output that
//     goes to it alone, when the producer has no activation yet: it becomes
//     the producer's ActRelu or ActClip.
//
// The fused node takes over the output value of the last node it replaces,
// so its name, which may be a graph output's, is kept. A FusedConv with a
// residual stays where the conv was when Z is defined before it (keeping
// Z's liveness short); otherwise it moves to the Add's position, where all
// its inputs are defined. MatMul is left alone.
func fuse(u *unit) error {
	g := u.g
	convs, gemms := 0, 0
	for _, n := range g.Nodes {
		switch op := n.Op.(type) {
		case *ir.Conv:
			if len(n.Inputs) > 0 && n.Inputs[0] != nil {
				if r := len(n.Inputs[0].Type.Shape); r == 3 || r == 4 {
					n.Op = &ir.FusedConv{Conv: *op}
					convs++
				}
			}
		case *ir.Gemm:
			n.Op = &ir.FusedGemm{Gemm: *op}
			gemms++
		}
	}
	u.countf(convs, "Conv", "Convs", "-> FusedConv")
	u.countf(gemms, "Gemm", "Gemms", "-> FusedGemm")

	u.ensureIndex()
	residuals, acts := 0, 0
	for j, n := range g.Nodes {
		if n == nil {
			continue
		}
		switch n.Op.(type) {
		case *ir.Add, *ir.Sum:
			if fuseResidual(u, j) {
				residuals++
			}
		case *ir.Relu, *ir.Clip:
			if fuseActivation(u, j) {
				acts++
			}
		}
	}
	u.countf(residuals, "residual add", "residual adds", "fused")
	u.countf(acts, "activation", "activations", "fused")
	return nil
}

// plainConv returns n's FusedConv when it has neither activation nor
// residual yet.
func plainConv(n *ir.Node) *ir.FusedConv {
	fc, ok := n.Op.(*ir.FusedConv)
	if !ok || fc.Act.Kind != ir.ActNone || (len(n.Inputs) > 3 && n.Inputs[3] != nil) {
		return nil
	}
	return fc
}

// fuseResidual fuses the Add at index j into the FusedConv producing one of
// its operands, if it can.
func fuseResidual(u *unit, j int) bool {
	add := u.g.Nodes[j]
	if len(add.Inputs) != 2 || len(add.Outputs) != 1 || add.Inputs[0] == nil || add.Inputs[1] == nil {
		return false
	}
	y := add.Outputs[0].Type
	// Try the later-defined operand as the conv first: Z, the other, is
	// then defined before it and the fused node can stay in its place.
	order := []int{0, 1}
	if u.defIndex(add.Inputs[1]) > u.defIndex(add.Inputs[0]) {
		order = []int{1, 0}
	}
	for _, k := range order {
		x, z := add.Inputs[k], add.Inputs[1-k]
		p, i := u.producer(x)
		if p == nil || plainConv(p) == nil || !u.soleUse(x) {
			continue
		}
		if z.Type.DType != ir.Float32 || x.Type.DType != ir.Float32 || y.DType != ir.Float32 ||
			!x.Type.Shape.Known() || !x.Type.Shape.Equal(z.Type.Shape) || !x.Type.Shape.Equal(y.Shape) {
			continue
		}
		for len(p.Inputs) < 3 {
			p.Inputs = append(p.Inputs, nil)
		}
		u.setInput(p, 3, z)
		u.absorb(i, j)
		if u.defIndex(z) > i {
			u.move(i, j)
		}
		return true
	}
	return false
}

// fuseActivation fuses the Relu or Clip at index j into the node producing
// its input, if it can.
func fuseActivation(u *unit, j int) bool {
	n := u.g.Nodes[j]
	act, ok := activationOf(n)
	if !ok {
		return false
	}
	x := n.Inputs[0]
	p, i := u.producer(x)
	if p == nil || !u.soleUse(x) || len(p.Outputs) != 1 {
		return false
	}
	switch op := p.Op.(type) {
	case *ir.FusedConv:
		if op.Act.Kind != ir.ActNone {
			return false
		}
		c := *op
		c.Act = act
		p.Op = &c
	case *ir.FusedGemm:
		if op.Act.Kind != ir.ActNone {
			return false
		}
		c := *op
		c.Act = act
		p.Op = &c
	case *ir.ChannelAffine:
		if op.Act.Kind != ir.ActNone {
			return false
		}
		p.Op = &ir.ChannelAffine{Act: act}
	default:
		return false
	}
	u.absorb(i, j)
	return true
}

// activationOf returns the activation a Relu or a Clip with constant
// bounds computes.
func activationOf(n *ir.Node) (ir.Activation, bool) {
	if len(n.Inputs) == 0 || n.Inputs[0] == nil || len(n.Outputs) != 1 || n.Inputs[0].Type.DType != ir.Float32 {
		return ir.Activation{}, false
	}
	switch op := n.Op.(type) {
	case *ir.Relu:
		return ir.Activation{Kind: ir.ActRelu}, len(n.Inputs) == 1
	case *ir.Clip:
		a := ir.Activation{Kind: ir.ActClip, Min: op.Min, Max: op.Max}
		for i, bound := range []*float32{&a.Min, &a.Max} {
			if len(n.Inputs) <= i+1 || n.Inputs[i+1] == nil {
				continue
			}
			v := constF32(n.Inputs[i+1])
			if len(v) != 1 {
				return ir.Activation{}, false
			}
			*bound = v[0]
		}
		return a, a.Check() == nil
	}
	return ir.Activation{}, false
}
