package train

import (
	"context"
	"path/filepath"
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
		case *ir.ConvGradData, *ir.ConvGradFilter, *ir.FlipFilter, *ir.MaxPoolGrad:
			t.Errorf("frozen layers got backward work: node %s (%s)", n.Name, n.Op.OpType())
		}
	}
	ckpt := filepath.Join(t.TempDir(), "frozen.ckpt")
	res, err := Fit(context.Background(), h, trainSet, testSet, Config{Epochs: 1, Batch: 64, LR: 0.05, Frozen: frozen, Checkpoint: ckpt})
	if err != nil {
		t.Fatal(err)
	}
	// Its checkpoint holds the frozen parameters too: it resumes, and
	// loads into the model.
	c, err := ReadCheckpointFile(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Fit(context.Background(), h, trainSet, nil, Config{Epochs: 2, Batch: 64, LR: 0.05, Frozen: frozen, Resume: c}); err != nil {
		t.Errorf("resuming a run with frozen layers: %v", err)
	}
	if _, err := LoadParams(h, c, nil); err != nil {
		t.Errorf("loading the checkpoint of a run with frozen layers: %v", err)
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

// TestLoadParams loads a checkpoint that Fit wrote into a model built
// anew: the weights are the trained model's; a head of another number of
// classes is an error naming it unless skipped, and so is a parameter
// missing from the checkpoint.
func TestLoadParams(t *testing.T) {
	trainSet, _ := mnist(t)
	trainSet = trainSet.Subset(0, 128)
	g, err := zoo.LeNetBN.Build(zoo.Options{Batch: -1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "run.ckpt")
	res, err := Fit(context.Background(), g, trainSet, nil, Config{Batch: 64, LR: 0.05, Checkpoint: path})
	if err != nil {
		t.Fatal(err)
	}
	ck, err := ReadCheckpointFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := zoo.LeNetBN.Build(zoo.Options{Batch: -1, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadParams(fresh, ck, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, got := ir.Weights(res.Model), ir.Weights(loaded)
	for name, w := range want {
		if !reflect.DeepEqual(w.F32, got[name].F32) {
			t.Errorf("%s differs from the trained model's", name)
		}
	}
	if reflect.DeepEqual(ir.Weights(fresh)["0.weight"].F32, want["0.weight"].F32) {
		t.Error("LoadParams changed the graph it was given")
	}

	five, err := zoo.LeNetBN.Build(zoo.Options{Batch: -1, Classes: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadParams(five, ck, nil); err == nil || !strings.Contains(err.Error(), "15.weight: the checkpoint's is [10,84], the model's [5,84]") {
		t.Errorf("another head: error %v", err)
	}
	head, err := HeadParams(five)
	if err != nil || !reflect.DeepEqual(head, []string{"15.weight", "15.bias"}) {
		t.Fatalf("HeadParams: %v, %v", head, err)
	}
	if _, err := LoadParams(five, ck, head); err != nil {
		t.Errorf("the head skipped: %v", err)
	}
	delete(ck.Tensors, "param:4.weight")
	delete(ck.Tensors, "buffer:5.running_var")
	_, err = LoadParams(fresh, ck, nil)
	if err == nil || !strings.Contains(err.Error(), "4.weight [16,6,5,5]: not in the checkpoint") || !strings.Contains(err.Error(), "5.running_var [16]: not in") {
		t.Errorf("missing parameters: error %v", err)
	}
}
