package runtime

import (
	"unsafe"

	"github.com/cnnc/cnnc/codegen"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/kernels"
)

// binding is a plan bound to one arena: every step's task over views of
// the arena and the weights.
type binding struct {
	plan    *codegen.Plan
	arena   []byte
	steps   []boundStep
	inputs  []*ir.Tensor // views of the inputs' arena slots
	outputs []*ir.Tensor // views of the outputs
	scratch int          // float32s of scratch per worker
	shared  int          // float32s of the buffer staged tasks share
}

// boundStep is one step ready to run.
type boundStep struct {
	step *codegen.Step
	task kernels.Task
	err  interface{ Err() error } // tasks that can fail while running
}

// bindPlan allocates an arena for p and binds every step to it.
func bindPlan(p *codegen.Plan) (*binding, error) {
	if p.ArenaSize < 0 || p.ArenaSize > int64(maxArena) {
		return nil, ir.Invalidf("plan arena of %d bytes: want 0 to %d", p.ArenaSize, int64(maxArena))
	}
	b := &binding{plan: p, arena: alignedBytes(int(p.ArenaSize))}
	var err error
	if b.inputs, err = b.views(p.Inputs, "input"); err != nil {
		return nil, err
	}
	for i, o := range p.Inputs {
		if o.Loc != codegen.LocArena {
			return nil, ir.Invalidf("plan input %d %q is not in the arena", i, o.Name)
		}
	}
	if b.outputs, err = b.views(p.Outputs, "output"); err != nil {
		return nil, err
	}
	b.steps = make([]boundStep, len(p.Steps))
	for i := range p.Steps {
		s := &p.Steps[i]
		if s.Kernel == nil {
			return nil, ir.AtNode(ir.Invalidf("step %d has no kernel", i), s.Node, s.Op)
		}
		in, err := b.views(s.In, "input")
		if err != nil {
			return nil, ir.AtNode(err, s.Node, s.Op)
		}
		out, err := b.views(s.Out, "output")
		if err != nil {
			return nil, ir.AtNode(err, s.Node, s.Op)
		}
		t, err := s.Kernel.Bind(in, out)
		if err != nil {
			return nil, ir.AtNode(ir.Prefix(err, "kernel %s", s.Kernel.Name()), s.Node, s.Op)
		}
		b.steps[i] = boundStep{step: s, task: t}
		if e, ok := t.(interface{ Err() error }); ok {
			b.steps[i].err = e
		}
		b.scratch = max(b.scratch, t.Scratch())
		if st, ok := t.(kernels.Staged); ok {
			b.shared = max(b.shared, st.Shared())
		}
	}
	// Steps run one at a time: one shared buffer serves every staged
	// task.
	if b.shared > 0 {
		buf := make([]float32, b.shared)
		for i := range b.steps {
			if st, ok := b.steps[i].task.(kernels.Staged); ok && st.Shared() > 0 {
				st.UseShared(buf)
			}
		}
	}
	return b, nil
}

// maxArena bounds a plan's arena (16 GiB).
const maxArena = 16 << 30

// views returns tensors viewing the operands' memory; nil for LocNone.
func (b *binding) views(ops []codegen.Operand, what string) ([]*ir.Tensor, error) {
	ts := make([]*ir.Tensor, len(ops))
	for i, o := range ops {
		if o.Loc == codegen.LocNone {
			continue
		}
		t, err := b.view(o)
		if err != nil {
			return nil, ir.Prefix(err, "%s %d %q", what, i, o.Name)
		}
		ts[i] = t
	}
	return ts, nil
}

// view returns a tensor over operand o's bytes, checking they lie inside
// their section.
func (b *binding) view(o codegen.Operand) (*ir.Tensor, error) {
	var mem []byte
	switch o.Loc {
	case codegen.LocArena:
		mem = b.arena
	case codegen.LocWeights:
		mem = b.plan.Weights
	default:
		return nil, ir.Invalidf("unknown location %d", o.Loc)
	}
	n := o.Shape.NumElements()
	size := o.DType.Size()
	if n < 0 || !o.Shape.Known() || size <= 0 {
		return nil, ir.Invalidf("bad type %v%v", o.DType, o.Shape)
	}
	bytes := int64(n) * int64(size)
	if o.Offset < 0 || o.Offset%64 != 0 || o.Offset > int64(len(mem)) || bytes > int64(len(mem))-o.Offset {
		return nil, ir.Invalidf("%d bytes at offset %d lie outside the %d-byte section", bytes, o.Offset, len(mem))
	}
	t := &ir.Tensor{DType: o.DType, Shape: o.Shape.Clone()}
	if n == 0 {
		return viewEmpty(t), nil
	}
	p := unsafe.Pointer(&mem[o.Offset])
	switch o.DType {
	case ir.Float32:
		t.F32 = unsafe.Slice((*float32)(p), n)
	case ir.Int64:
		t.I64 = unsafe.Slice((*int64)(p), n)
	case ir.Int32:
		t.I32 = unsafe.Slice((*int32)(p), n)
	case ir.Bool:
		t.Bool = unsafe.Slice((*bool)(p), n)
	default:
		return nil, ir.Unsupportedf("element type %v", o.DType)
	}
	return t, nil
}

// viewEmpty gives an empty tensor its (empty, non-nil) slice.
func viewEmpty(t *ir.Tensor) *ir.Tensor {
	switch t.DType {
	case ir.Float32:
		t.F32 = []float32{}
	case ir.Int64:
		t.I64 = []int64{}
	case ir.Int32:
		t.I32 = []int32{}
	case ir.Bool:
		t.Bool = []bool{}
	}
	return t
}

// release drops the arena (a throw-away binding).
func (b *binding) release() { b.arena, b.steps = nil, nil }
