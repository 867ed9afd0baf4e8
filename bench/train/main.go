// Command train times cnnc's training beside PyTorch's on the same machine
// and thread counts, alternating the two engines, and prints a Markdown
// table: issue 7's speed bars.
//
//	go run ./bench/train [--threads 1,2] [--rounds 3] [--steps 10] [--out FILE]
//	go run ./bench/train --profile [--threads N] [--steps N]
//
// Two measurements, each at every thread count:
//
//   - LeNet (ReLU, max pooling: zoo:lenet_relu) on MNIST, one epoch at
//     batch 128 with SGD (lr 0.05, momentum 0.9): cnnc's train.Fit (the
//     compiled training step, batches assembled in a goroutine, no test
//     set) against bench/train/torch_train.py's DataLoader loop over the
//     same normalized images. The time of an epoch, the median of the
//     rounds.
//   - A ResNet-18 training step (10 classes) at batch 32 on 3x96x96
//     inputs, SGD with momentum: per round, the median over --steps steps
//     after two warm-up steps, for cnnc the compiled step (forward,
//     backward, update) run by one Session; the rounds alternate the
//     engines, and the table has the median of the rounds.
//
// Ratio = cnnc / PyTorch (below 1: cnnc is faster).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/passes"
	"github.com/cnnc/cnnc/runtime"
	"github.com/cnnc/cnnc/runtime/kernels"
	"github.com/cnnc/cnnc/train"
	"github.com/cnnc/cnnc/zoo"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "bench/train: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	threadsFlag := fs.String("threads", "1,2", "comma-separated thread `COUNTS` (both engines)")
	rounds := fs.Int("rounds", 3, "alternating rounds `N` of each measurement per engine")
	steps := fs.Int("steps", 10, "timed ResNet-18 steps `N` per engine")
	out := fs.String("out", "", "also write the table to `FILE`")
	profile := fs.Bool("profile", false, "only profile cnnc's ResNet-18 step: its time per kernel kind and slowest steps")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var threads []int
	for _, f := range strings.Split(*threadsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 256 {
			return fmt.Errorf("--threads %q: want counts from 1 to 256", *threadsFlag)
		}
		threads = append(threads, n)
	}
	if *rounds < 1 || *steps < 1 {
		return fmt.Errorf("--rounds %d, --steps %d: want at least 1", *rounds, *steps)
	}
	if *profile {
		for _, t := range threads {
			if err := profileResnetStep(stdout, t, *steps); err != nil {
				return err
			}
		}
		return nil
	}
	script, err := filepath.Abs(filepath.Join("bench", "train", "torch_train.py"))
	if err != nil {
		return err
	}
	if _, err := os.Stat(script); err != nil {
		return fmt.Errorf("run from the repository's root: %w", err)
	}
	mnistDir, err := train.MNIST.Find()
	if err != nil {
		return err
	}
	trainSet, _, err := train.MNIST.Load(mnistDir)
	if err != nil {
		return err
	}
	var b strings.Builder
	start := time.Now()
	fmt.Fprintf(&b, "Run on %s: `go run ./bench/train %s`\n\n", start.UTC().Format("2006-01-02 15:04 MST"), strings.Join(args, " "))
	fmt.Fprintf(&b, "| measurement | threads | cnnc | PyTorch | cnnc/PyTorch |\n| --- | ---: | ---: | ---: | ---: |\n")
	for _, t := range threads {
		var cnncT, torchT []float64
		for r := 0; r < *rounds; r++ {
			s, err := lenetEpoch(trainSet, t)
			if err != nil {
				return err
			}
			cnncT = append(cnncT, s)
			var res struct{ Seconds float64 }
			if err := torch(script, &res, "lenet", "--mnist", mnistDir, "--threads", strconv.Itoa(t)); err != nil {
				return err
			}
			torchT = append(torchT, res.Seconds)
			fmt.Fprintf(stderr, "bench/train: LeNet epoch, %d threads, round %d: cnnc %.2f s, PyTorch %.2f s\n", t, r+1, s, res.Seconds)
		}
		c, p := median(cnncT), median(torchT)
		fmt.Fprintf(&b, "| LeNet, MNIST epoch, batch 128 (s) | %d | %.2f | %.2f | %.2f |\n", t, c, p, c/p)
	}
	for _, t := range threads {
		var cnncT, torchT []float64
		for r := 0; r < *rounds; r++ {
			c, _, err := resnetStep(t, *steps, false)
			if err != nil {
				return err
			}
			cnncT = append(cnncT, c)
			var res struct {
				MedianMs float64 `json:"median_ms"`
			}
			if err := torch(script, &res, "resnet18", "--threads", strconv.Itoa(t), "--steps", strconv.Itoa(*steps)); err != nil {
				return err
			}
			torchT = append(torchT, res.MedianMs)
			fmt.Fprintf(stderr, "bench/train: ResNet-18 step, %d threads, round %d: cnnc %.0f ms, PyTorch %.0f ms\n", t, r+1, c, res.MedianMs)
		}
		c, p := median(cnncT), median(torchT)
		fmt.Fprintf(&b, "| ResNet-18 step, batch 32, 3x96x96 (ms) | %d | %.0f | %.0f | %.2f |\n", t, c, p, c/p)
	}
	fmt.Fprint(stdout, b.String())
	if *out != "" {
		return os.WriteFile(*out, []byte(b.String()), 0o644)
	}
	return nil
}

