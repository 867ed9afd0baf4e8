package train

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/zoo"
)

var (
	mnistOnce             sync.Once
	mnistTrain, mnistTest *Dataset
	mnistErr              error
)

// mnist loads MNIST once for the package's tests.
func mnist(t *testing.T) (*Dataset, *Dataset) {
	t.Helper()
	mnistOnce.Do(func() { mnistTrain, mnistTest, mnistErr = MNIST.Load("") })
	if mnistErr != nil {
		t.Fatal(mnistErr)
	}
	return mnistTrain, mnistTest
}

// TestFit trains LeNet (ReLU) for one epoch on 1280 MNIST images through
// the compiled training step: the loss falls, the test accuracy is well
// above chance, and a second run with the same seed repeats the first
// exactly.
func TestFit(t *testing.T) {
	trainSet, testSet := mnist(t)
	trainSet, testSet = trainSet.Subset(0, 1280), testSet.Subset(0, 500)
	g, err := zoo.LeNetReLU.Build(zoo.Options{Batch: -1})
	if err != nil {
		t.Fatal(err)
	}
	run := func() (*Result, []float64) {
		var losses []float64
		res, err := Fit(context.Background(), g, trainSet, testSet, Config{Epochs: 1, Batch: 64, LR: 0.05, Seed: 1,
			Progress: func(p Progress) {
				if !p.Done {
					losses = append(losses, p.Loss)
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		return res, losses
	}
	res, losses := run()
	m := res.History[0]
	t.Logf("%+v", m)
	if len(losses) != 20 || !(m.TrainLoss < losses[0]-0.05) || !(m.TestAcc > 0.35) {
		t.Errorf("after %d steps: running loss %.4f from %.4f, test accuracy %.3f; want a falling loss and > 0.35", len(losses), m.TrainLoss, losses[0], m.TestAcc)
	}
	m2 := run2(run)
	m2.Seconds, m.Seconds = 0, 0
	if m2 != m {
		t.Errorf("same seed, another history: %+v, then %+v", m, m2)
	}
}

func TestFitErrors(t *testing.T) {
	trainSet, _ := mnist(t)
	small := trainSet.Subset(0, 10)
	lenet := func(o zoo.Options) *ir.Graph {
		g, err := zoo.LeNetReLU.Build(o)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	for _, tc := range []struct {
		name string
		g    *ir.Graph
		d    *Dataset
		cfg  Config
		want string
	}{
		{"input size", lenet(zoo.Options{Batch: -1, Size: 32}), small, Config{Batch: 4}, "model input"},
		{"batch", lenet(zoo.Options{Batch: -1}), small, Config{Batch: 64}, "fewer than a batch of 64"},
		{"fixed batch", lenet(zoo.Options{Batch: 2}), small, Config{Batch: 4}, "fixed at 2"},
	} {
		if _, err := Fit(context.Background(), tc.g, tc.d, nil, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// run2 returns the first epoch's metrics of another run.
func run2(run func() (*Result, []float64)) Metrics {
	res, _ := run()
	return res.History[0]
}
