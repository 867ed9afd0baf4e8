package main

import (
	"bufio"
	"flag"
	"fmt"
	"go/token"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/cnnc/cnnc/codegen"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/passes"
	"github.com/cnnc/cnnc/runtime"
)

var compileCommand = &command{
	name:  "compile",
	args:  "MODEL [-o OUT.cnnc] [-v] [--dump-after PASS] [--batch N] [--go DIR [--pkg NAME]] [--algo NAME | --tune [--threads N]]",
	short: "compile a model to a .cnnc plan file or a Go package",
	long: `Compile optimizes MODEL with the pass pipeline, plans its memory and lowers it
to a plan: the ordered kernel calls of one inference, with the weights packed
for the kernels that read them. The plan is written to OUT.cnnc ("cnnc run"
and "cnnc bench" run it, "cnnc summary" lists it, runtime.Load loads it); by
default OUT is MODEL's base name with the extension .cnnc, in the current
directory (NAME.cnnc for zoo:NAME).

` + modelHelp + `

A plan is made for fixed input shapes. --batch N sets the batch size (the
leading dimension of every input); by default it is the model's own when
fixed, else 1. A zoo model is built for batch N; an ONNX model whose batch
size is fixed cannot be given another.

With --go DIR the plan is written instead as a Go package in DIR (created if
missing) that embeds it; --pkg names the package (default: DIR's base name).
Give -o as well to write both.

-v prints what each pass did and how long it took, then the compile time and
the output, and ends with the memory line

	memory: arena=N no_sharing=N lower_bound=N

in bytes: the activation arena the plan uses, the total size of its
activations without any memory sharing, and the largest size of the
activations live at any one step, which no placement can go below.

--dump-after PASS prints the graph after the named pass; --verify checks the
graph after every pass (slower). --algo NAME makes every convolution use
the algorithm NAME (direct, gemm1x1, im2col, depthwise, winograd2,
winograd4, ocblock) wherever that algorithm applies; the others keep the cost
model's choice.

--tune picks each convolution's algorithm by measuring instead of by the
static cost model: for every distinct convolution shape it runs that
convolution alone with each candidate algorithm on this machine, on
--threads N workers (default: all cores), alternating them for 7 rounds,
and keeps the fastest median. It prints one line per shape with every
candidate's time, the pick and the cost model's pick. The plan records the
picks, so tune on the machine (and at the thread count) the plan will run
on.`,
	setup: func(fs *flag.FlagSet) func(*env, []string) int {
		var o compileOptions
		fs.StringVar(&o.out, "o", "", "write the plan to `OUT.cnnc`")
		fs.BoolVar(&o.verbose, "v", false, "print the pass log, the compile time and the memory line")
		fs.StringVar(&o.dumpAfter, "dump-after", "", "print the graph after the pass named `PASS`")
		fs.BoolVar(&o.verify, "verify", false, "verify the graph after every pass")
		fs.IntVar(&o.batch, "batch", 0, "compile for batch size `N` (default: the model's, else 1)")
		fs.StringVar(&o.goDir, "go", "", "write the plan as a Go package in `DIR`")
		fs.StringVar(&o.pkg, "pkg", "", "name the Go package `NAME` (default: DIR's base name)")
		fs.StringVar(&o.algo, "algo", "", "use the convolution algorithm `NAME` wherever it applies")
		fs.StringVar(&o.weights, "weights", "", "take a zoo model's weights from `FILE.onnx`")
		fs.BoolVar(&o.tune, "tune", false, "pick convolution algorithms by timing them on this machine")
		fs.IntVar(&o.threads, "threads", 0, "with --tune, time on `N` workers (default: all cores)")
		return o.run
	},
}

type compileOptions struct {
	out       string
	verbose   bool
	dumpAfter string
	verify    bool
	batch     int
	goDir     string
	pkg       string
	algo      string
	weights   string
	tune      bool
	threads   int
}

