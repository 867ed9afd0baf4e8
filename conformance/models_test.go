package conformance

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cnnc/cnnc/importer"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/reference"
)

// Parity with PyTorch and ONNX Runtime on whole models: the tiny lecture
// models committed in testdata/tiny and the full-size torchvision models
// that tools/refgen/refgen.py full writes into $CNNC_CACHE.

// maxRelDiff bounds max |got-want| / max |want| for whole models.
const maxRelDiff = 1e-4

// modelDirs returns the model folders (those with a model.onnx) under root.
func modelDirs(t *testing.T, root string) []string {
	dirs, err := filepath.Glob(filepath.Join(root, "*", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range dirs {
		dirs[i] = filepath.Dir(d)
	}
	return dirs
}

// loadCase loads a model folder in the backend-test layout.
func loadCase(t *testing.T, dir string) (*ir.Graph, []*ir.Tensor, []*ir.Tensor) {
	t.Helper()
	g, err := importer.Load(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ir.Verify(g); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "test_data_set_0")
	ins, err := readTensors(data, "input")
	if err != nil {
		t.Fatal(err)
	}
	wants, err := readTensors(data, "output")
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != len(g.Inputs) || len(wants) != len(g.Outputs) || len(wants) == 0 {
		t.Fatalf("%d inputs and %d outputs in the data, graph has %d and %d", len(ins), len(wants), len(g.Inputs), len(g.Outputs))
	}
	return g, ins, wants
}

// interpret runs g on ins in graph-input order.
func interpret(t *testing.T, g *ir.Graph, ins []*ir.Tensor) []*ir.Tensor {
	t.Helper()
	feed := map[string]*ir.Tensor{}
	for i, v := range g.Inputs {
		feed[v.Name] = ins[i]
	}
	outs, err := reference.Run(g, feed)
	if err != nil {
		t.Fatal(err)
	}
	return outs
}

// relDiff compares got with want: same shape, and returns max |got-want| /
// max |want| and whether every row (last axis) has the same arg-max.
func relDiff(got, want *ir.Tensor) (rel float64, sameArgmax bool, err error) {
	if got.DType != ir.Float32 || want.DType != ir.Float32 || !got.Shape.Equal(want.Shape) {
		return 0, false, fmt.Errorf("got %v, want %v", got.Type(), want.Type())
	}
	maxRef, maxDiff := 0.0, 0.0
	for i, w := range want.F32 {
		maxRef = math.Max(maxRef, math.Abs(float64(w)))
		d := math.Abs(float64(got.F32[i]) - float64(w))
		if d > maxDiff || math.IsNaN(d) {
			maxDiff = d
		}
	}
	if maxRef == 0 {
		return maxDiff, true, nil
	}
	row := 1
	if r := len(want.Shape); r > 0 {
		row = want.Shape[r-1]
	}
	sameArgmax = true
	for off := 0; off+row <= len(want.F32) && row > 0; off += row {
		if argmax(got.F32[off:off+row]) != argmax(want.F32[off:off+row]) {
			sameArgmax = false
		}
	}
	return maxDiff / maxRef, sameArgmax, nil
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// checkOutputs holds outs to wants at maxRelDiff and the same arg-max.
func checkOutputs(t *testing.T, outs, wants []*ir.Tensor) {
	t.Helper()
	for i := range wants {
		rel, same, err := relDiff(outs[i], wants[i])
		switch {
		case err != nil:
			t.Errorf("output %d: %v", i, err)
		case rel > maxRelDiff || math.IsNaN(rel):
			t.Errorf("output %d: max|diff|/max|ref| = %.3g, want <= %g", i, rel, maxRelDiff)
		case !same:
			t.Errorf("output %d: arg-max differs from the reference", i)
		default:
			t.Logf("output %d: max|diff|/max|ref| = %.3g, same arg-max", i, rel)
		}
	}
}

// compile runs g compiled for the shapes of ins (see runCompiled).
func compile(t *testing.T, g *ir.Graph, ins []*ir.Tensor) []*ir.Tensor {
	t.Helper()
	outs, err := runCompiled(g, ins)
	if err != nil {
		t.Fatalf("compiled: %v", err)
	}
	return outs
}

// TestTinyModels runs each committed tiny PyTorch model on the interpreter
// and compares with PyTorch's output, then holds the compiled plan to the
// interpreter's output.
func TestTinyModels(t *testing.T) {
	dirs := modelDirs(t, filepath.Join(repoRoot(t), "testdata", "tiny"))
	if len(dirs) == 0 {
		t.Fatal("no models in testdata/tiny (regenerate with tools/refgen/refgen.py tiny)")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			g, ins, wants := loadCase(t, dir)
			outs := interpret(t, g, ins)
			checkOutputs(t, outs, wants)
			t.Log("compiled vs interpreter:")
			checkOutputs(t, compile(t, g, ins), outs)
		})
	}
}

// cacheDir is where tools/refgen/refgen.py full writes the full-size models.
func cacheDir() string {
	root := os.Getenv("CNNC_CACHE")
	if root == "" {
		home, _ := os.UserHomeDir()
		root = filepath.Join(home, ".cache", "cnnc")
	}
	return filepath.Join(root, "torchvision")
}

// fullSizeModels are the torchvision models refgen exports at 1x3x224x224.
var fullSizeModels = []string{"resnet18", "alexnet", "vgg16", "googlenet", "densenet121", "resnet50", "resnext50_32x4d", "wide_resnet50_2"}

// TestFullSizeModels runs the eight full-size torchvision models on the
// interpreter and compares with PyTorch, then holds the compiled plan to
// the interpreter's output. Not under -short; skipped, saying
// how to make it, when the cache is absent (./test.sh makes it).
func TestFullSizeModels(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size models are slow on the interpreter; not under -short")
	}
	for _, name := range fullSizeModels {
		t.Run(name, func(t *testing.T) {
			g, ins, wants := loadCaseOrSkip(t, filepath.Join(cacheDir(), name))
			start := time.Now()
			outs := interpret(t, g, ins)
			t.Logf("interpreter: %v", time.Since(start).Round(time.Millisecond))
			checkOutputs(t, outs, wants)
			start = time.Now()
			compiled := compile(t, g, ins)
			t.Logf("compiled (compile and one run): %v; compiled vs interpreter:", time.Since(start).Round(time.Millisecond))
			checkOutputs(t, compiled, outs)
		})
	}
}

