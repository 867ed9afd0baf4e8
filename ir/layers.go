package ir

import "strconv"

// Layer is one step of a network: it takes a value and returns the next,
// adding nodes and parameters to the Builder. Layers are plain functions,
// so a block is a Layer made of Layers.
type Layer func(b *Builder, x *Value) *Value

// Sequential applies layers in order, each in a scope numbered from 0 as
// PyTorch's nn.Sequential names its children ("features.0", "features.1").
func Sequential(layers ...Layer) Layer {
	return func(b *Builder, x *Value) *Value {
		for i, l := range layers {
			x = b.Apply(strconv.Itoa(i), l, x)
		}
		return x
	}
}

// Named applies l in a scope of the given name.
func Named(name string, l Layer) Layer {
	return func(b *Builder, x *Value) *Value { return b.Apply(name, l, x) }
}

// channels returns x's channel count (axis 1), failing when it is unknown.
func channels(b *Builder, x *Value) int {
	if s := x.Type.Shape; len(s) >= 2 && s[1] > 0 {
		return s[1]
	}
	b.fail(Invalidf("input %q has shape %v: the channel count (axis 1) must be known", x.Name, x.Type.Shape))
	return 0
}

// ConvOption sets a property of Conv2d other than channels and kernel.
type ConvOption func(*convConfig)

type convConfig struct {
	stride, pad, dilation, groups int
	bias                          bool
}

// Stride sets a convolution's stride.
func Stride(s int) ConvOption { return func(c *convConfig) { c.stride = s } }

// Padding sets a convolution's zero padding on every side.
func Padding(p int) ConvOption { return func(c *convConfig) { c.pad = p } }

// Dilation sets a convolution's dilation.
func Dilation(d int) ConvOption { return func(c *convConfig) { c.dilation = d } }

// Groups splits a convolution into g groups (g = channels: depthwise).
func Groups(g int) ConvOption { return func(c *convConfig) { c.groups = g } }

// NoBias leaves out a convolution's bias (as before a batch norm).
func NoBias() ConvOption { return func(c *convConfig) { c.bias = false } }

