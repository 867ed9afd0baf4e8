package zoo

import (
	"strconv"

	"github.com/cnnc/cnnc/ir"
)

// denseModels are the DenseNet-BC family of torchvision.
var denseModels = []*Model{DenseNet121, DenseNet161, DenseNet169, DenseNet201}

// densePaper cites DenseNet.
const densePaper = "Gao Huang, Zhuang Liu, Laurens van der Maaten and Kilian Q. Weinberger, " +
	"\"Densely Connected Convolutional Networks\", IEEE Conference on Computer Vision and " +
	"Pattern Recognition (CVPR), 2017"

// DenseNet121 is DenseNet-BC-121 (Huang et al., CVPR 2017, Table 1):
// growth rate 32, dense blocks of 6, 12, 24 and 16 layers, 64 initial
// features. Default input 3x224x224, 1000 classes; 7,978,856 parameters,
// 2.83 GMACs. Classes, Channels and Size (from 29 up) may change.
var DenseNet121 = denseNet("densenet121", 32, [4]int{6, 12, 24, 16}, 64)

// DenseNet161 is DenseNet-BC-161 (Huang et al., CVPR 2017, Table 1):
// growth rate 48, dense blocks of 6, 12, 36 and 24 layers, 96 initial
// features. Default input 3x224x224, 1000 classes; 28,681,000 parameters,
// 7.73 GMACs. Classes, Channels and Size (from 29 up) may change.
var DenseNet161 = denseNet("densenet161", 48, [4]int{6, 12, 36, 24}, 96)

// DenseNet169 is DenseNet-BC-169 (Huang et al., CVPR 2017, Table 1):
// growth rate 32, dense blocks of 6, 12, 32 and 32 layers, 64 initial
// features. Default input 3x224x224, 1000 classes; 14,149,480 parameters,
// 3.36 GMACs. Classes, Channels and Size (from 29 up) may change.
var DenseNet169 = denseNet("densenet169", 32, [4]int{6, 12, 32, 32}, 64)

// DenseNet201 is DenseNet-BC-201 (Huang et al., CVPR 2017, Table 1):
// growth rate 32, dense blocks of 6, 12, 48 and 32 layers, 64 initial
// features. Default input 3x224x224, 1000 classes; 20,013,928 parameters,
// 4.29 GMACs. Classes, Channels and Size (from 29 up) may change.
var DenseNet201 = denseNet("densenet201", 32, [4]int{6, 12, 48, 32}, 64)

// denseBottleneck is the bottleneck width factor (bn_size): each dense
// layer's 1x1 convolution makes 4*growth feature maps.
const denseBottleneck = 4

// denseNet is torchvision's DenseNet-BC (compression 0.5, no dropout) with
// the given growth rate, layers per dense block and initial features.
func denseNet(name string, growth int, blocks [4]int, initFeatures int) *Model {
	return &Model{
		Name:     name,
		Paper:    densePaper,
		Defaults: Options{Classes: 1000, Channels: 3, Size: 224},
		build: func(b *ir.Builder, x *ir.Value, o Options) *ir.Value {
			return buildDenseNet(b, x, o, growth, blocks, initFeatures)
		},
	}
}

// buildDenseNet follows the paper's Table 1: a 7x7/2 convolution and a
// 3x3/2 max pool (112x112, then 56x56), four dense blocks with a
// transition (1x1 conv, 2x2/2 average pool: 28x28, 14x14, 7x7) between
// each two, then the classification layer (global average pool, fully
// connected). As in torchvision, "features" is a Sequential of named
// stages ending with the last batch norm, and the ReLU before the pooling
// is outside it.
func buildDenseNet(b *ir.Builder, x *ir.Value, o Options, growth int, blocks [4]int, initFeatures int) *ir.Value {
	features := func(b *ir.Builder, x *ir.Value) *ir.Value {
		x = b.Apply("conv0", ir.Conv2d(initFeatures, 7, ir.Stride(2), ir.Padding(3), ir.NoBias()), x)
		x = b.Apply("norm0", ir.BatchNorm(), x)
		x = b.Apply("relu0", ir.ReLU(), x)
		x = b.Apply("pool0", ir.MaxPool2d(3, 2, ir.PoolPad(1)), x)
		n := initFeatures
		for i, layers := range blocks {
			id := strconv.Itoa(i + 1)
			x = b.Apply("denseblock"+id, ir.DenseBlock(layers, growth, denseBottleneck), x)
			n += layers * growth
			if i < len(blocks)-1 {
				n /= 2 // compression 0.5
				x = b.Apply("transition"+id, ir.DenseTransition(n), x)
			}
		}
		return b.Apply("norm5", ir.BatchNorm(), x)
	}
	x = b.Apply("features", features, x)
	x = b.Apply("relu", ir.ReLU(), x)
	x = b.Apply("avgpool", ir.GlobalAvgPool(), x)
	x = b.Apply("flatten", ir.FlattenLayer(), x)
	return b.Apply("classifier", ir.Linear(o.Classes), x)
}
