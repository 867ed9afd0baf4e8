package passes

import (
	"github.com/cnnc/cnnc/ir"
)

// simplify removes the nodes that compute the identity at inference, then
// the dead nodes (whose outputs nothing reads and that are not graph
// outputs). A node Y = op(X) is the identity when it is:
//
//   - Identity, or StochasticDepth (the identity at inference);
//   - Dropout whose mask output is absent or unused and whose
//     training_mode input is absent or constant (Infer has already refused
//     a training-mode dropout that would drop anything);
//   - Cast to X's element type;
//   - Reshape or Flatten to X's (known) shape;
//   - Pad whose pads are all zero, Transpose by the identity permutation,
//     Concat of one input.
//
// Readers of Y then read X. When Y is a graph output its name must stay:
// if X is another node's output (not a graph input, a constant or already
// a graph output), X takes Y's name and becomes the graph output;
// otherwise the node is kept, as the copy the graph needs.
func simplify(u *unit) error {
	g := u.g
	u.ensureIndex()
	removed := map[string]int{}
	nremoved, kept := 0, 0
	for i, n := range g.Nodes {
		x := identityOf(u, n)
		if x == nil {
			continue
		}
		y := n.Outputs[0]
		if u.outs[y] {
			if !renamable(u, x) {
				kept++
				continue
			}
			x.Name = y.Name
			for k, o := range g.Outputs {
				if o == y {
					g.Outputs[k] = x
				}
			}
			delete(u.outs, y)
			u.outs[x] = true
		}
		u.replaceUses(y, x)
		u.removeNode(i)
		removed[n.Op.OpType()]++
		nremoved++
	}
	if nremoved > 0 {
		u.changed("%s removed (%s)", plural(nremoved, "identity", "identities"), opCounts(removed))
	}
	if kept > 0 {
		u.changed("%s kept as graph-output copies", plural(kept, "identity", "identities"))
	}
	u.countf(u.deadcode(), "dead node", "dead nodes", "removed")
	return nil
}

// identityOf returns X when the node n computes Y = X at inference (see
// simplify), else nil. The input and output types must agree exactly.
func identityOf(u *unit, n *ir.Node) *ir.Value {
	if n == nil || len(n.Inputs) == 0 || n.Inputs[0] == nil || len(n.Outputs) == 0 {
		return nil
	}
	x, y := n.Inputs[0], n.Outputs[0]
	if x.Type.DType != y.Type.DType || !x.Type.Shape.Known() || !x.Type.Shape.Equal(y.Type.Shape) {
		return nil
	}
	if len(n.Outputs) > 1 {
		// Only Dropout's mask may be an extra output, and only unused.
		if _, ok := n.Op.(*ir.Dropout); !ok || len(n.Outputs) != 2 || u.used(n.Outputs[1]) {
			return nil
		}
	}
	ok := false
	switch op := n.Op.(type) {
	case *ir.Identity, *ir.StochasticDepth:
		ok = len(n.Inputs) == 1
	case *ir.Dropout:
		ok = len(n.Inputs) < 3 || n.Inputs[2] == nil || n.Inputs[2].Const != nil
	case *ir.Cast:
		ok = op.To == x.Type.DType
	case *ir.Reshape, *ir.Flatten:
		ok = true // same known shape, checked above
	case *ir.Pad:
		vals := make([]*ir.Tensor, len(n.Inputs))
		for i, v := range n.Inputs {
			if v != nil {
				vals[i] = v.Const
			}
		}
		pads, known, err := op.Amounts(len(x.Type.Shape), vals)
		ok = err == nil && known
		for _, p := range pads {
			ok = ok && p == 0
		}
	case *ir.Transpose:
		perm, err := op.Permutation(len(x.Type.Shape))
		ok = err == nil
		for i, p := range perm {
			ok = ok && p == i
		}
	case *ir.Concat:
		ok = len(n.Inputs) == 1
	}
	if !ok {
		return nil
	}
	return x
}

// renamable reports whether value x may take a graph output's name: it is
// a node output that is not itself a graph output.
func renamable(u *unit, x *ir.Value) bool {
	p, _ := u.producer(x)
	return p != nil && x.Const == nil && !u.outs[x]
}
