package zoo

import (
	"strconv"

	"github.com/cnnc/cnnc/ir"
)

// resnetModels is the ResNet family: torchvision's ResNets, wide ResNets
// and ResNeXts on 3x224x224 ImageNet input, the ResNets with stochastic
// depth, the pre-activation ResNets of "Identity Mappings", and WRN-28-10
// on 3x32x32 CIFAR input.
//
// Every model ends in global average pooling, so any positive input size
// builds: the stem's and the blocks' strided convolutions and the max-pool
// are padded, and so never shrink a map below 1x1 (a 1x1 input stays 1x1).
// Any number of input channels and classes is accepted as well.
var resnetModels = []*Model{
	ResNet18, ResNet34, ResNet50, ResNet101, ResNet152,
	ResNet18SD, ResNet34SD, ResNet50SD, ResNet101SD, ResNet152SD,
	WideResNet50_2, WideResNet101_2,
	ResNeXt50_32x4d, ResNeXt101_32x8d,
	PreActResNet18, PreActResNet34,
	WRN28_10,
}

const (
	paperResNet  = "Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun. Deep Residual Learning for Image Recognition. CVPR 2016."
	paperWRN     = "Sergey Zagoruyko, Nikos Komodakis. Wide Residual Networks. BMVC 2016."
	paperResNeXt = "Saining Xie, Ross Girshick, Piotr Dollár, Zhuowen Tu, Kaiming He. Aggregated Residual Transformations for Deep Neural Networks. CVPR 2017."
	paperSD      = "Gao Huang, Yu Sun, Zhuang Liu, Daniel Sedra, Kilian Q. Weinberger. Deep Networks with Stochastic Depth. ECCV 2016."
	paperPreAct  = "Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun. Identity Mappings in Deep Residual Networks. ECCV 2016."
)

var (
	resnetImageNet = Options{Classes: 1000, Channels: 3, Size: 224}
	resnetCIFAR    = Options{Classes: 10, Channels: 3, Size: 32}
)

// resnetBlock makes one residual block with the given planes and stride.
type resnetBlock func(planes, stride int) ir.Layer

func resnetBasic(planes, stride int) ir.Layer { return ir.BasicBlock(planes, stride) }

// resnetBottleneck is the bottleneck of the given cardinality (groups) and
// width per group (64: ResNet's).
func resnetBottleneck(groups, widthPerGroup int) resnetBlock {
	return func(planes, stride int) ir.Layer { return ir.Bottleneck(planes, stride, groups, widthPerGroup) }
}

// sdBlock makes one residual block with the given planes and stride whose
// branch survives with probability p (ir.WithStochasticDepth).
type sdBlock func(planes, stride int, p float32) ir.Layer

func sdBasic(planes, stride int, p float32) ir.Layer {
	return ir.BasicBlock(planes, stride, ir.WithStochasticDepth(p))
}

func sdBottleneck(planes, stride int, p float32) ir.Layer {
	return ir.Bottleneck(planes, stride, 1, 64, ir.WithStochasticDepth(p))
}

// sdFinalSurvival is the survival probability of the last block, p_L of
// Huang et al., Eq. 4.
const sdFinalSurvival = 0.5

// sdSurvival is the survival probability of block l (1-based) of L, the
// linear decay rule of Huang et al., Eq. 4: p_l = 1 - l/L * (1 - p_L).
func sdSurvival(l, L int) float32 {
	return float32(1 - float64(l)/float64(L)*(1-sdFinalSurvival))
}

// resnetSD is resnet with stochastic depth: block l of the L blocks,
// counted through all stages, survives with probability sdSurvival(l, L).
// Parameters and names are the plain ResNet's.
func resnetSD(block sdBlock, depths ...int) func(*ir.Builder, *ir.Value, Options) *ir.Value {
	L := 0
	for _, d := range depths {
		L += d
	}
	return func(b *ir.Builder, x *ir.Value, o Options) *ir.Value {
		l := 0 // blocks made so far in this build, in order
		numbered := func(planes, stride int) ir.Layer {
			l++
			return block(planes, stride, sdSurvival(l, L))
		}
		return resnet(numbered, depths...)(b, x, o)
	}
}

func resnetPreAct(planes, stride int) ir.Layer { return ir.PreActBlock(planes, stride) }

