package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime"
	"github.com/cnnc/cnnc/runtime/kernels"
	"github.com/cnnc/cnnc/runtime/reference"
)

var benchCommand = &command{
	name:  "bench",
	args:  "MODEL [--threads N] [--batch N] [--warmup N] [--runs N] [--engine compiled|reference] [--json] [--profile]",
	short: "measure a model's latency, throughput and memory",
	long: `Bench compiles MODEL once, then runs it on a fixed input: --warmup runs that
are not timed, then --runs timed ones, each one Session.Run of a whole batch.
It prints the instruction-set level the kernels run at (generic, avx2 or
avx512: the best the CPU has, unless the environment variable CNNC_ISA names
a lower one), the compile time, the minimum, median and 90th-percentile
latency in milliseconds, the throughput in images per second (batch size
over the median latency), the arithmetic rate in GFLOP/s (2 floating-point
operations per multiply-accumulate of the convolutions and matrix products,
over the median latency) and the process's peak resident memory.

` + modelHelp + `

` + planHelp + ` It runs at the batch size it was compiled for.

Every input is filled with pseudo-random values in [-1, 1) from a fixed
seed, so that runs are repeatable. --batch N sets the batch size as in
"cnnc compile" (default: the model's own when fixed, else 1). --threads N
runs the session with N threads (default: GOMAXPROCS, the number of CPUs
Go uses).

The MACs behind GFLOP/s come from the graph, as "cnnc summary" counts them;
for a .cnnc file, from the plan's conv2d and gemm steps. Peak memory is the
VmHWM of /proc/self/status where there is one (Linux), else the Go runtime's
MemStats.Sys; the output says which.

--engine reference times the reference interpreter instead, to compare
against: it is slow, so its runs default to 3 and its warm-up runs to 1,
and it runs on one thread.

With --json the result is one JSON object on one line with the fields
model, engine, batch, threads, warmup, runs, load_ms, compile_ms, min_ms,
median_ms, p90_ms, images_per_s, macs, macs_source, gflops (null when the
MACs are unknown), peak_rss_bytes and peak_rss_source.`,
	setup: func(fs *flag.FlagSet) func(*env, []string) int {
		o := benchOptions{fs: fs}
		fs.IntVar(&o.threads, "threads", 0, "run with `N` threads (default GOMAXPROCS)")
		fs.IntVar(&o.batch, "batch", 0, "run a batch of `N` images (default: the model's, else 1)")
		fs.IntVar(&o.warmup, "warmup", 3, "untimed warm-up runs `N` (reference engine: 1)")
		fs.IntVar(&o.runs, "runs", 20, "timed runs `N` (reference engine: 3)")
		fs.StringVar(&o.engine, "engine", engineCompiled, "time the `ENGINE` compiled or reference")
		fs.BoolVar(&o.json, "json", false, "print the result as one JSON object")
		fs.BoolVar(&o.profile, "profile", false, "also print each step's time per run, slowest first (compiled engine)")
		fs.StringVar(&o.weights, "weights", "", "take a zoo model's weights from `FILE.onnx`")
		return o.run
	},
}

type benchOptions struct {
	fs      *flag.FlagSet // to tell defaults from given flags
	threads int
	batch   int
	warmup  int
	runs    int
	engine  string
	json    bool
	profile bool
	weights string
}

// benchResult is the --json output of bench. Its fields are stable:
// scripts read them.
type benchResult struct {
	Model   string `json:"model"`
	Engine  string `json:"engine"`
	Batch   int    `json:"batch"`
	Threads int    `json:"threads"`
	Warmup  int    `json:"warmup"`
	Runs    int    `json:"runs"`
	// LoadMs is the time reading the model took (importing the ONNX
	// file, building the zoo model or loading the plan); CompileMs the
	// time compiling it took (0 for a plan file and the reference engine).
	LoadMs    float64 `json:"load_ms"`
	CompileMs float64 `json:"compile_ms"`
	MinMs     float64 `json:"min_ms"`
	MedianMs  float64 `json:"median_ms"`
	P90Ms     float64 `json:"p90_ms"`
	// ImagesPerS is Batch over the median latency.
	ImagesPerS float64 `json:"images_per_s"`
	// MACs counts the multiply-accumulates of one run (the whole batch),
	// null when unknown; MACsSource says where they come from: "graph"
	// or "plan".
	MACs       *int64 `json:"macs"`
	MACsSource string `json:"macs_source"`
	// GFLOPs is 2*MACs over the median latency, in 1e9 per second; null
	// when the MACs are unknown.
	GFLOPs *float64 `json:"gflops"`
	// PeakRSSBytes is the process's peak memory; PeakRSSSource is "VmHWM"
	// (peak resident set, Linux) or "MemStats.Sys" (memory the Go runtime
	// obtained from the system).
	PeakRSSBytes  int64  `json:"peak_rss_bytes"`
	PeakRSSSource string `json:"peak_rss_source"`
	// Steps, with --profile, holds each step's time per run, in plan
	// order.
	Steps []stepTimeJSON `json:"steps,omitempty"`
}

