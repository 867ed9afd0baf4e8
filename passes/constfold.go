package passes

import (
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/reference"
)

// maxFoldElements bounds the size of each output of a folded node: a
// larger result (VGG's 102M-element classifier weight made by a
// ConstantOfShape, say) stays a node, computed at run time, rather than
// becoming a constant that the compiler holds and the plan stores.
const maxFoldElements = 1 << 24

// constfold evaluates at compile time every node whose outputs depend only
// on constants: the nodes whose inputs are all constants, and Shape nodes
// whose input has known dimensions in the requested range. Each is
// computed by the reference interpreter's kernel for its op and removed;
// its output values become constants, keeping their names. Nodes are
// visited in order and each is re-inferred first, seeing the constants
// made so far, so that a chain such as PyTorch's dynamic-batch export,
// Shape -> Gather -> Unsqueeze -> Concat -> Reshape, folds in one sweep
// into a Reshape with a constant shape, whose output type is then known.
//
// A node whose op has no reference kernel, or with an output of more than
// maxFoldElements elements, is left in place. A kernel failing on constant
// inputs (an integer division by zero, say) is an error naming the node:
// running the model would fail the same way.
func constfold(u *unit) error {
	g := u.g
	known := map[*ir.Value]*ir.Tensor{}
	folded := map[string]int{}
	nfolded, large := 0, 0
	for i, n := range g.Nodes {
		if err := ir.InferNode(n, known); err != nil {
			return err
		}
		outs, status, err := foldNode(n)
		if err != nil {
			return ir.AtNode(err, n.Name, n.Op.OpType())
		}
		switch status {
		case foldTooLarge:
			large++
			continue
		case foldNo:
			continue
		}
		for j, v := range n.Outputs {
			t := outs[j]
			v.Const = t
			v.Type = ir.Type{DType: t.DType, Shape: t.Shape.Clone()}
		}
		g.Nodes[i] = nil
		folded[n.Op.OpType()]++
		nfolded++
	}
	if nfolded > 0 {
		u.changed("%s folded (%s)", plural(nfolded, "node", "nodes"), opCounts(folded))
	}
	if large > 0 {
		u.changed("%d left: results above %d elements", large, maxFoldElements)
	}
	return nil
}

// foldStatus says whether a node can be folded.
type foldStatus uint8

const (
	foldNo       foldStatus = iota // not constant, or no kernel
	foldYes                        // folded: the outputs are returned
	foldTooLarge                   // constant, but an output is too large
)

// foldNode computes n's outputs when they are determined at compile time.
// n's output types must be inferred.
func foldNode(n *ir.Node) ([]*ir.Tensor, foldStatus, error) {
	if s, ok := n.Op.(*ir.ShapeOp); ok && len(n.Inputs) == 1 && n.Inputs[0] != nil {
		if t := foldShape(s, n.Inputs[0].Type.Shape); t != nil {
			return []*ir.Tensor{t}, foldYes, nil
		}
	}
	in := make([]*ir.Tensor, len(n.Inputs))
	for i, v := range n.Inputs {
		if v == nil {
			continue
		}
		if v.Const == nil {
			return nil, foldNo, nil
		}
		in[i] = v.Const
	}
	for _, v := range n.Outputs {
		if v == nil || !v.Type.Shape.Known() {
			return nil, foldNo, nil
		}
		if k := v.Type.Shape.NumElements(); k < 0 || k > maxFoldElements {
			return nil, foldTooLarge, nil
		}
	}
	k := reference.Kernel(n.Op)
	if k == nil {
		return nil, foldNo, nil
	}
	out := make([]*ir.Tensor, len(n.Outputs))
	for i, v := range n.Outputs {
		t, err := ir.NewTensor(v.Type.DType, v.Type.Shape)
		if err != nil {
			return nil, foldNo, err
		}
		out[i] = t
	}
	if err := k(n.Op, in, out); err != nil {
		return nil, foldNo, ir.Prefix(err, "constant folding")
	}
	for i, t := range out {
		if t == nil || t.Len() != t.Shape.NumElements() || !t.Shape.Equal(n.Outputs[i].Type.Shape) {
			return nil, foldNo, ir.Invalidf("constant folding: output %d has type %v, want %v", i, t, n.Outputs[i].Type)
		}
	}
	return out, foldYes, nil
}

// foldShape returns the value of a Shape op on an input of shape x, or nil
// when a dimension it reports is unknown.
func foldShape(s *ir.ShapeOp, x ir.Shape) *ir.Tensor {
	if x == nil {
		return nil
	}
	start, end := s.Range(len(x))
	dims := make([]int64, 0, end-start)
	for _, d := range x[start:end] {
		if d < 0 {
			return nil
		}
		dims = append(dims, int64(d))
	}
	return ir.FromInt64(ir.Shape{len(dims)}, dims)
}
