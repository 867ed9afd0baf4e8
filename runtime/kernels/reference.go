package kernels

import (
	"fmt"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/reference"
)

// Bind implements Kernel. It fails when Op is nil, when the reference
// interpreter has no kernel for it, or when Op's Infer rejects the input
// types or infers an output type the out operand does not have. Infer sees
// no input values here (the arena's are not computed yet), so an output
// shape that depends on one (Reshape's shape input, say) is only checked
// where it is known; Run checks it again on the actual values before it
// lets the reference kernel write.
func (k *Reference) Bind(in, out []*ir.Tensor) (Task, error) {
	if k.Op == nil {
		return nil, ir.Invalidf("%s kernel: no op", k.Name())
	}
	op := k.Op.OpType()
	fn := reference.Kernel(k.Op)
	if fn == nil {
		return nil, ir.Unsupportedf("reference kernel for %s: the reference interpreter has no kernel for it", op)
	}
	types := make([]ir.Type, len(in))
	for i, t := range in {
		if t == nil {
			continue // an omitted optional input: DType Invalid
		}
		if err := refCheckTensor(t); err != nil {
			return nil, ir.Invalidf("reference kernel for %s: input %d: %v", op, i, err)
		}
		types[i] = t.Type()
	}
	for i, t := range out {
		if t == nil {
			return nil, ir.Invalidf("reference kernel for %s: output %d is missing", op, i)
		}
		if err := refCheckTensor(t); err != nil {
			return nil, ir.Invalidf("reference kernel for %s: output %d: %v", op, i, err)
		}
	}
	want, err := k.Op.Infer(types, make([]*ir.Tensor, len(in)))
	if err != nil {
		return nil, ir.Prefix(err, "reference kernel for %s", op)
	}
	if err := refCheckOutputs(op, want, out, false); err != nil {
		return nil, err
	}
	return &referenceTask{op: k.Op, fn: fn, in: in, out: out, types: types}, nil
}

// refCheckTensor checks that t's data matches its dtype and shape.
func refCheckTensor(t *ir.Tensor) error {
	if t.DType.Size() == 0 {
		return fmt.Errorf("element type %v, want f32, i64, i32 or bool", t.DType)
	}
	if n := t.Shape.NumElements(); n < 0 || n != t.Len() {
		return fmt.Errorf("shape %v holds %d elements, data has %d", t.Shape, n, t.Len())
	}
	return nil
}

// refCheckOutputs checks the inferred output types want against the out
// operands. With exact unset an unknown inferred rank or dimension matches
// anything.
func refCheckOutputs(op string, want []ir.Type, out []*ir.Tensor, exact bool) error {
	if len(want) != len(out) {
		return ir.Invalidf("reference kernel for %s: got %d outputs, the op has %d", op, len(out), len(want))
	}
	for i, w := range want {
		t := out[i]
		if w.DType != t.DType {
			return ir.Invalidf("reference kernel for %s: output %d has element type %v, want %v", op, i, t.DType, w.DType)
		}
		ok := w.Shape.Equal(t.Shape)
		if !ok && !exact && !w.Shape.Known() {
			ok = w.Shape == nil || len(w.Shape) == len(t.Shape)
			for j := 0; ok && j < len(w.Shape); j++ {
				ok = w.Shape[j] < 0 || w.Shape[j] == t.Shape[j]
			}
		}
		if !ok {
			return ir.Invalidf("reference kernel for %s: output %d has shape %v, want %v", op, i, t.Shape, w.Shape)
		}
	}
	return nil
}

// referenceTask is a bound Reference: a single task that re-infers the
// output types from the actual input values and runs the reference kernel.
//
// Run cannot return an error, so it records it: Err returns the error of
// the last Run (nil when it succeeded), which the runtime checks after the
// step. A panic in the reference kernel is recovered into that error.
type referenceTask struct {
	op      ir.Op
	fn      func(op ir.Op, in, out []*ir.Tensor) error
	in, out []*ir.Tensor
	types   []ir.Type
	err     error
}

// Tasks implements Task.
func (t *referenceTask) Tasks() int { return 1 }

// Scratch implements Task.
func (t *referenceTask) Scratch() int { return 0 }

// Err returns the error of the last Run, or nil.
func (t *referenceTask) Err() error { return t.err }

// Run implements Task.
func (t *referenceTask) Run(i int, _ []float32) {
	if i != 0 {
		return
	}
	t.err = t.run()
}

// run checks the outputs against the types Infer gives for the actual
// inputs, then runs the kernel on copies of the operand lists.
func (t *referenceTask) run() (err error) {
	name := t.op.OpType()
	defer func() {
		if r := recover(); r != nil {
			err = ir.Invalidf("reference kernel for %s panicked: %v", name, r)
		}
	}()
	want, err := t.op.Infer(t.types, t.in)
	if err != nil {
		return ir.Prefix(err, "reference kernel for %s", name)
	}
	if err := refCheckOutputs(name, want, t.out, true); err != nil {
		return err
	}
	in := append([]*ir.Tensor(nil), t.in...)
	out := append([]*ir.Tensor(nil), t.out...)
	if err := t.fn(t.op, in, out); err != nil {
		return ir.Prefix(err, "reference kernel for %s", name)
	}
	// A kernel may replace an output (Constant does) rather than fill it.
	for j, o := range out {
		if o == t.out[j] {
			continue
		}
		if o == nil || o.DType != t.out[j].DType || o.Len() != t.out[j].Len() {
			return ir.Invalidf("reference kernel for %s: output %d was replaced by a tensor of another type", name, j)
		}
		copy(t.out[j].F32, o.F32)
		copy(t.out[j].I64, o.I64)
		copy(t.out[j].I32, o.I32)
		copy(t.out[j].Bool, o.Bool)
	}
	return nil
}
