package passes

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/cnnc/cnnc/ir"
)

// Loss names the loss a training step minimizes.
type Loss uint8

const (
	// LossCrossEntropy is softmax cross-entropy of the model's output
	// (logits [N, K]) against target probabilities [N, K], one-hot rows
	// for class labels (ir.SoftmaxCrossEntropy). Float targets keep the
	// step's inputs float: the compiled runtime specializes integer inputs
	// by value.
	LossCrossEntropy Loss = iota
	// LossMSE is the mean squared error of the model's output against a
	// target of its shape (ir.MSELoss).
	LossMSE
)

// TrainOptions describes the training step Backward builds.
type TrainOptions struct {
	// Loss is the loss of the model's (first) output.
	Loss Loss
	// Optimizer is the update each parameter gets: an *ir.SGD or an
	// *ir.Adam holding the hyperparameters (the learning rate, and Adam's
	// step count, are inputs of the step, so that schedules need no new
	// graph). Nil means plain SGD.
	Optimizer ir.Op
	// Frozen reports the parameters (by constant name) that stay
	// constants: they get no gradient, no update, and no backward work
	// flows into the layers before them that only they would need.
	Frozen func(name string) bool
	// Gradients adds each parameter's gradient to the step's outputs
	// (Param.Grad), for tests and inspection.
	Gradients bool
}

// Param is one trainable parameter of a training step: a constant of the
// model turned into a step input, with its update among the step's
// outputs.
type Param struct {
	// Name is the constant's name in the model ("conv1.weight").
	Name string
	// Init is the constant's value in the model: the value to start from.
	Init *ir.Tensor
	// In and Out index the parameter among the step's inputs and outputs.
	In, Out int
	// Grad indexes the parameter's gradient among the step's outputs, or
	// is -1 (without TrainOptions.Gradients).
	Grad int
	// State indexes the optimizer's state (SGD's velocity; Adam's two
	// moments) among the step's inputs, and StateOut among its outputs,
	// in the same order; each starts at zero.
	State, StateOut []int
}

// Buffer is state a training step updates without a gradient: a batch
// norm's running mean or variance.
type Buffer struct {
	// Name is the constant's name in the model ("bn1.running_mean").
	Name string
	// Init is its value in the model.
	Init *ir.Tensor
	// In and Out index it among the step's inputs and outputs.
	In, Out int
}

// TrainStep is the graph of one training step and the roles of its inputs
// and outputs. Its inputs are the model's inputs, then Labels, LR, Step
// (Adam only), the buffers, and each parameter and its optimizer state;
// its outputs are the loss, the model's output, the updated buffers, then
// the updated parameters and states. Feeding each Out back into its In
// runs the next step.
type TrainStep struct {
	Graph *ir.Graph
	// Eval is the inference graph with the parameters as inputs and the
	// loss as a second output: its inputs are the model's, the labels,
	// each parameter in Params' order, then each buffer in Buffers'. It evaluates the model as
	// trained so far without recompiling. (A cross-entropy target row of
	// zeros adds nothing to the loss's sum: padding for a last partial
	// batch.)
	Eval *ir.Graph
	// Labels, LR and Step index those inputs (Step is -1 without Adam);
	// Seed indexes the random seed of the dropouts and stochastic depths
	// (-1 without them), a float holding an integer, new each step.
	Labels, LR, Step, Seed int
	// Params lists the trainable parameters in the model's order.
	Params []Param
	// Buffers lists the batch norms' running statistics.
	Buffers []Buffer
}

// Advance copies the updated parameters, optimizer states and buffers
// from a step's outputs into the feeds of the next: feeds are the step's
// inputs, in order, and outs a run's outputs.
func (s *TrainStep) Advance(feeds, outs []*ir.Tensor) {
	for _, p := range s.Params {
		copy(feeds[p.In].F32, outs[p.Out].F32)
		for k, st := range p.State {
			copy(feeds[st].F32, outs[p.StateOut[k]].F32)
		}
	}
	for _, b := range s.Buffers {
		copy(feeds[b.In].F32, outs[b.Out].F32)
	}
}

