package zoo

import "github.com/cnnc/cnnc/ir"

// The classic family: LeNet, AlexNet, ZFNet, the VGG nets, Network in
// Network and the course's exercise network, all plain stacks of layers.
//
// Models that torchvision has (alexnet, vgg*) use its module names,
// "features.N", "avgpool" and "classifier.N", so their parameters are
// named as its state_dict keys are. The others are written as the
// nn.Sequential a course would write (LeNet and the exercise flat, "0",
// "3", ...; NiN as d2l.ai's blocks, "0.0", "0.2", ...), or, for
// alexnet_lrn and zfnet, with AlexNet's "features" and "classifier".
//
// Every model takes any number of input channels and classes. Those whose
// classifier follows a flatten (LeNet, alexnet_lrn, zfnet, the exercise)
// size their first fully connected layer from the input size, which may
// be anything the convolutions and pools leave at least 1x1: from 12 for
// LeNet, 63 for alexnet_lrn and zfnet, 15 for the exercise. NiN ends in
// global average pooling and takes any size from 67. AlexNet and VGG put
// torchvision's adaptive average pool (to 6x6 and 7x7) before theirs,
// which cnnc computes exactly only where PyTorch's windows have one size
// and stride (see ir.AdaptiveAvgPool2d): alexnet builds at sizes 223-286
// and 415-478 (and bands above), VGG at 224-287 and 448-511 (and bands
// above); other sizes give an unsupported-feature error.

var classicModels = []*Model{
	LeNet, LeNetReLU, LeNetBN,
	AlexNet, AlexNetLRN, ZFNet,
	VGG11, VGG13, VGG16, VGG19,
	VGG11BN, VGG13BN, VGG16BN, VGG19BN,
	NiN,
	Exercise,
}

const (
	paperLeNet     = "Yann LeCun, Léon Bottou, Yoshua Bengio, Patrick Haffner. Gradient-Based Learning Applied to Document Recognition. Proceedings of the IEEE 86(11), 1998."
	paperBatchNorm = "Sergey Ioffe, Christian Szegedy. Batch Normalization: Accelerating Deep Network Training by Reducing Internal Covariate Shift. ICML 2015."
	paperAlexNet   = "Alex Krizhevsky, Ilya Sutskever, Geoffrey E. Hinton. ImageNet Classification with Deep Convolutional Neural Networks. NIPS 2012."
	paperOneWeird  = "Alex Krizhevsky. One Weird Trick for Parallelizing Convolutional Neural Networks. arXiv:1404.5997, 2014."
	paperZFNet     = "Matthew D. Zeiler, Rob Fergus. Visualizing and Understanding Convolutional Networks. ECCV 2014."
	paperVGG       = "Karen Simonyan, Andrew Zisserman. Very Deep Convolutional Networks for Large-Scale Image Recognition. ICLR 2015."
	paperNiN       = "Min Lin, Qiang Chen, Shuicheng Yan. Network In Network. ICLR 2014."
)

var (
	mnistInput    = Options{Classes: 10, Channels: 1, Size: 28}
	imageNetInput = Options{Classes: 1000, Channels: 3, Size: 224}
)

// LeNet is LeNet-5 as taught (LeCun et al., 1998; d2l.ai's version): 5x5
// convolutions, sigmoid activations and 2x2 average pooling, with the
// 1x28x28 MNIST input padded by 2 to the paper's 32x32, then fully
// connected layers of 120, 84 and 10. Default input 1x28x28; 61,706
// parameters, 0.42 MMACs.
var LeNet = &Model{
	Name:     "lenet",
	Paper:    paperLeNet,
	Defaults: mnistInput,
	build: func(b *ir.Builder, x *ir.Value, o Options) *ir.Value {
		return b.Apply("", ir.Sequential(
			ir.Conv2d(6, 5, ir.Padding(2)), ir.SigmoidLayer(), ir.AvgPool2d(2, 2), // C1, S2: 6x28x28, 6x14x14
			ir.Conv2d(16, 5), ir.SigmoidLayer(), ir.AvgPool2d(2, 2), // C3, S4: 16x10x10, 16x5x5
			ir.FlattenLayer(),
			ir.Linear(120), ir.SigmoidLayer(), // C5
			ir.Linear(84), ir.SigmoidLayer(), // F6
			ir.Linear(o.Classes), // output
		), x)
	},
}