// lenetEpoch trains LeNet for one epoch on d and returns its seconds.
func lenetEpoch(d *train.Dataset, threads int) (float64, error) {
	g, err := zoo.LeNetReLU.Build(zoo.Options{Batch: -1, Seed: 1})
	if err != nil {
		return 0, err
	}
	res, err := train.Fit(context.Background(), g, d, nil, train.Config{Epochs: 1, Batch: 128, LR: 0.05, Threads: threads})
	if err != nil {
		return 0, err
	}
	return res.History[0].Seconds, nil
}

// resnetStep times steps of ResNet-18's compiled training step at batch
// 32 on 3x96x96 and returns the median in ms, and with profile the
// session's step times over the timed steps.
func resnetStep(threads, steps int, profile bool) (float64, []runtime.StepTime, error) {
	zm, ok := zoo.Lookup("resnet18")
	if !ok {
		return 0, nil, fmt.Errorf("zoo has no resnet18")
	}
	g, err := zm.Build(zoo.Options{Batch: 32, Size: 96, Classes: 10})
	if err != nil {
		return 0, nil, err
	}
	step, err := passes.Backward(g, passes.TrainOptions{Optimizer: &ir.SGD{Momentum: 0.9}})
	if err != nil {
		return 0, nil, err
	}
	model, err := runtime.Compile(step.Graph, runtime.CompileOptions{})
	if err != nil {
		return 0, nil, err
	}
	defer model.Close()
	s, err := model.NewSession(runtime.SessionOptions{Threads: threads, Profile: profile})
	if err != nil {
		return 0, nil, err
	}
	defer s.Close()
	feeds := make([]*ir.Tensor, len(step.Graph.Inputs))
	for i, v := range step.Graph.Inputs {
		if feeds[i], err = ir.NewTensor(v.Type.DType, v.Type.Shape); err != nil {
			return 0, nil, err
		}
	}
	for j := range feeds[0].F32 {
		feeds[0].F32[j] = float32(j%97)/48 - 1
	}
	for n := 0; n < 32; n++ {
		feeds[step.Labels].F32[n*10+n%10] = 1
	}
	feeds[step.LR].F32[0] = 0.01
	for _, p := range step.Params {
		copy(feeds[p.In].F32, p.Init.F32)
	}
	for _, b := range step.Buffers {
		copy(feeds[b.In].F32, b.Init.F32)
	}
	var times []float64
	for i := 0; i < steps+2; i++ {
		t := time.Now()
		outs, err := s.Run(context.Background(), feeds...)
		if err != nil {
			return 0, nil, err
		}
		step.Advance(feeds, outs)
		if i == 1 {
			s.ResetProfile()
		}
		if i >= 2 {
			times = append(times, float64(time.Since(t).Microseconds())/1000)
		}
	}
	return median(times), s.Profile(), nil
}

// profileResnetStep prints where cnnc's ResNet-18 step spends its time
// on threads threads: the total per kernel kind, then the slowest steps.
func profileResnetStep(w io.Writer, threads, steps int) error {
	med, prof, err := resnetStep(threads, steps, true)
	if err != nil {
		return err
	}
	if len(prof) == 0 || prof[0].Runs == 0 {
		return fmt.Errorf("no profile recorded")
	}
	runs := float64(prof[0].Runs)
	perRun := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / runs }
	kinds := map[string]time.Duration{}
	var total time.Duration
	for _, st := range prof {
		kinds[fmt.Sprintf("%T", st.Step.Kernel)] += st.Total
		total += st.Total
	}
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	slices.SortFunc(names, func(a, b string) int { return int(kinds[b] - kinds[a]) })
	fmt.Fprintf(w, "ResNet-18 step, %d threads: median %.0f ms; steps sum to %.0f ms per run\n", threads, med, perRun(total))
	for _, k := range names {
		fmt.Fprintf(w, "  %8.1f ms %5.1f%%  %s\n", perRun(kinds[k]), 100*float64(kinds[k])/float64(total), k)
	}
	order := make([]int, len(prof))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return int(prof[b].Total - prof[a].Total) })
	fmt.Fprintf(w, "slowest steps:\n")
	for _, i := range order[:min(40, len(order))] {
		algo := ""
		switch k := prof[i].Step.Kernel.(type) {
		case *kernels.Conv2D:
			algo = fmt.Sprintf(" (%v)", k.Algo)
		case *kernels.PackConv:
			algo = fmt.Sprintf(" (%v)", k.Conv.Algo)
		}
		fmt.Fprintf(w, "  %8.2f ms  %T%s %s\n", perRun(prof[i].Total), prof[i].Step.Kernel, algo, prof[i].Step.Node)
	}
	return nil
}

// torch runs torch_train.py with args and decodes its JSON line into v.
func torch(script string, v any, args ...string) error {
	cmd := exec.Command("/usr/bin/python3", append([]string{script}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
			lines := strings.Split(strings.TrimSpace(string(ee.Stderr)), "\n")
			return fmt.Errorf("torch_train.py %s: %s", args[0], lines[len(lines)-1])
		}
		return err
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("torch_train.py %s printed %q: %w", args[0], out, err)
	}
	return nil
}

// median returns the median of xs.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
