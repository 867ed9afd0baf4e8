package conformance

import (
	"context"
	"math"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cnnc/cnnc/importer"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/passes"
	"github.com/cnnc/cnnc/runtime"
	"github.com/cnnc/cnnc/train"
	"github.com/cnnc/cnnc/zoo"
)

// The SGD settings of tools/refgen/refgen.py's training references
// (TRAIN_SGD) and the bars of issue 7.
const (
	trainLR          = 0.05
	trainMomentum    = 0.9
	trainWeightDecay = 5e-4
	// gradTolerance bounds max |cnnc - PyTorch| / max |PyTorch| of each
	// parameter's gradient after one step, the scale floored at
	// gradFloor of the model's largest: the gradient of a convolution's
	// bias before a batch norm is 0 in exact arithmetic (the batch norm
	// subtracts it back out), and both engines' rounding leaves about
	// 3e-8 there, which no relative bar can hold.
	gradTolerance = 1e-4
	gradFloor     = 0.01
	// lossTolerance bounds |cnnc - PyTorch| / max(1, |PyTorch|) of each loss
	// of the curve.
	lossTolerance = 1e-3
)

// TestTrainParity trains each tiny model (testdata/tiny/NAME/train_data,
// written by tools/refgen/refgen.py train) through a compiled training step
// from the exported weights: the parameters' gradients after one step
// match PyTorch's, and the losses of 20 SGD steps (momentum 0.9, weight
// decay 5e-4) follow PyTorch's curve.
func TestTrainParity(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(repoRoot(t), "testdata", "tiny", "*", "train_data"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no training references in testdata/tiny (write them with tools/refgen/refgen.py train)")
	}
	for _, dir := range dirs {
		model := filepath.Dir(dir)
		t.Run(filepath.Base(model), func(t *testing.T) { trainParity(t, model, dir) })
	}
}

