package runtime

import (
	"context"
	goruntime "runtime"
	"time"

	"github.com/cnnc/cnnc/codegen"

	"github.com/cnnc/cnnc/ir"
)

// SessionOptions configure a Session.
type SessionOptions struct {
	// Threads is the number of worker threads, including the one calling
	// Run; 0 means GOMAXPROCS.
	Threads int
	// Profile makes Run time every step; Profile reports the totals.
	// It costs two clock reads per step.
	Profile bool
}

// Session runs a Model. It owns an arena, scratch space and a pool of
// worker goroutines; Close stops them. A Session is not safe for
// concurrent use: give each goroutine its own.
type Session struct {
	model   *Model
	threads int
	pool    *pool
	closed  bool
	profile bool

	// Per step of the bound plan when profiling: total time and runs.
	stepTime []time.Duration
	runs     int

	// The bound plan and what it was made for.
	b      *binding
	shapes []ir.Shape   // per graph input
	values []*ir.Tensor // per graph input: the value a specialized input had, else nil
	slot   []int        // per graph input: its index in the plan's inputs, -1 if specialized
}

// NewSession returns a session running m with opts.
func (m *Model) NewSession(opts SessionOptions) (*Session, error) {
	threads := opts.Threads
	if threads <= 0 {
		threads = goruntime.GOMAXPROCS(0)
	}
	if threads > 1024 {
		return nil, ir.Invalidf("%d threads: want at most 1024", threads)
	}
	s := &Session{model: m, threads: threads, profile: opts.Profile}
	if m.fixed != nil {
		if err := s.bind(&planned{plan: m.fixed, shapes: planShapes(m.fixed)}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// bind makes p the session's plan.
func (s *Session) bind(p *planned) error {
	b, err := bindPlan(p.plan)
	if err != nil {
		return err
	}
	if s.pool != nil && s.pool.scratchLen() < b.scratch {
		s.pool.close()
		s.pool = nil
	}
	if s.pool == nil {
		s.pool = newPool(s.threads, b.scratch)
	}
	s.b, s.shapes, s.values = b, p.shapes, p.values
	s.stepTime, s.runs = nil, 0
	if s.profile {
		s.stepTime = make([]time.Duration, len(b.steps))
	}
	s.slot = make([]int, len(p.shapes))
	next := 0
	for i := range s.slot {
		if p.values != nil && p.values[i] != nil {
			s.slot[i] = -1
			continue
		}
		s.slot[i] = next
		next++
	}
	return nil
}

// Run runs the model on inputs, one per graph input in order, and returns
// the outputs in order. The outputs are views of the session's memory,
// valid until the next Run or Close; copy them to keep them. Run checks
// ctx between steps and returns ctx.Err() when it is done. With the same
// input shapes as the previous Run, Run allocates nothing; new shapes
// re-plan a model compiled from a graph (once per shape, cached in the
// Model) and are an error for a loaded plan.
func (s *Session) Run(ctx context.Context, inputs ...*ir.Tensor) ([]*ir.Tensor, error) {
	if s.closed {
		return nil, ir.Invalidf("session is closed")
	}
	if !s.matches(inputs) {
		if err := s.replan(inputs); err != nil {
			return nil, err
		}
	}
	b := s.b
	for i, t := range inputs {
		if j := s.slot[i]; j >= 0 {
			copyTensor(b.inputs[j], t)
		}
	}
	done := ctx.Done()
	for i := range b.steps {
		if done != nil {
			select {
			case <-done:
				return nil, ctx.Err()
			default:
			}
		}
		st := &b.steps[i]
		if s.stepTime != nil {
			t := time.Now()
			s.pool.run(st.task)
			s.stepTime[i] += time.Since(t)
		} else {
			s.pool.run(st.task)
		}
		if st.err != nil {
			if err := st.err.Err(); err != nil {
				return nil, ir.AtNode(err, st.step.Node, st.step.Op)
			}
		}
	}
	s.runs++
	return b.outputs, nil
}

// ResetProfile zeroes the step times Profile reports.
func (s *Session) ResetProfile() {
	clear(s.stepTime)
	s.runs = 0
}

// StepTime is the time one step of a plan took over a session's runs.
type StepTime struct {
	// Step is the plan's step.
	Step *codegen.Step
	// Total is its time summed over Runs runs.
	Total time.Duration
	// Runs counts the completed runs.
	Runs int
}

// Profile returns the time each step of the bound plan took, in plan
// order, summed over the runs since the plan was bound (a new input shape
// binds another plan and starts again). It is nil unless the session was
// made with SessionOptions.Profile.
func (s *Session) Profile() []StepTime {
	if s.stepTime == nil {
		return nil
	}
	out := make([]StepTime, len(s.stepTime))
	for i, d := range s.stepTime {
		out[i] = StepTime{Step: s.b.steps[i].step, Total: d, Runs: s.runs}
	}
	return out
}

// matches reports whether inputs fit the bound plan exactly: dtypes,
// shapes, data lengths, and the values of specialized inputs.
func (s *Session) matches(inputs []*ir.Tensor) bool {
	if s.b == nil || len(inputs) != len(s.shapes) {
		return false
	}
	for i, t := range inputs {
		if t == nil || !t.Shape.Equal(s.shapes[i]) || t.Len() != t.Shape.NumElements() {
			return false
		}
		if s.values != nil && s.values[i] != nil {
			v := s.values[i]
			if !sameValue(t, v) {
				return false
			}
		} else if t.DType != s.b.inputs[s.slot[i]].DType {
			return false
		}
	}
	return true
}

// replan checks inputs against the model's inputs and binds the plan for
// their shapes (and specialized values).
func (s *Session) replan(inputs []*ir.Tensor) error {
	want := s.model.Inputs()
	if len(inputs) != len(want) {
		return ir.Invalidf("got %d inputs, want %d", len(inputs), len(want))
	}
	for i, t := range inputs {
		name := want[i].Name
		switch {
		case t == nil:
			return ir.Invalidf("input %d %q is nil", i, name)
		case t.DType != want[i].Type.DType:
			return ir.Invalidf("input %d %q: got element type %v, want %v", i, name, t.DType, want[i].Type.DType)
		case !agrees(t.Shape, want[i].Type.Shape):
			return ir.Invalidf("input %d %q: got shape %v, want %v", i, name, t.Shape, want[i].Type.Shape)
		case t.Len() != t.Shape.NumElements():
			return ir.Invalidf("input %d %q: shape %v holds %d elements, data has %d", i, name, t.Shape, t.Shape.NumElements(), t.Len())
		}
	}
	p, err := s.model.planFor(inputs)
	if err != nil {
		return err
	}
	return s.bind(p)
}

// agrees reports whether the concrete shape s fits the declared shape d
// (unknown dimensions negative; a nil d fits anything).
func agrees(s, d ir.Shape) bool {
	if d == nil {
		return true
	}
	if len(s) != len(d) {
		return false
	}
	for i := range s {
		if d[i] >= 0 && d[i] != s[i] {
			return false
		}
	}
	return true
}

// sameValue reports whether a and b hold the same elements (b's dtype and
// shape already match a's).
func sameValue(a, b *ir.Tensor) bool {
	if a.DType != b.DType || a.Len() != b.Len() {
		return false
	}
	switch a.DType {
	case ir.Int64:
		for i, v := range a.I64 {
			if b.I64[i] != v {
				return false
			}
		}
	case ir.Int32:
		for i, v := range a.I32 {
			if b.I32[i] != v {
				return false
			}
		}
	case ir.Bool:
		for i, v := range a.Bool {
			if b.Bool[i] != v {
				return false
			}
		}
	default:
		return false
	}
	return true
}

// copyTensor copies src's elements into dst of the same dtype and length.
func copyTensor(dst, src *ir.Tensor) {
	copy(dst.F32, src.F32)
	copy(dst.I64, src.I64)
	copy(dst.I32, src.I32)
	copy(dst.Bool, src.Bool)
}

// Close stops the session's workers and drops its memory.
func (s *Session) Close() {
	if s.pool != nil {
		s.pool.close()
		s.pool = nil
	}
	s.b = nil
	s.closed = true
}

// Threads returns the number of threads the session runs with.
func (s *Session) Threads() int { return s.threads }
