package passes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/importer"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/zoo"
)

// zooShort lists the zoo models tested under -short, one per family and
// block kind, with their input size there (0: as in the full run). Under
// the race detector, which slows the reference interpreter thirtyfold,
// only those marked race run.
var zooShort = map[string]struct {
	size int
	race bool
}{
	"lenet_bn": {race: true}, "resnet18": {size: 16, race: true}, "resnet50_sd": {size: 16}, "resnext50_32x4d": {size: 16},
	"preact_resnet18": {size: 16}, "densenet121": {}, "googlenet": {}, "alexnet_lrn": {}, "exercise": {size: 16},
}

// zooSize is the input size of the models that need more than 32 (their
// pooling or AdaptiveAvgPool2d(7) needs it).
var zooSize = map[string]int{
	"alexnet": 224, "alexnet_lrn": 64, "zfnet": 64, "nin": 96,
	"vgg11": 224, "vgg11_bn": 224, "vgg13": 224, "vgg13_bn": 224,
	"vgg16": 224, "vgg16_bn": 224, "vgg19": 224, "vgg19_bn": 224,
}

// zooNoNumbers lists the models too slow for the reference interpreter
// (8 to 20 GMACs at their minimum size, over two minutes for VGG-11); they
// go through Run with Verify only. The tiny PyTorch export vgg_bn holds the
// VGG pattern to the numbers.
var zooNoNumbers = map[string]bool{
	"vgg11": true, "vgg11_bn": true, "vgg13": true, "vgg13_bn": true, "vgg16": true, "vgg16_bn": true, "vgg19": true, "vgg19_bn": true,
}

// TestZoo runs every zoo model, built with a symbolic batch and random
// batch-norm statistics, through Run with Verify and holds the result to
// the reference interpreter; the optimized graph has no BatchNormalization
// left and no 2-D Conv.
func TestZoo(t *testing.T) {
	for _, m := range zoo.Models() {
		t.Run(m.Name, func(t *testing.T) {
			short, ok := zooShort[m.Name]
			if testing.Short() && (!ok || (raceEnabled && !short.race)) {
				t.Skip("-short")
			}
			size := zooSize[m.Name]
			if testing.Short() && short.size > 0 {
				size = short.size
			}
			if size == 0 {
				size = 32
				if strings.HasPrefix(m.Name, "lenet") {
					size = 28
				}
			}
			g, err := m.Build(zoo.Options{Size: size, Classes: 10, Batch: -1, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			randomizeBN(g, 5)
			got, err := Run(g, Options{Batch: 1, Verify: true})
			if err != nil {
				t.Fatal(err)
			}
			ops := countOps(got)
			for op, n := range ops {
				if strings.HasPrefix(op, "BatchNormalization") || op == "Conv" || op == "StochasticDepth" || op == "Dropout" {
					t.Errorf("%d %s left", n, op)
				}
			}
			if !zooNoNumbers[m.Name] {
				sameOutputs(t, g, got, 1e-4)
			}
			t.Logf("%d nodes -> %d: %v", len(g.Nodes), len(got.Nodes), ops)
		})
	}
}

// TestResNet18Fusion counts what the passes make of ResNet-18: every BN
// folded, every ReLU and residual add fused into a convolution.
func TestResNet18Fusion(t *testing.T) {
	m, _ := zoo.Lookup("resnet18")
	g, err := m.Build(zoo.Options{Size: 32, Classes: 10})
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	got, err := Run(g, Options{Verify: true, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	var relu, residual, residualRelu, plain, total int
	for _, n := range got.Nodes {
		fc, ok := n.Op.(*ir.FusedConv)
		if !ok {
			continue
		}
		total++
		hasZ := len(n.Inputs) > 3 && n.Inputs[3] != nil
		switch {
		case hasZ && fc.Act.Kind == ir.ActRelu:
			residualRelu++
		case hasZ:
			residual++
		case fc.Act.Kind == ir.ActRelu:
			relu++
		default:
			plain++
		}
	}
	// 20 convolutions: the stem and each block's conv1 end in ReLU (1+8);
	// each of the 8 blocks adds its shortcut and applies ReLU in one conv;
	// 3 convolutions (the downsample projections or the conv2 of those
	// blocks, whichever is the residual Z) stay plain.
	if total != 20 || relu != 9 || residualRelu != 8 || residual != 0 || plain != 3 {
		t.Errorf("FusedConv: %d total, %d relu, %d residual+relu, %d residual, %d plain; want 20, 9, 8, 0, 3",
			total, relu, residualRelu, residual, plain)
	}
	ops := countOps(got)
	for _, op := range []string{"BatchNormalization", "Relu", "Add", "Conv"} {
		if ops[op] != 0 {
			t.Errorf("%d %s left", ops[op], op)
		}
	}
	if len(got.Nodes) != 20+4 { // + MaxPool, GlobalAveragePool, Flatten, FusedGemm
		t.Errorf("%d nodes, want 24: %v", len(got.Nodes), ops)
	}
	for _, want := range []string{"foldbn: 20 batch norms folded (into Conv 20)", "fuse: 20 Convs -> FusedConv, 1 Gemm -> FusedGemm, 8 residual adds fused, 17 activations fused"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
	t.Logf("log:\n%s", log.String()) // TestZoo holds resnet18 to the numbers
}

// TestTinyExports runs the tiny PyTorch exports through Run.
func TestTinyExports(t *testing.T) {
	paths, err := filepath.Glob("../testdata/tiny/*/model.onnx")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no tiny models found: %v", err)
	}
	for _, p := range paths {
		name := filepath.Base(filepath.Dir(p))
		t.Run(name, func(t *testing.T) {
			g, err := importer.Load(p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Run(g, Options{Batch: 1, Verify: true})
			if err != nil {
				t.Fatal(err)
			}
			ops := countOps(got)
			if ops["BatchNormalization"] != 0 {
				t.Errorf("%d BatchNormalization left", ops["BatchNormalization"])
			}
			sameOutputs(t, g, got, 1e-4)
			t.Logf("%d nodes -> %d: %v", len(g.Nodes), len(got.Nodes), ops)
		})
	}
}

// TestONNXLight runs the model-zoo graphs of ../shared/onnx-light (old
// Caffe2 exports, opset 9, weights made by ConstantOfShape) through Run;
// the reference check runs on Inception v2, whose batch norms are followed
// by the Caffe2 Mul/Add form, and on the cheap ones (DenseNet-121, whose
// BN-Mul-Add chains become ChannelAffine nodes, takes 45 s: its pattern is
// in TestFoldBN).
func TestONNXLight(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 224x224 models")
	}
	dir := "../../shared/onnx-light"
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no %s: %v", dir, err)
	}
	numbers := map[string]bool{"light_inception_v2": true, "light_squeezenet": true, "light_shufflenet": true}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.onnx"))
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".onnx")
		t.Run(name, func(t *testing.T) {
			g, err := importer.Load(p)
			if err != nil {
				t.Fatal(err)
			}
			var log strings.Builder
			got, err := Run(g, Options{Batch: 1, Verify: true, Log: &log})
			if err != nil {
				t.Fatal(err)
			}
			ops := countOps(got)
			for _, op := range []string{"BatchNormalization", "Unsqueeze", "Mul", "Conv"} {
				if ops[op] != 0 {
					t.Errorf("%d %s left", ops[op], op)
				}
			}
			if numbers[name] {
				sameOutputs(t, g, got, 1e-4)
			}
			t.Logf("%d nodes -> %d: %v", len(g.Nodes), len(got.Nodes), ops)
		})
	}
}