// Backward builds a training step for the inference graph g: the forward
// computation, the loss of its first output, the gradient of that loss
// with respect to every constant of g that a differentiable input of a
// node reads (the parameters), and the optimizer's update of each. Every
// shape of g must be known (build or import it at the batch size to train
// with). An op without a gradient rule on the path from a parameter to
// the loss is an unsupported error naming the node.
func Backward(g *ir.Graph, o TrainOptions) (*TrainStep, error) {
	if len(g.Outputs) == 0 {
		return nil, ir.Invalidf("graph %q has no outputs", g.Name)
	}
	opt := o.Optimizer
	if opt == nil {
		opt = &ir.SGD{}
	}
	switch opt.(type) {
	case *ir.SGD, *ir.Adam:
	default:
		return nil, ir.Unsupportedf("optimizer %s", opName(opt))
	}
	c := g.Clone()
	for _, v := range c.Inputs {
		if !v.Type.Shape.Known() {
			return nil, ir.Unsupportedf("training needs known shapes: input %q is %v", v.Name, v.Type.Shape)
		}
	}
	if err := c.InferTypes(); err != nil {
		return nil, err
	}
	ad := &autodiff{g: c, names: map[string]bool{}, grads: map[*ir.Value][]*ir.Value{}, consts: map[*ir.Value]*ir.Tensor{}}
	for _, v := range c.Inputs {
		ad.names[v.Name] = true
	}
	for _, n := range c.Nodes {
		ad.names[n.Name] = true
		for _, v := range n.Outputs {
			ad.names[v.Name] = true
		}
	}
	for _, v := range c.Constants() {
		ad.names[v.Name] = true
		ad.consts[v] = v.Const
	}
	for _, n := range c.Nodes {
		if k, ok := n.Op.(*ir.Constant); ok && len(n.Outputs) == 1 {
			ad.consts[n.Outputs[0]] = k.Value
		}
	}
	step := &TrainStep{Graph: c, Step: -1, Seed: -1}
	out := c.Outputs[0]

	// The loss, from the model's output and the labels.
	lossOp, labelType := ir.Op(&ir.SoftmaxCrossEntropy{}), out.Type
	if o.Loss == LossMSE {
		lossOp, labelType = &ir.MSELoss{}, out.Type
	} else if len(out.Type.Shape) != 2 {
		return nil, ir.Unsupportedf("cross-entropy needs logits [N, K], and output %q is %v", out.Name, out.Type.Shape)
	}
	labels := ad.input("labels", labelType)
	step.Labels = len(c.Inputs) - 1
	lr := ad.input("lr", ir.Type{DType: ir.Float32, Shape: ir.Shape{}})
	step.LR = len(c.Inputs) - 1
	var stepNum *ir.Value
	if _, ok := opt.(*ir.Adam); ok {
		stepNum = ad.input("step", ir.Type{DType: ir.Float32, Shape: ir.Shape{}})
		step.Step = len(c.Inputs) - 1
	}
	// Batch norms train on the batch's statistics; their running ones
	// become buffers.
	var bufVals []*ir.Value
	bufOuts := map[*ir.Value]*ir.Value{}
	for _, n := range c.Nodes {
		bn, ok := n.Op.(*ir.BatchNormalization)
		if !ok {
			continue
		}
		if len(n.Inputs) != 5 || len(n.Outputs) != 1 {
			return nil, ir.AtNode(ir.Unsupportedf("training a batch norm with %d inputs and %d outputs", len(n.Inputs), len(n.Outputs)), n.Name, n.Op.OpType())
		}
		n.Op = &ir.BatchNormTrain{Epsilon: bn.Epsilon, Momentum: bn.Momentum}
		for k, suffix := range []string{"running_mean", "running_var", "save_mean", "save_invstd"} {
			n.Outputs = append(n.Outputs, &ir.Value{Name: ad.unique(n.Name + "." + suffix), Type: channelType(n.Inputs[0])})
			if k < 2 {
				stat := n.Inputs[3+k]
				if stat == nil || stat.Const == nil || bufOuts[stat] != nil {
					return nil, ir.AtNode(ir.Unsupportedf("running statistic %d is not a constant of its own", k), n.Name, "BatchNormalization")
				}
				bufOuts[stat] = n.Outputs[1+k]
				bufVals = append(bufVals, stat)
			}
		}
	}
	for _, v := range bufVals {
		step.Buffers = append(step.Buffers, Buffer{Name: v.Name, Init: v.Const})
		v.Const = nil
		c.Inputs = append(c.Inputs, v)
		step.Buffers[len(step.Buffers)-1].In = len(c.Inputs) - 1
	}
	// Dropouts and stochastic depths draw from the step's seed.
	var seed *ir.Value
	for i, n := range c.Nodes {
		var op ir.Op
		switch f := n.Op.(type) {
		case *ir.Dropout:
			ratio := f.Ratio
			if len(n.Inputs) > 1 && n.Inputs[1] != nil {
				t := ad.consts[n.Inputs[1]]
				if t == nil || t.Len() != 1 {
					return nil, ir.AtNode(ir.Unsupportedf("training with a dropout ratio computed at run time"), n.Name, "Dropout")
				}
				ratio = float32(t.Float64At(0))
			}
			if len(n.Outputs) > 1 && n.Outputs[1] != nil {
				return nil, ir.AtNode(ir.Unsupportedf("training a Dropout whose mask is an output"), n.Name, "Dropout")
			}
			if ratio == 0 {
				continue
			}
			op = &ir.DropoutTrain{Ratio: ratio, Salt: uint64(i)}
		case *ir.StochasticDepth:
			op = &ir.StochasticDepthTrain{Survival: f.Survival, Salt: uint64(i)}
		default:
			continue
		}
		if seed == nil {
			seed = ad.input("seed", ir.Type{DType: ir.Float32, Shape: ir.Shape{}})
			step.Seed = len(c.Inputs) - 1
		}
		n.Op, n.Inputs = op, []*ir.Value{n.Inputs[0], seed}
		scale := ir.Type{DType: ir.Float32, Shape: ir.Shape{1}}
		if _, ok := op.(*ir.DropoutTrain); ok {
			scale = n.Inputs[0].Type
		}
		n.Outputs = []*ir.Value{n.Outputs[0], {Name: ad.unique(n.Name + ".scale"), Type: scale}}
	}
	forward := slices.Clone(c.Nodes)
	loss, err := ad.node("loss", lossOp, 1, out, labels)
	if err != nil {
		return nil, err
	}

	// The parameters: constants some node reads through a differentiable
	// input, in order of first use, unless frozen.
	var params []*ir.Value
	isParam := map[*ir.Value]bool{}
	for _, n := range forward {
		for i, v := range n.Inputs {
			if v == nil || v.Const == nil || v.Const.DType != ir.Float32 || isParam[v] || !differentiable(n.Op, i) {
				continue
			}
			if o.Frozen != nil && o.Frozen(v.Name) {
				continue
			}
			isParam[v] = true
			params = append(params, v)
		}
	}
	if len(params) == 0 {
		return nil, ir.Invalidf("graph %q has no trainable parameters", g.Name)
	}

	// needs[v]: v's gradient is wanted, because a parameter flows into it.
	needs := map[*ir.Value]bool{}
	for _, p := range params {
		needs[p] = true
	}
	for _, n := range forward {
		for i, v := range n.Inputs {
			if v != nil && needs[v] && differentiable(n.Op, i) {
				for _, y := range n.Outputs {
					needs[y] = true
				}
				break
			}
		}
	}
	if !needs[out] {
		return nil, ir.Invalidf("the output %q does not depend on any parameter", out.Name)
	}

	// The reverse sweep, from dLoss = 1.
	one := ad.constant("loss_grad_seed", ir.FromFloat32(ir.Shape{}, []float32{1}))
	lossGrad := ir.Op(&ir.SoftmaxCrossEntropyGrad{})
	if o.Loss == LossMSE {
		lossGrad = &ir.MSELossGrad{}
	}
	dOut, err := ad.node("loss_grad", lossGrad, 1, out, labels, one)
	if err != nil {
		return nil, err
	}
	ad.grads[out] = []*ir.Value{dOut[0]}
	for i := len(forward) - 1; i >= 0; i-- {
		n := forward[i]
		dys := make([]*ir.Value, len(n.Outputs))
		any := false
		for j, y := range n.Outputs {
			if dys[j], err = ad.sum(y); err != nil {
				return nil, err
			}
			any = any || dys[j] != nil
		}
		if !any {
			continue
		}
		want := make([]bool, len(n.Inputs))
		for j, v := range n.Inputs {
			want[j] = v != nil && needs[v] && differentiable(n.Op, j)
		}
		dxs, err := ad.rule(n, dys, want)
		if err != nil {
			return nil, ir.AtNode(err, n.Name, n.Op.OpType())
		}
		for j, dx := range dxs {
			if dx != nil && want[j] {
				ad.grads[n.Inputs[j]] = append(ad.grads[n.Inputs[j]], dx)
			}
		}
	}

	// The updates; the parameters become inputs.
	c.Outputs = []*ir.Value{loss[0], out}
	for i, v := range bufVals {
		c.Outputs = append(c.Outputs, bufOuts[v])
		step.Buffers[i].Out = len(c.Outputs) - 1
	}
	for _, p := range params {
		dw, err := ad.sum(p)
		if err != nil {
			return nil, err
		}
		if dw == nil {
			return nil, ir.Invalidf("parameter %q gets no gradient", p.Name)
		}
		sp := Param{Name: p.Name, Init: p.Const, Grad: -1}
		p.Const = nil
		c.Inputs = append(c.Inputs, p)
		sp.In = len(c.Inputs) - 1
		var state []*ir.Value
		nstate := 0
		switch u := opt.(type) {
		case *ir.SGD:
			if u.Momentum != 0 {
				nstate = 1
			}
		case *ir.Adam:
			nstate = 2
		}
		for k := 0; k < nstate; k++ {
			s := ad.input(p.Name+".state"+strconv.Itoa(k), p.Type)
			state = append(state, s)
			sp.State = append(sp.State, len(c.Inputs)-1)
		}
		var ins []*ir.Value
		switch opt.(type) {
		case *ir.SGD:
			var v *ir.Value
			if nstate > 0 {
				v = state[0]
			}
			ins = []*ir.Value{p, dw, v, lr}
		case *ir.Adam:
			ins = []*ir.Value{p, dw, state[0], state[1], lr, stepNum}
		}
		upd, err := ad.node(p.Name+".update", cloneOp(opt), 1+nstate, ins...)
		if err != nil {
			return nil, err
		}
		c.Outputs = append(c.Outputs, upd[0])
		sp.Out = len(c.Outputs) - 1
		for _, s := range upd[1:] {
			c.Outputs = append(c.Outputs, s)
			sp.StateOut = append(sp.StateOut, len(c.Outputs)-1)
		}
		if o.Gradients {
			c.Outputs = append(c.Outputs, dw)
			sp.Grad = len(c.Outputs) - 1
		}
		step.Params = append(step.Params, sp)
	}
	if err := ir.Verify(c); err != nil {
		return nil, fmt.Errorf("backward: %w", err)
	}
	e := g.Clone()
	if err := e.InferTypes(); err != nil {
		return nil, err
	}
	byName := map[string]*ir.Value{}
	for _, v := range e.Constants() {
		byName[v.Name] = v
	}
	ev := &autodiff{g: e, names: ad.names}
	evLabels := ev.input("labels", labelType)
	evLoss, err := ev.node("loss", cloneLoss(lossOp), 1, e.Outputs[0], evLabels)
	if err != nil {
		return nil, err
	}
	e.Outputs = []*ir.Value{e.Outputs[0], evLoss[0]}
	for _, p := range step.Params {
		v := byName[p.Name]
		v.Const = nil
		e.Inputs = append(e.Inputs, v)
	}
	for _, b := range step.Buffers {
		v := byName[b.Name]
		v.Const = nil
		e.Inputs = append(e.Inputs, v)
	}
	step.Eval = e
	if err := ir.Verify(step.Eval); err != nil {
		return nil, fmt.Errorf("backward: the evaluation graph: %w", err)
	}
	return step, nil
}

