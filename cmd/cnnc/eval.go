package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"time"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime"
	"github.com/cnnc/cnnc/train"
)

var evalCommand = &command{
	name:  "eval",
	args:  "MODEL --data mnist|fashion-mnist [--batch N] [--threads N]",
	short: "measure a classifier's accuracy and latency on a data set's test images",
	long: `Eval compiles MODEL (an ONNX file or zoo:NAME, whose output is one score per
class) and runs it over the test set of a data set (see cnnc train for
--data), in batches of --batch images (the last one padded). It prints the
accuracy (the share of images whose highest score is their label), the
median time of a batch, and the images per second over the whole set.

	cnnc eval testdata/lenet_mnist.onnx --data mnist`,
	setup: func(fs *flag.FlagSet) func(*env, []string) int {
		data := fs.String("data", "", "the data set: mnist or fashion-mnist")
		batch := fs.Int("batch", 100, "images per run")
		threads := fs.Int("threads", 0, "worker threads (0: all cores)")
		return func(e *env, pos []string) int {
			if len(pos) != 1 {
				return e.usage("want one MODEL, got %d arguments", len(pos))
			}
			src := train.SourceNamed(*data)
			if src == nil {
				return e.usage("--data %q: want mnist or fashion-mnist", *data)
			}
			if *batch < 1 || *batch > 1<<16 {
				return e.usage("--batch %d: want 1 to 65536", *batch)
			}
			return evalRun(e, pos[0], src, *batch, *threads)
		}
	},
}

// evalRun compiles the model at the batch size and runs it over the test
// set.
func evalRun(e *env, arg string, src *train.Source, batch, threads int) int {
	_, testSet, err := src.Load("")
	if err != nil {
		return e.fail(err)
	}
	g, err := trainModel(arg, testSet, 1)
	if err != nil {
		return e.fail(err)
	}
	start := time.Now()
	m, err := runtime.Compile(g, runtime.CompileOptions{Batch: batch})
	if err != nil {
		return e.fail(err)
	}
	defer m.Close()
	s, err := m.NewSession(runtime.SessionOptions{Threads: threads})
	if err != nil {
		return e.fail(err)
	}
	defer s.Close()
	x, err := ir.NewTensor(ir.Float32, ir.Shape{batch, testSet.C, testSet.H, testSet.W})
	if err != nil {
		return e.fail(err)
	}
	compiled := time.Since(start)
	per := testSet.C * testSet.H * testSet.W
	correct := 0
	var times []time.Duration
	all := time.Now()
	for i := 0; i < testSet.N; i += batch {
		n := min(batch, testSet.N-i)
		copy(x.F32, testSet.Images[i*per:(i+n)*per])
		clear(x.F32[n*per:])
		t := time.Now()
		outs, err := s.Run(context.Background(), x)
		if err != nil {
			return e.fail(err)
		}
		times = append(times, time.Since(t))
		y := outs[0]
		if len(y.Shape) != 2 || y.Shape[1] != testSet.Classes {
			return e.fail(fmt.Errorf("%s: output %v, want [%d, %d]: one score per class", arg, y.Shape, batch, testSet.Classes))
		}
		for j, l := range testSet.Labels[i : i+n] {
			row := y.F32[j*testSet.Classes : (j+1)*testSet.Classes]
			if int64(argmax(row)) == l {
				correct++
			}
		}
	}
	total := time.Since(all)
	slices.Sort(times)
	fmt.Fprintf(e.stdout, "%s on %s: accuracy %.2f%% (%d of %d test images)\n", arg, testSet.Name, 100*float64(correct)/float64(testSet.N), correct, testSet.N)
	fmt.Fprintf(e.stdout, "compiled in %v; batch of %d: median %.3f ms; %.0f images/s over the set\n",
		compiled.Round(time.Millisecond), batch, float64(times[len(times)/2].Microseconds())/1000, float64(testSet.N)/total.Seconds())
	return exitOK
}
