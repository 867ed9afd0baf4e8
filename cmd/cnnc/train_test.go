package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/importer"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/train"
)

func TestTrainUsage(t *testing.T) {
	onnx := filepath.Join("..", "..", "testdata", "lenet_mnist.onnx")
	ckpt := filepath.Join(t.TempDir(), "c.ckpt")
	if err := (&train.Checkpoint{Epoch: 1}).WriteFile(ckpt); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"train"}, "want one MODEL"},
		{[]string{"train", "zoo:lenet"}, `--data ""`},
		{[]string{"train", "zoo:lenet", "--data", "cifar"}, `--data "cifar"`},
		{[]string{"train", "zoo:lenet", "--data", "mnist", "--epochs", "0"}, "--epochs 0"},
		{[]string{"train", "zoo:lenet", "--data", "mnist", "--lr", "-1"}, "--lr -1"},
		{[]string{"train", "zoo:lenet", "--data", "mnist", "--optimizer", "rmsprop"}, `--optimizer "rmsprop"`},
		{[]string{"train", "zoo:lenet", "--data", "mnist", "--momentum", "0", "--nesterov"}, "--nesterov needs"},
		{[]string{"train", "zoo:lenet", "--data", "mnist", "--resize", "-1"}, "--resize -1: want a size >= 1"},
		{[]string{"train", "zoo:lenet", "--data", "mnist", "--crop-pad", "-2"}, "--crop-pad -2"},
		{[]string{"train", "zoo:lenet", "--data", "mnist", "--resize", "8", "--crop-pad", "8"}, "--crop-pad 8: want less than the image size, --resize 8"},
		{[]string{"train", "zoo:lenet", "--data", "mnist", "--lighting", "-0.1"}, "--lighting -0.1"},
		{[]string{"train", "zoo:lenet", "--data", "mnist", "--lighting", "NaN"}, "--lighting NaN"},
		{[]string{"train", "zoo:lenet", "--data", "mnist", "--limit", "-5"}, "--limit -5"},
		{[]string{"train", "zoo:lenet", "--data", "mnist", "--init", "he"}, `--init "he"`},
		{[]string{"train", "--from", onnx, "--data", "mnist", "--init", "kaiming"}, "--init kaiming and --from"},
		{[]string{"train", "zoo:lenet", "--from", onnx, "--data", "mnist"}, "give one"},
		{[]string{"train", "--from", ckpt, "--data", "mnist"}, "is a checkpoint (parameters, no graph): give the MODEL"},
	} {
		code, stdout, stderr := cli(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q\nstdout: %s", tc.args, code, stderr, exitUsage, tc.want, stdout)
		}
	}
	code, _, stderr := cli(t, "train", "zoo:nosuch", "--data", "mnist")
	if code != exitFail || !strings.Contains(stderr, "no such zoo model") {
		t.Errorf("unknown model: exit %d, stderr %q", code, stderr)
	}
}

// TestTrainCommand trains LeNet for one epoch on MNIST and checks the
// output lines, the CSV and the exported model.
func TestTrainCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for an epoch of MNIST")
	}
	dir := t.TempDir()
	csvPath, onnxPath := filepath.Join(dir, "m.csv"), filepath.Join(dir, "lenet.onnx")
	pngPath, ckptPath := filepath.Join(dir, "m.png"), filepath.Join(dir, "m.ckpt")
	code, stdout, stderr := cli(t, "train", "zoo:lenet_relu", "--data", "mnist", "--epochs", "1", "--batch", "128",
		"--lr", "0.05", "--metrics", csvPath, "--plot", pngPath, "--checkpoint", ckptPath, "-o", onnxPath)
	wantCode(t, code, exitOK, stdout, stderr)
	if !strings.Contains(stdout, "epoch 1/1: train loss") || !strings.Contains(stdout, "wrote "+onnxPath) {
		t.Errorf("stdout:\n%s", stdout)
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || strings.Join(rows[0], ",") != "epoch,train_loss,train_acc,test_loss,test_acc,seconds,lr" || rows[1][0] != "1" {
		t.Errorf("metrics: %v", rows)
	}
	if _, err := importer.Load(onnxPath); err != nil {
		t.Errorf("the exported model: %v", err)
	}
	for _, p := range []string{pngPath, ckptPath} {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", p, err)
		}
	}
	// Resuming the finished run's checkpoint trains nothing more.
	code, stdout, stderr = cli(t, "train", "zoo:lenet_relu", "--data", "mnist", "--epochs", "1", "--batch", "128",
		"--lr", "0.05", "--checkpoint", ckptPath, "--resume", ckptPath)
	wantCode(t, code, exitOK, stdout, stderr)
	if !strings.Contains(stdout, "resuming at epoch 2, step 0") || strings.Contains(stdout, "epoch 1/1:") {
		t.Errorf("resume stdout:\n%s", stdout)
	}
}

