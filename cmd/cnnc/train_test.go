package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/importer"
)

func TestTrainUsage(t *testing.T) {
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