// channelType is the type of a per-channel vector of x's channels.
func channelType(x *ir.Value) ir.Type {
	return ir.Type{DType: ir.Float32, Shape: ir.Shape{x.Type.Shape[1]}}
}

// cloneLoss returns a new loss op of the same kind.
func cloneLoss(op ir.Op) ir.Op {
	if _, ok := op.(*ir.MSELoss); ok {
		return &ir.MSELoss{}
	}
	return &ir.SoftmaxCrossEntropy{}
}

// cloneOp returns a shallow copy of an optimizer op, one per update node.
func cloneOp(op ir.Op) ir.Op {
	switch o := op.(type) {
	case *ir.SGD:
		c := *o
		return &c
	case *ir.Adam:
		c := *o
		return &c
	}
	return op
}

// opName returns op's type, or "none" for nil.
func opName(op ir.Op) string {
	if op == nil {
		return "none"
	}
	return op.OpType()
}

// differentiable reports whether input i of op carries a gradient: the
// float data and weights, not shapes, indices, labels or statistics.
func differentiable(op ir.Op, i int) bool {
	switch op.(type) {
	case *ir.Conv, *ir.ConvTranspose, *ir.Gemm:
		return i <= 2
	case *ir.Reshape, *ir.Dropout, *ir.Squeeze, *ir.Unsqueeze, *ir.DropoutTrain, *ir.StochasticDepthTrain,
		*ir.Split, *ir.Slice, *ir.Pad:
		return i == 0
	case *ir.BatchNormalization, *ir.BatchNormTrain:
		return i <= 2
	}
	return true
}