// LeNetReLU is LeNet with the modern choices: ReLU activations and 2x2 max
// pooling. Default input 1x28x28; 61,706 parameters, 0.42 MMACs.
var LeNetReLU = &Model{
	Name:     "lenet_relu",
	Paper:    paperLeNet,
	Defaults: mnistInput,
	build: func(b *ir.Builder, x *ir.Value, o Options) *ir.Value {
		return b.Apply("", ir.Sequential(
			ir.Conv2d(6, 5, ir.Padding(2)), ir.ReLU(), ir.MaxPool2d(2, 2),
			ir.Conv2d(16, 5), ir.ReLU(), ir.MaxPool2d(2, 2),
			ir.FlattenLayer(),
			ir.Linear(120), ir.ReLU(),
			ir.Linear(84), ir.ReLU(),
			ir.Linear(o.Classes),
		), x)
	},
}

// LeNetBN is LeNetReLU with a batch norm after each convolution and each
// hidden fully connected layer, before its ReLU (Ioffe & Szegedy, 2015;
// the batch norms of the fully connected layers normalize [N, C]
// features, as nn.BatchNorm1d). Default input 1x28x28; 62,158 parameters,
// 0.42 MMACs.
var LeNetBN = &Model{
	Name:     "lenet_bn",
	Paper:    paperLeNet + " " + paperBatchNorm,
	Defaults: mnistInput,
	build: func(b *ir.Builder, x *ir.Value, o Options) *ir.Value {
		return b.Apply("", ir.Sequential(
			ir.Conv2d(6, 5, ir.Padding(2)), ir.BatchNorm(), ir.ReLU(), ir.MaxPool2d(2, 2),
			ir.Conv2d(16, 5), ir.BatchNorm(), ir.ReLU(), ir.MaxPool2d(2, 2),
			ir.FlattenLayer(),
			ir.Linear(120), ir.BatchNorm(), ir.ReLU(),
			ir.Linear(84), ir.BatchNorm(), ir.ReLU(),
			ir.Linear(o.Classes),
		), x)
	},
}

// AlexNet is torchvision's alexnet: the single-tower variant of "One
// weird trick" (Krizhevsky, 2014) of the network of Krizhevsky et al.
// (2012), without local response normalization, with 64-192-384-256-256
// filters and dropout before the first two fully connected layers.
// Default input 3x224x224; 61,100,840 parameters, 0.71 GMACs.
var AlexNet = &Model{
	Name:     "alexnet",
	Paper:    paperAlexNet + " " + paperOneWeird,
	Defaults: imageNetInput,
	build: func(b *ir.Builder, x *ir.Value, o Options) *ir.Value {
		x = b.Apply("features", ir.Sequential(
			ir.Conv2d(64, 11, ir.Stride(4), ir.Padding(2)), ir.ReLU(), ir.MaxPool2d(3, 2), // 64x55x55, 64x27x27
			ir.Conv2d(192, 5, ir.Padding(2)), ir.ReLU(), ir.MaxPool2d(3, 2), // 192x27x27, 192x13x13
			ir.Conv2d(384, 3, ir.Padding(1)), ir.ReLU(),
			ir.Conv2d(256, 3, ir.Padding(1)), ir.ReLU(),
			ir.Conv2d(256, 3, ir.Padding(1)), ir.ReLU(), ir.MaxPool2d(3, 2), // 256x13x13, 256x6x6
		), x)
		x = b.Apply("avgpool", ir.AdaptiveAvgPool2d(6), x)
		x = b.Apply("flatten", ir.FlattenLayer(), x) // 9216
		return b.Apply("classifier", ir.Sequential(
			ir.DropoutLayer(0.5), ir.Linear(4096), ir.ReLU(),
			ir.DropoutLayer(0.5), ir.Linear(4096), ir.ReLU(),
			ir.Linear(o.Classes),
		), x)
	},
}