func trainParity(t *testing.T, model, dir string) {
	g, err := importer.Load(filepath.Join(model, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) *ir.Tensor {
		x, _, err := importer.ReadTensor(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	x, labels, losses := read("input.pb"), read("labels.pb"), read("losses.pb")
	// The exported model has batch 1: give it the reference's batch.
	g.Inputs[0].Type.Shape = x.Shape.Clone()
	if err := g.InferTypes(); err != nil {
		t.Fatal(err)
	}
	step, err := passes.Backward(g, passes.TrainOptions{
		Optimizer: &ir.SGD{Momentum: trainMomentum, WeightDecay: trainWeightDecay}, Gradients: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := runtime.Compile(step.Graph, runtime.CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s, err := m.NewSession(runtime.SessionOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	feeds := make([]*ir.Tensor, len(step.Graph.Inputs))
	for i, v := range step.Graph.Inputs {
		if feeds[i], err = ir.NewTensor(v.Type.DType, v.Type.Shape); err != nil {
			t.Fatal(err)
		}
	}
	copy(feeds[0].F32, x.F32)
	classes := step.Graph.Inputs[step.Labels].Type.Shape[1]
	for n, l := range labels.I64 {
		feeds[step.Labels].F32[n*classes+int(l)] = 1
	}
	feeds[step.LR].F32[0] = trainLR
	for _, b := range step.Buffers {
		copy(feeds[b.In].F32, b.Init.F32)
	}
	for _, p := range step.Params {
		copy(feeds[p.In].F32, p.Init.F32)
	}
	want := map[string]*ir.Tensor{}
	files, _ := filepath.Glob(filepath.Join(dir, "grad_*.pb"))
	for _, f := range files {
		gt, name, err := importer.ReadTensor(f)
		if err != nil {
			t.Fatal(err)
		}
		want[name] = gt
	}
	if len(want) != len(step.Params) {
		t.Errorf("PyTorch has %d parameters with gradients, the step %d", len(want), len(step.Params))
	}

	ctx := context.Background()
	for i, ref := range losses.F32 {
		outs, err := s.Run(ctx, feeds...)
		if err != nil {
			t.Fatal(err)
		}
		loss := outs[0].F32[0]
		if d := math.Abs(float64(loss - ref)); d > lossTolerance*math.Max(1, math.Abs(float64(ref))) {
			t.Errorf("step %d: loss %.6f, PyTorch %.6f", i, loss, ref)
		}
		if i == 0 {
			global := 0.0
			for _, w := range want {
				for _, v := range w.F32 {
					global = math.Max(global, math.Abs(float64(v)))
				}
			}
			worst := 0.0
			for _, p := range step.Params {
				w, ok := want[p.Name]
				if !ok {
					t.Errorf("%s: no PyTorch gradient", p.Name)
					continue
				}
				got := outs[p.Grad].F32
				scale, diff := 0.0, 0.0
				for j, v := range w.F32 {
					scale = math.Max(scale, math.Abs(float64(v)))
					diff = math.Max(diff, math.Abs(float64(got[j])-float64(v)))
				}
				rel := diff / math.Max(scale, gradFloor*global)
				worst = math.Max(worst, rel)
				if rel > gradTolerance {
					t.Errorf("%s: gradient max|diff| %.3g = %.3g of max|PyTorch| %.3g (model's largest %.3g)", p.Name, diff, rel, scale, global)
				}
			}
			t.Logf("one step: %d gradients, worst max|diff|/max|PyTorch| %.3g", len(step.Params), worst)
		}
		step.Advance(feeds, outs)
	}
	t.Logf("%d steps: losses %.5f -> %.5f (PyTorch %.5f -> %.5f)", len(losses.F32),
		losses.F32[0], losses.F32[len(losses.F32)-1], losses.F32[0], losses.F32[len(losses.F32)-1])
}

// TestTrainedModelsORT runs models cnnc trained and exported to ONNX in
// ONNX Runtime (tools/ort) on MNIST test images and holds its outputs to
// cnnc's compiled ones: testdata/lenet_mnist.onnx (cnnc train's LeNet, the
// README's model), and a LeNet with batch norm trained here for a few
// steps and exported by train.Fit, whose batch norms leave as ONNX
// BatchNormalization with the running statistics. ONNX Runtime is
// required except under -short.
func TestTrainedModelsORT(t *testing.T) {
	runner := ortRunner(t)
	dir, err := train.MNIST.Find()
	if err != nil {
		t.Fatal(err)
	}
	trainSet, testSet, err := train.MNIST.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := importer.Load(filepath.Join(repoRoot(t), "testdata", "lenet_mnist.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	bn, err := zoo.LeNetBN.Build(zoo.Options{Batch: -1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	res, err := train.Fit(context.Background(), bn, trainSet.Subset(0, 640), nil, train.Config{Epochs: 1, Batch: 64, LR: 0.05, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	bns := 0
	for _, n := range res.Model.Nodes {
		if _, ok := n.Op.(*ir.BatchNormalization); ok {
			bns++
		}
	}
	if bns == 0 {
		t.Fatal("the trained LeNet-BN has no BatchNormalization")
	}
	const batch = 16
	x := ir.FromFloat32(ir.Shape{batch, 1, 28, 28}, append([]float32(nil), testSet.Images[:batch*28*28]...))
	for name, g := range map[string]*ir.Graph{"lenet_mnist.onnx": committed, "lenet_bn-fit": res.Model} {
		t.Run(name, func(t *testing.T) {
			tmp := t.TempDir()
			model := filepath.Join(tmp, "model.onnx")
			if err := importer.Save(g, model); err != nil {
				t.Fatal(err)
			}
			loaded, err := importer.Load(model)
			if err != nil {
				t.Fatal(err)
			}
			m, err := runtime.Compile(loaded, runtime.CompileOptions{Batch: batch})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			s, err := m.NewSession(runtime.SessionOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			want, err := s.Run(context.Background(), x)
			if err != nil {
				t.Fatal(err)
			}
			in := filepath.Join(tmp, "input_0.pb")
			if err := importer.WriteTensor(in, loaded.Inputs[0].Name, x); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("node", runner, model, tmp, in).CombinedOutput(); err != nil {
				t.Fatalf("ONNX Runtime refused the model: %v\n%s", err, out)
			}
			got, err := readTensors(tmp, "output")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("ONNX Runtime gave %d outputs, cnnc %d", len(got), len(want))
			}
			checkOutputs(t, got, want)
		})
	}
}