// stepTimeJSON is one step's time in bench --profile --json.
type stepTimeJSON struct {
	Step   int     `json:"step"`
	Node   string  `json:"node"`
	Kernel string  `json:"kernel"`
	Ms     float64 `json:"ms"`
	// GFLOPs is 2*MACs over the step's time, null without MACs.
	GFLOPs *float64 `json:"gflops"`
}

// benchSeed seeds the inputs bench feeds.
const benchSeed = 0x636e6e63 // "cnnc"

// maxBenchRuns bounds --runs and --warmup.
const maxBenchRuns = 1_000_000

func (o *benchOptions) run(e *env, pos []string) int {
	if len(pos) != 1 {
		return e.usage("want one MODEL, got %d arguments", len(pos))
	}
	arg := pos[0]
	set := map[string]bool{}
	o.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch o.engine {
	case engineCompiled:
	case engineReference:
		if !set["runs"] {
			o.runs = 3
		}
		if !set["warmup"] {
			o.warmup = 1
		}
	default:
		return e.usage("--engine %s: want compiled or reference", o.engine)
	}
	switch {
	case o.threads < 0 || o.threads > 1024:
		return e.usage("--threads %d: want 0 to 1024", o.threads)
	case o.batch < 0 || o.batch > ir.MaxElements:
		return e.usage("--batch %d is out of range", o.batch)
	case o.warmup < 0 || o.warmup > maxBenchRuns:
		return e.usage("--warmup %d: want 0 to %d", o.warmup, maxBenchRuns)
	case o.runs < 1 || o.runs > maxBenchRuns:
		return e.usage("--runs %d: want 1 to %d", o.runs, maxBenchRuns)
	}
	plan := isPlanFile(arg)
	if plan && o.engine == engineReference {
		return e.usage("%s is a compiled plan: it runs with --engine compiled only", arg)
	}
	if plan && o.weights != "" {
		return e.usage("--weights applies to zoo:NAME models; %s has its own", arg)
	}
	if o.engine == engineReference {
		fmt.Fprintln(e.stderr, "cnnc bench: warning: the reference interpreter is slow (it is the exact oracle, not a fast engine)")
	}

	r := benchResult{Model: arg, Engine: o.engine, Warmup: o.warmup, Runs: o.runs}
	t0 := time.Now()
	var (
		g      *ir.Graph
		m      *runtime.Model
		inputs []ir.Value
		err    error
	)
	if plan {
		if m, err = loadPlan(arg); err != nil {
			return e.fail(err)
		}
		defer m.Close()
		inputs = m.Inputs()
		if r.Batch, err = planBatch(inputs, o.batch); err != nil {
			return e.fail(fmt.Errorf("%s: %w", arg, err))
		}
		if macs := planMACs(m.Plan()); macs >= 0 {
			r.MACs, r.MACsSource = &macs, "plan"
		}
	} else {
		if g, err = loadModelBatch(arg, o.weights, o.batch); err != nil {
			return e.fail(err)
		}
		if r.Batch, _, err = compileBatch(g, o.batch); err != nil {
			return e.fail(err)
		}
		if fixBatch(g, r.Batch) {
			if err := g.InferTypes(); err != nil {
				return e.fail(fmt.Errorf("%s with batch %d: %w", arg, r.Batch, err))
			}
		}
		if gc := ir.CostOf(g); gc.Unknown == 0 {
			macs := gc.MACs
			r.MACs, r.MACsSource = &macs, "graph"
		}
		inputs = graphInputs(g)
	}
	r.LoadMs = ms(time.Since(t0))
	feeds, err := benchInputs(inputs)
	if err != nil {
		return e.fail(fmt.Errorf("%s: %w", arg, err))
	}

	var (
		step    func() error
		session *runtime.Session // the compiled engine's
	)
	ctx := context.Background()
	if o.engine == engineReference {
		r.Threads = 1
		byName := map[string]*ir.Tensor{}
		for i, v := range inputs {
			byName[v.Name] = feeds[i]
		}
		step = func() error {
			_, err := reference.Run(g, byName)
			return err
		}
	} else {
		if m == nil {
			t1 := time.Now()
			if m, err = runtime.Compile(g, runtime.CompileOptions{Batch: r.Batch}); err != nil {
				return e.fail(fmt.Errorf("%s: %w", arg, err))
			}
			defer m.Close()
			r.CompileMs = ms(time.Since(t1))
		}
		s, err := m.NewSession(runtime.SessionOptions{Threads: o.threads, Profile: o.profile})
		if err != nil {
			return e.fail(fmt.Errorf("%s: %w", arg, err))
		}
		defer s.Close()
		r.Threads = s.Threads()
		step = func() error {
			_, err := s.Run(ctx, feeds...)
			return err
		}
		session = s
	}

	for range o.warmup {
		if err := step(); err != nil {
			return e.fail(fmt.Errorf("%s: %w", arg, err))
		}
	}
	if session != nil {
		session.ResetProfile() // time the timed runs only
	}
	lat := make([]time.Duration, o.runs)
	for i := range lat {
		t := time.Now()
		if err := step(); err != nil {
			return e.fail(fmt.Errorf("%s: %w", arg, err))
		}
		lat[i] = time.Since(t)
	}
	st := latencyStats(lat)
	r.MinMs, r.MedianMs, r.P90Ms = ms(st.min), ms(st.median), ms(st.p90)
	if sec := st.median.Seconds(); sec > 0 {
		r.ImagesPerS = float64(r.Batch) / sec
		if r.MACs != nil {
			gf := 2 * float64(*r.MACs) / sec / 1e9
			r.GFLOPs = &gf
		}
	}
	r.PeakRSSBytes, r.PeakRSSSource = peakMemory()

	var steps []runtime.StepTime
	if session != nil && o.profile {
		steps = session.Profile()
		for i, st := range steps {
			ms, rate := stepRate(st)
			r.Steps = append(r.Steps, stepTimeJSON{Step: i, Node: st.Step.Node, Kernel: kernelDesc(st.Step), Ms: ms, GFLOPs: rate})
		}
	}
	if o.json {
		if err := json.NewEncoder(e.stdout).Encode(r); err != nil {
			return e.fail(err)
		}
		return exitOK
	}
	printBench(e.stdout, &r)
	printProfile(e.stdout, steps)
	return exitOK
}

