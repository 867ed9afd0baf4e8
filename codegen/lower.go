package codegen

import (
	"fmt"
	"io"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/kernels"
)

// Options adjust Lower. The zero value is the normal compilation.
type Options struct {
	// Log, when not nil, receives a one-line summary of the plan's memory
	// (the -v output of cnnc compile).
	Log io.Writer
	// NoInPlace keeps element-wise steps from writing their output over
	// an input, so that every computed tensor has its own buffer (for
	// tests of the planner).
	NoInPlace bool
}

// Lower turns g into a Plan. g is normally the output of passes.Run, but
// any graph whose every value has a known shape lowers: each node in order
// becomes at most one step, with a fast kernel where runtime/kernels has
// one for the op and its operands (Conv2D, Gemm, Pool2D, GlobalPool,
// Affine, Binary, Unary, Concat, Softmax, LRN) and kernels.Reference
// otherwise. Ops that only relabel a shape (Reshape, Flatten, Squeeze,
// Unsqueeze, Identity, inference Dropout, StochasticDepth) take no step:
// their output shares its input's memory. Nodes whose outputs nothing uses
// are dropped. Constants, packed for the kernel that reads them where it
// has a layout of its own, go to the weight section; tensors computed at
// run time and the graph inputs go to the arena, planned so that tensors
// live at the same time never overlap (see MemoryStats).
//
// A Concat of the channels of one image takes no step either where the
// steps that compute its inputs can write them to their places in its
// output (see concatViews).
//
// Every graph output has memory of its own, shared with no graph input and
// no other graph output (a Copy step makes it when needed), unless it is a
// constant, which is a LocWeights output.
//
// Lower does not modify g. Errors are *ir.Error naming the node (or the
// graph input or output) at fault: an unknown shape is ir.Unsupportedf,
// as is a constant of an element type the plan cannot store.
func Lower(g *ir.Graph, opts Options) (*Plan, error) {
	l := &lowering{
		opts:   opts,
		w:      newWeightSection(),
		vals:   map[*ir.Value]*valueLoc{},
		stored: map[*ir.Value]int64{},
	}
	if err := l.lower(g); err != nil {
		return nil, err
	}
	p := l.finish(g)
	if opts.Log != nil {
		m := p.Memory
		ratio := 1.0
		if m.LowerBound > 0 {
			ratio = float64(m.Arena) / float64(m.LowerBound)
		}
		fmt.Fprintf(opts.Log, "memory: arena %s (%.3f x lower bound %s; %s without sharing), weights %s, %d steps\n",
			mib(m.Arena), ratio, mib(m.LowerBound), mib(m.NoSharing), mib(int64(len(p.Weights))), len(p.Steps))
	}
	return p, nil
}

// mib formats a byte count in MiB.
func mib(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }

// valueLoc is where the lowering keeps an IR value.
type valueLoc struct {
	// buf is the arena buffer holding the value, -1 for a constant.
	buf int
	// konst is the value of a constant (an initializer, a Constant node's
	// output or a shape-only view of a constant).
	konst *ir.Tensor
}

// lowering is the state of one Lower call.
type lowering struct {
	opts  Options
	w     *weightSection
	vals  map[*ir.Value]*valueLoc
	bufs  []arenaBuf
	steps []Step
	sbufs []stepBufs
	// stored maps constants to their offset in the weight section once
	// stored.
	stored map[*ir.Value]int64
	inputs []operandRef
	// outputs are the graph outputs' operands.
	outputs []operandRef
	// places and elided are concatViews' decisions; views are the arena
	// buffers made inside others.
	places map[*ir.Value]place
	elided map[*ir.Node]bool
	views  []view
	// flips are the FlipFilter nodes, by output, that take no step: the
	// packing steps of the convolutions that read them flip as they pack.
	flips map[*ir.Value]*ir.Node
}

// operandRef is an operand and its arena buffer (-1 outside the arena),
// whose offset is filled in once the arena is planned.
type operandRef struct {
	Operand
	buf int
}

// none is the operand of an omitted optional input.
var none = operandRef{buf: -1}

