package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/passes"
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
	head, gm, err := classifier(c)
	if err != nil {
		return nil, err
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
		fillUniform(t.F32, rng, bound)
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

// classifier returns the node producing g's first output, a Gemm with a
// constant weight, and its op.
func classifier(g *ir.Graph) (*ir.Node, *ir.Gemm, error) {
	if len(g.Outputs) == 0 {
		return nil, nil, fmt.Errorf("train: graph %q has no outputs", g.Name)
	}
	var head *ir.Node
	for _, n := range g.Nodes {
		if len(n.Outputs) > 0 && n.Outputs[0] == g.Outputs[0] {
			head = n
		}
	}
	var gm *ir.Gemm
	if head != nil {
		gm, _ = head.Op.(*ir.Gemm)
	}
	if gm == nil || len(head.Inputs) < 2 || head.Inputs[1] == nil || head.Inputs[1].Const == nil {
		return nil, nil, fmt.Errorf("train: the output of %q is not a fully connected layer (Gemm with a constant weight), whose classes could be replaced", g.Name)
	}
	return head, gm, nil
}

// HeadParams returns the names of the parameters of g's classifier head
// (the Gemm ReplaceHead replaces): its weight and its bias, if any.
func HeadParams(g *ir.Graph) ([]string, error) {
	head, _, err := classifier(g)
	if err != nil {
		return nil, err
	}
	names := []string{head.Inputs[1].Name}
	if len(head.Inputs) > 2 && head.Inputs[2] != nil && head.Inputs[2].Const != nil {
		names = append(names, head.Inputs[2].Name)
	}
	return names, nil
}

// LoadParams returns a copy of g with the trained parameters and
// batch-norm buffers of a checkpoint that Fit wrote ("param:NAME",
// "buffer:NAME"), matched by name: a checkpoint holds no graph, so g must
// be the architecture it was trained as (a zoo model built for images of
// the same size). Every parameter and buffer of g (those passes.Backward
// trains and updates) must be in the checkpoint with g's number of
// elements (and shape, when the checkpoint records it), except the names
// in skip (the head ReplaceHead will replace: HeadParams); the error
// lists those that are not. Optimizer states and the rest of the
// checkpoint are not used.
func LoadParams(g *ir.Graph, c *Checkpoint, skip []string) (*ir.Graph, error) {
	n := 1
	if s := g.Inputs[0].Type.Shape; len(s) > 0 && s[0] > 0 {
		n = s[0]
	}
	fixed, err := withBatch(g, n)
	if err != nil {
		return nil, err
	}
	step, err := passes.Backward(fixed, passes.TrainOptions{})
	if err != nil {
		return nil, err
	}
	want := map[string]string{} // constant name → checkpoint key
	for _, p := range step.Params {
		want[p.Name] = "param:" + p.Name
	}
	for _, b := range step.Buffers {
		want[b.Name] = "buffer:" + b.Name
	}
	for _, name := range skip {
		delete(want, name)
	}
	out := g.Clone()
	var bad []string
	for _, v := range out.Constants() {
		key, ok := want[v.Name]
		if !ok {
			continue
		}
		data, ok := c.Tensors[key]
		shape, recorded := c.Shapes[key]
		switch {
		case !ok:
			bad = append(bad, fmt.Sprintf("%s %v: not in the checkpoint", v.Name, v.Type.Shape))
			continue
		case recorded && !ir.Shape(shape).Equal(v.Type.Shape):
			bad = append(bad, fmt.Sprintf("%s: the checkpoint's is %v, the model's %v", v.Name, ir.Shape(shape), v.Type.Shape))
			continue
		case len(data) != v.Type.Shape.NumElements():
			bad = append(bad, fmt.Sprintf("%s: the checkpoint's has %d elements, the model's %v %d", v.Name, len(data), v.Type.Shape, v.Type.Shape.NumElements()))
			continue
		}
		t, err := ir.NewTensor(ir.Float32, v.Type.Shape)
		if err != nil {
			return nil, err
		}
		copy(t.F32, data)
		v.Const = t
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		if len(bad) > 5 {
			bad = append(bad[:5], fmt.Sprintf("and %d more", len(bad)-5))
		}
		return nil, fmt.Errorf("train: the checkpoint does not fit %s (not the same architecture, classes or input size?): %s", g.Name, strings.Join(bad, "; "))
	}
	return out, nil
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