// printProfile prints steps' times per run, slowest first, with each
// one's share of the total and its rate when it has MACs.
func printProfile(w io.Writer, steps []runtime.StepTime) {
	if len(steps) == 0 || steps[0].Runs == 0 {
		return
	}
	var total time.Duration
	for _, st := range steps {
		total += st.Total
	}
	order := make([]int, len(steps))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(steps[b].Total, steps[a].Total) })
	fmt.Fprintf(w, "\nsteps, slowest first (ms per run; %d runs; the steps sum to %.3f ms):\n", steps[0].Runs, ms(total)/float64(steps[0].Runs))
	fmt.Fprintf(w, "%5s %9s %6s %8s  %s\n", "step", "ms", "%", "GFLOP/s", "kernel (node)")
	for _, i := range order {
		st := steps[i]
		ms, gf := stepRate(st)
		rate := ""
		if gf != nil {
			rate = fmt.Sprintf("%.1f", *gf)
		}
		fmt.Fprintf(w, "%5d %9.3f %6.1f %8s  %s (%s)\n", i, ms, 100*float64(st.Total)/float64(total), rate, kernelDesc(st.Step), st.Step.Node)
	}
}

// stepRate returns a step's time per run in ms and its GFLOP/s (nil
// without MACs or time).
func stepRate(st runtime.StepTime) (ms float64, gflops *float64) {
	if st.Runs == 0 {
		return 0, nil
	}
	sec := st.Total.Seconds() / float64(st.Runs)
	if m := kernelMACs(st.Step.Kernel); m > 0 && sec > 0 {
		gf := 2 * float64(m) / sec / 1e9
		gflops = &gf
	}
	return sec * 1e3, gflops
}