// lower lowers g's nodes and outputs into l.
func (l *lowering) lower(g *ir.Graph) error {
	for _, v := range g.Inputs {
		if err := checkKnown(v); err != nil {
			return ir.Prefix(err, "graph input %q", v.Name)
		}
		id := l.newBuf(v)
		l.bufs[id].input = true
		l.vals[v] = &valueLoc{buf: id}
		l.inputs = append(l.inputs, operandRef{l.arenaOperand(v, v.Type.Shape), id})
	}
	live := liveNodes(g)
	l.places, l.elided = concatViews(g, live)
	l.flips = packedFlips(g)
	for i, n := range g.Nodes {
		if n.Op == nil {
			return ir.Invalidf("node %q has no op", n.Name)
		}
		if !live[i] {
			continue
		}
		if err := l.node(n); err != nil {
			return ir.AtNode(err, n.Name, n.Op.OpType())
		}
	}
	return l.graphOutputs(g)
}

// checkKnown fails unless v has a known shape and a storable element type.
func checkKnown(v *ir.Value) error {
	if !v.Type.Shape.Known() || v.Type.Shape.NumElements() < 0 {
		return ir.Unsupportedf("value %q has shape %v: compiling needs every shape known (fix the input sizes)", v.Name, v.Type.Shape)
	}
	if v.Type.DType.Size() == 0 {
		return ir.Unsupportedf("value %q has element type %v", v.Name, v.Type.DType)
	}
	return nil
}

// newBuf adds an arena buffer for v and returns its index.
func (l *lowering) newBuf(v *ir.Value) int {
	l.bufs = append(l.bufs, arenaBuf{size: int64(v.Type.Shape.NumElements()) * int64(v.Type.DType.Size())})
	return len(l.bufs) - 1
}

// arenaOperand is v's operand with the given shape, its offset yet unknown.
func (l *lowering) arenaOperand(v *ir.Value, shape ir.Shape) Operand {
	return Operand{Name: v.Name, DType: v.Type.DType, Shape: shape.Clone(), Loc: LocArena}
}

// aliasOf returns the input whose memory the output of n shares when n only
// relabels a shape, or nil.
func aliasOf(n *ir.Node) *ir.Value {
	if len(n.Inputs) == 0 || n.Inputs[0] == nil || len(n.Outputs) != 1 {
		return nil
	}
	switch op := n.Op.(type) {
	case *ir.Reshape, *ir.Flatten, *ir.Squeeze, *ir.Unsqueeze, *ir.Identity, *ir.StochasticDepth:
	case *ir.Dropout:
		// Without a mask output; a training_mode computed at run time is
		// left to the reference kernel, which checks it.
		if op.Mask != ir.Invalid || (len(n.Inputs) > 2 && n.Inputs[2] != nil && n.Inputs[2].Const == nil) {
			return nil
		}
	default:
		return nil
	}
	return n.Inputs[0]
}

// liveNodes marks the nodes some graph output depends on. A shape-only
// node depends on its data input alone: the new shape is known statically.
func liveNodes(g *ir.Graph) []bool {
	needed := map[*ir.Value]bool{}
	for _, v := range g.Outputs {
		needed[v] = true
	}
	live := make([]bool, len(g.Nodes))
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := g.Nodes[i]
		for _, v := range n.Outputs {
			live[i] = live[i] || needed[v]
		}
		if !live[i] {
			continue
		}
		if a := aliasOf(n); a != nil {
			needed[a] = true
			continue
		}
		for _, v := range n.Inputs {
			if v != nil {
				needed[v] = true
			}
		}
	}
	return live
}

// loc returns where v is, registering constants on first sight.
func (l *lowering) loc(v *ir.Value) (*valueLoc, error) {
	if vl, ok := l.vals[v]; ok {
		return vl, nil
	}
	if v.Const != nil {
		vl := &valueLoc{buf: -1, konst: v.Const}
		l.vals[v] = vl
		return vl, nil
	}
	return nil, ir.Invalidf("value %q is used before it is computed", v.Name)
}

// constOf returns the value of v when it is a constant, else nil.
func (l *lowering) constOf(v *ir.Value) *ir.Tensor {
	if v == nil {
		return nil
	}
	vl, err := l.loc(v)
	if err != nil {
		return nil
	}
	return vl.konst
}

