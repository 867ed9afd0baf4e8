package runtime

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/cnnc/cnnc/codegen"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/passes"
	"github.com/cnnc/cnnc/runtime/kernels"
)

// CompileOptions configure Compile and CompilePlan.
type CompileOptions struct {
	// Batch, when > 0, fixes dimension 0 of every graph input whose
	// batch size is not fixed (see passes.Options.Batch).
	Batch int
	// InputShapes fixes the shapes of graph inputs by name.
	InputShapes map[string]ir.Shape
	// Passes holds the pass pipeline's other options (verification,
	// dumps, the log, disabled passes, algorithm overrides); its
	// InputShapes and Batch are ignored in favour of the fields above.
	Passes passes.Options
	// Lower configures the lowering to a plan.
	Lower codegen.Options
}

// CompilePlan optimizes g with the passes and lowers it to a plan for the
// input shapes opts fixes. Every input shape must be known then.
func CompilePlan(g *ir.Graph, opts CompileOptions) (*codegen.Plan, error) {
	po := opts.Passes
	po.Batch, po.InputShapes = opts.Batch, opts.InputShapes
	if po.ISA == "" {
		po.ISA = kernels.ISA()
	}
	opt, err := passes.Run(g, po)
	if err != nil {
		return nil, err
	}
	return codegen.Lower(opt, opts.Lower)
}

// Model is a compiled model, immutable and safe for concurrent use. A
// Model made by Compile from a graph whose input shapes are not all fixed
// plans itself once per new set of input shapes, when a Session first
// runs it on them, and keeps every plan. Integer and boolean graph inputs
// (shapes, axes, indices: what decides the shapes of value-dependent ops
// such as Reshape or Slice) are treated as compile-time values: such a
// model is specialized to each distinct value it is run with.
type Model struct {
	graph *ir.Graph // nil for a loaded plan
	opts  CompileOptions
	fixed *codegen.Plan // the plan, when input shapes are fixed
	unmap func() error  // releases a mapped file

	mu    sync.Mutex
	plans map[string]*planned // by input shapes and specialized values, for graph models
}

// planned is a plan with the inputs it was made for.
type planned struct {
	plan   *codegen.Plan
	shapes []ir.Shape   // per graph input
	values []*ir.Tensor // per graph input: the value of a specialized input, else nil; nil when none is
}

// Compile compiles g. When opts and g fix every input's shape and no input
// is specialized by value (see Model), the plan is made now and any error
// is returned now; otherwise planning waits for the first Run.
func Compile(g *ir.Graph, opts CompileOptions) (*Model, error) {
	if err := ir.Verify(g); err != nil {
		return nil, err
	}
	m := &Model{graph: g, opts: opts, plans: map[string]*planned{}}
	shapes, ok := fixedShapes(g, opts)
	for _, v := range g.Inputs {
		ok = ok && !specialized(v)
	}
	if ok {
		p, err := CompilePlan(g, withShapes(g, opts, shapes))
		if err != nil {
			return nil, err
		}
		if err := m.check(p); err != nil {
			return nil, err
		}
		m.fixed = p
	}
	return m, nil
}

// specialized reports whether graph input v is a compile-time value.
func specialized(v *ir.Value) bool { return v.Type.DType != ir.Float32 }

// withShapes returns opts fixing g's input shapes to shapes.
func withShapes(g *ir.Graph, opts CompileOptions, shapes []ir.Shape) CompileOptions {
	opts.Batch = 0
	opts.InputShapes = map[string]ir.Shape{}
	for i, v := range g.Inputs {
		opts.InputShapes[v.Name] = shapes[i]
	}
	return opts
}

// fixedShapes returns the input shapes g and opts fix, and whether all of
// them are fully known.
func fixedShapes(g *ir.Graph, opts CompileOptions) ([]ir.Shape, bool) {
	shapes := make([]ir.Shape, len(g.Inputs))
	for i, v := range g.Inputs {
		s := v.Type.Shape.Clone()
		if o, ok := opts.InputShapes[v.Name]; ok {
			s = o
		} else if opts.Batch > 0 && len(s) > 0 && s[0] < 0 {
			s[0] = opts.Batch
		}
		if !s.Known() {
			return nil, false
		}
		shapes[i] = s
	}
	return shapes, true
}

// FromPlan makes a Model of a plan already made (by CompilePlan or
// codegen.Decode). Its input shapes are the plan's. It fails when the plan
// does not bind: a kernel whose parameters disagree with its operands.
func FromPlan(p *codegen.Plan) (*Model, error) {
	m := &Model{fixed: p}
	if err := m.check(p); err != nil {
		return nil, err
	}
	return m, nil
}