// TestExportORT exports each tiny model from the IR back to ONNX, runs the
// file in ONNX Runtime 1.30 (tools/ort) and compares with PyTorch's output.
// ONNX Runtime is required except under -short.
func TestExportORT(t *testing.T) {
	runner := ortRunner(t)
	for _, dir := range modelDirs(t, filepath.Join(repoRoot(t), "testdata", "tiny")) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			g, _, wants := loadCase(t, dir)
			tmp := t.TempDir()
			model := filepath.Join(tmp, "model.onnx")
			if err := importer.Save(g, model); err != nil {
				t.Fatal(err)
			}
			in := filepath.Join(dir, "test_data_set_0", "input_0.pb")
			cmd := exec.Command("node", runner, model, tmp, in)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("ONNX Runtime refused the exported model: %v\n%s", err, out)
			}
			outs, err := readTensors(tmp, "output")
			if err != nil {
				t.Fatal(err)
			}
			if len(outs) != len(wants) {
				t.Fatalf("ONNX Runtime gave %d outputs, want %d", len(outs), len(wants))
			}
			checkOutputs(t, outs, wants)
		})
	}
}

// ortRunner returns the path of tools/ort/run.js once ONNX Runtime is
// installed; without it the test fails, or skips under -short.
func ortRunner(t *testing.T) string {
	root := repoRoot(t)
	if _, err := exec.LookPath("node"); err != nil {
		skipOrFail(t, "node is not installed (apt-get install nodejs npm)")
	}
	if _, err := os.Stat(filepath.Join(root, "tools", "ort", "node_modules", "onnxruntime-node")); err != nil {
		skipOrFail(t, "ONNX Runtime is not installed: cd tools/ort && npm ci --ignore-scripts")
	}
	return filepath.Join(root, "tools", "ort", "run.js")
}

// skipOrFail skips under -short and fails otherwise.
func skipOrFail(t *testing.T, msg string) {
	t.Helper()
	if testing.Short() {
		t.Skip(msg)
	}
	t.Fatal(msg)
}
