package train

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/cnnc/cnnc/ir"
)

// Transfer learning, as ZFNet took its ImageNet features to Caltech-101
// and 256: keep a trained model's layers, give it a new classifier head,
// and train only what is not frozen.

// ReplaceHead returns a copy of g whose classifier, the Gemm producing
// the graph's (first) output, is a new one for classes classes: weight
// and bias drawn as PyTorch initializes a Linear layer (uniform in
// ±1/sqrt(fan in)) from seed. The layers before it keep their weights.
func ReplaceHead(g *ir.Graph, classes int, seed uint64) (*ir.Graph, error) {
	if classes < 1 {
		return nil, fmt.Errorf("train: %d classes, want at least 1", classes)
	}
	c := g.Clone()
	if len(c.Outputs) == 0 {
		return nil, fmt.Errorf("train: graph %q has no outputs", c.Name)
	}
	var head *ir.Node
	for _, n := range c.Nodes {
		if len(n.Outputs) > 0 && n.Outputs[0] == c.Outputs[0] {
			head = n
		}
	}
	gm, ok := opOf(head).(*ir.Gemm)
	if !ok || len(head.Inputs) < 2 || head.Inputs[1] == nil || head.Inputs[1].Const == nil {
		return nil, fmt.Errorf("train: the output of %q is not a fully connected layer (Gemm with a constant weight), whose classes could be replaced", c.Name)
	}
	w := head.Inputs[1]
	ws := w.Type.Shape
	if len(ws) != 2 {
		return nil, fmt.Errorf("train: classifier weight %q is %v, want a matrix", w.Name, ws)
	}
	// The weight is [classes, in] with TransB (torch's Linear), else [in, classes].
	in := ws[0]
	shape := ir.Shape{in, classes}
	if gm.TransB {
		in, shape = ws[1], ir.Shape{classes, ws[1]}
	}
	rng := rand.New(rand.NewPCG(seed, 0x68656164))
	bound := 1 / math.Sqrt(float64(in))
	uniform := func(s ir.Shape) *ir.Tensor {
		t, _ := ir.NewTensor(ir.Float32, s)
		for i := range t.F32 {
			t.F32[i] = float32((2*rng.Float64() - 1) * bound)
		}
		return t
	}
	w.Const = uniform(shape)
	w.Type = w.Const.Type()
	if len(head.Inputs) > 2 && head.Inputs[2] != nil {
		b := head.Inputs[2]
		if b.Const == nil {
			return nil, fmt.Errorf("train: classifier bias %q is not a constant", b.Name)
		}
		b.Const = uniform(ir.Shape{classes})
		b.Type = b.Const.Type()
	}
	if err := c.InferTypes(); err != nil {
		return nil, fmt.Errorf("train: the new head: %w", err)
	}
	return c, nil
}

// opOf returns n's op, nil for a nil node.
func opOf(n *ir.Node) ir.Op {
	if n == nil {
		return nil
	}
	return n.Op
}

// FrozenUpTo returns the Frozen option (passes.TrainOptions) that freezes
// the parameters of node and of every node before it in g's order: the
// constants they read.
func FrozenUpTo(g *ir.Graph, node string) (func(string) bool, error) {
	frozen := map[string]bool{}
	for _, n := range g.Nodes {
		for _, v := range n.Inputs {
			if v != nil && v.Const != nil {
				frozen[v.Name] = true
			}
		}
		if n.Name == node {
			return func(name string) bool { return frozen[name] }, nil
		}
	}
	return nil, fmt.Errorf("train: no node %q to freeze up to (cnnc summary lists the nodes)", node)
}
