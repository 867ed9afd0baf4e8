package ir

// Residual blocks of the ResNet family, named as torchvision's modules are
// ("conv1", "bn1", ..., "downsample.0", "downsample.1"), so that a block
// applied in the scope "layer1.0" has the parameters
// "layer1.0.conv1.weight", "layer1.0.downsample.1.running_var" and so on.
//
// Each block decides on its own whether its shortcut needs a projection, as
// torchvision's ResNet._make_layer does: when the stride is not 1 or the
// input channels differ from the block's output channels, the shortcut is a
// 1x1 convolution of that stride (the "option B" projection of He et al.);
// otherwise it is the identity. A block's output has the input's spatial
// size divided by the stride (rounded up: the 3x3 convolutions pad by 1).

// Downsample is the projection shortcut of BasicBlock and Bottleneck
// (torchvision's "downsample"): a 1x1 convolution without bias to out
// channels with the given stride ("downsample.0"), then batch norm
// ("downsample.1").
func Downsample(out, stride int) Layer {
	return Sequential(Conv2d(out, 1, Stride(stride), NoBias()), BatchNorm())
}

// BlockOption sets an optional property of BasicBlock and Bottleneck.
type BlockOption func(*blockConfig)

type blockConfig struct {
	stochastic bool    // a StochasticDepth node on the branch
	survival   float32 // its survival probability
}

// WithStochasticDepth puts the block's residual branch under stochastic
// depth with survival probability p in (0, 1] (Huang et al., "Deep
// Networks with Stochastic Depth", ECCV 2016): a StochasticDepth node
// ("stochastic_depth") between the branch's last batch norm and the
// addition of the shortcut. It adds no parameters, and the block computes
// the same at inference, where the op is the identity.
func WithStochasticDepth(p float32) BlockOption {
	return func(c *blockConfig) { c.stochastic, c.survival = true, p }
}

// residualBranch ends a residual branch y as the options say: through
// StochasticDepth when it is asked for.
func residualBranch(b *Builder, y *Value, opts []BlockOption) *Value {
	var c blockConfig
	for _, o := range opts {
		o(&c)
	}
	if !c.stochastic {
		return y
	}
	return b.Apply("stochastic_depth", StochasticDepthLayer(c.survival), y)
}

// shortcut returns x, or x through proj when the block changes the shape
// (stride not 1, or in != out channels).
func shortcut(b *Builder, x *Value, in, out, stride int, proj Layer) *Value {
	if stride == 1 && in == out {
		return x
	}
	return b.Apply("downsample", proj, x)
}

// BasicBlock is the residual block of ResNet-18 and -34 (He et al., "Deep
// Residual Learning for Image Recognition", CVPR 2016, Fig. 2 left;
// torchvision's BasicBlock): conv 3x3 to planes with the given stride, BN,
// ReLU, conv 3x3 to planes, BN, plus the shortcut, then ReLU. Output:
// [N, planes, ceil(H/stride), ceil(W/stride)]. Options: WithStochasticDepth.
func BasicBlock(planes, stride int, opts ...BlockOption) Layer {
	return func(b *Builder, x *Value) *Value {
		in := channels(b, x)
		if b.err != nil {
			return x
		}
		y := b.Apply("conv1", Conv2d(planes, 3, Stride(stride), Padding(1), NoBias()), x)
		y = b.Apply("bn1", BatchNorm(), y)
		y = b.Apply("relu", ReLU(), y)
		y = b.Apply("conv2", Conv2d(planes, 3, Padding(1), NoBias()), y)
		y = b.Apply("bn2", BatchNorm(), y)
		y = residualBranch(b, y, opts)
		y = b.Add(y, shortcut(b, x, in, planes, stride, Downsample(planes, stride)))
		return b.Apply("relu", ReLU(), y)
	}
}

// BottleneckExpansion is the ratio of a Bottleneck's output channels to
// its planes.
const BottleneckExpansion = 4

