// Command bench times cnnc beside ONNX Runtime (and optionally PyTorch) on
// the full-size torchvision models, alternating their runs so that both see
// the same machine noise, and prints a Markdown table. See bench/README.md.
//
//	go run ./bench [--models resnet18,alexnet,...] [--batch 1,8] [--threads 1,2]
//	               [--runs 20] [--warmup 3] [--out bench/README.md] [--torch] [--algos tuned|model|nowinograd]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cnnc/cnnc/importer"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/passes"
	"github.com/cnnc/cnnc/runtime"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// config is the command line.
type config struct {
	models           []string
	batches, threads []int
	runs, warmup     int
	out              string
	torch            bool
	ortSpin          bool
	settle           time.Duration
	export           bool
	algos            string
	repo             string
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var models, batches, threads string
	c := &config{}
	fs.StringVar(&models, "models", strings.Join(defaultModels, ","), "comma-separated torchvision `NAMES` from the reference cache")
	fs.StringVar(&batches, "batch", "1", "comma-separated batch `SIZES`")
	fs.StringVar(&threads, "threads", "1,2", "comma-separated thread `COUNTS` (both engines)")
	fs.IntVar(&c.runs, "runs", 20, "timed runs `N` per engine per cell")
	fs.IntVar(&c.warmup, "warmup", 3, "untimed warm-up runs `N` per engine per cell")
	fs.StringVar(&c.out, "out", "", "also write the table to `FILE` (between the bench markers if it has them)")
	fs.BoolVar(&c.torch, "torch", false, "also time PyTorch (/usr/bin/python3, bench/torch_bench.py), after each cell's alternating runs")
	fs.BoolVar(&c.ortSpin, "ort-spin", false, "let ORT's intra-op threads spin-wait between runs (ORT's default; off here, so that idle ORT threads do not slow the cnnc runs between)")
	fs.DurationVar(&c.settle, "settle", 50*time.Millisecond, "pause `D` after every timed run, either engine's, so that the next starts on an idle machine (ORT's Node process keeps a core busy after a run: it cost cnnc's next two-thread ResNet-50 run 14 ms)")
	fs.StringVar(&c.algos, "algos", "tuned", "how cnnc picks convolution algorithms: `tuned` (timed on this machine at each row's thread count, as cnnc compile --tune), model (the static cost model) or nowinograd (the cost model, Winograd excluded)")
	fs.BoolVar(&c.export, "export", false, "export missing models with tools/refgen/refgen.py (PyTorch; slow)")
	fs.StringVar(&c.repo, "repo", "", "the cnnc repository `DIR` (default: found from the working directory)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if c.models, err = parseNames(models); err != nil {
		return nil, fmt.Errorf("--models: %w", err)
	}
	if c.batches, err = parseInts(batches, 1024); err != nil {
		return nil, fmt.Errorf("--batch: %w", err)
	}
	if c.threads, err = parseInts(threads, 1024); err != nil {
		return nil, fmt.Errorf("--threads: %w", err)
	}
	if !slices.Contains([]string{"tuned", "model", "nowinograd"}, c.algos) {
		return nil, fmt.Errorf("--algos %s: want tuned, model or nowinograd", c.algos)
	}
	if c.settle < 0 || c.settle > time.Minute {
		return nil, fmt.Errorf("--settle %v: want 0 to 1m", c.settle)
	}
	if c.runs < 1 || c.runs > 1_000_000 || c.warmup < 0 || c.warmup > 1_000_000 {
		return nil, fmt.Errorf("--runs %d, --warmup %d: want 1 to 1e6 runs and 0 to 1e6 warm-up runs", c.runs, c.warmup)
	}
	return c, nil
}

// parseInts parses a comma-separated list of integers in [1, max].
func parseInts(s string, max int) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > max {
			return nil, fmt.Errorf("%q: want comma-separated integers from 1 to %d", s, max)
		}
		out = append(out, n)
	}
	return out, nil
}

// parseNames parses a comma-separated list of model names.
func parseNames(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" || strings.ContainsAny(f, `/\`) || f == "." || f == ".." {
			return nil, fmt.Errorf("%q: want comma-separated model names", s)
		}
		out = append(out, f)
	}
	return out, nil
}

// findRepo returns the directory holding cnnc's go.mod, from dir upwards.
func findRepo(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/cnnc/cnnc\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("not inside the cnnc repository (run from it, or give --repo)")
		}
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "bench:", err)
		}
		return 2
	}
	if err := bench(c, args, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	return 0
}