// check binds p once to a throw-away arena, so that a bad plan fails when
// it is loaded rather than when a Session is made.
func (m *Model) check(p *codegen.Plan) error {
	b, err := bindPlan(p)
	if err != nil {
		return err
	}
	b.release()
	return nil
}

// Plan returns the model's plan, or nil for a model compiled from a graph
// whose input shapes are not fixed (it has one plan per shape seen).
func (m *Model) Plan() *codegen.Plan { return m.fixed }

// Inputs returns the graph inputs' names, dtypes and shapes (the plan's
// when fixed, else the graph's, with unknown dimensions negative).
func (m *Model) Inputs() []ir.Value {
	if m.fixed != nil {
		vs := make([]ir.Value, len(m.fixed.Inputs))
		for i, o := range m.fixed.Inputs {
			vs[i] = ir.Value{Name: o.Name, Type: ir.Type{DType: o.DType, Shape: o.Shape.Clone()}}
		}
		return vs
	}
	vs := make([]ir.Value, len(m.graph.Inputs))
	for i, v := range m.graph.Inputs {
		vs[i] = ir.Value{Name: v.Name, Type: ir.Type{DType: v.Type.DType, Shape: v.Type.Shape.Clone()}}
	}
	return vs
}

// planFor returns the plan for inputs (already checked against the graph's
// inputs), making it on first use.
func (m *Model) planFor(inputs []*ir.Tensor) (*planned, error) {
	shapes := make([]ir.Shape, len(inputs))
	for i, t := range inputs {
		shapes[i] = t.Shape.Clone()
	}
	if m.graph == nil {
		return nil, ir.Invalidf("input shapes %v differ from the plan's %v, and a loaded plan cannot be re-planned", shapes, planShapes(m.fixed))
	}
	var values []*ir.Tensor
	var key strings.Builder
	for i, v := range m.graph.Inputs {
		fmt.Fprint(&key, shapes[i], ";")
		if specialized(v) {
			if values == nil {
				values = make([]*ir.Tensor, len(inputs))
			}
			values[i] = cloneTensor(inputs[i])
			fmt.Fprint(&key, values[i].I64, values[i].I32, values[i].Bool, ";")
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if p, ok := m.plans[key.String()]; ok {
		return p, nil
	}
	g := m.graph
	if values != nil {
		// Make the specialized inputs constants of a copy of the graph.
		g = g.Clone()
		kept := g.Inputs[:0]
		for i, v := range g.Inputs {
			if values[i] != nil {
				v.Const = values[i]
				v.Type = values[i].Type()
				continue
			}
			kept = append(kept, v)
		}
		g.Inputs = kept
		if err := g.InferTypes(); err != nil {
			return nil, err
		}
	}
	var kept []ir.Shape
	for i := range shapes {
		if values == nil || values[i] == nil {
			kept = append(kept, shapes[i])
		}
	}
	p, err := CompilePlan(g, withShapes(g, m.opts, kept))
	if err != nil {
		return nil, err
	}
	if err := m.check(p); err != nil {
		return nil, err
	}
	pl := &planned{plan: p, shapes: shapes, values: values}
	m.plans[key.String()] = pl
	return pl, nil
}

// cloneTensor returns a deep copy of t.
func cloneTensor(t *ir.Tensor) *ir.Tensor {
	return &ir.Tensor{DType: t.DType, Shape: t.Shape.Clone(), F32: append([]float32(nil), t.F32...),
		I64: append([]int64(nil), t.I64...), I32: append([]int32(nil), t.I32...), Bool: append([]bool(nil), t.Bool...)}
}

// planShapes lists a plan's input shapes.
func planShapes(p *codegen.Plan) []ir.Shape {
	s := make([]ir.Shape, len(p.Inputs))
	for i, o := range p.Inputs {
		s[i] = o.Shape
	}
	return s
}

// Close releases the mapped file of a loaded model. Sessions of the model
// must not run after it.
func (m *Model) Close() error {
	if m.unmap == nil {
		return nil
	}
	err := m.unmap()
	m.unmap = nil
	return err
}

// Write writes the model's plan as a .cnnc file; the model's input shapes
// must be fixed.
func (m *Model) Write(w io.Writer) error {
	if m.fixed == nil {
		return ir.Invalidf("the model's input shapes are not fixed: compile with a batch size or input shapes to write a plan")
	}
	return codegen.Encode(w, m.fixed)
}
