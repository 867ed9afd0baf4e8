package ir

import "math"

// Cost is what running one node once costs, counted the way model
// summaries (torchvision's tables, ptflops, fvcore) count it.
//
// Params is the number of elements of the node's parameters: its float32
// inputs whose value is fixed before running (weights, biases, a
// BatchNormalization's scale and shift, a constant addend), except the
// inputs that are settings or statistics rather than learned values (Clip's
// bounds, Pad's fill value, BatchNormalization's running mean and variance,
// which torchvision counts as buffers, not parameters). Integer constants
// such as Reshape's shape are never parameters. So counted, totals equal
// torchvision's: ResNet-50 has 25,557,032.
//
// MACs is the number of multiply-accumulates of the node's convolution or
// matrix-product arithmetic: for Conv, output elements times the weight
// elements per output channel (N*Cout*prod(out spatial)*(Cin/group)*
// prod(kernel)); for ConvTranspose, input elements times the weight
// elements per input channel; for Gemm, M*N*K; for MatMul, batch*M*N*K.
// Biases, pooling, activations, normalization and element-wise ops count 0,
// as in the tables the papers and torchvision report.
//
// A field is -1 when the shapes it depends on are unknown (a symbolic batch
// dimension, say); fixing the graph inputs' shapes and re-running
// Graph.InferTypes makes it known.
type Cost struct {
	Params int64
	MACs   int64
}

// NodeCost returns the cost of n, taking as parameters the inputs that are
// constants (Value.Const). CostOf also counts values computed from
// constants alone, such as the outputs of ConstantOfShape nodes.
func NodeCost(n *Node) Cost {
	return nodeCost(n, func(v *Value) bool { return v.Const != nil })
}

// GraphCost is the cost of running a whole graph once.
type GraphCost struct {
	// Nodes holds the cost of each node, in Graph.Nodes order.
	Nodes []Cost
	// Static[i] reports whether node i computes from constants alone
	// (Constant, ConstantOfShape, shape arithmetic on constants, an
	// Unsqueeze of a weight). Its outputs are parameters of the non-static
	// nodes that read them, not activations, and its own cost is zero: a
	// compiler folds it away, and counting its inputs too would count a
	// weight twice.
	Static []bool
	// Params counts the elements of distinct parameters: a weight that
	// several nodes read counts once.
	Params int64
	// MACs sums the nodes' MACs.
	MACs int64
	// ActivationBytes sums the sizes in bytes of the outputs of the nodes
	// that are not static: the memory the activations of one run take
	// without any reuse. Graph inputs are not counted.
	ActivationBytes int64
	// Unknown is the number of nodes with an unknown cost or output size;
	// they are left out of the totals.
	Unknown int
}

// CostOf returns the cost of each node of g and the totals. Types must be
// inferred (Graph.InferTypes).
func CostOf(g *Graph) *GraphCost {
	static := map[*Value]bool{}
	isParam := func(v *Value) bool { return v.Const != nil || static[v] }
	gc := &GraphCost{Nodes: make([]Cost, len(g.Nodes)), Static: make([]bool, len(g.Nodes))}
	seen := map[*Value]bool{}
	for i, n := range g.Nodes {
		st := true
		for _, v := range n.Inputs {
			if v != nil && !isParam(v) {
				st = false
			}
		}
		gc.Static[i] = st
		if st {
			for _, v := range n.Outputs {
				static[v] = true
			}
			continue
		}
		c := nodeCost(n, isParam)
		gc.Nodes[i] = c
		unknown := c.Params < 0 || c.MACs < 0
		if c.MACs > 0 {
			gc.MACs += c.MACs
		}
		for j, v := range n.Inputs {
			if v == nil || seen[v] || !paramInput(n, j, isParam) {
				continue
			}
			seen[v] = true
			if k := elems64(v.Type.Shape); k >= 0 {
				gc.Params += k
			}
		}
		for _, v := range n.Outputs {
			b := elems64(v.Type.Shape)
			if b < 0 {
				unknown = true
				continue
			}
			gc.ActivationBytes += b * int64(v.Type.DType.Size())
		}
		if unknown {
			gc.Unknown++
		}
	}
	return gc
}

