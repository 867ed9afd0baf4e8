package ir

import "fmt"

// Verify checks the structural invariants of g and that every stored type
// agrees with what the ops infer: names are unique, every input is a graph
// input, a constant or the output of an earlier node, graph outputs are
// defined, and re-running Infer gives the recorded output types. Messages
// are phrased "got X, want Y" and name the node.
func Verify(g *Graph) error {
	defined := map[*Value]bool{}
	names := map[string]*Value{}
	define := func(v *Value, where string) error {
		if v == nil {
			return Invalidf("%s: nil value", where)
		}
		if defined[v] {
			return Invalidf("%s: value %q defined twice", where, v.Name)
		}
		if o, ok := names[v.Name]; ok && o != v && v.Name != "" {
			return Invalidf("%s: two values named %q", where, v.Name)
		}
		defined[v] = true
		names[v.Name] = v
		return nil
	}
	for _, v := range g.Inputs {
		if v.Const != nil {
			return Invalidf("graph input %q is a constant", v.Name)
		}
		if err := define(v, "graph input"); err != nil {
			return err
		}
	}
	for _, n := range g.Nodes {
		if n.Op == nil {
			return Invalidf("node %q has no op", n.Name)
		}
		for i, v := range n.Inputs {
			if v == nil {
				continue
			}
			if v.Const != nil && !defined[v] {
				if err := define(v, "constant"); err != nil {
					return err
				}
				if !v.Const.Shape.Equal(v.Type.Shape) || v.Const.DType != v.Type.DType {
					return AtNode(Invalidf("constant %q: type %v, value %v", v.Name, v.Type, v.Const.Type()), n.Name, n.Op.OpType())
				}
			}
			if !defined[v] {
				return AtNode(Invalidf("input %d (%q) is used before it is defined", i, v.Name), n.Name, n.Op.OpType())
			}
		}
		for _, v := range n.Outputs {
			if v != nil && v.Const != nil {
				return AtNode(Invalidf("output %q is a constant", v.Name), n.Name, n.Op.OpType())
			}
			if err := define(v, fmt.Sprintf("node %q output", n.Name)); err != nil {
				return err
			}
		}
	}
	for _, v := range g.Outputs {
		if v.Const != nil && !defined[v] {
			defined[v] = true
		}
		if !defined[v] {
			return Invalidf("graph output %q is never defined", v.Name)
		}
	}
	// Re-infer on a copy of the recorded types and compare.
	saved := map[*Value]Type{}
	for _, n := range g.Nodes {
		for _, v := range n.Outputs {
			saved[v] = v.Type
		}
	}
	err := g.InferTypes()
	for v, t := range saved {
		got := v.Type
		v.Type = t
		if err == nil && (got.DType != t.DType || !got.Shape.Equal(t.Shape)) {
			err = Invalidf("value %q: recorded type %v, want %v", v.Name, t, got)
		}
	}
	return err
}
