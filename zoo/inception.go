package zoo

import "github.com/cnnc/cnnc/ir"

// inceptionModels are the Inception family: GoogLeNet.
var inceptionModels = []*Model{GoogLeNet}

// GoogLeNet is Inception v1 (Szegedy et al., CVPR 2015) in torchvision's
// layout (torchvision.models.googlenet(aux_logits=False)): every conv is
// conv-BN(eps 1e-3)-ReLU, the pools round up (ceil_mode), the inception
// modules' "5x5" branch uses a 3x3 kernel as torchvision's does, and the
// auxiliary classifiers, used only in training, are left out. Default input
// 3x224x224, 1000 classes; 6,624,904 parameters, 1.50 GMACs. Classes,
// Channels and Size may change (global average pooling makes any Size from
// 31 up work).
var GoogLeNet = &Model{
	Name: "googlenet",
	Paper: "Christian Szegedy, Wei Liu, Yangqing Jia, Pierre Sermanet, Scott Reed, Dragomir Anguelov, " +
		"Dumitru Erhan, Vincent Vanhoucke and Andrew Rabinovich, \"Going Deeper with Convolutions\", " +
		"IEEE Conference on Computer Vision and Pattern Recognition (CVPR), 2015",
	Defaults: Options{Classes: 1000, Channels: 3, Size: 224},
	build:    buildGoogLeNet,
}

// buildGoogLeNet follows the paper's Table 1, one row per line; the
// Inception arguments are its columns #1x1, #3x3 reduce, #3x3, #5x5
// reduce, #5x5 and pool proj.
func buildGoogLeNet(b *ir.Builder, x *ir.Value, o Options) *ir.Value {
	pool := func(k int) ir.Layer { return ir.MaxPool2d(k, 2, ir.CeilMode()) }
	for _, l := range []ir.Layer{
		ir.Named("conv1", ir.BasicConv2d(64, 7, ir.Stride(2), ir.Padding(3))), // 112x112x64
		ir.Named("maxpool1", pool(3)),                                         // 56x56x64
		ir.Named("conv2", ir.BasicConv2d(64, 1)),                              // 56x56x64
		ir.Named("conv3", ir.BasicConv2d(192, 3, ir.Padding(1))),              // 56x56x192
		ir.Named("maxpool2", pool(3)),                                         // 28x28x192
		ir.Named("inception3a", ir.Inception(64, 96, 128, 16, 32, 32)),        // 28x28x256
		ir.Named("inception3b", ir.Inception(128, 128, 192, 32, 96, 64)),      // 28x28x480
		ir.Named("maxpool3", pool(3)),                                         // 14x14x480
		ir.Named("inception4a", ir.Inception(192, 96, 208, 16, 48, 64)),       // 14x14x512
		ir.Named("inception4b", ir.Inception(160, 112, 224, 24, 64, 64)),      // 14x14x512
		ir.Named("inception4c", ir.Inception(128, 128, 256, 24, 64, 64)),      // 14x14x512
		ir.Named("inception4d", ir.Inception(112, 144, 288, 32, 64, 64)),      // 14x14x528
		ir.Named("inception4e", ir.Inception(256, 160, 320, 32, 128, 128)),    // 14x14x832
		ir.Named("maxpool4", pool(2)),                                         // 7x7x832
		ir.Named("inception5a", ir.Inception(256, 160, 320, 32, 128, 128)),    // 7x7x832
		ir.Named("inception5b", ir.Inception(384, 192, 384, 48, 128, 128)),    // 7x7x1024
		ir.Named("avgpool", ir.GlobalAvgPool()),                               // 1x1x1024
		ir.Named("flatten", ir.FlattenLayer()),                                // 1024
		ir.Named("dropout", ir.DropoutLayer(0.2)),                             // 40% in the paper
		ir.Named("fc", ir.Linear(o.Classes)),                                  // classes
	} {
		x = b.Apply("", l, x)
	}
	return x
}
