package train

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/passes"
	"github.com/cnnc/cnnc/zoo"
)

// TestTransfer fine-tunes LeNet's classifier: a new head for 10 classes,
// the convolutions frozen. The frozen weights come out unchanged, the
// step has no backward convolution at all, and the head learns.
func TestTransfer(t *testing.T) {
	trainSet, testSet := mnist(t)
	trainSet, testSet = trainSet.Subset(0, 1280), testSet.Subset(0, 500)
	g, err := zoo.LeNetReLU.Build(zoo.Options{Batch: -1, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	h, err := ReplaceHead(g, 10, 9)
	if err != nil {
		t.Fatal(err)
	}
	before := ir.Weights(h)
	// Node "5" is LeNet's second max pool: both convolutions are frozen.
	frozen, err := FrozenUpTo(h, "5")
	if err != nil {
		t.Fatal(err)
	}
	fixed, err := withBatch(h, 64)
	if err != nil {
		t.Fatal(err)
	}
	step, err := passes.Backward(fixed, passes.TrainOptions{Frozen: frozen})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range step.Graph.Nodes {
		switch n.Op.(type) {
		case *ir.ConvGradData, *ir.ConvGradFilter, *ir.MaxPoolGrad:
			t.Errorf("frozen layers got backward work: node %s (%s)", n.Name, n.Op.OpType())
		}
	}
	res, err := Fit(context.Background(), h, trainSet, testSet, Config{Epochs: 1, Batch: 64, LR: 0.05, Frozen: frozen})
	if err != nil {
		t.Fatal(err)
	}
	after := ir.Weights(res.Model)
	for name, w := range before {
		same := reflect.DeepEqual(w.F32, after[name].F32)
		if conv := strings.HasPrefix(name, "0.") || strings.HasPrefix(name, "3."); conv != same {
			t.Errorf("%s: unchanged %v, want %v (frozen: %v)", name, same, conv, conv)
		}
	}
	// The frozen convolutions are random features: the head learns from
	// them, well above chance (0.1) in 20 steps.
	if acc := res.History[0].TestAcc; acc < 0.2 {
		t.Errorf("test accuracy %.3f with the convolutions frozen, want > 0.2", acc)
	}
	if _, err := FrozenUpTo(h, "nosuch"); err == nil {
		t.Error("FrozenUpTo found a node that does not exist")
	}
	if _, err := ReplaceHead(h, 0, 1); err == nil {
		t.Error("ReplaceHead made a head of 0 classes")
	}
}
