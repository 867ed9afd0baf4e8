package ir

import "reflect"

// Clone returns a deep copy of g that a compiler pass may rewrite without
// touching g: every Node and every Value (graph inputs, constants, node
// outputs) is new, and so are the slices that hold them, the Types' Shapes
// and the DimNames. Two things are shared, read-only:
//
//   - constant tensors (Value.Const, and a Constant op's Value): a pass that
//     changes a weight makes a new Tensor rather than writing into one;
//   - the slices inside ops (Conv's Pads, Transpose's Perm, ...): each op is
//     a shallow copy of its struct, so a pass may replace an op or assign
//     its scalar fields, but never writes into a slice an op holds.
//
// The copy keeps g's structure exactly: the same node order, the same value
// names, and a Value used in several places in g is one Value in the copy.
// Nil entries (omitted optional inputs) stay nil.
func (g *Graph) Clone() *Graph {
	c := &Graph{Name: g.Name, Opset: g.Opset}
	vals := map[*Value]*Value{}
	val := func(v *Value) *Value {
		if v == nil {
			return nil
		}
		if nv, ok := vals[v]; ok {
			return nv
		}
		nv := &Value{
			Name:  v.Name,
			Type:  Type{DType: v.Type.DType, Shape: v.Type.Shape.Clone()},
			Const: v.Const,
		}
		if v.DimNames != nil {
			nv.DimNames = append([]string{}, v.DimNames...)
		}
		vals[v] = nv
		return nv
	}
	vs := func(list []*Value) []*Value {
		if list == nil {
			return nil
		}
		out := make([]*Value, len(list))
		for i, v := range list {
			out[i] = val(v)
		}
		return out
	}
	c.Inputs = vs(g.Inputs)
	if g.Nodes != nil {
		c.Nodes = make([]*Node, len(g.Nodes))
	}
	for i, n := range g.Nodes {
		if n == nil {
			continue
		}
		c.Nodes[i] = &Node{Name: n.Name, Op: CloneOp(n.Op), Inputs: vs(n.Inputs), Outputs: vs(n.Outputs)}
	}
	c.Outputs = vs(g.Outputs)
	return c
}

// CloneOp returns a shallow copy of op: a new struct with the same field
// values, whose slices and tensors are shared with op's. An op that is not
// a pointer to a struct is returned as is (it is already a value).
func CloneOp(op Op) Op {
	if op == nil {
		return nil
	}
	rv := reflect.ValueOf(op)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return op
	}
	c := reflect.New(rv.Elem().Type())
	c.Elem().Set(rv.Elem())
	if cop, ok := c.Interface().(Op); ok {
		return cop
	}
	return op
}