// resnetStage is a stage of n blocks of the given planes, the first with
// the stage's stride (torchvision's ResNet._make_layer): an nn.Sequential,
// so the blocks are named "0", "1", ...
func resnetStage(block resnetBlock, planes, n, stride int) ir.Layer {
	blocks := make([]ir.Layer, n)
	for i := range blocks {
		s := 1
		if i == 0 {
			s = stride
		}
		blocks[i] = block(planes, s)
	}
	return ir.Sequential(blocks...)
}

// resnetStem is the ImageNet stem of He et al., Table 1, row conv1:
// conv 7x7/64 stride 2, BN, ReLU, then max-pool 3x3 stride 2 ("conv1",
// "bn1", "maxpool"): 224 -> 112 -> 56.
func resnetStem(b *ir.Builder, x *ir.Value) *ir.Value {
	x = b.Apply("conv1", ir.Conv2d(64, 7, ir.Stride(2), ir.Padding(3), ir.NoBias()), x)
	x = b.Apply("bn1", ir.BatchNorm(), x)
	x = b.Apply("relu", ir.ReLU(), x)
	return b.Apply("maxpool", ir.MaxPool2d(3, 2, ir.PoolPad(1)), x)
}

// resnetHead is global average pooling, flattening and the classifier
// ("avgpool", "fc").
func resnetHead(b *ir.Builder, x *ir.Value, classes int) *ir.Value {
	x = b.Apply("avgpool", ir.GlobalAvgPool(), x)
	x = b.Apply("flatten", ir.FlattenLayer(), x)
	return b.Apply("fc", ir.Linear(classes), x)
}

// resnetStages applies stages "layer1", "layer2", ... of depths[i] blocks
// of planes[i], with stride 1 for the first stage and 2 for the others.
func resnetStages(b *ir.Builder, x *ir.Value, block resnetBlock, planes, depths []int) *ir.Value {
	for i := range depths {
		stride := 2
		if i == 0 {
			stride = 1
		}
		x = b.Apply("layer"+strconv.Itoa(i+1), resnetStage(block, planes[i], depths[i], stride), x)
	}
	return x
}

// resnet is torchvision's ResNet (He et al., Table 1): the stem, four
// stages conv2_x..conv5_x ("layer1".."layer4") of 64, 128, 256 and 512
// planes with the given depths, and the head.
func resnet(block resnetBlock, depths ...int) func(*ir.Builder, *ir.Value, Options) *ir.Value {
	return func(b *ir.Builder, x *ir.Value, o Options) *ir.Value {
		x = resnetStem(b, x)
		x = resnetStages(b, x, block, []int{64, 128, 256, 512}, depths)
		return resnetHead(b, x, o.Classes)
	}
}

// preactResNet is a full pre-activation ResNet: the ResNet stem, stages of
// PreActBlocks, a final BN ("final_bn") and ReLU, and the head.
func preactResNet(depths ...int) func(*ir.Builder, *ir.Value, Options) *ir.Value {
	return func(b *ir.Builder, x *ir.Value, o Options) *ir.Value {
		x = resnetStem(b, x)
		x = resnetStages(b, x, resnetPreAct, []int{64, 128, 256, 512}, depths)
		x = b.Apply("final_bn", ir.BatchNorm(), x)
		x = b.Apply("relu", ir.ReLU(), x)
		return resnetHead(b, x, o.Classes)
	}
}

// wrn is Zagoruyko & Komodakis' WRN-depth-k for CIFAR (Table 1): conv 3x3
// to 16 ("conv1"), three stages of (depth-4)/6 PreActBlocks of 16k, 32k
// and 64k planes with strides 1, 2, 2 ("layer1".."layer3"), a final BN
// ("final_bn") and ReLU, and the head.
func wrn(depth, k int) func(*ir.Builder, *ir.Value, Options) *ir.Value {
	n := (depth - 4) / 6
	return func(b *ir.Builder, x *ir.Value, o Options) *ir.Value {
		x = b.Apply("conv1", ir.Conv2d(16, 3, ir.Padding(1), ir.NoBias()), x)
		x = resnetStages(b, x, resnetPreAct, []int{16 * k, 32 * k, 64 * k}, []int{n, n, n})
		x = b.Apply("final_bn", ir.BatchNorm(), x)
		x = b.Apply("relu", ir.ReLU(), x)
		return resnetHead(b, x, o.Classes)
	}
}

// ResNet18 is ResNet-18 (He et al., CVPR 2016; torchvision's resnet18):
// BasicBlocks in stages of 2, 2, 2, 2. Default input 3x224x224;
// 11,689,512 parameters, 1.81 GMACs.
var ResNet18 = &Model{Name: "resnet18", Paper: paperResNet, Defaults: resnetImageNet,
	build: resnet(resnetBasic, 2, 2, 2, 2)}