// ActivationBytes returns the bytes of all activations of g (see
// GraphCost.ActivationBytes).
func ActivationBytes(g *Graph) int64 { return CostOf(g).ActivationBytes }

// paramInput reports whether input i of n is a parameter, with isParam
// telling values fixed before running.
func paramInput(n *Node, i int, isParam func(*Value) bool) bool {
	v := n.Inputs[i]
	if v == nil || v.Type.DType != Float32 || !isParam(v) {
		return false
	}
	// Inputs after the data that are settings, not learned values. (Resize's
	// and Upsample's scales belong here once those ops exist.)
	switch n.Op.(type) {
	case *Clip, *Pad: // min and max; pads and the fill value
		return i == 0
	case *BatchNormalization: // running mean and variance are statistics
		return i <= 2
	}
	return true
}

func nodeCost(n *Node, isParam func(*Value) bool) Cost {
	var c Cost
	for i, v := range n.Inputs {
		if !paramInput(n, i, isParam) {
			continue
		}
		k := elems64(v.Type.Shape)
		if k < 0 {
			c.Params = -1
			break
		}
		c.Params += k
	}
	c.MACs = nodeMACs(n)
	return c
}

// nodeMACs counts the multiply-accumulates of n from the types of its inputs
// and outputs alone, or returns -1 when a shape it needs is unknown.
func nodeMACs(n *Node) int64 {
	in := func(i int) Shape {
		if i < len(n.Inputs) && n.Inputs[i] != nil {
			return n.Inputs[i].Type.Shape
		}
		return nil
	}
	var out Shape
	if len(n.Outputs) > 0 {
		out = n.Outputs[0].Type.Shape
	}
	switch n.Op.(type) {
	case *Gemm:
		// Y [M,N]; A holds M*K elements whether or not it is transposed.
		y, a := elems64(out), elems64(in(0))
		if y < 0 || a < 0 || len(out) != 2 {
			return -1
		}
		if out[0] == 0 {
			return 0
		}
		return mulChecked(y, a/int64(out[0]))
	case *MatMul:
		// Y [..., M, N] with K the last dimension of A (its only one when
		// A is 1-D).
		y, a := elems64(out), in(0)
		if y < 0 || len(a) == 0 || a[len(a)-1] < 0 {
			return -1
		}
		return mulChecked(y, int64(a[len(a)-1]))
	case *Conv:
		// Y [N,Cout,...] and W [Cout, Cin/group, k...]: every output
		// element is a dot product over one output channel's weights.
		return perChannel(elems64(out), in(1))
	case *ConvTranspose:
		// X [N,Cin,...] and W [Cin, Cout/group, k...]: every input element
		// is scattered through one input channel's weights.
		return perChannel(elems64(in(0)), in(1))
	}
	return 0
}

// perChannel returns elems times the number of elements of w per index of
// its first dimension, or -1 when something is unknown.
func perChannel(elems int64, w Shape) int64 {
	k := elems64(w)
	if elems < 0 || k < 0 || len(w) == 0 {
		return -1
	}
	if w[0] == 0 {
		return 0
	}
	return mulChecked(elems, k/int64(w[0]))
}

// elems64 returns the number of elements of s as an int64, without
// Shape.NumElements' MaxElements bound (a large batch of activations may
// exceed it), or -1 when s is unknown or the count overflows.
func elems64(s Shape) int64 {
	if s == nil {
		return -1
	}
	n := int64(1)
	for _, d := range s {
		if d < 0 {
			return -1
		}
		n = mulChecked(n, int64(d))
		if n < 0 {
			return -1
		}
	}
	return n
}

// mulChecked returns a*b for non-negative a, b, or -1 on overflow or when either
// is -1.
func mulChecked(a, b int64) int64 {
	if a < 0 || b < 0 {
		return -1
	}
	if a != 0 && b > math.MaxInt64/a {
		return -1
	}
	return a * b
}
