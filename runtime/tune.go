package runtime

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/passes"
)

// Tuner picks each convolution's algorithm by timing the candidates on this
// machine. Its Algo method is a passes.Options.Algo: for each convolution
// shape it has not met, it compiles a graph of that one convolution (same
// shapes, attributes, activation, bias and residual; random weights) once
// per candidate the cost model offers, runs each on Threads workers,
// alternating the candidates for Runs rounds, and picks the lowest median
// time of the convolution's step (the session's copy of the inputs is not
// counted).
// A shape met again reuses the result. The static cost model stays the
// default; a Tuner is used only where asked for (cnnc compile --tune).
// A Tuner is safe for concurrent use.
type Tuner struct {
	// Threads is the number of workers to time with (0: 1).
	Threads int
	// Runs is the number of timed rounds (0: 7); each round runs every
	// candidate once, after one untimed warm-up round.
	Runs int
	// Log, when set, gets one line per shape measured: every candidate's
	// median and the pick.
	Log io.Writer

	mu      sync.Mutex
	results map[string]*TuneResult
	order   []string
}

// TuneResult is the measurement of one convolution shape.
type TuneResult struct {
	// Shape describes the convolution: input and weight shapes,
	// attributes, activation, bias and residual.
	Shape string
	// Nodes are the graph nodes of this shape the tuner was asked about.
	Nodes []string
	// Times are the candidates' median run times, fastest first.
	Times []AlgoTime
	// Pick is the fastest candidate; Model is the one the static cost
	// model would pick.
	Pick, Model ir.ConvAlgo
	// Err is why the shape could not be measured (Pick is then Model).
	Err error
}

// AlgoTime is one candidate's measured median time.
type AlgoTime struct {
	Algo ir.ConvAlgo
	Time time.Duration
}

// Results returns the shapes measured so far, in the order first met.
func (t *Tuner) Results() []TuneResult {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]TuneResult, len(t.order))
	for i, k := range t.order {
		out[i] = *t.results[k]
		out[i].Nodes = slices.Clone(out[i].Nodes)
	}
	return out
}

// Algo implements passes.Options.Algo: the fastest of costs' candidates
// for n, measured (or the cost model's pick, when n cannot be measured).
func (t *Tuner) Algo(n *ir.Node, costs []passes.AlgoCost) ir.ConvAlgo {
	model := costs[0]
	for _, c := range costs[1:] {
		if c.Cost < model.Cost {
			model = c
		}
	}
	fc, ok := n.Op.(*ir.FusedConv)
	if !ok || len(costs) == 1 {
		return model.Algo
	}
	key := tuneKey(n, fc)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.results == nil {
		t.results = map[string]*TuneResult{}
	}
	if r, ok := t.results[key]; ok {
		r.Nodes = append(r.Nodes, n.Name)
		return r.Pick
	}
	r := &TuneResult{Shape: key, Nodes: []string{n.Name}, Pick: model.Algo, Model: model.Algo}
	r.Times, r.Err = t.measure(n, fc, costs)
	if r.Err == nil && len(r.Times) > 0 {
		r.Pick = r.Times[0].Algo
	}
	t.results[key] = r
	t.order = append(t.order, key)
	if t.Log != nil {
		fmt.Fprintln(t.Log, r.line())
	}
	return r.Pick
}

// line formats r for the log: "shape: algo 1.2ms, ... -> pick (model: algo)".
func (r *TuneResult) line() string {
	if r.Err != nil {
		return fmt.Sprintf("tune %s: %v; keeping the cost model's %v", r.Shape, r.Err, r.Model)
	}
	parts := make([]string, len(r.Times))
	for i, at := range r.Times {
		parts[i] = fmt.Sprintf("%v %v", at.Algo, at.Time.Round(time.Microsecond))
	}
	return fmt.Sprintf("tune %s: %s -> %v (cost model: %v)", r.Shape, strings.Join(parts, ", "), r.Pick, r.Model)
}

// tuneKey describes a convolution node's shape: everything its run time
// depends on.
func tuneKey(n *ir.Node, fc *ir.FusedConv) string {
	c := fc.Conv
	s := fmt.Sprintf("x%v w%v k%v s%v d%v p%v g%d", n.Inputs[0].Type.Shape, n.Inputs[1].Type.Shape,
		c.Kernel, c.Strides, c.Dilations, c.Pads, c.Group)
	if fc.Act.Kind != ir.ActNone {
		s += " " + fc.Act.Kind.String()
	}
	if len(n.Inputs) > 2 && n.Inputs[2] != nil {
		s += " +bias"
	}
	if len(n.Inputs) > 3 && n.Inputs[3] != nil {
		s += " +residual"
	}
	return s
}