// ResNet34 is ResNet-34 (He et al., CVPR 2016; torchvision's resnet34):
// BasicBlocks in stages of 3, 4, 6, 3. Default input 3x224x224;
// 21,797,672 parameters, 3.66 GMACs.
var ResNet34 = &Model{Name: "resnet34", Paper: paperResNet, Defaults: resnetImageNet,
	build: resnet(resnetBasic, 3, 4, 6, 3)}

// ResNet50 is ResNet-50 (He et al., CVPR 2016; torchvision's resnet50, the
// "v1.5" that strides the 3x3 convolution): Bottlenecks in stages of 3, 4,
// 6, 3. Default input 3x224x224; 25,557,032 parameters, 4.09 GMACs.
var ResNet50 = &Model{Name: "resnet50", Paper: paperResNet, Defaults: resnetImageNet,
	build: resnet(resnetBottleneck(1, 64), 3, 4, 6, 3)}

// ResNet101 is ResNet-101 (He et al., CVPR 2016; torchvision's resnet101,
// v1.5): Bottlenecks in stages of 3, 4, 23, 3. Default input 3x224x224;
// 44,549,160 parameters, 7.80 GMACs.
var ResNet101 = &Model{Name: "resnet101", Paper: paperResNet, Defaults: resnetImageNet,
	build: resnet(resnetBottleneck(1, 64), 3, 4, 23, 3)}

// ResNet152 is ResNet-152 (He et al., CVPR 2016; torchvision's resnet152,
// v1.5): Bottlenecks in stages of 3, 8, 36, 3. Default input 3x224x224;
// 60,192,808 parameters, 11.51 GMACs.
var ResNet152 = &Model{Name: "resnet152", Paper: paperResNet, Defaults: resnetImageNet,
	build: resnet(resnetBottleneck(1, 64), 3, 8, 36, 3)}

// ResNet18SD is ResNet-18 with stochastic depth (Huang et al., "Deep
// Networks with Stochastic Depth", ECCV 2016): resnet18 whose residual
// branches each end in a StochasticDepth node before the addition, the
// survival probability decaying linearly over the 8 blocks from
// 1 - 1/8*0.5 = 0.9375 to 0.5 (Eq. 4 with p_L = 0.5). At inference the
// op is the identity, so the model computes as resnet18, with its
// parameters and names. Default input 3x224x224; 11,689,512 parameters,
// 1.81 GMACs.
var ResNet18SD = &Model{Name: "resnet18_sd", Paper: paperSD, Defaults: resnetImageNet,
	build: resnetSD(sdBasic, 2, 2, 2, 2)}

// ResNet34SD is ResNet-34 with stochastic depth (Huang et al., ECCV 2016),
// laid out as ResNet18SD: survival decaying linearly over the 16 blocks
// from 0.96875 to 0.5, identity at inference. Default input 3x224x224;
// 21,797,672 parameters, 3.66 GMACs.
var ResNet34SD = &Model{Name: "resnet34_sd", Paper: paperSD, Defaults: resnetImageNet,
	build: resnetSD(sdBasic, 3, 4, 6, 3)}

// ResNet50SD is ResNet-50 (v1.5) with stochastic depth (Huang et al., ECCV
// 2016), laid out as ResNet18SD: survival decaying linearly over the 16
// Bottlenecks from 0.96875 to 0.5, identity at inference. Default input
// 3x224x224; 25,557,032 parameters, 4.09 GMACs.
var ResNet50SD = &Model{Name: "resnet50_sd", Paper: paperSD, Defaults: resnetImageNet,
	build: resnetSD(sdBottleneck, 3, 4, 6, 3)}

// ResNet101SD is ResNet-101 (v1.5) with stochastic depth (Huang et al.,
// ECCV 2016), laid out as ResNet18SD: survival decaying linearly over the
// 33 Bottlenecks from 1 - 1/33*0.5 to 0.5, identity at inference. Default
// input 3x224x224; 44,549,160 parameters, 7.80 GMACs.
var ResNet101SD = &Model{Name: "resnet101_sd", Paper: paperSD, Defaults: resnetImageNet,
	build: resnetSD(sdBottleneck, 3, 4, 23, 3)}