// operand returns the operand reading v (LocNone for nil) viewed with
// shape (nil: v's own). Constants are stored in the weight section.
func (l *lowering) operand(v *ir.Value, shape ir.Shape) (operandRef, error) {
	if v == nil {
		return none, nil
	}
	if err := checkKnown(v); err != nil {
		return none, err
	}
	if shape == nil {
		shape = v.Type.Shape
	}
	vl, err := l.loc(v)
	if err != nil {
		return none, err
	}
	if vl.konst == nil {
		return operandRef{l.arenaOperand(v, shape), vl.buf}, nil
	}
	if got, want := vl.konst.Shape.NumElements(), shape.NumElements(); got != want || vl.konst.DType != v.Type.DType {
		return none, ir.Invalidf("constant %q is %v, its value's type is %v: want %d elements of %v",
			v.Name, vl.konst.Type(), v.Type, want, v.Type.DType)
	}
	off, ok := l.stored[v]
	if !ok {
		if off, err = l.w.addTensor(vl.konst); err != nil {
			return none, ir.Prefix(err, "constant %q", v.Name)
		}
		l.stored[v] = off
	}
	return operandRef{Operand{Name: v.Name, DType: vl.konst.DType, Shape: shape.Clone(), Loc: LocWeights, Offset: off}, -1}, nil
}

// packed returns the weight operand of a float32 slice computed at compile
// time (packed weights, folded biases), named after the value it derives
// from.
func (l *lowering) packed(name string, data []float32) operandRef {
	off := l.w.addFloat32(data)
	return operandRef{Operand{Name: name, DType: ir.Float32, Shape: ir.Shape{len(data)}, Loc: LocWeights, Offset: off}, -1}
}

// result returns the operand writing output v of a step, viewed with shape
// (nil: v's own), making its arena buffer.
func (l *lowering) result(v *ir.Value, shape ir.Shape) (operandRef, error) {
	if err := checkKnown(v); err != nil {
		return none, err
	}
	if shape == nil {
		shape = v.Type.Shape
	}
	if _, ok := l.vals[v]; ok || v.Const != nil {
		return none, ir.Invalidf("output %q is defined twice", v.Name)
	}
	return operandRef{l.arenaOperand(v, shape), l.bufOf(v)}, nil
}

// emitOneToOne emits k, a kernel of one input x and one output, n's
// first; with inPlace the output may take x's buffer (see memplan).
func (l *lowering) emitOneToOne(n *ir.Node, x *ir.Value, k Kernel, inPlace bool) error {
	xo, err := l.operand(x, nil)
	if err != nil {
		return err
	}
	yo, err := l.result(n.Outputs[0], nil)
	if err != nil {
		return err
	}
	if inPlace {
		l.emit(n, k, []operandRef{xo}, []operandRef{yo}, 0)
	} else {
		l.emit(n, k, []operandRef{xo}, []operandRef{yo})
	}
	return nil
}

// emit appends a step. inPlace lists the inputs whose memory the single
// output may take over.
func (l *lowering) emit(n *ir.Node, k Kernel, in, out []operandRef, inPlace ...int) {
	st := Step{Node: n.Name, Op: n.Op.OpType(), Kernel: k}
	sb := stepBufs{inPlace: inPlace}
	for _, o := range in {
		st.In = append(st.In, o.Operand)
		sb.in = append(sb.in, o.buf)
	}
	for _, o := range out {
		st.Out = append(st.Out, o.Operand)
		sb.out = append(sb.out, o.buf)
	}
	l.steps = append(l.steps, st)
	l.sbufs = append(l.sbufs, sb)
}

