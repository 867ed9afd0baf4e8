package passes

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/reference"
)

// gradModels are small networks covering every gradient rule, with the
// loss they train under. Smooth activations keep the finite differences
// away from kinks where the check compares every element.
var gradModels = []struct {
	name string
	loss Loss
	// classes of the output, for the labels (cross-entropy)
	classes int
	build   func(b *ir.Builder) *ir.Value
}{
	{"conv-tanh-avgpool-gemm", LossCrossEntropy, 5, func(b *ir.Builder) *ir.Value {
		x := b.Input("x", 2, 4, 7, 6)
		w := b.Uniform("conv.weight", 0.4, 6, 2, 3, 3)
		bias := b.Uniform("conv.bias", 0.4, 6)
		y := b.Node1("conv", &ir.Conv{Strides: []int{2, 1}, Pads: []int{1, 0, 1, 2}, Group: 2}, x, w, bias)
		y = b.Node1("tanh", &ir.Tanh{}, y)
		// Stride 1: its data gradient is a convolution with the flipped
		// filter, grouped and unevenly padded.
		y = b.Node1("conv2", &ir.Conv{Pads: []int{0, 1, 2, 1}, Group: 3}, y, b.Uniform("conv2.weight", 0.4, 6, 2, 3, 2))
		y = b.Node1("pool", &ir.AveragePool{Kernel: []int{2, 2}, Strides: []int{1, 2}, Pads: []int{0, 1, 1, 0}}, y)
		y = b.Node1("flatten", &ir.Flatten{Axis: 1}, y)
		fc := b.Uniform("fc.weight", 0.3, 5, y.Type.Shape[1])
		return b.Node1("fc", &ir.Gemm{Alpha: 1, Beta: 1, TransB: true}, y, fc, b.Uniform("fc.bias", 0.3, 5))
	}},
	{"conv-sigmoid-maxpool-dilated-global", LossCrossEntropy, 3, func(b *ir.Builder) *ir.Value {
		x := b.Input("x", 3, 2, 8, 8)
		y := b.Node1("conv1", &ir.Conv{Pads: []int{1, 1, 1, 1}, Group: 1}, x, b.Uniform("conv1.weight", 0.5, 4, 2, 3, 3))
		y = b.Node1("sig", &ir.Sigmoid{}, y)
		y = b.Node1("pool", &ir.MaxPool{Kernel: []int{2, 2}, Strides: []int{2, 2}}, y)
		y = b.Node1("conv2", &ir.Conv{Dilations: []int{2, 1}, Pads: []int{2, 1, 2, 1}, Group: 1}, y,
			b.Uniform("conv2.weight", 0.5, 5, 4, 3, 3), b.Uniform("conv2.bias", 0.2, 5))
		y = b.Node1("gap", &ir.GlobalAveragePool{}, y)
		y = b.Node1("flatten", &ir.Flatten{Axis: 1}, y)
		// A Gemm with A transposed in storage: y [3,5] as (yᵀ)ᵀ is not
		// available, so transpose the weight instead.
		return b.Node1("fc", &ir.Gemm{Alpha: 0.7, Beta: 0.5}, y, b.Uniform("fc.weight", 0.5, 5, 3), b.Uniform("fc.bias", 0.5, 1, 3))
	}},
	{"residual-mixed-mse", LossMSE, 0, func(b *ir.Builder) *ir.Value {
		x := b.Input("x", 2, 3, 5, 5)
		a := b.Node1("conva", &ir.Conv{Pads: []int{1, 1, 1, 1}, Group: 1}, x, b.Uniform("conva.weight", 0.4, 3, 3, 3, 3), b.Uniform("conva.bias", 0.2, 3))
		a = b.Node1("leaky", &ir.LeakyRelu{Alpha: 0.1}, a)
		s := b.Node1("add", &ir.Add{}, a, x) // x feeds two nodes: its gradient sums
		m := b.Node1("mul", &ir.Mul{}, s, b.Uniform("scale", 1, 1, 3, 1, 1))
		d := b.Node1("sub", &ir.Sub{}, m, b.Uniform("shift", 1, 3, 1, 1))
		c := b.Node1("cat", &ir.Concat{Axis: 1}, d, a)
		c = b.Node1("clip", &ir.Clip{Min: -0.8, Max: 0.9}, c)
		c = b.Node1("gmp", &ir.GlobalMaxPool{}, c)
		c = b.Node1("flatten", &ir.Flatten{Axis: 1}, c)
		return b.Node1("fc", &ir.Gemm{Alpha: 1, Beta: 1, TransA: false, TransB: true}, c, b.Uniform("fc.weight", 0.5, 4, 6), b.Uniform("fc.bias", 0.5, 4))
	}},
	{"conv-batchnorm-relu", LossCrossEntropy, 3, func(b *ir.Builder) *ir.Value {
		x := b.Input("x", 4, 2, 5, 5)
		y := b.Node1("conv", &ir.Conv{Pads: []int{1, 1, 1, 1}, Group: 1}, x, b.Uniform("conv.weight", 0.5, 3, 2, 3, 3))
		y = b.Node1("bn", &ir.BatchNormalization{Epsilon: 1e-5, Momentum: 0.9}, y,
			b.Uniform("bn.weight", 1, 3), b.Uniform("bn.bias", 1, 3), b.Uniform("bn.running_mean", 1, 3), b.Fill("bn.running_var", 1, 3))
		y = b.Node1("tanh", &ir.Tanh{}, y)
		y = b.Node1("gap", &ir.GlobalAveragePool{}, y)
		y = b.Node1("flatten", &ir.Flatten{Axis: 1}, y)
		return b.Node1("fc", &ir.Gemm{Alpha: 1, Beta: 1, TransB: true}, y, b.Uniform("fc.weight", 0.5, 3, 3), b.Uniform("fc.bias", 0.5, 3))
	}},
	{"lrn-pad-maxpool", LossCrossEntropy, 3, func(b *ir.Builder) *ir.Value {
		x := b.Input("x", 2, 5, 4, 4)
		y := b.Node1("conv", &ir.Conv{Group: 1}, x, b.Uniform("conv.weight", 0.8, 6, 5, 1, 1), b.Uniform("conv.bias", 0.5, 6))
		y = b.Node1("lrn", &ir.LRN{Size: 3, Alpha: 0.5, Beta: 0.75, Bias: 1}, y)
		y = b.Node1("pad", &ir.Pad{Pads: []int{0, 0, 1, 0, 0, 0, 0, 2}}, y)
		y = b.Node1("pool", &ir.MaxPool{Kernel: []int{2, 2}, Strides: []int{2, 2}}, y)
		y = b.Node1("flatten", &ir.Flatten{Axis: 1}, y)
		return b.Node1("fc", &ir.Gemm{Alpha: 1, Beta: 1, TransB: true}, y, b.Uniform("fc.weight", 0.5, 3, y.Type.Shape[1]), b.Uniform("fc.bias", 0.5, 3))
	}},
	{"dropout-stochastic-depth", LossCrossEntropy, 3, func(b *ir.Builder) *ir.Value {
		x := b.Input("x", 3, 8)
		h := b.Node1("fc1", &ir.Gemm{Alpha: 1, Beta: 1, TransB: true}, x, b.Uniform("fc1.weight", 0.5, 8, 8), b.Uniform("fc1.bias", 0.5, 8))
		h = b.Node1("tanh", &ir.Tanh{}, h)
		h = b.Node1("drop", &ir.Dropout{Ratio: 0.4}, h)
		r := b.Node1("branch", &ir.Gemm{Alpha: 1, Beta: 1, TransB: true}, h, b.Uniform("branch.weight", 0.5, 8, 8), b.Uniform("branch.bias", 0.5, 8))
		r = b.Node1("sd", &ir.StochasticDepth{Survival: 0.7}, r)
		h = b.Node1("add", &ir.Add{}, h, r)
		return b.Node1("fc2", &ir.Gemm{Alpha: 1, Beta: 1, TransB: true}, h, b.Uniform("fc2.weight", 0.5, 3, 8), b.Uniform("fc2.bias", 0.5, 3))
	}},
	{"gemm-transposes", LossCrossEntropy, 4, func(b *ir.Builder) *ir.Value {
		x := b.Input("x", 6, 3) // used as Aᵀ: A' = xᵀ is [3, 6]
		y := b.Node1("g1", &ir.Gemm{Alpha: 1.3, Beta: 1, TransA: true, TransB: true}, x, b.Uniform("g1.weight", 0.5, 5, 6), b.Uniform("g1.bias", 0.5, 5))
		y = b.Node1("tanh", &ir.Tanh{}, y)
		return b.Node1("g2", &ir.Gemm{Alpha: 1, Beta: 2, TransA: false, TransB: false}, y, b.Uniform("g2.weight", 0.5, 5, 4), b.Uniform("g2.bias", 0.5, 3, 1))
	}},
}

