package ir

// BatchNormEps is BatchNorm with epsilon eps instead of nn.BatchNorm2d's
// default 1e-5 (torchvision's GoogLeNet and Inception v3 use 1e-3). Its
// parameters are BatchNorm's: "weight" (1), "bias" (0), "running_mean" (0)
// and "running_var" (1), each with one element per input channel.
func BatchNormEps(eps float32) Layer {
	return func(b *Builder, x *Value) *Value {
		c := channels(b, x)
		if b.err != nil {
			return x
		}
		if !(eps > 0) {
			b.fail(Invalidf("BatchNormEps(%v): epsilon must be positive", eps))
			return x
		}
		scale, shift := b.Fill("weight", 1, c), b.Fill("bias", 0, c)
		mean, variance := b.Fill("running_mean", 0, c), b.Fill("running_var", 1, c)
		return b.Node1("", &BatchNormalization{Epsilon: eps, Momentum: 0.9}, x, scale, shift, mean, variance)
	}
}

// BasicConv2d is torchvision's BasicConv2d of GoogLeNet and Inception v3: a
// k x k convolution to out channels without bias ("conv"), a batch norm with
// epsilon 1e-3 ("bn") and a ReLU. Its parameters are "conv.weight" and
// "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var". opts set the
// convolution's stride and padding (NoBias is implied).
func BasicConv2d(out, k int, opts ...ConvOption) Layer {
	conv := Conv2d(out, k, append(append([]ConvOption{}, opts...), NoBias())...)
	return func(b *Builder, x *Value) *Value {
		x = b.Apply("conv", conv, x)
		x = b.Apply("bn", BatchNormEps(1e-3), x)
		return b.Apply("relu", ReLU(), x)
	}
}

// Inception is the Inception module of GoogLeNet (Szegedy et al., "Going
// Deeper with Convolutions", CVPR 2015, Figure 2b) in torchvision's layout.
// Four branches read the input x [N, C, H, W]:
//
//	branch1: 1x1 conv to c1x1
//	branch2: 1x1 conv to c3x3red, then 3x3 conv (pad 1) to c3x3
//	branch3: 1x1 conv to c5x5red, then 3x3 conv (pad 1) to c5x5
//	branch4: 3x3 max pool (stride 1, pad 1, ceil mode), then 1x1 conv to poolProj
//
// and their outputs are concatenated along the channels, giving
// [N, c1x1+c3x3+c5x5+poolProj, H, W]. The arguments are the columns of the
// paper's Table 1 ("#1x1", "#3x3 reduce", "#3x3", "#5x5 reduce", "#5x5",
// "pool proj"). Every conv is a BasicConv2d (conv, batch norm, ReLU).
// As in torchvision, branch3 uses a 3x3 kernel where the paper has 5x5 (a
// known quirk of the ported weights), so that torchvision's weights fit.
// Parameter names are torchvision's: "branch1.conv.weight",
// "branch2.0.conv.weight", "branch2.1.bn.running_var", "branch4.1.conv.weight".
func Inception(c1x1, c3x3red, c3x3, c5x5red, c5x5, poolProj int) Layer {
	branches := []Layer{
		BasicConv2d(c1x1, 1),
		Sequential(BasicConv2d(c3x3red, 1), BasicConv2d(c3x3, 3, Padding(1))),
		Sequential(BasicConv2d(c5x5red, 1), BasicConv2d(c5x5, 3, Padding(1))),
		Sequential(MaxPool2d(3, 1, PoolPad(1), CeilMode()), BasicConv2d(poolProj, 1)),
	}
	return func(b *Builder, x *Value) *Value {
		outs := make([]*Value, len(branches))
		for i, br := range branches {
			outs[i] = b.Apply("branch"+string(rune('1'+i)), br, x)
		}
		if b.err != nil {
			return x
		}
		return b.Concat(outs...)
	}
}