// node lowers one node.
func (l *lowering) node(n *ir.Node) error {
	for i, v := range n.Outputs {
		if v == nil {
			return ir.Invalidf("output %d is missing", i)
		}
		if err := checkKnown(v); err != nil {
			return err
		}
	}
	if c, ok := n.Op.(*ir.Constant); ok {
		if len(n.Outputs) != 1 || c.Value == nil {
			return ir.Invalidf("constant node has %d outputs, want 1 with a value", len(n.Outputs))
		}
		l.vals[n.Outputs[0]] = &valueLoc{buf: -1, konst: c.Value}
		return nil
	}
	if a := aliasOf(n); a != nil {
		return l.alias(n, a)
	}
	switch op := n.Op.(type) {
	case *ir.FusedConv:
		return l.conv(n, &op.Conv, op.Act, op.Algo)
	case *ir.Conv:
		return l.conv(n, op, ir.Activation{}, ir.AlgoAuto)
	case *ir.FusedGemm:
		return l.gemm(n, &op.Gemm, op.Act)
	case *ir.Gemm:
		return l.gemm(n, op, ir.Activation{})
	case *ir.MatMul:
		return l.matmul(n)
	case *ir.MaxPool:
		return l.maxPool(n, op)
	case *ir.AveragePool:
		return l.avgPool(n, op)
	case *ir.GlobalAveragePool:
		return l.globalPool(n, false)
	case *ir.GlobalMaxPool:
		return l.globalPool(n, true)
	case *ir.BatchNormalization:
		return l.batchNorm(n, op)
	case *ir.ChannelAffine:
		return l.channelAffine(n, op)
	case *ir.Add:
		return l.binary(n, kernels.BinAdd)
	case *ir.Sub:
		return l.binary(n, kernels.BinSub)
	case *ir.Mul:
		return l.binary(n, kernels.BinMul)
	case *ir.Div:
		return l.binary(n, kernels.BinDiv)
	case *ir.Sum:
		return l.binary(n, kernels.BinAdd)
	case *ir.Max:
		return l.binary(n, kernels.BinMax)
	case *ir.Min:
		return l.binary(n, kernels.BinMin)
	case *ir.Relu:
		return l.unary(n, &kernels.Unary{Op: kernels.UnRelu})
	case *ir.LeakyRelu:
		return l.unary(n, &kernels.Unary{Op: kernels.UnLeakyRelu, Alpha: op.Alpha})
	case *ir.Sigmoid:
		return l.unary(n, &kernels.Unary{Op: kernels.UnSigmoid})
	case *ir.Tanh:
		return l.unary(n, &kernels.Unary{Op: kernels.UnTanh})
	case *ir.Exp:
		return l.unary(n, &kernels.Unary{Op: kernels.UnExp})
	case *ir.Sqrt:
		return l.unary(n, &kernels.Unary{Op: kernels.UnSqrt})
	case *ir.Clip:
		return l.clip(n, op)
	case *ir.Concat:
		return l.concat(n, op)
	case *ir.Softmax:
		return l.softmax(n, op.Axis, op.Coerce2D, false)
	case *ir.LogSoftmax:
		return l.softmax(n, op.Axis, op.Coerce2D, true)
	case *ir.LRN:
		return l.lrn(n, op)
	case *ir.MaxPoolGrad:
		win, err := op.Pool.Geometry(input(n, 0).Type.Shape)
		return l.poolGrad(n, win, err, &kernels.PoolGrad{Pool: kernels.Pool2D{Max: true}})
	case *ir.AveragePoolGrad:
		win, err := op.Pool.Geometry(input(n, 0).Type.Shape)
		return l.poolGrad(n, win, err, &kernels.PoolGrad{Pool: kernels.Pool2D{CountIncludePad: op.Pool.CountIncludePad}})
	case *ir.ActGrad:
		return l.actGrad(n, op)
	case *ir.BatchNormTrain:
		return l.batchNormTrain(n, op)
	case *ir.BatchNormGrad:
		return l.batchNormGrad(n)
	case *ir.SGD:
		return l.sgd(n, op)
	case *ir.Adam:
		return l.adam(n, op)
	case *ir.ReduceSum:
		return l.reduceSum(n, op)
	case *ir.FlipFilter:
		if l.flips[n.Outputs[0]] != nil {
			return nil
		}
		return l.flipFilter(n, op)
	case *ir.ConvGradData:
		return l.convGrad(n, &op.Conv, op.X, input(n, 1).Type.Shape, func(k *kernels.Conv2D) Kernel { return &kernels.ConvGradData{Conv: *k} })
	case *ir.ConvGradFilter:
		return l.convGrad(n, &op.Conv, input(n, 0).Type.Shape, op.W, func(k *kernels.Conv2D) Kernel { return &kernels.ConvGradFilter{Conv: *k} })
	}
	return l.reference(n)
}