func bench(c *config, args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	if c.repo == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		if c.repo, err = findRepo(wd); err != nil {
			return err
		}
	}
	cache, err := cacheDir()
	if err != nil {
		return err
	}
	// Find every model first, so that a missing one fails before hours
	// of measuring.
	paths := map[string]string{}
	for _, name := range c.models {
		if paths[name], err = modelPath(cache, c.repo, name, c.export); err != nil {
			return err
		}
	}
	// Measure the FMA peak before Node.js starts, on a quiet machine.
	fmt.Fprintf(stderr, "bench: measuring the FMA peak for %s\n", peakTime)
	mach := probeMachine(c.repo)
	fmt.Fprintf(stderr, "bench: FMA peak %.1f GFLOP/s per core (%s)\n", mach.Peak, mach.ISA)
	tmp, err := os.MkdirTemp("", "cnnc-bench.")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	ort, err := startORT(filepath.Join(c.repo, "tools", "ort", "bench.js"))
	if err != nil {
		return err
	}
	defer ort.Close()

	r := &report{
		Date: start, Machine: mach, ORTVersion: ort.Version,
		Runs: c.runs, Warmup: c.warmup, ORTSpin: c.ortSpin, Settle: c.settle, Algos: c.algos,
		Command: strings.TrimSpace("go run ./bench " + strings.Join(args, " ")),
	}
	if c.torch {
		if r.TorchVersion, err = torchVersion(); err != nil {
			return err
		}
	}
	b := &bencher{c: c, ort: ort, tmp: tmp, cache: cache, log: stderr, peak: mach}
	for _, name := range c.models {
		cells, err := b.model(name, paths[name])
		if err != nil {
			return err
		}
		r.Cells = append(r.Cells, cells...)
	}
	r.Elapsed = time.Since(start)
	if err := r.writeMarkdown(stdout); err != nil {
		return err
	}
	if c.out != "" {
		var buf strings.Builder
		r.writeMarkdown(&buf)
		if err := writeOut(c.out, buf.String()); err != nil {
			return err
		}
	}
	return nil
}

// bencher measures the cells of one run.
type bencher struct {
	c     *config
	ort   *ortServer
	tmp   string // scratch folder (input files)
	cache string
	log   io.Writer
	peak  machine // for the log's percentages of the peak
}

