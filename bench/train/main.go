// Command train times cnnc's training beside PyTorch's on the same machine
// and thread counts, alternating the two engines, and prints a Markdown
// table: issue 7's speed bars.
//
//	go run ./bench/train [--threads 1,2] [--rounds 3] [--steps 10] [--out FILE]
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
//     inputs, SGD with momentum: the median over --steps steps after two
//     warm-up steps, for cnnc the compiled step (forward, backward, update)
//     run by one Session.
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
	rounds := fs.Int("rounds", 3, "alternating rounds `N` of the LeNet epoch per engine")
	steps := fs.Int("steps", 10, "timed ResNet-18 steps `N` per engine")
	out := fs.String("out", "", "also write the table to `FILE`")
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
		c, err := resnetStep(t, *steps)
		if err != nil {
			return err
		}
		var res struct {
			MedianMs float64 `json:"median_ms"`
		}
		if err := torch(script, &res, "resnet18", "--threads", strconv.Itoa(t), "--steps", strconv.Itoa(*steps)); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "bench/train: ResNet-18 step, %d threads: cnnc %.0f ms, PyTorch %.0f ms\n", t, c, res.MedianMs)
		fmt.Fprintf(&b, "| ResNet-18 step, batch 32, 3x96x96 (ms) | %d | %.0f | %.0f | %.2f |\n", t, c, res.MedianMs, c/res.MedianMs)
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
// 32 on 3x96x96 and returns the median in ms.
func resnetStep(threads, steps int) (float64, error) {
	zm, ok := zoo.Lookup("resnet18")
	if !ok {
		return 0, fmt.Errorf("zoo has no resnet18")
	}
	g, err := zm.Build(zoo.Options{Batch: 32, Size: 96, Classes: 10})
	if err != nil {
		return 0, err
	}
	step, err := passes.Backward(g, passes.TrainOptions{Optimizer: &ir.SGD{Momentum: 0.9}})
	if err != nil {
		return 0, err
	}
	model, err := runtime.Compile(step.Graph, runtime.CompileOptions{})
	if err != nil {
		return 0, err
	}
	defer model.Close()
	s, err := model.NewSession(runtime.SessionOptions{Threads: threads})
	if err != nil {
		return 0, err
	}
	defer s.Close()
	feeds := make([]*ir.Tensor, len(step.Graph.Inputs))
	for i, v := range step.Graph.Inputs {
		if feeds[i], err = ir.NewTensor(v.Type.DType, v.Type.Shape); err != nil {
			return 0, err
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
			return 0, err
		}
		step.Advance(feeds, outs)
		if i >= 2 {
			times = append(times, float64(time.Since(t).Microseconds())/1000)
		}
	}
	return median(times), nil
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
