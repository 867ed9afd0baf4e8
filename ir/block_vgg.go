package ir

// VGGBlockLayers returns the layers of one VGG block (Simonyan &
// Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
// Recognition", ICLR 2015): convs 3x3 convolutions of the given channels
// with padding 1, each followed by a batch norm when batchNorm is set (the
// convolution keeps its bias, as in torchvision's vgg*_bn) and a ReLU, then
// a 2x2 max pool of stride 2. An [N, C, H, W] input becomes
// [N, channels, H/2, W/2] (rounded down).
//
// The layers come as a list so that a network can splice its blocks into
// one Sequential and number all their layers flatly, as torchvision's VGG
// "features" does (features.0 is a conv, features.1 its ReLU, ...).
func VGGBlockLayers(convs, channels int, batchNorm bool) []Layer {
	var ls []Layer
	for range convs {
		ls = append(ls, Conv2d(channels, 3, Padding(1)))
		if batchNorm {
			ls = append(ls, BatchNorm())
		}
		ls = append(ls, ReLU())
	}
	return append(ls, MaxPool2d(2, 2))
}

// VGGBlock is the VGG block of VGGBlockLayers as one layer whose children
// are numbered from 0 (as d2l.ai's vgg_block, an nn.Sequential, names
// them). A block needs at least one convolution.
func VGGBlock(convs, channels int, batchNorm bool) Layer {
	layers := VGGBlockLayers(convs, channels, batchNorm)
	return func(b *Builder, x *Value) *Value {
		if convs < 1 {
			b.fail(Invalidf("VGGBlock(%d, %d): a block needs at least one convolution", convs, channels))
			return x
		}
		return Sequential(layers...)(b, x)
	}
}