// alias makes n's output share the memory of its input a.
func (l *lowering) alias(n *ir.Node, a *ir.Value) error {
	if err := checkKnown(a); err != nil {
		return err
	}
	out := n.Outputs[0]
	if got, want := out.Type.Shape.NumElements()*out.Type.DType.Size(), a.Type.Shape.NumElements()*a.Type.DType.Size(); got != want {
		return ir.Invalidf("output %q has %d bytes, input %q %d: want the same bytes", out.Name, got, a.Name, want)
	}
	vl, err := l.loc(a)
	if err != nil {
		return err
	}
	if _, ok := l.vals[out]; ok {
		return ir.Invalidf("output %q is defined twice", out.Name)
	}
	if vl.konst != nil {
		// A view of a constant is a constant of the new shape.
		t := *vl.konst
		t.Shape = out.Type.Shape.Clone()
		l.vals[out] = &valueLoc{buf: -1, konst: &t}
		return nil
	}
	l.vals[out] = &valueLoc{buf: vl.buf}
	return nil
}

// reference lowers n to the reference interpreter's kernel, with all its
// operands as they are.
func (l *lowering) reference(n *ir.Node) error {
	return l.emitAll(n, &kernels.Reference{Op: n.Op})
}

// graphOutputs gives each graph output its operand: constants from the
// weight section, computed values their buffer, copied when the buffer is
// a graph input's or another output's.
func (l *lowering) graphOutputs(g *ir.Graph) error {
	claimed := map[int]bool{}
	for _, v := range g.Outputs {
		vl, err := l.loc(v)
		if err != nil {
			return ir.Prefix(err, "graph output %q", v.Name)
		}
		o, err := l.operand(v, nil)
		if err != nil {
			return ir.Prefix(err, "graph output %q", v.Name)
		}
		if vl.konst != nil {
			l.outputs = append(l.outputs, o)
			continue
		}
		if b := vl.buf; l.bufs[b].input || claimed[b] {
			o, err = l.copyOutput(v, o)
			if err != nil {
				return err
			}
		}
		claimed[o.buf] = true
		l.bufs[o.buf].output = true
		l.outputs = append(l.outputs, o)
	}
	return nil
}

// copyOutput appends a step copying the graph output v, read through src,
// into a buffer of its own, and returns the copy's operand.
func (l *lowering) copyOutput(v *ir.Value, src operandRef) (operandRef, error) {
	id := l.newBuf(v)
	dst := operandRef{l.arenaOperand(v, v.Type.Shape), id}
	n := &ir.Node{Name: v.Name, Op: &ir.Identity{}}
	var k Kernel = &kernels.Reference{Op: &ir.Identity{}}
	if v.Type.DType == ir.Float32 {
		k = &kernels.Copy{Len: v.Type.Shape.NumElements()}
	}
	l.emit(n, k, []operandRef{src}, []operandRef{dst})
	return dst, nil
}

// finish plans the arena and assembles the Plan.
func (l *lowering) finish(g *ir.Graph) *Plan {
	stats := planMemory(l.bufs, l.sbufs, l.views, l.opts.NoInPlace)
	place := func(o operandRef) Operand {
		if o.buf >= 0 {
			o.Offset = l.bufs[o.buf].offset
		}
		return o.Operand
	}
	p := &Plan{
		Name:      g.Name,
		ArenaSize: stats.Arena,
		Steps:     l.steps,
		Memory:    stats,
	}
	for _, o := range l.inputs {
		p.Inputs = append(p.Inputs, place(o))
	}
	for _, o := range l.outputs {
		p.Outputs = append(p.Outputs, place(o))
	}
	for s := range p.Steps {
		st, sb := &p.Steps[s], l.sbufs[s]
		for i := range st.In {
			st.In[i] = place(operandRef{st.In[i], sb.in[i]})
		}
		for i := range st.Out {
			st.Out[i] = place(operandRef{st.Out[i], sb.out[i]})
		}
	}
	p.Weights = l.w.bytes()
	return p
}

// numElements is the product of dims (which are known).
func numElements(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}
