package codegen

import (
	"path/filepath"
	"testing"

	"github.com/cnnc/cnnc/importer"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/passes"
	"github.com/cnnc/cnnc/zoo"
)

// zooTestSize is the input size the model tests build each zoo model at:
// small, but large enough for the model's pooling and classifier.
var zooTestSize = map[string]int{
	"alexnet": 224, "alexnet_lrn": 64, "zfnet": 64, "nin": 68, "exercise": 24,
	"lenet": 28, "lenet_bn": 28, "lenet_relu": 28,
	"vgg11": 224, "vgg11_bn": 224, "vgg13": 224, "vgg13_bn": 224,
	"vgg16": 224, "vgg16_bn": 224, "vgg19": 224, "vgg19_bn": 224,
}

// shortSkip lists the zoo models too large to build and lower under
// -short (over 20M parameters).
var shortSkip = map[string]bool{
	"alexnet": true, "alexnet_lrn": true, "zfnet": true, "densenet161": true, "wrn28_10": true,
	"resnet34": true, "resnet34_sd": true, "preact_resnet34": true,
	"resnet50": true, "resnet50_sd": true, "resnext50_32x4d": true, "wide_resnet50_2": true,
	"resnet101": true, "resnet101_sd": true, "resnet152": true, "resnet152_sd": true,
	"resnext101_32x8d": true, "wide_resnet101_2": true,
	"vgg11": true, "vgg11_bn": true, "vgg13": true, "vgg13_bn": true,
	"vgg16": true, "vgg16_bn": true, "vgg19": true, "vgg19_bn": true,
}

// checkLowered lowers g as it is and after passes.Run, with and without
// in-place steps, and checks each plan's invariants.
func checkLowered(t *testing.T, g *ir.Graph) {
	t.Helper()
	opt, err := passes.Run(g, passes.Options{Batch: 1})
	if err != nil {
		t.Fatalf("passes: %v", err)
	}
	for _, c := range []struct {
		name string
		g    *ir.Graph
		opts Options
	}{
		{"raw", g, Options{}},
		{"passes", opt, Options{}},
		{"passes NoInPlace", opt, Options{NoInPlace: true}},
	} {
		p, err := Lower(c.g, c.opts)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		for _, err := range planInvariants(p, c.g) {
			t.Errorf("%s: %v", c.name, err)
		}
		if len(p.Inputs) != len(c.g.Inputs) || len(p.Outputs) != len(c.g.Outputs) {
			t.Errorf("%s: %d inputs and %d outputs, want %d and %d", c.name, len(p.Inputs), len(p.Outputs), len(c.g.Inputs), len(c.g.Outputs))
		}
	}
}

func TestLowerZoo(t *testing.T) {
	for _, m := range zoo.Models() {
		t.Run(m.Name, func(t *testing.T) {
			if testing.Short() && shortSkip[m.Name] {
				t.Skip("a large model, skipped under -short")
			}
			size := zooTestSize[m.Name]
			if size == 0 {
				size = 32
			}
			g, err := m.Build(zoo.Options{Size: size, Classes: 10})
			if err != nil {
				t.Fatal(err)
			}
			checkLowered(t, g)
		})
	}
}

func TestLowerTinyONNX(t *testing.T) {
	models, err := filepath.Glob(filepath.Join("..", "testdata", "tiny", "*", "model.onnx"))
	if err != nil || len(models) == 0 {
		t.Fatalf("no tiny models (%v)", err)
	}
	for _, path := range models {
		name := filepath.Base(filepath.Dir(path))
		t.Run(name, func(t *testing.T) {
			g, err := importer.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			known := true
			for _, v := range g.Inputs {
				known = known && v.Type.Shape.Known()
			}
			if !known {
				// A symbolic batch: Lower refuses the graph as it is.
				if _, err := Lower(g, Options{}); err == nil || !ir.IsUnsupported(err) {
					t.Errorf("with input shape %v: got error %v, want unsupported", g.Inputs[0].Type.Shape, err)
				}
				opt, err := passes.Run(g, passes.Options{Batch: 1})
				if err != nil {
					t.Fatal(err)
				}
				g = opt
			}
			checkLowered(t, g)
		})
	}
}