// AlexNetLRN is AlexNet as in the 2012 paper (Krizhevsky et al.) and the
// course, on one device: conv1 11x11/96 stride 4, 3x3 max pool stride 2,
// local response normalization (size 5, alpha 1e-4, beta 0.75, k 2, as
// nn.LocalResponseNorm, which divides alpha by the size), conv2 5x5/256
// pad 2, pool, LRN, conv3-5 3x3 of 384, 384 and 256 filters pad 1, pool,
// then fully connected layers of 4096, 4096 and the classes, the first two
// followed by dropout 0.5. Conv1 is padded by 2, as torchvision's, so that
// a 224x224 input gives the paper's 55x55 maps (the paper's 224 does not
// fit its own arithmetic; 227 unpadded does). As in the course (and
// CaffeNet) each LRN follows its pool; the paper normalizes before
// pooling. The feature maps are 96x55x55, 96x27x27, 256x27x27, 256x13x13,
// 384x13x13, 384x13x13, 256x13x13 and 256x6x6, so the flatten gives 9216
// features. Default input 3x224x224; 62,378,344 parameters, 1.14 GMACs.
var AlexNetLRN = &Model{
	Name:     "alexnet_lrn",
	Paper:    paperAlexNet,
	Defaults: imageNetInput,
	build: func(b *ir.Builder, x *ir.Value, o Options) *ir.Value {
		x = b.Apply("features", ir.Sequential(
			ir.Conv2d(96, 11, ir.Stride(4), ir.Padding(2)), ir.ReLU(), ir.MaxPool2d(3, 2), lrn(), // 96x55x55, 96x27x27
			ir.Conv2d(256, 5, ir.Padding(2)), ir.ReLU(), ir.MaxPool2d(3, 2), lrn(), // 256x27x27, 256x13x13
			ir.Conv2d(384, 3, ir.Padding(1)), ir.ReLU(),
			ir.Conv2d(384, 3, ir.Padding(1)), ir.ReLU(),
			ir.Conv2d(256, 3, ir.Padding(1)), ir.ReLU(), ir.MaxPool2d(3, 2), // 256x13x13, 256x6x6
		), x)
		x = b.Apply("flatten", ir.FlattenLayer(), x) // 9216
		return b.Apply("classifier", fc4096(o.Classes), x)
	},
}

// ZFNet is the network of Zeiler & Fergus (2014) as the course describes
// it, AlexNet with conv1 7x7 stride 2 and conv3-5 of 512, 1024 and 512
// filters (the paper's Table 3 variant "layers 3, 4, 5: 512, 1024, 512
// maps"), with the other layers of the paper's Figure 3, whose map sizes
// it reproduces at 224x224:
//
//	conv1 7x7/96 stride 2 pad 1, ReLU     96x110x110
//	max pool 3x3 stride 2 (ceil), LRN     96x55x55
//	conv2 5x5/256 stride 2, ReLU          256x26x26
//	max pool 3x3 stride 2 (ceil), LRN     256x13x13
//	conv3 3x3/512 pad 1, ReLU             512x13x13
//	conv4 3x3/1024 pad 1, ReLU            1024x13x13
//	conv5 3x3/512 pad 1, ReLU             512x13x13
//	max pool 3x3 stride 2                 512x6x6, flattened to 18432
//	fc 4096, ReLU, dropout 0.5
//	fc 4096, ReLU, dropout 0.5
//	fc classes
//
// The LRN is AlexNetLRN's; the first two pools round up (ceil_mode), which
// is what the figure's 55 and 13 take. Conv2 has the paper's stride 2 and
// no padding, where AlexNet's has stride 1 and pad 2: with AlexNet's conv2
// the maps would stay twice as large and the flatten give 73,728 features. Default input 3x224x224;
// 107,627,624 parameters, 2.48 GMACs.
var ZFNet = &Model{
	Name:     "zfnet",
	Paper:    paperZFNet,
	Defaults: imageNetInput,
	build: func(b *ir.Builder, x *ir.Value, o Options) *ir.Value {
		x = b.Apply("features", ir.Sequential(
			ir.Conv2d(96, 7, ir.Stride(2), ir.Padding(1)), ir.ReLU(), ir.MaxPool2d(3, 2, ir.CeilMode()), lrn(),
			ir.Conv2d(256, 5, ir.Stride(2)), ir.ReLU(), ir.MaxPool2d(3, 2, ir.CeilMode()), lrn(),
			ir.Conv2d(512, 3, ir.Padding(1)), ir.ReLU(),
			ir.Conv2d(1024, 3, ir.Padding(1)), ir.ReLU(),
			ir.Conv2d(512, 3, ir.Padding(1)), ir.ReLU(), ir.MaxPool2d(3, 2),
		), x)
		x = b.Apply("flatten", ir.FlattenLayer(), x) // 18432
		return b.Apply("classifier", fc4096(o.Classes), x)
	},
}