func (o *compileOptions) run(e *env, pos []string) int {
	if len(pos) != 1 {
		return e.usage("want one MODEL, got %d arguments", len(pos))
	}
	arg := pos[0]
	if isPlanFile(arg) {
		return e.usage("%s is already compiled; MODEL must be an ONNX file or zoo:NAME", arg)
	}
	if o.batch < 0 || o.batch > ir.MaxElements {
		return e.usage("--batch %d is out of range", o.batch)
	}
	if o.dumpAfter != "" && !isPass(o.dumpAfter) {
		return e.usage("--dump-after %s: no such pass; the passes are %s", o.dumpAfter, strings.Join(passes.Names(), ", "))
	}
	var force ir.ConvAlgo
	if o.algo != "" {
		a, ok := ir.ParseConvAlgo(o.algo)
		if !ok {
			return e.usage("--algo %s: no such algorithm; want one of %s", o.algo, strings.Join(algoNames(), ", "))
		}
		force = a
	}
	if o.pkg != "" && o.goDir == "" {
		return e.usage("--pkg needs --go DIR")
	}
	if o.tune && o.algo != "" {
		return e.usage("--tune and --algo both choose the algorithms; give one")
	}
	if o.threads != 0 && !o.tune {
		return e.usage("--threads needs --tune")
	}
	if o.threads < 0 || o.threads > 1024 {
		return e.usage("--threads %d: want 0 to 1024", o.threads)
	}
	pkg := o.pkg
	if o.goDir != "" && pkg == "" {
		pkg = filepath.Base(filepath.Clean(o.goDir))
	}
	if o.goDir != "" && (!token.IsIdentifier(pkg) || pkg == "main") {
		return e.usage("Go package name %q is not a valid identifier for a library package; give --pkg NAME", pkg)
	}
	out := o.out
	if out == "" && o.goDir == "" {
		out = defaultPlanPath(arg)
	}

	start := time.Now()
	g, err := loadModelBatch(arg, o.weights, o.batch)
	if err != nil {
		return e.fail(err)
	}
	batch, fixed, err := compileBatch(g, o.batch)
	if err != nil {
		return e.fail(err)
	}
	loaded := time.Now()
	var log io.Writer
	if o.verbose {
		log = e.stdout
		switch {
		case o.batch > 0:
			fmt.Fprintf(log, "batch: %d\n", batch)
		case fixed:
			fmt.Fprintf(log, "batch: %d (the model's)\n", batch)
		default:
			fmt.Fprintf(log, "batch: 1 (the model leaves it open; --batch N sets it)\n")
		}
	}
	popts := passes.Options{
		Log:       log,
		DumpAfter: o.dumpAfter,
		Dump:      e.stdout,
		Verify:    o.verify,
	}
	if o.algo != "" {
		popts.Algo = forceAlgo(force)
	}
	var tuner *runtime.Tuner
	if o.tune {
		tuner = &runtime.Tuner{Threads: o.threads, Log: e.stdout}
		if tuner.Threads == 0 {
			tuner.Threads = goruntime.GOMAXPROCS(0)
		}
		popts.Algo = tuner.Algo
	}
	plan, err := runtime.CompilePlan(g, runtime.CompileOptions{Batch: batch, Passes: popts})
	if err != nil {
		return e.fail(fmt.Errorf("%s: %w", arg, err))
	}
	compiled := time.Since(loaded)
	if tuner != nil {
		fmt.Fprintln(e.stdout, tuneSummary(tuner.Results(), tuner.Threads))
	}

	var wrote []string
	if out != "" {
		if err := writePlan(out, plan); err != nil {
			return e.fail(err)
		}
		wrote = append(wrote, out)
	}
	if o.goDir != "" {
		if err := codegen.EmitGo(o.goDir, pkg, plan); err != nil {
			return e.fail(fmt.Errorf("--go %s: %w", o.goDir, err))
		}
		wrote = append(wrote, fmt.Sprintf("%s (package %s)", o.goDir, pkg))
	}
	if o.verbose {
		fmt.Fprintf(e.stdout, "compiled %s in %v (loading it took %v): %d steps, %s of weights; wrote %s\n",
			arg, compiled.Round(time.Microsecond), loaded.Sub(start).Round(time.Microsecond),
			len(plan.Steps), human(int64(len(plan.Weights)), 1024, "B"), strings.Join(wrote, " and "))
		fmt.Fprintln(e.stdout, memoryLine(plan.Memory))
	}
	return exitOK
}

// memoryLine formats a plan's memory statistics as the line "compile -v"
// ends with.
func memoryLine(m codegen.MemoryStats) string {
	return fmt.Sprintf("memory: arena=%d no_sharing=%d lower_bound=%d", m.Arena, m.NoSharing, m.LowerBound)
}

// isPass reports whether name names a pass of the pipeline.
func isPass(name string) bool {
	for _, p := range passes.Names() {
		if p == name {
			return true
		}
	}
	return false
}

// algoNames lists the algorithms --algo accepts: every ir.ConvAlgo but
// auto.
func algoNames() []string {
	var names []string
	for a := ir.AlgoAuto + 1; ; a++ {
		s := a.String()
		if _, ok := ir.ParseConvAlgo(s); !ok {
			return names
		}
		names = append(names, s)
	}
}

// forceAlgo returns the passes' algorithm override that picks a wherever
// it is a candidate and keeps the cost model's pick elsewhere.
func forceAlgo(a ir.ConvAlgo) func(*ir.Node, []passes.AlgoCost) ir.ConvAlgo {
	return func(_ *ir.Node, costs []passes.AlgoCost) ir.ConvAlgo {
		for _, c := range costs {
			if c.Algo == a {
				return a
			}
		}
		return ir.AlgoAuto
	}
}

// defaultPlanPath returns the plan file compile writes for MODEL when -o
// is not given: MODEL's base name with the extension .cnnc, in the current
// directory.
func defaultPlanPath(arg string) string {
	if name, ok := strings.CutPrefix(arg, "zoo:"); ok {
		return name + ".cnnc"
	}
	base := filepath.Base(arg)
	return strings.TrimSuffix(base, filepath.Ext(base)) + ".cnnc"
}

// writePlan writes p to path through a temporary file in the same folder,
// so that a failed write leaves no partial plan behind.
func writePlan(path string, p *codegen.Plan) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = codegen.Encode(w, p)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// tuneSummary is the line ending --tune's table: how many shapes were
// timed and where the measurement overruled the cost model.
func tuneSummary(rs []runtime.TuneResult, threads int) string {
	convs, differ := 0, 0
	for _, r := range rs {
		convs += len(r.Nodes)
		if r.Pick != r.Model {
			differ += len(r.Nodes)
		}
	}
	return fmt.Sprintf("tuned %d convolutions (%d shapes) on %d threads: %d differ from the cost model's pick", convs, len(rs), threads, differ)
}
