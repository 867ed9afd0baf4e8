package passes

import (
	"github.com/cnnc/cnnc/ir"
)

// dce removes the dead nodes the earlier passes left (those no graph output
// depends on) and checks what the code generator needs: every graph input
// and node output has a fully known shape. A value whose shape is still
// unknown after constant folding depends on an input dimension the
// compile did not fix, and is reported as unsupported, naming its node.
func dce(u *unit) error {
	u.countf(u.deadcode(), "dead node", "dead nodes", "removed")
	for _, v := range u.g.Inputs {
		if !v.Type.Shape.Known() {
			return ir.Unsupportedf("dynamic shape: graph input %q has shape %s; compile with a fixed input shape (--batch)",
				v.Name, inputTypeString(v))
		}
	}
	for _, n := range u.g.Nodes {
		if n == nil {
			continue
		}
		for _, v := range n.Outputs {
			if v != nil && !v.Type.Shape.Known() {
				return ir.AtNode(ir.Unsupportedf("dynamic shape: output %q has shape %v after constant folding; compile with a fixed input shape (--batch)",
					v.Name, v.Type.Shape), n.Name, n.Op.OpType())
			}
		}
	}
	return nil
}