// Bottleneck is the residual block of ResNet-50, -101 and -152 (He et al.,
// CVPR 2016, Fig. 5 right) in torchvision's "v1.5" form, which strides the
// 3x3 convolution rather than the first 1x1: conv 1x1 to width, BN, ReLU,
// conv 3x3 to width with the given stride in groups groups, BN, ReLU,
// conv 1x1 to planes*4, BN, plus the shortcut, then ReLU. Output:
// [N, 4*planes, ceil(H/stride), ceil(W/stride)].
//
// The inner width is planes*baseWidth/64*groups, as torchvision computes
// it: groups 1 and baseWidth 64 give ResNet's bottleneck (width = planes);
// groups 32 and baseWidth 4 give ResNeXt's 32x4d block (Xie et al.,
// "Aggregated Residual Transformations for Deep Neural Networks", CVPR
// 2017, Fig. 3c); groups 1 and baseWidth 128 give torchvision's wide
// ResNet-50-2 (Zagoruyko & Komodakis, "Wide Residual Networks", BMVC
// 2016), whose bottleneck is twice as wide. Options: WithStochasticDepth.
func Bottleneck(planes, stride, groups, baseWidth int, opts ...BlockOption) Layer {
	return func(b *Builder, x *Value) *Value {
		in := channels(b, x)
		if b.err != nil {
			return x
		}
		width := planes * baseWidth / 64 * groups
		if planes <= 0 || groups <= 0 || baseWidth <= 0 || width <= 0 {
			b.fail(Invalidf("Bottleneck(planes %d, groups %d, base width %d): planes, groups and base width must be positive and give a positive width", planes, groups, baseWidth))
			return x
		}
		out := planes * BottleneckExpansion
		y := b.Apply("conv1", Conv2d(width, 1, NoBias()), x)
		y = b.Apply("bn1", BatchNorm(), y)
		y = b.Apply("relu", ReLU(), y)
		y = b.Apply("conv2", Conv2d(width, 3, Stride(stride), Padding(1), Groups(groups), NoBias()), y)
		y = b.Apply("bn2", BatchNorm(), y)
		y = b.Apply("relu", ReLU(), y)
		y = b.Apply("conv3", Conv2d(out, 1, NoBias()), y)
		y = b.Apply("bn3", BatchNorm(), y)
		y = residualBranch(b, y, opts)
		y = b.Add(y, shortcut(b, x, in, out, stride, Downsample(out, stride)))
		return b.Apply("relu", ReLU(), y)
	}
}

// PreActBlock is the full pre-activation residual unit of He et al.,
// "Identity Mappings in Deep Residual Networks" (ECCV 2016, Fig. 4e), also
// the wide basic block of Zagoruyko & Komodakis' WRN (BMVC 2016, Fig. 1d
// without dropout): BN ("bn1"), ReLU, conv 3x3 to planes with the given
// stride ("conv1"), BN ("bn2"), ReLU, conv 3x3 to planes ("conv2"), plus
// the shortcut, with no activation after the addition. Output:
// [N, planes, ceil(H/stride), ceil(W/stride)].
//
// Its projection shortcut, when the shape changes, is a single 1x1
// convolution without bias and without batch norm ("downsample.0"), and it
// reads the pre-activated input BN-ReLU(x), as in the authors' code (He's
// resnet-pre-act.lua, Zagoruyko's WRN): a normalized projection would
// break the identity path the unit is designed around. All convolutions
// are without bias.
func PreActBlock(planes, stride int) Layer {
	return func(b *Builder, x *Value) *Value {
		in := channels(b, x)
		if b.err != nil {
			return x
		}
		a := b.Apply("bn1", BatchNorm(), x)
		a = b.Apply("relu", ReLU(), a)
		y := b.Apply("conv1", Conv2d(planes, 3, Stride(stride), Padding(1), NoBias()), a)
		y = b.Apply("bn2", BatchNorm(), y)
		y = b.Apply("relu", ReLU(), y)
		y = b.Apply("conv2", Conv2d(planes, 3, Padding(1), NoBias()), y)
		if stride == 1 && in == planes {
			return b.Add(y, x)
		}
		return b.Add(y, b.Apply("downsample", Sequential(Conv2d(planes, 1, Stride(stride), NoBias())), a))
	}
}
