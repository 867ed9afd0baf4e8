package reference

import (
	"github.com/cnnc/cnnc/ir"
)

// kernel computes one node: in are its inputs (nil for omitted optional
// ones), out its outputs, already allocated with the shapes Infer gave.
type kernel func(op ir.Op, in, out []*ir.Tensor) error

// families lists the per-family lookups; each returns the kernel of an op
// it implements, or nil.
var families = []func(ir.Op) kernel{
	unaryKernel,
	constKernel,
	convKernel,
	mathKernel,
	shapeKernel,
	stochasticKernel,
	fusedKernel,
	trainKernel,
}

// Kernel returns the reference kernel of op, or nil when the interpreter has
// none. The kernel reads in (nil for omitted optional inputs) and writes
// out, allocated by the caller with the shapes op.Infer gives for in; the
// compiled runtime uses it for ops it has no fast kernel for.
func Kernel(op ir.Op) func(op ir.Op, in, out []*ir.Tensor) error { return kernelFor(op) }

// kernelFor returns the kernel implementing op, or nil.
func kernelFor(op ir.Op) kernel {
	for _, f := range families {
		if k := f(op); k != nil {
			return k
		}
	}
	return nil
}

// Run executes g on inputs (keyed by graph input name) and returns the graph
// outputs in order. Every graph input must be given, with the graph's dtype
// and a shape that agrees with its known dimensions.
func Run(g *ir.Graph, inputs map[string]*ir.Tensor) ([]*ir.Tensor, error) {
	vals := make(map[*ir.Value]*ir.Tensor, len(g.Nodes)+len(g.Inputs))
	for _, v := range g.Inputs {
		t, ok := inputs[v.Name]
		if !ok {
			return nil, ir.Invalidf("graph input %q is not given", v.Name)
		}
		if err := checkInput(v, t); err != nil {
			return nil, err
		}
		vals[v] = t
	}
	for _, n := range g.Nodes {
		outs, err := runNode(n, vals)
		if err != nil {
			return nil, ir.AtNode(err, n.Name, n.Op.OpType())
		}
		for i, v := range n.Outputs {
			vals[v] = outs[i]
		}
	}
	res := make([]*ir.Tensor, len(g.Outputs))
	for i, v := range g.Outputs {
		t := vals[v]
		if t == nil && v.Const != nil {
			t = v.Const
		}
		if t == nil {
			return nil, ir.Invalidf("graph output %q is never computed", v.Name)
		}
		res[i] = t
	}
	return res, nil
}

// runNode infers the node's concrete output types from its actual inputs,
// allocates the outputs and runs the kernel.
func runNode(n *ir.Node, vals map[*ir.Value]*ir.Tensor) ([]*ir.Tensor, error) {
	in := make([]*ir.Tensor, len(n.Inputs))
	types := make([]ir.Type, len(n.Inputs))
	for i, v := range n.Inputs {
		if v == nil {
			continue
		}
		t := v.Const
		if t == nil {
			t = vals[v]
		}
		if t == nil {
			return nil, ir.Invalidf("input %q has no value", v.Name)
		}
		in[i], types[i] = t, t.Type()
	}
	outTypes, err := n.Op.Infer(types, in)
	if err != nil {
		return nil, err
	}
	k := kernelFor(n.Op)
	if k == nil {
		return nil, ir.Unsupportedf("the reference interpreter has no kernel for %s", n.Op.OpType())
	}
	out := make([]*ir.Tensor, len(outTypes))
	for i, t := range outTypes {
		if !t.Shape.Known() {
			return nil, ir.Invalidf("output %d has shape %v after inference on concrete inputs", i, t.Shape)
		}
		if out[i], err = ir.NewTensor(t.DType, t.Shape); err != nil {
			return nil, err
		}
	}
	if err := k(n.Op, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkInput checks a fed tensor against the graph input's declared type.
func checkInput(v *ir.Value, t *ir.Tensor) error {
	if t.DType != v.Type.DType {
		return ir.Invalidf("graph input %q: got element type %v, want %v", v.Name, t.DType, v.Type.DType)
	}
	if t.Len() != t.Shape.NumElements() {
		return ir.Invalidf("graph input %q: shape %v holds %d elements, data has %d", v.Name, t.Shape, t.Shape.NumElements(), t.Len())
	}
	if s := v.Type.Shape; s != nil {
		ok := len(s) == len(t.Shape)
		for i := 0; ok && i < len(s); i++ {
			ok = s[i] < 0 || s[i] == t.Shape[i]
		}
		if !ok {
			return ir.Invalidf("graph input %q: got shape %v, want %v", v.Name, t.Shape, s)
		}
	}
	return nil
}