// lrn is AlexNet's local response normalization.
func lrn() ir.Layer { return ir.LocalResponseNorm(5, 1e-4, 0.75, 2) }

// fc4096 is the classifier of AlexNet and VGG: two fully connected layers
// of 4096 with ReLU and dropout 0.5, then one of the classes.
func fc4096(classes int) ir.Layer {
	return ir.Sequential(
		ir.Linear(4096), ir.ReLU(), ir.DropoutLayer(0.5),
		ir.Linear(4096), ir.ReLU(), ir.DropoutLayer(0.5),
		ir.Linear(classes),
	)
}

// vggStage is one block of a VGG configuration: convs 3x3 convolutions of
// the given channels, then a max pool.
type vggStage struct{ convs, channels int }

// The VGG configurations of the paper's Table 1 (torchvision's cfgs "A",
// "B", "D" and "E"), by the number of weight layers.
var (
	vggA = []vggStage{{1, 64}, {1, 128}, {2, 256}, {2, 512}, {2, 512}} // 11 weight layers
	vggB = []vggStage{{2, 64}, {2, 128}, {2, 256}, {2, 512}, {2, 512}} // 13
	vggD = []vggStage{{2, 64}, {2, 128}, {3, 256}, {3, 512}, {3, 512}} // 16
	vggE = []vggStage{{2, 64}, {2, 128}, {4, 256}, {4, 512}, {4, 512}} // 19
)

// vgg makes torchvision's VGG of the given configuration: the blocks'
// layers numbered flatly in "features", an adaptive average pool to 7x7
// ("avgpool") and fc4096 ("classifier").
func vgg(name string, stages []vggStage, batchNorm bool) *Model {
	paper := paperVGG
	if batchNorm {
		paper += " " + paperBatchNorm
	}
	return &Model{
		Name:     name,
		Paper:    paper,
		Defaults: imageNetInput,
		build: func(b *ir.Builder, x *ir.Value, o Options) *ir.Value {
			var features []ir.Layer
			for _, s := range stages {
				features = append(features, ir.VGGBlockLayers(s.convs, s.channels, batchNorm)...)
			}
			x = b.Apply("features", ir.Sequential(features...), x)
			x = b.Apply("avgpool", ir.AdaptiveAvgPool2d(7), x)
			x = b.Apply("flatten", ir.FlattenLayer(), x) // 25088
			return b.Apply("classifier", fc4096(o.Classes), x)
		},
	}
}

// VGG11 is VGG configuration A (Simonyan & Zisserman, 2015), torchvision's
// vgg11. Default input 3x224x224; 132,863,336 parameters, 7.61 GMACs.
var VGG11 = vgg("vgg11", vggA, false)

// VGG13 is VGG configuration B (Simonyan & Zisserman, 2015), torchvision's
// vgg13. Default input 3x224x224; 133,047,848 parameters, 11.31 GMACs.
var VGG13 = vgg("vgg13", vggB, false)

// VGG16 is VGG configuration D (Simonyan & Zisserman, 2015), torchvision's
// vgg16. Default input 3x224x224; 138,357,544 parameters, 15.47 GMACs.
var VGG16 = vgg("vgg16", vggD, false)

// VGG19 is VGG configuration E (Simonyan & Zisserman, 2015), torchvision's
// vgg19. Default input 3x224x224; 143,667,240 parameters, 19.63 GMACs.
var VGG19 = vgg("vgg19", vggE, false)

// VGG11BN is VGG11 with a batch norm after each convolution (Ioffe &
// Szegedy, 2015), torchvision's vgg11_bn. Default input 3x224x224;
// 132,868,840 parameters, 7.61 GMACs.
var VGG11BN = vgg("vgg11_bn", vggA, true)

// VGG13BN is VGG13 with a batch norm after each convolution, torchvision's
// vgg13_bn. Default input 3x224x224; 133,053,736 parameters, 11.31 GMACs.
var VGG13BN = vgg("vgg13_bn", vggB, true)

