package conformance

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cnnc/cnnc/importer"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/zoo"
)

// TestZooTorchvisionWeights builds each zoo model that torchvision also
// has, gives it the weights of torchvision's ONNX export from the reference
// cache, and compares its output on the interpreter with PyTorch's.
func TestZooTorchvisionWeights(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size models are slow on the interpreter; not under -short")
	}
	for _, name := range fullSizeModels {
		t.Run(name, func(t *testing.T) {
			m, ok := zoo.Lookup(name)
			if !ok {
				t.Fatalf("the zoo has no %s", name)
			}
			dir := filepath.Join(cacheDir(), name)
			src, ins, wants := loadCaseOrSkip(t, dir)
			g, err := m.Build(zoo.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := ir.LoadWeights(g, ir.Weights(src)); err != nil {
				t.Fatal(err)
			}
			checkOutputs(t, interpret(t, g, ins), wants)
		})
	}
}

// TestZooExportORT exports every zoo model to ONNX, runs the file in ONNX
// Runtime 1.30 and compares with the interpreter's output on the same
// random input. Under -short only the small models run.
func TestZooExportORT(t *testing.T) {
	runner := ortRunner(t)
	for _, m := range zoo.Models() {
		t.Run(m.Name, func(t *testing.T) {
			g, err := m.Build(zoo.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if testing.Short() && ir.CostOf(g).MACs > 1e9 {
				t.Skip("over 1 GMAC: not under -short")
			}
			x := g.Inputs[0]
			rng := rand.New(rand.NewPCG(1, 2))
			in, _ := ir.NewTensor(ir.Float32, x.Type.Shape)
			for i := range in.F32 {
				in.F32[i] = float32(rng.NormFloat64())
			}
			tmp := t.TempDir()
			model, inFile := filepath.Join(tmp, "model.onnx"), filepath.Join(tmp, "input_0.pb")
			if err := importer.Save(g, model); err != nil {
				t.Fatal(err)
			}
			if err := importer.WriteTensor(inFile, x.Name, in); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("node", runner, model, tmp, inFile).CombinedOutput(); err != nil {
				t.Fatalf("ONNX Runtime refused the exported model: %v\n%s", err, out)
			}
			orts, err := readTensors(tmp, "output")
			if err != nil {
				t.Fatal(err)
			}
			checkOutputs(t, orts, interpret(t, g, []*ir.Tensor{in}))
		})
	}
}

// loadCaseOrSkip is loadCase for a cached model, skipping (with how to make
// it) when the cache lacks it.
func loadCaseOrSkip(t *testing.T, dir string) (*ir.Graph, []*ir.Tensor, []*ir.Tensor) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "test_data_set_0", "output_0.pb")); err != nil {
		t.Skipf("%s is not in the cache: run /usr/bin/python3 tools/refgen/refgen.py full", dir)
	}
	return loadCase(t, dir)
}
