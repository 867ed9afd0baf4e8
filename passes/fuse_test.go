package passes

import (
	"testing"

	"github.com/cnnc/cnnc/ir"
)

func TestFuse(t *testing.T) {
	conv := func(name string, out int) ir.Layer {
		return ir.Named(name, ir.Conv2d(out, 3, ir.Padding(1), ir.NoBias()))
	}
	tests := []passCase{
		{"basic block", func(b *ir.Builder, x *ir.Value) *ir.Value {
			y := b.Apply("", conv("conv1", 2), x)
			y = b.Apply("relu1", ir.ReLU(), y)
			y = b.Apply("", conv("conv2", 2), y)
			y = b.Add(y, x)
			return b.Apply("relu2", ir.ReLU(), y)
		}, []int{1, 2, 4, 4}, `
			input %x: f32[1,2,4,4]
			const %conv1.weight: f32[2,2,3,3]
			const %conv2.weight: f32[2,2,3,3]
			%relu1: f32[1,2,4,4] = cnnc.FusedConv[relu](%x, %conv1.weight)
			%relu2: f32[1,2,4,4] = cnnc.FusedConv[relu](%relu1, %conv2.weight, _, %x)
			output %relu2`,
			"fuse: 2 Convs -> FusedConv, 1 residual add fused, 2 activations fused"},
		{"projection shortcut: the later conv takes the residual", func(b *ir.Builder, x *ir.Value) *ir.Value {
			y := b.Apply("", conv("conv", 3), x)
			s := b.Apply("down", ir.Conv2d(3, 1), x)
			return b.Apply("relu", ir.ReLU(), b.Add(y, s))
		}, []int{1, 2, 4, 4}, `
			input %x: f32[1,2,4,4]
			const %conv.weight: f32[3,2,3,3]
			const %down.weight: f32[3,2,1,1]
			const %down.bias: f32[3]
			%conv: f32[1,3,4,4] = cnnc.FusedConv(%x, %conv.weight)
			%relu: f32[1,3,4,4] = cnnc.FusedConv[relu](%x, %down.weight, %down.bias, %conv)
			output %relu`,
			"fuse: 2 Convs -> FusedConv, 1 residual add fused, 1 activation fused"},
		{"residual defined after the conv: the fused node moves to the add", func(b *ir.Builder, x *ir.Value) *ir.Value {
			y := b.Apply("", conv("conv", 2), x)
			z := b.Apply("sig", ir.SigmoidLayer(), x)
			z = b.Node1("z", &ir.Mul{}, z, z)
			return b.Add(z, y)
		}, []int{1, 2, 4, 4}, `
			input %x: f32[1,2,4,4]
			const %conv.weight: f32[2,2,3,3]
			%sig: f32[1,2,4,4] = Sigmoid(%x)
			%z: f32[1,2,4,4] = Mul(%sig, %sig)
			%add: f32[1,2,4,4] = cnnc.FusedConv(%x, %conv.weight, _, %z)
			output %add`,
			"fuse: 1 Conv -> FusedConv, 1 residual add fused"},
		{"relu6 and bounds that are not constant", func(b *ir.Builder, x *ir.Value) *ir.Value {
			y := b.Apply("", conv("conv", 2), x)
			y = b.Node1("relu6", &ir.Clip{}, y, b.Fill("zero", 0, 1), b.Fill("six", 6, 1))
			y = b.Apply("", conv("conv2", 2), y)
			m := b.Node1("max", &ir.ReduceMean{Axes: []int{0, 1, 2, 3}}, x)
			return b.Node1("clip", &ir.Clip{Min: -1, Max: 1}, y, m)
		}, []int{1, 2, 4, 4}, `
			input %x: f32[1,2,4,4]
			const %conv.weight: f32[2,2,3,3]
			const %conv2.weight: f32[2,2,3,3]
			%relu6: f32[1,2,4,4] = cnnc.FusedConv[clip(0,6)](%x, %conv.weight)
			%conv2: f32[1,2,4,4] = cnnc.FusedConv(%relu6, %conv2.weight)
			%max: f32[] = ReduceMean(%x)
			%clip: f32[1,2,4,4] = Clip(%conv2, %max)
			output %clip`,
			"fuse: 2 Convs -> FusedConv, 1 activation fused"},
		{"gemm relu, matmul relu, affine relu", func(b *ir.Builder, x *ir.Value) *ir.Value {
			y := b.Apply("fc", ir.Linear(4), x)
			y = b.Apply("relu", ir.ReLU(), y)
			y = b.Node1("mm", &ir.MatMul{}, y, b.Uniform("w", 1, 4, 4))
			y = b.Apply("relu2", ir.ReLU(), y)
			y = b.Node1("affine", &ir.ChannelAffine{}, y, b.Uniform("s", 1, 4), b.Uniform("t", 1, 4))
			return b.Apply("relu3", ir.ReLU(), y)
		}, []int{2, 3}, `
			input %x: f32[2,3]
			const %fc.weight: f32[4,3]
			const %fc.bias: f32[4]
			const %w: f32[4,4]
			const %s: f32[4]
			const %t: f32[4]
			%relu: f32[2,4] = cnnc.FusedGemm[relu](%x, %fc.weight, %fc.bias)
			%mm: f32[2,4] = MatMul(%relu, %w)
			%relu2: f32[2,4] = Relu(%mm)
			%relu3: f32[2,4] = cnnc.ChannelAffine[relu](%relu2, %s, %t)
			output %relu3`,
			"fuse: 1 Gemm -> FusedGemm, 2 activations fused"},
		{"no fusion: broadcast add, shared output, 3-D conv", func(b *ir.Builder, x *ir.Value) *ir.Value {
			y := b.Apply("", conv("conv", 2), x)
			y = b.Add(y, b.Uniform("bias", 1, 2, 1, 1))
			c := b.Apply("", conv("conv2", 2), y)
			r := b.Apply("relu", ir.ReLU(), c)
			y = b.Add(r, c)
			y = b.Node1("r5", &ir.Reshape{}, y, b.Const("s", ir.FromInt64(ir.Shape{5}, []int64{1, 2, 2, 2, 4})))
			y = b.Node1("conv3d", &ir.Conv{Group: 1}, y, b.Uniform("w3", 1, 1, 2, 1, 1, 1))
			return b.Apply("relu3", ir.ReLU(), y)
		}, []int{1, 2, 4, 4}, `
			input %x: f32[1,2,4,4]
			const %conv.weight: f32[2,2,3,3]
			const %bias: f32[2,1,1]
			const %conv2.weight: f32[2,2,3,3]
			const %s: i64[5]
			const %w3: f32[1,2,1,1,1]
			%conv: f32[1,2,4,4] = cnnc.FusedConv(%x, %conv.weight)
			%add: f32[1,2,4,4] = Add(%conv, %bias)
			%conv2: f32[1,2,4,4] = cnnc.FusedConv(%add, %conv2.weight)
			%relu: f32[1,2,4,4] = Relu(%conv2)
			%add_1: f32[1,2,4,4] = Add(%relu, %conv2)
			%r5: f32[1,2,2,2,4] = Reshape(%add_1, %s)
			%conv3d: f32[1,1,2,2,4] = Conv(%r5, %w3)
			%relu3: f32[1,1,2,2,4] = Relu(%conv3d)
			output %relu3`,
			"fuse: 2 Convs -> FusedConv"},
		{"1-D conv", func(b *ir.Builder, x *ir.Value) *ir.Value {
			y := b.Node1("conv", &ir.Conv{Group: 1, Pads: []int{1, 1}}, x, b.Uniform("w", 1, 3, 2, 3))
			return b.Apply("relu", ir.ReLU(), y)
		}, []int{1, 2, 8}, `
			input %x: f32[1,2,8]
			const %w: f32[3,2,3]
			%relu: f32[1,3,8] = cnnc.FusedConv[relu](%x, %w)
			output %relu`,
			"fuse: 1 Conv -> FusedConv, 1 activation fused"},
	}
	runPassCases(t, "fuse", 5, tests)
}