// printBench prints a bench result for people.
func printBench(w io.Writer, r *benchResult) {
	fmt.Fprintf(w, "model %s, engine %s, batch %d, threads %d\n", r.Model, r.Engine, r.Batch, r.Threads)
	if r.Engine == engineCompiled {
		fmt.Fprintf(w, "kernels: %s\n", kernels.ISA())
	}
	switch {
	case r.Engine == engineReference:
		fmt.Fprintf(w, "load: %.3f ms (the reference engine does not compile)\n", r.LoadMs)
	case isPlanFile(r.Model):
		fmt.Fprintf(w, "load: %.3f ms (a compiled plan)\n", r.LoadMs)
	default:
		fmt.Fprintf(w, "load: %.3f ms, compile: %.3f ms\n", r.LoadMs, r.CompileMs)
	}
	runs := "runs"
	if r.Runs == 1 {
		runs = "run"
	}
	fmt.Fprintf(w, "latency over %d %s (after %d warm-up): min %.3f ms, median %.3f ms, p90 %.3f ms\n",
		r.Runs, runs, r.Warmup, r.MinMs, r.MedianMs, r.P90Ms)
	gflops := "n/a (MACs unknown)"
	if r.GFLOPs != nil {
		gflops = fmt.Sprintf("%.3g GFLOP/s (%s MACs per run, from the %s)", *r.GFLOPs, human(*r.MACs, 1000, ""), r.MACsSource)
	}
	fmt.Fprintf(w, "throughput: %.4g images/s, %s\n", r.ImagesPerS, gflops)
	fmt.Fprintf(w, "peak memory: %s (%s)\n", human(r.PeakRSSBytes, 1024, "B"), r.PeakRSSSource)
}

// planBatch returns the batch size a plan was compiled for: the leading
// dimension of its first input of rank > 0 (1 when there is none). want,
// when > 0, must equal it.
func planBatch(inputs []ir.Value, want int) (int, error) {
	n := 1
	for _, v := range inputs {
		if len(v.Type.Shape) > 0 {
			n = v.Type.Shape[0]
			break
		}
	}
	if want > 0 && want != n {
		return 0, fmt.Errorf("--batch %d: the plan was compiled for batch %d (compile it again with --batch %d)", want, n, want)
	}
	return n, nil
}

// benchInputs returns one tensor per input, filled with pseudo-random
// values in [-1, 1) drawn from benchSeed (input i from stream i), so that
// every bench of a model sees the same data. Only f32 inputs of known
// shape are supported.
func benchInputs(inputs []ir.Value) ([]*ir.Tensor, error) {
	ts := make([]*ir.Tensor, len(inputs))
	for i, v := range inputs {
		if v.Type.DType != ir.Float32 {
			return nil, ir.Unsupportedf("input %q is %v: bench feeds f32 inputs only", v.Name, v.Type)
		}
		if !v.Type.Shape.Known() {
			return nil, ir.Invalidf("input %q has shape %v: bench needs every dimension but the batch fixed", v.Name, v.Type.Shape)
		}
		t, err := ir.NewTensor(ir.Float32, v.Type.Shape)
		if err != nil {
			return nil, ir.Prefix(err, "input %q", v.Name)
		}
		rng := rand.New(rand.NewPCG(benchSeed, uint64(i)))
		for j := range t.F32 {
			t.F32[j] = float32(2*rng.Float64() - 1)
		}
		ts[i] = t
	}
	return ts, nil
}

// latency summarizes timed runs.
type latency struct{ min, median, p90 time.Duration }

// latencyStats returns the minimum, the median (the mean of the middle two
// for an even count) and the 90th percentile (nearest rank) of d, which
// must not be empty.
func latencyStats(d []time.Duration) latency {
	s := slices.Clone(d)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	rank := (9*n + 9) / 10 // ceil(0.9*n)
	return latency{min: s[0], median: med, p90: s[rank-1]}
}

// ms returns d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// peakMemory returns the process's peak memory in bytes and its source:
// VmHWM from /proc/self/status where readable, else MemStats.Sys.
func peakMemory() (int64, string) {
	if f, err := os.Open("/proc/self/status"); err == nil {
		defer f.Close()
		if n, ok := parseVmHWM(f); ok {
			return n, "VmHWM"
		}
	}
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return int64(ms.Sys), "MemStats.Sys"
}

// parseVmHWM finds the line "VmHWM:   1234 kB" in a /proc/PID/status file
// and returns its value in bytes.
func parseVmHWM(r io.Reader) (int64, bool) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, false
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n < 0 || n > 1<<50 {
			return 0, false
		}
		return n << 10, true
	}
	return 0, false
}