func newConvConfig(opts []ConvOption) convConfig {
	c := convConfig{stride: 1, dilation: 1, groups: 1, bias: true}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// Conv2d is a 2-D convolution with out output channels and a k x k kernel
// (nn.Conv2d); the input channels come from the input. Its parameters are
// "weight" [out, in/groups, k, k] and, unless NoBias, "bias" [out].
func Conv2d(out, k int, opts ...ConvOption) Layer {
	c := newConvConfig(opts)
	return func(b *Builder, x *Value) *Value {
		in := channels(b, x)
		if b.err != nil {
			return x
		}
		if out <= 0 || k <= 0 || c.groups <= 0 || in%c.groups != 0 || out%c.groups != 0 {
			b.fail(Invalidf("Conv2d(%d, %d, groups %d) on %d input channels: channels must be positive and divisible by the groups", out, k, c.groups, in))
			return x
		}
		fanIn := in / c.groups * k * k
		w := b.Uniform("weight", fanInBound(fanIn), out, in/c.groups, k, k)
		var bias *Value
		if c.bias {
			bias = b.Uniform("bias", fanInBound(fanIn), out)
		}
		op := &Conv{
			Kernel: []int{k, k}, Strides: []int{c.stride, c.stride}, Dilations: []int{c.dilation, c.dilation},
			Pads: []int{c.pad, c.pad, c.pad, c.pad}, Group: c.groups,
		}
		if bias == nil {
			return b.Node1("", op, x, w)
		}
		return b.Node1("", op, x, w, bias)
	}
}

// BatchNorm is inference-form batch normalization over the channels
// (nn.BatchNorm2d, epsilon 1e-5): parameters "weight" (1) and "bias" (0),
// and the statistics "running_mean" (0) and "running_var" (1).
func BatchNorm() Layer {
	return func(b *Builder, x *Value) *Value {
		c := channels(b, x)
		if b.err != nil {
			return x
		}
		scale, shift := b.Fill("weight", 1, c), b.Fill("bias", 0, c)
		mean, variance := b.Fill("running_mean", 0, c), b.Fill("running_var", 1, c)
		return b.Node1("", &BatchNormalization{Epsilon: 1e-5, Momentum: 0.9}, x, scale, shift, mean, variance)
	}
}

// Linear is a fully connected layer with out outputs (nn.Linear) on a
// [N, in] input: Y = X W^T + B with "weight" [out, in] and "bias" [out].
func Linear(out int) Layer {
	return func(b *Builder, x *Value) *Value {
		s := x.Type.Shape
		if len(s) != 2 || s[1] <= 0 || out <= 0 {
			b.fail(Invalidf("Linear(%d) wants a [N, features] input with known features, got %v", out, s))
			return x
		}
		bound := fanInBound(s[1])
		w, bias := b.Uniform("weight", bound, out, s[1]), b.Uniform("bias", bound, out)
		return b.Node1("", &Gemm{Alpha: 1, Beta: 1, TransB: true}, x, w, bias)
	}
}

// unaryLayer makes a parameterless layer of one op.
func unaryLayer(op func() Op) Layer {
	return func(b *Builder, x *Value) *Value { return b.Node1("", op(), x) }
}

// ReLU is max(x, 0).
func ReLU() Layer { return unaryLayer(func() Op { return &Relu{} }) }

// SigmoidLayer is 1/(1+exp(-x)).
func SigmoidLayer() Layer { return unaryLayer(func() Op { return &Sigmoid{} }) }

// TanhLayer is tanh(x).
func TanhLayer() Layer { return unaryLayer(func() Op { return &Tanh{} }) }

// FlattenLayer flattens all but the batch dimension (torch.flatten(x, 1)).
func FlattenLayer() Layer { return unaryLayer(func() Op { return &Flatten{Axis: 1} }) }

// DropoutLayer is dropout with probability p: the identity at inference.
func DropoutLayer(p float32) Layer {
	return unaryLayer(func() Op { return &Dropout{Ratio: p} })
}

// LocalResponseNorm is LRN across size channels (nn.LocalResponseNorm).
func LocalResponseNorm(size int, alpha, beta, k float32) Layer {
	return unaryLayer(func() Op { return &LRN{Size: size, Alpha: alpha, Beta: beta, Bias: k} })
}

// MaxPool2d is k x k max pooling with the given stride (Pad and CeilMode
// options apply).
func MaxPool2d(k, stride int, opts ...PoolOption) Layer {
	p := newPoolConfig(opts)
	return unaryLayer(func() Op {
		return &MaxPool{Kernel: []int{k, k}, Strides: []int{stride, stride}, Pads: []int{p.pad, p.pad, p.pad, p.pad}, CeilMode: p.ceil}
	})
}

// AvgPool2d is k x k average pooling with the given stride; padding, if
// any, is counted in the average as PyTorch's default does.
func AvgPool2d(k, stride int, opts ...PoolOption) Layer {
	p := newPoolConfig(opts)
	return unaryLayer(func() Op {
		return &AveragePool{Kernel: []int{k, k}, Strides: []int{stride, stride}, Pads: []int{p.pad, p.pad, p.pad, p.pad},
			CeilMode: p.ceil, CountIncludePad: true}
	})
}

// GlobalAvgPool averages each channel's plane to 1x1
// (nn.AdaptiveAvgPool2d((1, 1))).
func GlobalAvgPool() Layer { return unaryLayer(func() Op { return &GlobalAveragePool{} }) }

// PoolOption sets a property of a pooling layer.
type PoolOption func(*poolConfig)

type poolConfig struct {
	pad  int
	ceil bool
}

// PoolPad pads a pooling window's input on every side.
func PoolPad(p int) PoolOption { return func(c *poolConfig) { c.pad = p } }

// CeilMode rounds a pooling layer's output size up (ceil_mode=True).
func CeilMode() PoolOption { return func(c *poolConfig) { c.ceil = true } }

func newPoolConfig(opts []PoolOption) poolConfig {
	var c poolConfig
	for _, o := range opts {
		o(&c)
	}
	return c
}

// Add returns x + y (a residual connection), named by the current scope.
func (b *Builder) Add(x, y *Value) *Value { return b.Node1("add", &Add{}, x, y) }

// Concat joins values along the channel axis (as torch.cat(xs, 1)).
func (b *Builder) Concat(xs ...*Value) *Value { return b.Node1("cat", &Concat{Axis: 1}, xs...) }

// AdaptiveAvgPool2d averages an [N, C, H, W] input to [N, C, out, out]
// (nn.AdaptiveAvgPool2d((out, out))). PyTorch averages output row i over
// the input rows [floor(i*H/out), ceil((i+1)*H/out)), and likewise for the
// columns. Where those windows all have one size k and start every s rows
// (always when H is a multiple of out: k = s = H/out; also for some other
// sizes, such as 13 to 6 with k 3, s 2), the layer is exactly an
// AveragePool of kernel k and stride s, and it adds nothing where that is
// the identity (H = W = out). Other sizes, among them any below out, are
// unsupported: no single pooling computes them.
func AdaptiveAvgPool2d(out int) Layer {
	return func(b *Builder, x *Value) *Value {
		s := x.Type.Shape
		if out <= 0 || len(s) != 4 || s[2] <= 0 || s[3] <= 0 {
			b.fail(Invalidf("AdaptiveAvgPool2d(%d) wants a positive output size and an [N, C, H, W] input with known H and W, got %v", out, s))
			return x
		}
		kh, sh, okH := adaptiveWindow(s[2], out)
		kw, sw, okW := adaptiveWindow(s[3], out)
		switch {
		case s[2] < out || s[3] < out:
			b.fail(Unsupportedf("AdaptiveAvgPool2d(%d) on a %dx%d input: the input is smaller than the output, whose windows then overlap by less than a row, which no AveragePool computes", out, s[2], s[3]))
			return x
		case !okH || !okW:
			b.fail(Unsupportedf("AdaptiveAvgPool2d(%d) on a %dx%d input: PyTorch's windows differ in size or step, so no AveragePool computes them (the input size must be a multiple of %d, or otherwise give windows of one size and stride)", out, s[2], s[3], out))
			return x
		case kh == 1 && kw == 1 && sh == 1 && sw == 1:
			return x
		}
		return b.Node1("", &AveragePool{Kernel: []int{kh, kw}, Strides: []int{sh, sw}, Pads: []int{0, 0, 0, 0}}, x)
	}
}

// adaptiveWindow returns the kernel and stride of the pooling that maps in
// rows to out rows with PyTorch's adaptive windows [floor(i*in/out),
// ceil((i+1)*in/out)), and whether one kernel and stride make them all.
func adaptiveWindow(in, out int) (k, s int, ok bool) {
	start := func(i int) int { return i * in / out }
	end := func(i int) int { return ((i+1)*in + out - 1) / out }
	k, s = end(0)-start(0), in
	if out > 1 {
		s = start(1) - start(0)
	}
	if s < 1 {
		return 0, 0, false
	}
	for i := range out {
		if start(i) != i*s || end(i)-start(i) != k {
			return 0, 0, false
		}
	}
	return k, s, true
}
