package ir

import "strconv"

// DenseLayer is one layer of a DenseNet-BC dense block (Huang et al.,
// "Densely Connected Convolutional Networks", CVPR 2017, Section 3,
// "Bottleneck layers"): BN-ReLU-Conv(1x1) to bnSize*growth channels, then
// BN-ReLU-Conv(3x3, pad 1) to growth channels. On [N, C, H, W] it returns
// only the growth new feature maps [N, growth, H, W]; DenseBlock joins them
// to the input. Names are torchvision's _DenseLayer's: "norm1", "relu1",
// "conv1", "norm2", "relu2", "conv2" (convolutions without bias, batch
// norms with epsilon 1e-5).
func DenseLayer(growth, bnSize int) Layer {
	return func(b *Builder, x *Value) *Value {
		if growth <= 0 || bnSize <= 0 {
			b.fail(Invalidf("DenseLayer(growth %d, bn_size %d): both must be positive", growth, bnSize))
			return x
		}
		x = b.Apply("norm1", BatchNorm(), x)
		x = b.Apply("relu1", ReLU(), x)
		x = b.Apply("conv1", Conv2d(bnSize*growth, 1, NoBias()), x)
		x = b.Apply("norm2", BatchNorm(), x)
		x = b.Apply("relu2", ReLU(), x)
		return b.Apply("conv2", Conv2d(growth, 3, Padding(1), NoBias()), x)
	}
}

// DenseBlock is a dense block of layers DenseLayers (Huang et al., 2017,
// Figure 1): layer i (from 1, named "denselayer<i>") reads the
// concatenation of the block's input and the outputs of layers 1..i-1, and
// the block returns the concatenation of its input and every layer's
// output: [N, C, H, W] gives [N, C + layers*growth, H, W]. As in
// torchvision's _DenseBlock, each layer concatenates all earlier features
// itself (a Concat named "denselayer<i>.cat"; the first layer reads the
// input directly).
func DenseBlock(layers, growth, bnSize int) Layer {
	return func(b *Builder, x *Value) *Value {
		if layers <= 0 {
			b.fail(Invalidf("DenseBlock(%d layers): the number of layers must be positive", layers))
			return x
		}
		features := []*Value{x}
		for i := 1; i <= layers && b.err == nil; i++ {
			layer := func(b *Builder, _ *Value) *Value {
				in := features[0]
				if len(features) > 1 {
					in = b.Concat(features...)
				}
				return DenseLayer(growth, bnSize)(b, in)
			}
			features = append(features, b.Apply("denselayer"+strconv.Itoa(i), layer, x))
		}
		if b.err != nil {
			return x
		}
		return b.Concat(features...)
	}
}

// DenseTransition is the transition layer between two dense blocks (Huang
// et al., 2017, Section 3, "Pooling layers" and "Compression"):
// BN-ReLU-Conv(1x1) to out channels, then 2x2 average pooling with stride
// 2: [N, C, H, W] gives [N, out, H/2, W/2] (rounded down). DenseNet-BC
// takes out = C/2. Names are torchvision's _Transition's: "norm", "relu",
// "conv" (no bias), "pool".
func DenseTransition(out int) Layer {
	return func(b *Builder, x *Value) *Value {
		x = b.Apply("norm", BatchNorm(), x)
		x = b.Apply("relu", ReLU(), x)
		x = b.Apply("conv", Conv2d(out, 1, NoBias()), x)
		return b.Apply("pool", AvgPool2d(2, 2), x)
	}
}
