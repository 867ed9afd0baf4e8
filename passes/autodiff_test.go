package passes

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/reference"
	"github.com/cnnc/cnnc/zoo"
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
	{"convtranspose-gemm-nobias", LossCrossEntropy, 4, func(b *ir.Builder) *ir.Value {
		x := b.Input("x", 2, 4, 3, 3)
		// Grouped, strided, unevenly padded, with output_padding: W is
		// [C, M/group, K...], M = 6. Output [2, 6, 7, 3].
		y := b.Node1("up1", &ir.ConvTranspose{Strides: []int{2, 1}, Pads: []int{1, 0, 0, 1}, OutputPadding: []int{1, 0}, Group: 2}, x,
			b.Uniform("up1.weight", 0.4, 4, 3, 3, 2), b.Uniform("up1.bias", 0.4, 6))
		y = b.Node1("tanh", &ir.Tanh{}, y)
		// Dilated, with an output_shape beyond the full result: negative
		// padding (-1, -1 and 0, -1). Output [2, 2, 11, 5].
		y = b.Node1("up2", &ir.ConvTranspose{Dilations: []int{2, 1}, OutputShape: []int{11, 5}, Group: 1}, y, b.Uniform("up2.weight", 0.4, 6, 2, 2, 2))
		y = b.Node1("flatten", &ir.Flatten{Axis: 1}, y)
		return b.Node1("fc", &ir.Gemm{Alpha: 0.8, Beta: 1, TransB: true}, y, b.Uniform("fc.weight", 0.3, 4, y.Type.Shape[1]))
	}},
	{"matmul-softmax-transpose-div", LossCrossEntropy, 6, func(b *ir.Builder) *ir.Value {
		x := b.Input("x", 2, 3, 4)
		h := b.Node1("mm1", &ir.MatMul{}, x, b.Uniform("mm1.weight", 0.5, 4, 5)) // B broadcast over the batch: [2, 3, 5]
		h = b.Node1("tanh", &ir.Tanh{}, h)
		t := b.Node1("t", &ir.Transpose{Perm: []int{2, 0, 1}}, h)              // [5, 2, 3]: not its own inverse
		s := b.Node1("softmax", &ir.Softmax{Axis: 0}, t)                       // a group is along the first axis
		s = b.Node1("t2", &ir.Transpose{Perm: []int{1, 0, 2}}, s)              // [2, 5, 3]
		u := b.Node1("mm2", &ir.MatMul{}, b.Uniform("mm2.a", 0.8, 1, 4, 5), s) // A's batch axis of 1 broadcast: [2, 4, 3]
		u = b.Node1("logsoftmax", &ir.LogSoftmax{Axis: 1, Coerce2D: true}, u)
		v := b.Node1("mm3", &ir.MatMul{}, u, b.Uniform("mm3.v", 0.8, 3)) // 1-D B: [2, 4]
		w := b.Node1("mm4", &ir.MatMul{}, b.Uniform("mm4.v", 0.8, 5), s) // 1-D A: [2, 3]
		c := b.Node1("cat", &ir.Concat{Axis: 1}, v, w)                   // [2, 7]
		d := b.Node1("den", &ir.Sigmoid{}, b.Uniform("den", 1, 7))
		c = b.Node1("div", &ir.Div{}, c, d)
		c = b.Node1("div2", &ir.Div{}, c, b.Const("two", ir.FromFloat32(ir.Shape{1}, []float32{2})))
		return b.Node1("mm5", &ir.MatMul{}, c, b.Uniform("mm5.weight", 0.5, 7, 6)) // plain matrices: Gemm
	}},
	{"split-slice-ceil-pools-scale", LossCrossEntropy, 4, func(b *ir.Builder) *ir.Value {
		x := b.Input("x", 2, 3, 7, 7)
		y := b.Node1("conv", &ir.Conv{Group: 1}, x, b.Uniform("conv.weight", 0.6, 6, 3, 1, 1), b.Uniform("conv.bias", 0.3, 6))
		y = b.Node1("tanh", &ir.Tanh{}, y)
		// Output 0 and 3 get no gradient; 1 and 2 feed two branches.
		parts := b.Node("split", &ir.Split{Axis: 1, Split: []int{1, 2, 2, 1}, NumOutputs: 4}, 4, y)
		i64 := func(name string, v ...int64) *ir.Value { return b.Const(name, ir.FromInt64(ir.Shape{len(v)}, v)) }
		// Rows 1, 3, 5 and columns 6, 4, 2: [2, 2, 3, 3].
		a := b.Node1("slice", &ir.Slice{}, parts[1], i64("starts", 1, 6), i64("ends", 7, 0), i64("axes", 2, -1), i64("steps", 2, -2))
		a = b.Node1("maxpool", &ir.MaxPool{Kernel: []int{2, 2}, Strides: []int{2, 2}, CeilMode: true}, a) // [2, 2, 2, 2]
		a = b.Node1("half", &ir.Mul{}, a, b.Node1("half_const", &ir.Constant{Value: ir.FromFloat32(ir.Shape{}, []float32{0.5})}))
		a = b.Node1("gain", &ir.Mul{}, a, b.Const("gain", ir.FromFloat32(ir.Shape{}, []float32{1.5})))                // a trained scalar
		c := b.Node1("avgpool", &ir.AveragePool{Kernel: []int{2, 2}, Strides: []int{2, 2}, CeilMode: true}, parts[2]) // [2, 2, 4, 4]
		c = b.Node1("slice2", &ir.Slice{Starts: []int{1, -3}, Ends: []int{3, 100}, Axes: []int{2, 3}}, c)             // [2, 2, 2, 3]
		a = b.Node1("flat_a", &ir.Flatten{Axis: 1}, a)
		c = b.Node1("flat_c", &ir.Flatten{Axis: 1}, c)
		y = b.Node1("cat", &ir.Concat{Axis: 1}, a, c)
		return b.Node1("fc", &ir.Gemm{Alpha: 1, Beta: 1, TransB: true}, y, b.Uniform("fc.weight", 0.3, 4, y.Type.Shape[1]), b.Uniform("fc.bias", 0.3, 4))
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

// TestBackwardZoo builds (without running) a training step of every zoo
// architecture, at the smallest of a few input sizes it takes: every op
// the zoo uses has a gradient rule. Backward verifies the graph it builds.
// Backward takes milliseconds; building the model (its seeded weights)
// dominates, about a second for each VGG's 120M-parameter classifier.
func TestBackwardZoo(t *testing.T) {
	for _, m := range zoo.Models() {
		t.Run(m.Name, func(t *testing.T) {
			if testing.Short() && strings.HasPrefix(m.Name, "vgg") && !strings.HasPrefix(m.Name, "vgg11") {
				t.Skip("-short: the deeper VGGs are vgg11's code with more layers")
			}
			var g *ir.Graph
			var err error
			for _, size := range []int{32, 64, 96, 224} {
				if g, err = m.Build(zoo.Options{Size: size, Batch: 2, Classes: 10}); err == nil {
					break
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			step, err := Backward(g, TrainOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(step.Params) == 0 {
				t.Error("no trainable parameters")
			}
		})
	}
}

// TestBackwardUnsupported checks that an op without a gradient rule on
// the path to the loss is an unsupported error naming the node.
func TestBackwardUnsupported(t *testing.T) {
	b := ir.NewBuilder("elu", 1)
	x := b.Input("x", 2, 3)
	y := b.Node1("fc", &ir.Gemm{Alpha: 1, Beta: 1, TransB: true}, x, b.Uniform("fc.weight", 0.5, 4, 3))
	b.Output(b.Node1("act", &ir.Elu{Alpha: 1}, y))
	g, err := b.Graph()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Backward(g, TrainOptions{})
	if !ir.IsUnsupported(err) || !strings.Contains(err.Error(), `"act"`) {
		t.Errorf("got error %v, want an unsupported error naming node \"act\"", err)
	}
}
