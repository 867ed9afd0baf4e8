// Package passes is cnnc's graph optimizer: an ordered table of passes that
// turns an imported or built ir.Graph into the graph the code generator
// lowers, with fixed shapes, weights folded, ops fused and an algorithm
// chosen for every convolution.
//
// The pipeline follows the Go compiler's SSA backend
// (cmd/compile/internal/ssa/compile.go): one table, passes, lists the passes
// in the order they run, each marked required or not; a second table,
// passOrder, states which pass must run before which and why, and is checked
// when the package starts. Options can verify the graph after every pass,
// dump it after one, log each pass's timing and what it changed, and
// disable the passes that are not required.
//
// Passes never write into anything the input graph holds: Run works on a
// clone (ir.Graph.Clone), and a pass that changes a weight or an op makes a
// new one.
package passes

import (
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/cnnc/cnnc/ir"
)

// Options controls a Run. The zero value runs every pass, without checks or
// output.
type Options struct {
	// InputShapes gives concrete shapes for graph inputs by name,
	// overriding the declared ones. A given shape must have the declared
	// rank, agree with every declared known dimension, and be fully known.
	InputShapes map[string]ir.Shape
	// Batch, when > 0, sets dimension 0 of every input whose declared
	// dimension 0 is unknown or named (symbolic), unless InputShapes gives
	// that input.
	Batch int
	// Verify runs ir.Verify on the input graph and after every pass; a
	// failure names the pass that broke the graph (tests always set it).
	Verify bool
	// DumpAfter names a pass after which ir.Print of the graph is written
	// to Dump (which must then be non-nil).
	DumpAfter string
	Dump      io.Writer
	// Log, when non-nil, receives one line per pass run: its name, what it
	// changed and how long it took ("foldbn: 20 batch norms folded
	// (1.2ms)"), followed by the pass's indented detail lines, if any (the
	// algo pass's per-convolution table).
	Log io.Writer
	// Disable names passes to skip; naming a required pass or a pass that
	// does not exist is an error.
	Disable []string
	// Algo, when non-nil, overrides the algo pass's choice for each
	// convolution: it gets the node and the cost of every candidate the
	// pass may choose (valid for the geometry and in Algos) and returns one
	// of them, or ir.AlgoAuto to keep the cost model's pick. Tests use it
	// to force each algorithm.
	Algo func(n *ir.Node, costs []AlgoCost) ir.ConvAlgo
	// Algos lists the convolution algorithms the runtime implements; the
	// algo pass never picks another. Nil means all of them.
	Algos []ir.ConvAlgo
	// ISA is the instruction-set level the plan's kernels will run at, as
	// runtime/kernels.ISA names it ("generic", "avx2", "avx512"); the cost
	// model rates AlgoOCBlock, which has assembly for avx512 only, by it.
	// Empty means avx2.
	ISA string
}

// pass is one entry of the pass table.
type pass struct {
	name string
	fn   func(*unit) error
	// required passes cannot be disabled: later passes or the code
	// generator depend on what they establish.
	required bool
}

// passes lists the passes in the order they run. Each lives in its own
// file, named after it.
var passes = [...]pass{
	{name: "shapes", fn: shapes, required: true},       // fix input shapes, re-infer every type
	{name: "constfold", fn: constfold, required: true}, // evaluate what depends on constants and known shapes only
	{name: "simplify", fn: simplify},                   // drop identities (Identity, Dropout, same-shape Reshape, ...), dead nodes
	{name: "foldbn", fn: foldbn},                       // fold batch norms and per-channel Mul/Add into convs and Gemms
	{name: "fuse", fn: fuse},                           // Conv -> FusedConv, Gemm -> FusedGemm, absorb residual adds and activations
	{name: "algo", fn: algo, required: true},           // choose each convolution's algorithm by a cost model
	{name: "dce", fn: dce, required: true},             // final dead-node removal; every shape must be known
}

// constraint says pass a must run before pass b.
type constraint struct {
	a, b string
}

// passOrder documents the ordering requirements between passes; it does
// not change the order of the table, it checks it (at start-up and in a
// test).
var passOrder = [...]constraint{
	// Folding a Shape node needs its input's shape, which needs the input
	// shapes fixed and propagated.
	{"shapes", "constfold"},
	// A Reshape's target shape is only seen to equal its input's once its
	// shape input is a constant.
	{"constfold", "simplify"},
	// foldbn needs the weights, batch-norm statistics and Caffe2-style
	// Unsqueeze'd scales as constants; some models compute them
	// (ConstantOfShape, Unsqueeze).
	{"constfold", "foldbn"},
	// An Identity or Dropout between a Conv and its BatchNormalization
	// hides the pattern foldbn looks for.
	{"simplify", "foldbn"},
	// A batch norm must be folded into its Conv while the Conv's output
	// still goes to it alone, before fuse gives the Conv an activation or a
	// residual; foldbn also makes the ChannelAffine nodes fuse gives a ReLU.
	{"foldbn", "fuse"},
	// Likewise an Identity between an Add and its Relu hides the fusion.
	{"simplify", "fuse"},
	// algo sets FusedConv.Algo, so the convolutions must be FusedConv.
	{"fuse", "algo"},
	// dce checks the final graph: it comes after every rewrite.
	{"fuse", "dce"},
	{"algo", "dce"},
}