// autodiff holds the state of one Backward: the graph it appends to, the
// names taken, and the gradient contributions of each value.
type autodiff struct {
	g      *ir.Graph
	names  map[string]bool
	grads  map[*ir.Value][]*ir.Value
	consts map[*ir.Value]*ir.Tensor // the values constants and Constant nodes hold
}

// unique returns name, or name with a suffix if it is taken.
func (a *autodiff) unique(name string) string {
	s := name
	for i := 1; a.names[s]; i++ {
		s = name + "_" + strconv.Itoa(i)
	}
	a.names[s] = true
	return s
}

// input adds a graph input.
func (a *autodiff) input(name string, t ir.Type) *ir.Value {
	v := &ir.Value{Name: a.unique(name), Type: ir.Type{DType: t.DType, Shape: t.Shape.Clone()}}
	a.g.Inputs = append(a.g.Inputs, v)
	return v
}

// constant returns a new constant value.
func (a *autodiff) constant(name string, t *ir.Tensor) *ir.Value {
	return &ir.Value{Name: a.unique(name), Type: t.Type(), Const: t}
}

// node appends a node of op on inputs with nout outputs and infers them.
func (a *autodiff) node(name string, op ir.Op, nout int, inputs ...*ir.Value) ([]*ir.Value, error) {
	n := &ir.Node{Name: a.unique(name), Op: op, Inputs: inputs}
	for i := 0; i < nout; i++ {
		vn := n.Name
		if i > 0 {
			vn = a.unique(n.Name + ":" + strconv.Itoa(i))
		}
		n.Outputs = append(n.Outputs, &ir.Value{Name: vn})
	}
	if err := ir.InferNode(n, map[*ir.Value]*ir.Tensor{}); err != nil {
		return nil, err
	}
	a.g.Nodes = append(a.g.Nodes, n)
	return n.Outputs, nil
}

// node1 is node for one output.
func (a *autodiff) node1(name string, op ir.Op, inputs ...*ir.Value) (*ir.Value, error) {
	out, err := a.node(name, op, 1, inputs...)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// sum returns v's gradient: the sum of its contributions (nil if none).
// A value several nodes read gets one contribution from each.
func (a *autodiff) sum(v *ir.Value) (*ir.Value, error) {
	parts := a.grads[v]
	switch len(parts) {
	case 0:
		return nil, nil
	case 1:
		return parts[0], nil
	}
	s, err := a.node1(v.Name+".grad", &ir.Sum{}, parts...)
	if err != nil {
		return nil, err
	}
	a.grads[v] = []*ir.Value{s}
	return s, nil
}