// TestBackwardFiniteDifferences checks every parameter's gradient from
// Backward against central differences of the loss, both computed by the
// reference interpreter.
func TestBackwardFiniteDifferences(t *testing.T) {
	for _, m := range gradModels {
		t.Run(m.name, func(t *testing.T) {
			b := ir.NewBuilder(m.name, 3)
			b.Output(m.build(b))
			g, err := b.Graph()
			if err != nil {
				t.Fatal(err)
			}
			step, err := Backward(g, TrainOptions{Loss: m.loss, Gradients: true})
			if err != nil {
				t.Fatal(err)
			}
			feeds := trainFeeds(t, step, m.classes, 0)
			outs, err := reference.Run(step.Graph, feeds)
			if err != nil {
				t.Fatal(err)
			}
			loss := func() float64 {
				o, err := reference.Run(step.Graph, feeds)
				if err != nil {
					t.Fatal(err)
				}
				return float64(o[0].F32[0])
			}
			const eps = 1e-3
			for _, p := range step.Params {
				grad := outs[p.Grad].F32
				w := feeds[step.Graph.Inputs[p.In].Name].F32
				scale := 0.0
				for _, v := range grad {
					scale = math.Max(scale, math.Abs(float64(v)))
				}
				for i := range w {
					orig := w[i]
					w[i] = orig + eps
					up := loss()
					w[i] = orig - eps
					down := loss()
					w[i] = orig
					fd := (up - down) / (2 * eps)
					if d := math.Abs(fd - float64(grad[i])); d > 2e-3+0.02*scale {
						t.Errorf("%s[%d]: gradient %.6g, finite difference %.6g", p.Name, i, grad[i], fd)
					}
				}
			}
		})
	}
}