// model measures every (batch, threads) cell of one model. A cell where an
// engine fails gets a note and the other engine's time alone; only errors
// of the harness itself are returned.
func (b *bencher) model(name, path string) ([]cell, error) {
	g0, err := importer.Load(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var in *ir.Value
	for _, v := range g0.Inputs {
		if v.Type.DType == ir.Float32 {
			if in != nil {
				return nil, fmt.Errorf("%s: more than one float input; bench feeds models with one input", path)
			}
			in = v
		}
	}
	if in == nil || len(g0.Inputs) != 1 || len(in.Type.Shape) == 0 {
		return nil, fmt.Errorf("%s: bench feeds models with one float input of rank > 0", path)
	}
	ownBatch := in.Type.Shape[0] // < 0: dynamic
	perImage := int64(-1)
	if ownBatch > 0 {
		if gc := ir.CostOf(g0); gc.Unknown == 0 {
			perImage = gc.MACs / int64(ownBatch)
		}
	}
	var cells []cell
	for _, batch := range b.c.batches {
		shape := in.Type.Shape.Clone()
		shape[0] = batch
		onnxPath, g := path, g0
		note := ""
		if ownBatch > 0 && batch != ownBatch {
			onnxPath, err = dynamicBatchCopy(path, filepath.Join(b.cache, "bench"), name)
			if err != nil {
				return nil, fmt.Errorf("making a dynamic-batch copy of %s: %w", path, err)
			}
			note = "dynamic-batch copy of the ONNX file"
			if g, err = importer.Load(onnxPath); err != nil {
				return nil, fmt.Errorf("%s: %w", onnxPath, err)
			}
		}
		macs := int64(-1)
		if perImage >= 0 {
			macs = perImage * int64(batch)
		}
		x, err := seededInput(shape, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: input %q: %w", name, in.Name, err)
		}
		raw := filepath.Join(b.tmp, "input.raw")
		if err := writeRaw(raw, x); err != nil {
			return nil, err
		}
		var m *runtime.Model
		var cerr error
		for i, threads := range b.c.threads {
			if i == 0 || b.c.algos == "tuned" {
				if m != nil {
					m.Close()
				}
				m, cerr = b.compile(g, name, batch, threads, map[string]ir.Shape{in.Name: shape})
			}
			cl := cell{Model: name, Batch: batch, Threads: threads, MACs: macs}
			var notes []string
			if note != "" {
				notes = append(notes, note)
			}
			if cerr != nil {
				notes = append(notes, "cnnc: "+cerr.Error())
			}
			b.alternate(&cl, m, x, onnxPath, raw, shape, &notes)
			if b.c.torch {
				if cl.Torch, err = torchTime(b.c.repo, name, batch, threads, b.c.runs, b.c.warmup); err != nil {
					notes = append(notes, "PyTorch: "+err.Error())
				}
			}
			cl.Note = strings.Join(notes, "; ")
			fmt.Fprintf(b.log, "bench: %s batch %d threads %d: cnnc %s ms (%s GFLOP/s, %s of peak), ORT %s ms, ratio %s%s\n",
				name, batch, threads, fmtStats(cl.Cnnc), fmtGFLOPs(cl.MACs, cl.Cnnc), fmtPercent(b.peak, cl), fmtStats(cl.ORT), fmtRatio(cl.Ratio()), prefixed("; ", cl.Note))
			cells = append(cells, cl)
		}
		if m != nil {
			m.Close()
		}
		g = nil
		goruntime.GC()
	}
	return cells, nil
}

// compile compiles g for the input shapes, its convolution algorithms
// picked as --algos says (tuned: timed at threads).
func (b *bencher) compile(g *ir.Graph, name string, batch, threads int, shapes map[string]ir.Shape) (*runtime.Model, error) {
	t0 := time.Now()
	opts := runtime.CompileOptions{InputShapes: shapes, Passes: passes.Options{Algos: convAlgos(b.c.algos != "nowinograd")}}
	how := ""
	if b.c.algos == "tuned" {
		tuner := &runtime.Tuner{Threads: threads}
		opts.Passes.Algo = tuner.Algo
		how = fmt.Sprintf(", tuned on %d threads", threads)
	}
	m, err := runtime.Compile(g, opts)
	if err == nil {
		fmt.Fprintf(b.log, "bench: %s batch %d: cnnc compiled in %s%s\n", name, batch, time.Since(t0).Round(time.Millisecond), how)
	}
	return m, err
}

// convAlgos returns the convolution algorithms cnnc may pick
// (passes.Options.Algos): with winograd, nil (all of them); else every
// algorithm but the Winograd ones.
func convAlgos(winograd bool) []ir.ConvAlgo {
	if winograd {
		return nil
	}
	var as []ir.ConvAlgo
	for a := ir.AlgoAuto + 1; ; a++ {
		if _, ok := ir.ParseConvAlgo(a.String()); !ok {
			break // past the last algorithm
		}
		if !isWinograd(a) {
			as = append(as, a)
		}
	}
	return as
}

// isWinograd reports whether a is one of the Winograd algorithms.
func isWinograd(a ir.ConvAlgo) bool { return a == ir.AlgoWinograd2 || a == ir.AlgoWinograd4 }

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

// alternate measures one cell: it loads both engines, warms each up, then
// runs cnnc, ORT, cnnc, ORT … b.c.runs times each, pausing b.c.settle
// after each timed run. m is nil when cnnc
// could not compile the model; an engine that fails drops out with a
// note and the other goes on alone.
func (b *bencher) alternate(cl *cell, m *runtime.Model, x *ir.Tensor, onnxPath, raw string, shape ir.Shape, notes *[]string) {
	var cnncStep func() (time.Duration, error)
	if m != nil {
		s, err := m.NewSession(runtime.SessionOptions{Threads: cl.Threads})
		if err != nil {
			*notes = append(*notes, "cnnc: "+err.Error())
		} else {
			defer s.Close()
			ctx := context.Background()
			cnncStep = func() (time.Duration, error) {
				t := time.Now()
				_, err := s.Run(ctx, x)
				return time.Since(t), err
			}
		}
	}
	var ortStep func() (time.Duration, error)
	if _, err := b.ort.Load(onnxPath, raw, shape, cl.Threads, b.c.ortSpin); err != nil {
		*notes = append(*notes, err.Error())
	} else {
		ortStep = b.ort.Run
	}
	var cnncT, ortT []time.Duration
	step := func(f *func() (time.Duration, error), ts *[]time.Duration, engine string) {
		if *f == nil {
			return
		}
		d, err := (*f)()
		if err != nil {
			*notes = append(*notes, engine+": "+err.Error())
			*f, *ts = nil, nil
			return
		}
		*ts = append(*ts, d)
	}
	for range b.c.warmup {
		step(&cnncStep, new([]time.Duration), "cnnc")
		step(&ortStep, new([]time.Duration), "ORT")
	}
	for range b.c.runs {
		step(&cnncStep, &cnncT, "cnnc")
		time.Sleep(b.c.settle)
		step(&ortStep, &ortT, "ORT")
		time.Sleep(b.c.settle)
	}
	cl.Cnnc, cl.ORT = summarize(cnncT), summarize(ortT)
}

// writeOut writes text to path. When the file exists and holds the lines
// beginMarker and endMarker, only what is between them is replaced, so
// that a README keeps its prose around the latest table.
func writeOut(path, text string) error {
	old, err := os.ReadFile(path)
	if err == nil {
		if s, ok := spliceBetween(string(old), text); ok {
			return os.WriteFile(path, []byte(s), 0o644)
		}
	}
	return os.WriteFile(path, []byte(text), 0o644)
}

const (
	beginMarker = "<!-- bench:begin -->"
	endMarker   = "<!-- bench:end -->"
)

// spliceBetween replaces what doc holds between beginMarker and endMarker
// with text; it reports false when doc lacks them (in that order).
func spliceBetween(doc, text string) (string, bool) {
	i := strings.Index(doc, beginMarker)
	if i < 0 {
		return "", false
	}
	j := strings.Index(doc[i:], endMarker)
	if j < 0 {
		return "", false
	}
	j += i
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	return doc[:i+len(beginMarker)] + "\n\n" + text + "\n" + doc[j:], true
}

// torchVersion asks /usr/bin/python3 for PyTorch's version.
func torchVersion() (string, error) {
	out, err := exec.Command("/usr/bin/python3", "-c", "import torch; print(torch.__version__)").Output()
	if err != nil {
		return "", fmt.Errorf("--torch: PyTorch is not importable by /usr/bin/python3: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}