// measure times every candidate of costs on a graph of n alone and
// returns their medians, fastest first.
func (t *Tuner) measure(n *ir.Node, fc *ir.FusedConv, costs []passes.AlgoCost) ([]AlgoTime, error) {
	g, inputs, err := convAlone(n, fc)
	if err != nil {
		return nil, err
	}
	threads, runs := max(t.Threads, 1), t.Runs
	if runs <= 0 {
		runs = 7
	}
	type cand struct {
		algo  ir.ConvAlgo
		model *Model
		sess  *Session
		times []time.Duration
	}
	var cands []*cand
	defer func() {
		for _, c := range cands {
			c.sess.Close()
			c.model.Close()
		}
	}()
	for _, cost := range costs {
		a := cost.Algo
		m, err := Compile(g, CompileOptions{Passes: passes.Options{
			Algo: func(*ir.Node, []passes.AlgoCost) ir.ConvAlgo { return a },
		}})
		if err != nil {
			return nil, fmt.Errorf("compiling with %v: %w", a, err)
		}
		s, err := m.NewSession(SessionOptions{Threads: threads, Profile: true})
		if err != nil {
			m.Close()
			return nil, err
		}
		cands = append(cands, &cand{algo: a, model: m, sess: s})
	}
	ctx := context.Background()
	// Each run's time is its steps' (the convolution's), not the
	// session's copy of the inputs, which the model's step does not pay
	// and which would dwarf a small layer on a large map.
	for round := 0; round <= runs; round++ {
		for _, c := range cands {
			c.sess.ResetProfile()
			if _, err := c.sess.Run(ctx, inputs...); err != nil {
				return nil, fmt.Errorf("running %v: %w", c.algo, err)
			}
			var d time.Duration
			for _, st := range c.sess.Profile() {
				d += st.Total
			}
			if round > 0 {
				c.times = append(c.times, d)
			}
		}
	}
	out := make([]AlgoTime, len(cands))
	for i, c := range cands {
		slices.Sort(c.times)
		out[i] = AlgoTime{Algo: c.algo, Time: c.times[len(c.times)/2]}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time < out[j].Time })
	return out, nil
}

// convAlone returns a graph computing n alone, from graph inputs X (and Z,
// for a residual) with random weights and bias of n's shapes, and random
// values for its inputs.
func convAlone(n *ir.Node, fc *ir.FusedConv) (*ir.Graph, []*ir.Tensor, error) {
	if len(n.Inputs) < 2 || n.Inputs[0] == nil || n.Inputs[1] == nil || len(n.Outputs) != 1 {
		return nil, nil, ir.Invalidf("not a convolution with X and W")
	}
	xs, ws, ys := n.Inputs[0].Type.Shape, n.Inputs[1].Type.Shape, n.Outputs[0].Type.Shape
	if !xs.Known() || !ws.Known() || !ys.Known() {
		return nil, nil, ir.Invalidf("shapes not known")
	}
	b := ir.NewBuilder("tune", 1)
	x := b.Input("x", xs...)
	fanIn := 1
	for _, d := range ws[1:] {
		fanIn *= d
	}
	ins := []*ir.Value{x, b.Uniform("w", 1/math.Sqrt(float64(max(fanIn, 1))), ws...)}
	values := []*ir.Tensor{randomTensor(xs, 1)}
	hasBias := len(n.Inputs) > 2 && n.Inputs[2] != nil
	hasZ := len(n.Inputs) > 3 && n.Inputs[3] != nil
	if hasBias || hasZ {
		ins = append(ins, b.Uniform("b", 0.1, ws[0]))
	}
	if hasZ {
		ins = append(ins, b.Input("z", ys...))
		values = append(values, randomTensor(ys, 2))
	}
	op := *fc
	op.Algo = ir.AlgoAuto
	b.Output(b.Node1("conv", &op, ins...))
	g, err := b.Graph()
	return g, values, err
}

// randomTensor returns a float32 tensor of shape s, uniform in [-1, 1).
func randomTensor(s ir.Shape, seed uint64) *ir.Tensor {
	t, _ := ir.NewTensor(ir.Float32, s)
	x := seed*0x9e3779b97f4a7c15 + 1
	for i := range t.F32 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		t.F32[i] = float32(x>>40)/float32(1<<23) - 1
	}
	return t
}