// ResNet152SD is ResNet-152 (v1.5) with stochastic depth (Huang et al.,
// ECCV 2016), laid out as ResNet18SD: survival decaying linearly over the 50 Bottlenecks from
// 0.99 to 0.5, identity at inference. Default input 3x224x224; 60,192,808
// parameters, 11.51 GMACs.
var ResNet152SD = &Model{Name: "resnet152_sd", Paper: paperSD, Defaults: resnetImageNet,
	build: resnetSD(sdBottleneck, 3, 8, 36, 3)}

// WideResNet50_2 is torchvision's wide_resnet50_2 (Zagoruyko & Komodakis,
// BMVC 2016): ResNet-50 whose bottlenecks are twice as wide inside (width
// per group 128), the outer widths unchanged. Default input 3x224x224;
// 68,883,240 parameters, 11.40 GMACs.
var WideResNet50_2 = &Model{Name: "wide_resnet50_2", Paper: paperWRN, Defaults: resnetImageNet,
	build: resnet(resnetBottleneck(1, 128), 3, 4, 6, 3)}

// WideResNet101_2 is torchvision's wide_resnet101_2 (Zagoruyko &
// Komodakis, BMVC 2016): ResNet-101 with bottlenecks twice as wide inside.
// Default input 3x224x224; 126,886,696 parameters, 22.75 GMACs.
var WideResNet101_2 = &Model{Name: "wide_resnet101_2", Paper: paperWRN, Defaults: resnetImageNet,
	build: resnet(resnetBottleneck(1, 128), 3, 4, 23, 3)}

// ResNeXt50_32x4d is ResNeXt-50 (32x4d) (Xie et al., CVPR 2017, Table 1;
// torchvision's resnext50_32x4d): ResNet-50 whose 3x3 convolutions have 32
// groups of width 4 per 64 planes. Default input 3x224x224; 25,028,904
// parameters, 4.23 GMACs.
var ResNeXt50_32x4d = &Model{Name: "resnext50_32x4d", Paper: paperResNeXt, Defaults: resnetImageNet,
	build: resnet(resnetBottleneck(32, 4), 3, 4, 6, 3)}

// ResNeXt101_32x8d is ResNeXt-101 (32x8d) (Xie et al., CVPR 2017;
// torchvision's resnext101_32x8d): ResNet-101 with 32 groups of width 8
// per 64 planes. Default input 3x224x224; 88,791,336 parameters,
// 16.41 GMACs.
var ResNeXt101_32x8d = &Model{Name: "resnext101_32x8d", Paper: paperResNeXt, Defaults: resnetImageNet,
	build: resnet(resnetBottleneck(32, 8), 3, 4, 23, 3)}

// PreActResNet18 is the 18-layer full pre-activation ResNet (He et al.,
// "Identity Mappings in Deep Residual Networks", ECCV 2016; torchvision
// has no such model). It keeps ResNet-18's stem ("conv1", "bn1", ReLU,
// "maxpool") and stages of 2, 2, 2, 2 PreActBlocks ("layer1".."layer4",
// with "bn1", "conv1", "bn2", "conv2" and the projection "downsample.0"),
// and adds the final BN-ReLU of the paper before pooling ("final_bn"),
// then "fc". Default input 3x224x224; 11,687,848 parameters, 1.81 GMACs.
var PreActResNet18 = &Model{Name: "preact_resnet18", Paper: paperPreAct, Defaults: resnetImageNet,
	build: preactResNet(2, 2, 2, 2)}

// PreActResNet34 is the 34-layer full pre-activation ResNet (He et al.,
// ECCV 2016), laid out and named as PreActResNet18 with stages of 3, 4, 6,
// 3 PreActBlocks. Default input 3x224x224; 21,796,008 parameters,
// 3.66 GMACs.
var PreActResNet34 = &Model{Name: "preact_resnet34", Paper: paperPreAct, Defaults: resnetImageNet,
	build: preactResNet(3, 4, 6, 3)}

// WRN28_10 is WRN-28-10 (Zagoruyko & Komodakis, BMVC 2016, Table 1 with
// N = 4, k = 10) for CIFAR: conv 3x3/16 ("conv1"); three stages of 4
// PreActBlocks (the paper's wide basic blocks, dropout off: it is the
// identity at inference) of 160, 320 and 640 planes with strides 1, 2, 2
// ("layer1".."layer3"); BN-ReLU ("final_bn"); global average pooling and
// "fc" to 10 classes. Default input 3x32x32; 36,479,194 parameters (the
// paper's 36.5M), 5.24 GMACs.
var WRN28_10 = &Model{Name: "wrn28_10", Paper: paperWRN, Defaults: resnetCIFAR,
	build: wrn(28, 10)}
