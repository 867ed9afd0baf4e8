package ir

// Op is the typed operator of a Node: Conv, Relu, Gemm, ... Each op is a Go
// struct whose fields are its validated attributes; semantics that differ
// between ONNX opsets are resolved by the importer into those fields.
type Op interface {
	// OpType returns the ONNX operator type, such as "Conv".
	OpType() string
	// Infer validates the op against its inputs and returns the types of its
	// outputs. in[i] is the type of input i (DType Invalid for an omitted
	// optional input); vals[i] is the value of input i when it is known
	// before running (a constant), else nil. Unknown dimensions (negative)
	// in inputs propagate to outputs; an output whose shape depends on an
	// unknown value has a nil Shape. When every input is known, the result
	// is fully known: the interpreter relies on it.
	Infer(in []Type, vals []*Tensor) ([]Type, error)
}

// Value is an edge of the graph: a graph input, a constant or a node output.
type Value struct {
	Name string
	Type Type
	// Const holds the value of a constant (weight, ONNX initializer); nil
	// for values computed at run time.
	Const *Tensor
	// DimNames optionally names dimensions (for example "N" for a symbolic
	// batch dimension); when non-nil it has one entry per dimension, empty
	// for unnamed ones.
	DimNames []string
}

// Node applies an Op to input Values, producing output Values.
type Node struct {
	Name string
	Op   Op
	// Inputs in ONNX order; a nil entry is an omitted optional input.
	Inputs  []*Value
	Outputs []*Value
}

// Graph is a network: Nodes in topological order over Values.
type Graph struct {
	Name string
	// Opset is the ONNX default-domain opset version the graph follows.
	Opset int
	// Inputs are the values fed at run time (constants are not inputs).
	Inputs  []*Value
	Outputs []*Value
	Nodes   []*Node
}

// Constants returns the constant values the nodes use, in order of first use.
func (g *Graph) Constants() []*Value {
	var out []*Value
	seen := map[*Value]bool{}
	for _, n := range g.Nodes {
		for _, v := range n.Inputs {
			if v != nil && v.Const != nil && !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	for _, v := range g.Outputs {
		if v.Const != nil && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// InferTypes recomputes the type of every node output in order, from the
// graph inputs and constants (see InferNode). It fails at the first node
// whose op rejects its inputs, naming the node.
func (g *Graph) InferTypes() error {
	known := map[*Value]*Tensor{}
	for _, n := range g.Nodes {
		if err := InferNode(n, known); err != nil {
			return err
		}
	}
	return nil
}

// InferNode sets the types of n's outputs from its inputs' types. The op
// sees the values of constant inputs and of inputs in known, the outputs of
// Constant nodes seen so far: InferNode adds n's output to known when n is a
// Constant. Errors name the node.
func InferNode(n *Node, known map[*Value]*Tensor) error {
	in := make([]Type, len(n.Inputs))
	vals := make([]*Tensor, len(n.Inputs))
	for i, v := range n.Inputs {
		if v == nil {
			continue
		}
		in[i] = v.Type
		if v.Const != nil {
			vals[i] = v.Const
		} else {
			vals[i] = known[v]
		}
	}
	out, err := n.Op.Infer(in, vals)
	if err != nil {
		return AtNode(err, n.Name, n.Op.OpType())
	}
	if len(out) != len(n.Outputs) {
		return AtNode(Invalidf("has %d outputs, op defines %d", len(n.Outputs), len(out)), n.Name, n.Op.OpType())
	}
	for i, v := range n.Outputs {
		v.Type = out[i]
	}
	if c, ok := n.Op.(*Constant); ok {
		known[n.Outputs[0]] = c.Value
	}
	return nil
}
