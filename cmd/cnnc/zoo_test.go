package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/importer"
	"github.com/cnnc/cnnc/ir"
)

// TestZooList checks that cnnc zoo lists every model with torchvision's
// counts. It builds all of them (a few seconds; not under -short).
func TestZooList(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every zoo model")
	}
	code, stdout, stderr := cli(t, "zoo")
	wantCode(t, code, exitOK, stdout, stderr)
	for _, want := range []string{
		"resnet50  [1,3,224,224]   25,557,032   4,089,184,256",
		"lenet    [1,1,28,28]       61,706         416,520",
		"wrn28_10    [1,3,32,32]   36,479,194",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("cnnc zoo lacks %q:\n%s", want, stdout)
		}
	}
}

// TestZooSummaryExercise checks the summary of the exercise network: each
// layer's output size and parameter count as PyTorch gives them (see
// zoo/classic_test.go for the PyTorch snippet).
func TestZooSummaryExercise(t *testing.T) {
	code, stdout, stderr := cli(t, "summary", "zoo:exercise", "--json")
	wantCode(t, code, exitOK, stdout, stderr)
	var s summaryJSON
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	type row struct {
		op     string
		shape  string
		params int64
	}
	want := []row{
		{"Conv", "[1 48 92 92]", 11712}, {"Relu", "[1 48 92 92]", 0},
		{"Conv", "[1 96 92 92]", 373344}, {"Relu", "[1 96 92 92]", 0},
		{"Conv", "[1 192 44 44]", 460992}, {"Relu", "[1 192 44 44]", 0},
		{"MaxPool", "[1 192 22 22]", 0}, {"Conv", "[1 256 22 22]", 49408},
		{"Flatten", "[1 123904]", 0}, {"Gemm", "[1 100]", 12390500},
	}
	if len(s.Layers) != len(want) {
		t.Fatalf("%d layers, want %d:\n%s", len(s.Layers), len(want), stdout)
	}
	for i, w := range want {
		l := s.Layers[i]
		if got := (row{l.Op, fmt.Sprint(l.OutputShape), l.Params}); got != w {
			t.Errorf("layer %d: %s %v %d, want %s %s %d", i, l.Op, l.OutputShape, l.Params, w.op, w.shape, w.params)
		}
	}
	if s.TotalParams != 13285956 {
		t.Errorf("total params %d, want 13,285,956", s.TotalParams)
	}
}

// TestZooExportWeightsRoundTrip exports a zoo model, then runs the zoo model
// with the exported file as --weights, and with other seeded weights: the
// first must reproduce the export's output, which the second must not.
func TestZooExportWeightsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "lenet.onnx")
	code, stdout, stderr := cli(t, "export", "zoo:lenet", "-o", model)
	wantCode(t, code, exitOK, stdout, stderr)
	g, err := importer.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "x.pb")
	x, _ := ir.NewTensor(ir.Float32, ir.Shape{1, 1, 28, 28})
	for i := range x.F32 {
		x.F32[i] = float32(i%7) / 7
	}
	if err := importer.WriteTensor(in, g.Inputs[0].Name, x); err != nil {
		t.Fatal(err)
	}
	outFile := func(args ...string) *ir.Tensor {
		t.Helper()
		out := t.TempDir()
		code, stdout, stderr := cli(t, append(args, "--input", in, "--output-dir", out)...)
		wantCode(t, code, exitOK, stdout, stderr)
		y, _, err := importer.ReadTensor(filepath.Join(out, "output_0.pb"))
		if err != nil {
			t.Fatal(err)
		}
		return y
	}
	fromFile := outFile("run", model)
	withWeights := outFile("run", "zoo:lenet", "--weights", model)
	for i := range fromFile.F32 {
		if fromFile.F32[i] != withWeights.F32[i] {
			t.Fatalf("zoo:lenet --weights gives %v, the exported file %v", withWeights.F32, fromFile.F32)
		}
	}
	// The weights of another architecture are refused, naming the problem.
	other := filepath.Join(dir, "relu.onnx")
	code, stdout, stderr = cli(t, "export", "zoo:lenet_bn", "-o", other)
	wantCode(t, code, exitOK, stdout, stderr)
	code, stdout, stderr = cli(t, "run", "zoo:lenet", "--weights", other, "--input", in)
	wantCode(t, code, exitFail, stdout, stderr)
	if !strings.Contains(stderr, "weights do not fit") {
		t.Errorf("stderr = %q", stderr)
	}
	code, _, stderr = cli(t, "export", "zoo:lenet")
	if code != exitUsage || !strings.Contains(stderr, "-o FILE.onnx is required") {
		t.Errorf("export without -o: %d %q", code, stderr)
	}
}