func init() {
	if err := checkOrder(passes[:], passOrder[:]); err != nil {
		panic("passes: " + err.Error()) // a programming error in the tables
	}
}

// checkOrder reports a malformed pass table: a duplicate or empty name, a
// pass without a function, or a passOrder pair naming a missing pass or
// listed out of order.
func checkOrder(table []pass, order []constraint) error {
	index := map[string]int{}
	for i, p := range table {
		if p.name == "" || p.fn == nil {
			return fmt.Errorf("pass %d (%q) has no name or no function", i, p.name)
		}
		if _, dup := index[p.name]; dup {
			return fmt.Errorf("pass %q is listed twice", p.name)
		}
		index[p.name] = i
	}
	for _, c := range order {
		i, okA := index[c.a]
		j, okB := index[c.b]
		switch {
		case !okA:
			return fmt.Errorf("passOrder names pass %q, which is not in the table", c.a)
		case !okB:
			return fmt.Errorf("passOrder names pass %q, which is not in the table", c.b)
		case i >= j:
			return fmt.Errorf("pass %q must run before %q, but the table has it at %d and %q at %d", c.a, c.b, i, c.b, j)
		}
	}
	return nil
}

// Names returns the names of the passes in the order they run.
func Names() []string {
	names := make([]string, len(passes))
	for i, p := range passes {
		names[i] = p.name
	}
	return names
}

// Run returns an optimized copy of g: g itself is not modified, and the
// result shares only constant tensors with it (read-only). Every value of
// the result has a fully known shape, and every FusedConv with known
// shapes has its Algo set (within Options.Algos). With every pass enabled,
// no BatchNormalization with constant statistics is left and every 1-D and
// 2-D convolution is an ir.FusedConv. Errors are *ir.Error naming the node
// and, in the message, the pass.
func Run(g *ir.Graph, opts Options) (*ir.Graph, error) {
	return run(g, opts, passes[:])
}

// run is Run over a given pass table (tests inject passes).
func run(g *ir.Graph, opts Options, table []pass) (*ir.Graph, error) {
	if g == nil {
		return nil, ir.Invalidf("passes: nil graph")
	}
	disabled, err := checkOptions(opts, table)
	if err != nil {
		return nil, err
	}
	c := g.Clone()
	if opts.Verify {
		if err := ir.Verify(c); err != nil {
			return nil, ir.Prefix(err, "input graph")
		}
	}
	for _, p := range table {
		if disabled[p.name] {
			continue
		}
		u := &unit{g: c, opts: &opts, pass: p.name}
		start := time.Now()
		err := runPass(p, u)
		dur := time.Since(start)
		if err != nil {
			return nil, ir.Prefix(err, "pass %s", p.name)
		}
		u.compact()
		if opts.Log != nil {
			u.writeLog(opts.Log, dur)
		}
		if opts.Verify {
			if err := ir.Verify(c); err != nil {
				return nil, ir.Prefix(err, "internal error: pass %s left an invalid graph", p.name)
			}
		}
		if p.name == opts.DumpAfter {
			if _, err := io.WriteString(opts.Dump, ir.Print(c)); err != nil {
				return nil, ir.Prefix(err, "dump after pass %s", p.name)
			}
		}
	}
	return c, nil
}

// runPass runs one pass, turning a panic (a compiler bug) into an error so
// that a library caller's process survives it.
func runPass(p pass, u *unit) (err error) {
	defer func() {
		if r := recover(); r != nil {
			stack := strings.Split(string(debug.Stack()), "\n")
			err = ir.Invalidf("internal error: panic: %v\n%s", r, strings.Join(stack[:min(len(stack), 24)], "\n"))
		}
	}()
	return p.fn(u)
}

// checkOptions validates the options against the table and returns the
// set of disabled passes.
func checkOptions(opts Options, table []pass) (map[string]bool, error) {
	byName := map[string]pass{}
	var names []string
	for _, p := range table {
		byName[p.name] = p
		names = append(names, p.name)
	}
	known := strings.Join(names, ", ")
	disabled := map[string]bool{}
	for _, name := range opts.Disable {
		p, ok := byName[name]
		switch {
		case !ok:
			return nil, ir.Invalidf("passes: cannot disable pass %q: no such pass (passes: %s)", name, known)
		case p.required:
			return nil, ir.Invalidf("passes: cannot disable pass %q: it is required", name)
		}
		disabled[name] = true
	}
	if opts.DumpAfter != "" {
		switch _, ok := byName[opts.DumpAfter]; {
		case !ok:
			return nil, ir.Invalidf("passes: cannot dump after pass %q: no such pass (passes: %s)", opts.DumpAfter, known)
		case disabled[opts.DumpAfter]:
			return nil, ir.Invalidf("passes: cannot dump after pass %q: it is disabled", opts.DumpAfter)
		case opts.Dump == nil:
			return nil, ir.Invalidf("passes: DumpAfter is %q but Dump is nil", opts.DumpAfter)
		}
	}
	if opts.Batch < 0 {
		return nil, ir.Invalidf("passes: batch size %d, want > 0 (or 0 to keep the declared one)", opts.Batch)
	}
	for _, a := range opts.Algos {
		if a == ir.AlgoAuto || !slices.Contains(allAlgos[:], a) {
			return nil, ir.Invalidf("passes: Algos lists %v, want a concrete algorithm (%v)", a, allAlgos)
		}
	}
	return disabled, nil
}