// TestTrainAugmentTransfer trains LeNet on 256 MNIST images resized to
// 32×32 and augmented, from Kaiming weights, then fine-tunes a new head
// from its checkpoint with the first convolution frozen: it comes out as the
// checkpoint holds them. A checkpoint of another architecture or input
// size is an error naming the parameter.
func TestTrainAugmentTransfer(t *testing.T) {
	dir := t.TempDir()
	ckpt, ckpt2, onnx := filepath.Join(dir, "a.ckpt"), filepath.Join(dir, "c.ckpt"), filepath.Join(dir, "b.onnx")
	code, stdout, stderr := cli(t, "train", "zoo:lenet_relu", "--data", "mnist", "--limit", "256", "--batch", "64",
		"--resize", "32", "--crop-pad", "2", "--flip", "--lighting", "0.1", "--init", "kaiming", "--checkpoint", ckpt)
	wantCode(t, code, exitOK, stdout, stderr)
	if want := "training zoo:lenet_relu on mnist (resized to 32x32; augmented: crop pad 2, flip, lighting 0.1; kaiming initialization): 256 images, 1 epochs of 4 batches of 64"; !strings.Contains(stdout, want) || !strings.Contains(stdout, "epoch 1/1: train loss") {
		t.Errorf("stdout:\n%s\nwant %q", stdout, want)
	}
	ck, err := train.ReadCheckpointFile(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = cli(t, "train", "zoo:lenet_relu", "--data", "mnist", "--limit", "128", "--resize", "32",
		"--from", ckpt, "--num-classes", "10", "--freeze", "2", "--checkpoint", ckpt2, "-o", onnx)
	wantCode(t, code, exitOK, stdout, stderr)
	// A checkpoint of a run with frozen layers holds them too: it loads.
	code, stdout, stderr = cli(t, "train", "zoo:lenet_relu", "--data", "mnist", "--limit", "128", "--resize", "32",
		"--from", ckpt2, "--checkpoint", "")
	wantCode(t, code, exitOK, stdout, stderr)
	if ck2, err := train.ReadCheckpointFile(ckpt2); err != nil {
		t.Fatal(err)
	} else if fmt.Sprint(ck2.Tensors["param:0.weight"]) != fmt.Sprint(ck.Tensors["param:0.weight"]) {
		t.Error("the frozen run's checkpoint does not hold the frozen 0.weight as it was")
	}
	g, err := importer.Load(onnx)
	if err != nil {
		t.Fatal(err)
	}
	w := ir.Weights(g)
	for _, name := range []string{"0.weight", "0.bias"} { // node 2 is the first max pool
		if got, want := w[name].F32, ck.Tensors["param:"+name]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("frozen %s is not the checkpoint's", name)
		}
	}
	if fmt.Sprint(w["3.weight"].F32) == fmt.Sprint(ck.Tensors["param:3.weight"]) {
		t.Error("3.weight, not frozen, did not train")
	}
	for _, tc := range []struct {
		model, want string
	}{
		{"zoo:lenet_relu", "7.weight: the checkpoint's is [120,576], the model's [120,400]"}, // 28×28, not 32
		{"zoo:lenet_bn", "1.running_mean [6]: not in the checkpoint"},
	} {
		code, stdout, stderr = cli(t, "train", tc.model, "--data", "mnist", "--limit", "128", "--from", ckpt, "--checkpoint", "")
		if code != exitFail || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s from the checkpoint: exit %d, stderr %q; want %d and %q\nstdout: %s", tc.model, code, stderr, exitFail, tc.want, stdout)
		}
	}
}

// TestEvalCommand runs the README's first command: the LeNet that cnnc
// trained (testdata/lenet_mnist.onnx, written by cnnc train with the
// README's training command) classifies MNIST's test set at 99% or more.
func TestEvalCommand(t *testing.T) {
	model := filepath.Join("..", "..", "testdata", "lenet_mnist.onnx")
	code, stdout, stderr := cli(t, "eval", model, "--data", "mnist")
	wantCode(t, code, exitOK, stdout, stderr)
	var acc float64
	var correct, total int
	if _, err := fmt.Sscanf(stdout[strings.Index(stdout, "accuracy"):], "accuracy %f%% (%d of %d test images)", &acc, &correct, &total); err != nil {
		t.Fatalf("stdout %q: %v", stdout, err)
	}
	if total != 10000 || acc < 99 {
		t.Errorf("accuracy %.2f%% of %d images, want >= 99%% of 10000\n%s", acc, total, stdout)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"eval"}, "want one MODEL"},
		{[]string{"eval", model}, `--data ""`},
		{[]string{"eval", model, "--data", "mnist", "--batch", "0"}, "--batch 0"},
	} {
		if code, _, stderr := cli(t, tc.args...); code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, stderr)
		}
	}
}
