package conformance

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cnnc/cnnc/importer"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/zoo"
)

// torchvisionZoo are the zoo models that torchvision also has: the eight
// fullSizeModels and the "full (zoo)" set of tools/refgen/refgen.py, which
// `refgen.py full` exports into the same cache.
var torchvisionZoo = []string{
	"resnet18", "alexnet", "vgg16", "googlenet", "densenet121", "resnet50", "resnext50_32x4d", "wide_resnet50_2",
	"densenet169", "densenet201", "densenet161",
	"resnet34", "resnet101", "resnet152", "resnext101_32x8d", "wide_resnet101_2",
	"vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16_bn", "vgg19", "vgg19_bn",
}

// TestZooTorchvisionWeights builds each zoo model that torchvision also
// has, gives it the weights of torchvision's ONNX export from the reference
// cache, and compares its output on the interpreter with PyTorch's. Every
// name must be in the zoo; a model absent from the cache is skipped.
func TestZooTorchvisionWeights(t *testing.T) {
	listed := map[string]bool{}
	for _, name := range torchvisionZoo {
		listed[name] = true
	}
	for _, name := range fullSizeModels {
		if !listed[name] {
			t.Errorf("torchvisionZoo lacks %s of fullSizeModels", name)
		}
	}
	if testing.Short() {
		t.Skip("full-size models are slow on the interpreter; not under -short")
	}
	for _, name := range torchvisionZoo {
		t.Run(name, func(t *testing.T) {
			m, ok := zoo.Lookup(name)
			if !ok {
				t.Fatalf("the zoo has no %s", name)
			}
			dir := filepath.Join(cacheDir(), name)
			src, ins, wants := loadCaseOrSkip(t, dir)
			start := time.Now()
			g, err := m.Build(zoo.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := ir.LoadWeights(g, ir.Weights(src)); err != nil {
				t.Fatal(err)
			}
			outs := interpret(t, g, ins)
			t.Logf("build, load weights, interpret: %v", time.Since(start).Round(time.Millisecond))
			checkOutputs(t, outs, wants)
		})
	}
}

// shortZoo are the zoo models TestZooExportORT exports under -short: small,
// and covering BatchNorm, residual blocks and StochasticDepth's export.
var shortZoo = map[string]bool{"lenet": true, "lenet_bn": true, "resnet18_sd": true}

// exportTestSize is the input size TestZooExportORT uses where a model allows.
const exportTestSize = 64

// TestZooExportORT exports every zoo model to ONNX, runs the file in ONNX
// Runtime 1.30 and compares with the interpreter's output on the same
// random input. Under -short only the small models run.
func TestZooExportORT(t *testing.T) {
	runner := ortRunner(t)
	for _, m := range zoo.Models() {
		t.Run(m.Name, func(t *testing.T) {
			if testing.Short() && !shortZoo[m.Name] {
				t.Skip("not under -short (the race detector makes the interpreter slow)")
			}
			// The interpreter's time dominates: models whose size is free
			// run at 64x64 (the export is the same graph at any size);
			// the others (AlexNet's and VGG's adaptive pooling) at their
			// default size.
			g, err := m.Build(zoo.Options{Size: exportTestSize})
			if err != nil {
				g, err = m.Build(zoo.Options{})
			}
			if err != nil {
				t.Fatal(err)
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