// VGG16BN is VGG16 with a batch norm after each convolution, torchvision's
// vgg16_bn. Default input 3x224x224; 138,365,992 parameters, 15.47 GMACs.
var VGG16BN = vgg("vgg16_bn", vggD, true)

// VGG19BN is VGG19 with a batch norm after each convolution, torchvision's
// vgg19_bn. Default input 3x224x224; 143,678,248 parameters, 19.63 GMACs.
var VGG19BN = vgg("vgg19_bn", vggE, true)

// NiN is Network in Network (Lin et al., 2014) as in d2l.ai: NiN blocks of
// a convolution and two 1x1 convolutions, each with a ReLU, of 96 (11x11
// stride 4), 256 (5x5 pad 2) and 384 (3x3 pad 1) channels with a 3x3 max
// pool of stride 2 after each, dropout 0.5, a last NiN block (3x3 pad 1)
// with one channel per class, global average pooling and a flatten. d2l
// feeds it 1x224x224 Fashion-MNIST with 10 classes; the zoo's default is
// ImageNet's 3x224x224 and 1000 classes, like the rest of the zoo
// (Channels 1 and Classes 10 give d2l's). The maps are 96x54x54, 96x26x26,
// 256x26x26, 256x12x12, 384x12x12, 384x5x5 and classes x5x5. Parameters
// are named as d2l's nn.Sequential names them ("0.0.weight", the first
// block's first convolution). Default input 3x224x224; 7,439,608
// parameters, 0.97 GMACs.
var NiN = &Model{
	Name:     "nin",
	Paper:    paperNiN,
	Defaults: imageNetInput,
	build: func(b *ir.Builder, x *ir.Value, o Options) *ir.Value {
		return b.Apply("", ir.Sequential(
			ninBlock(96, 11, ir.Stride(4)), ir.MaxPool2d(3, 2),
			ninBlock(256, 5, ir.Padding(2)), ir.MaxPool2d(3, 2),
			ninBlock(384, 3, ir.Padding(1)), ir.MaxPool2d(3, 2),
			ir.DropoutLayer(0.5),
			ninBlock(o.Classes, 3, ir.Padding(1)),
			ir.GlobalAvgPool(),
			ir.FlattenLayer(),
		), x)
	},
}

// ninBlock is a NiN block: a k x k convolution and two 1x1 convolutions
// (the "mlpconv" layer), each followed by a ReLU.
func ninBlock(channels, k int, opts ...ir.ConvOption) ir.Layer {
	return ir.Sequential(
		ir.Conv2d(channels, k, opts...), ir.ReLU(),
		ir.Conv2d(channels, 1), ir.ReLU(),
		ir.Conv2d(channels, 1), ir.ReLU(),
	)
}

// Exercise is the course's exercise network (no paper): on a 3x100x100
// input, conv 9x9/48 pad 0 stride 1 and ReLU (48x92x92), conv 9x9/96 pad
// 4 stride 1 and ReLU (96x92x92), conv 5x5/192 pad 0 stride 2 and ReLU
// (192x44x44), max pool 2x2 stride 2 (192x22x22), conv 1x1/256
// (256x22x22), flatten (123904) and a fully connected layer of 100. Layers
// are numbered as the equivalent flat nn.Sequential numbers them ("0",
// "2", "4", "7", "9"). Default input 3x100x100; 13,285,956 parameters,
// 4.19 GMACs.
var Exercise = &Model{
	Name:     "exercise",
	Paper:    "None: the course's exercise network, specified by its layer list (issue 3).",
	Defaults: Options{Classes: 100, Channels: 3, Size: 100},
	build: func(b *ir.Builder, x *ir.Value, o Options) *ir.Value {
		return b.Apply("", ir.Sequential(
			ir.Conv2d(48, 9), ir.ReLU(),
			ir.Conv2d(96, 9, ir.Padding(4)), ir.ReLU(),
			ir.Conv2d(192, 5, ir.Stride(2)), ir.ReLU(),
			ir.MaxPool2d(2, 2),
			ir.Conv2d(256, 1),
			ir.FlattenLayer(),
			ir.Linear(o.Classes),
		), x)
	},
}
