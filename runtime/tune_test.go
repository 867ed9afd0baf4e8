package runtime_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/passes"
	"github.com/cnnc/cnnc/runtime"
)

// TestTuner tunes a graph of three 3x3 convolutions, two of one shape,
// and checks that each shape is timed once with every candidate, that
// the pick is the fastest measured, and that the tuned plan computes what
// the reference interpreter does.
func TestTuner(t *testing.T) {
	b := ir.NewBuilder("tune", 3)
	x := b.Input("x", 1, 8, 12, 12)
	conv := ir.Sequential(ir.Conv2d(16, 3, ir.Padding(1)), ir.ReLU())
	y := b.Apply("a", conv, x)
	y = b.Apply("b", ir.Conv2d(16, 3, ir.Padding(1)), y)
	y = b.Apply("c", ir.Conv2d(16, 3, ir.Padding(1)), y)
	b.Output(y)
	g, err := b.Graph()
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	tuner := &runtime.Tuner{Threads: 2, Runs: 2, Log: &log}
	if _, err := compareEnginesWith(g, passes.Options{Algo: tuner.Algo}, 2, 1e-4); err != nil {
		t.Fatal(err)
	}
	rs := tuner.Results()
	if len(rs) != 2 {
		t.Fatalf("%d shapes measured, want 2 (a with ReLU; b and c alike):\n%s", len(rs), log.String())
	}
	if got := len(rs[0].Nodes) + len(rs[1].Nodes); got != 3 {
		t.Errorf("results name %d nodes, want 3", got)
	}
	for _, r := range rs {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.Shape, r.Err)
		}
		var algos []ir.ConvAlgo
		for i, at := range r.Times {
			algos = append(algos, at.Algo)
			if at.Time <= 0 || i > 0 && at.Time < r.Times[i-1].Time {
				t.Errorf("%s: times %v not positive and ascending", r.Shape, r.Times)
			}
		}
		for _, want := range []ir.ConvAlgo{ir.AlgoDirect, ir.AlgoIm2col, ir.AlgoWinograd2, ir.AlgoWinograd4} {
			if !slices.Contains(algos, want) {
				t.Errorf("%s: %v not timed (timed %v)", r.Shape, want, algos)
			}
		}
		if r.Pick != r.Times[0].Algo {
			t.Errorf("%s: picked %v, fastest was %v", r.Shape, r.Pick, r.Times[0].Algo)
		}
	}
	if n := strings.Count(log.String(), "\n"); n != 2 {
		t.Errorf("log has %d lines, want one per shape:\n%s", n, log.String())
	}
}