// trainFeeds returns the step's inputs: random data, labels in [0,
// classes) (or a random target), lr, the parameters' initial values and
// zero optimizer states.
func trainFeeds(t *testing.T, step *TrainStep, classes int, lr float32) map[string]*ir.Tensor {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 7))
	feeds := map[string]*ir.Tensor{}
	owner := map[int]*Param{}
	for i := range step.Params {
		owner[step.Params[i].In] = &step.Params[i]
	}
	buffer := map[int]*ir.Tensor{}
	for _, b := range step.Buffers {
		buffer[b.In] = b.Init
	}
	for i, v := range step.Graph.Inputs {
		tt, err := ir.NewTensor(v.Type.DType, v.Type.Shape)
		if err != nil {
			t.Fatal(err)
		}
		switch p := owner[i]; {
		case p != nil:
			copy(tt.F32, p.Init.F32)
		case buffer[i] != nil:
			copy(tt.F32, buffer[i].F32)
		case i == step.LR:
			tt.F32[0] = lr
		case i == step.Step:
			tt.F32[0] = 1
		case i == step.Labels && classes > 0:
			for j := 0; j < v.Type.Shape[0]; j++ {
				tt.F32[j*classes+r.IntN(classes)] = 1
			}
		case strings.Contains(v.Name, ".state"):
		default:
			for j := range tt.F32 {
				tt.F32[j] = float32(r.Float64()*2 - 1)
			}
		}
		feeds[v.Name] = tt
	}
	return feeds
}
