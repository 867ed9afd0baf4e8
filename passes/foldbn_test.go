package passes

import (
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

// randConst adds a random float32 constant of the given shape.
func randConst(b *ir.Builder, name string, shape ...int) *ir.Value {
	return b.Uniform(name, 1, shape...)
}

func TestFoldBN(t *testing.T) {
	tests := []passCase{
		{"conv bn relu", func(b *ir.Builder, x *ir.Value) *ir.Value {
			y := b.Apply("conv", ir.Conv2d(4, 3, ir.Padding(1)), x)
			y = b.Apply("bn", randBN(), y)
			return b.Apply("relu", ir.ReLU(), y)
		}, []int{1, 3, 6, 6}, `
			input %x: f32[1,3,6,6]
			const %conv.weight.folded: f32[4,3,3,3]
			const %conv.bias.folded: f32[4]
			%bn: f32[1,4,6,6] = Conv(%x, %conv.weight.folded, %conv.bias.folded)
			%relu: f32[1,4,6,6] = Relu(%bn)
			output %relu`,
			"foldbn: 1 batch norm folded (into Conv 1)"},
		{"grouped conv without bias", func(b *ir.Builder, x *ir.Value) *ir.Value {
			y := b.Apply("conv", ir.Conv2d(4, 3, ir.Padding(1), ir.Groups(2), ir.NoBias()), x)
			return b.Apply("bn", randBN(), y)
		}, []int{2, 4, 5, 5}, `
			input %x: f32[2,4,5,5]
			const %conv.weight.folded: f32[4,2,3,3]
			const %conv.bias.folded: f32[4]
			%bn: f32[2,4,5,5] = Conv(%x, %conv.weight.folded, %conv.bias.folded)
			output %bn`,
			"foldbn: 1 batch norm folded (into Conv 1)"},
		{"caffe2 bn mul add", func(b *ir.Builder, x *ir.Value) *ir.Value {
			y := b.Apply("conv", ir.Conv2d(4, 1, ir.NoBias()), x)
			y = b.Apply("bn", randBN(), y)
			y = b.Node1("mul", &ir.Mul{}, y, randConst(b, "scale", 4, 1, 1))
			y = b.Node1("add", &ir.Add{}, randConst(b, "shift", 1, 4, 1, 1), y)
			return b.Apply("relu", ir.ReLU(), y)
		}, []int{1, 3, 4, 4}, `
			input %x: f32[1,3,4,4]
			const %conv.weight.folded: f32[4,3,1,1]
			const %conv.bias.folded: f32[4]
			%add: f32[1,4,4,4] = Conv(%x, %conv.weight.folded, %conv.bias.folded)
			%relu: f32[1,4,4,4] = Relu(%add)
			output %relu`,
			"foldbn: 1 batch norm folded (into Conv 1), 2 per-channel Mul/Adds folded"},
		{"conv sub div", func(b *ir.Builder, x *ir.Value) *ir.Value {
			y := b.Apply("conv", ir.Conv2d(2, 1), x)
			y = b.Node1("sub", &ir.Sub{}, randConst(b, "k", 2, 1, 1), y) // k - y
			y = b.Node1("div", &ir.Div{}, y, b.Fill("four", 4, 1))       // y / 4
			return b.Node1("sub2", &ir.Sub{}, y, randConst(b, "k2", 1))  // y - k2
		}, []int{1, 2, 3, 3}, `
			input %x: f32[1,2,3,3]
			const %conv.weight.folded: f32[2,2,1,1]
			const %conv.bias.folded: f32[2]
			%sub2: f32[1,2,3,3] = Conv(%x, %conv.weight.folded, %conv.bias.folded)
			output %sub2`,
			"foldbn: 3 per-channel Mul/Adds folded"},
		{"linear bn1d", func(b *ir.Builder, x *ir.Value) *ir.Value {
			y := b.Apply("fc", ir.Linear(5), x)
			return b.Apply("bn", randBN(), y)
		}, []int{3, 6}, `
			input %x: f32[3,6]
			const %fc.weight.folded: f32[5,6]
			const %fc.bias.folded: f32[5]
			%bn: f32[3,5] = Gemm(%x, %fc.weight.folded, %fc.bias.folded)
			output %bn`,
			"foldbn: 1 batch norm folded (into Gemm 1)"},
		{"gemm with row-varying C", func(b *ir.Builder, x *ir.Value) *ir.Value {
			y := b.Node1("gemm", &ir.Gemm{Alpha: 0.5, Beta: 2}, x, randConst(b, "w", 6, 5), randConst(b, "c", 3, 1))
			return b.Apply("bn", randBN(), y)
		}, []int{3, 6}, `
			input %x: f32[3,6]
			const %w.folded: f32[6,5]
			const %c.folded: f32[3,5]
			%bn: f32[3,5] = Gemm(%x, %w.folded, %c.folded)
			output %bn`,
			"foldbn: 1 batch norm folded (into Gemm 1)"},
		{"matmul bn becomes gemm", func(b *ir.Builder, x *ir.Value) *ir.Value {
			y := b.Node1("mm", &ir.MatMul{}, x, randConst(b, "w", 6, 5))
			return b.Apply("bn", randBN(), y)
		}, []int{2, 6}, `
			input %x: f32[2,6]
			const %w.folded: f32[6,5]
			const %mm.bias.folded: f32[5]
			%bn: f32[2,5] = Gemm(%x, %w.folded, %mm.bias.folded)
			output %bn`,
			"foldbn: 1 batch norm folded (into MatMul 1)"},
		{"densenet bn after concat, caffe2 mul add", func(b *ir.Builder, x *ir.Value) *ir.Value {
			y := b.Concat(x, x)
			y = b.Apply("bn", randBN(), y)
			y = b.Node1("mul", &ir.Mul{}, y, randConst(b, "scale", 6, 1, 1))
			y = b.Node1("add", &ir.Add{}, y, randConst(b, "shift", 6, 1, 1))
			return b.Apply("relu", ir.ReLU(), y)
		}, []int{1, 3, 2, 2}, `
			input %x: f32[1,3,2,2]
			const %bn.scale: f32[6]
			const %bn.shift: f32[6]
			%cat: f32[1,6,2,2] = Concat(%x, %x)
			%add: f32[1,6,2,2] = cnnc.ChannelAffine(%cat, %bn.scale, %bn.shift)
			%relu: f32[1,6,2,2] = Relu(%add)
			output %relu`,
			"foldbn: 2 per-channel Mul/Adds folded, 1 batch norm -> ChannelAffine"},
		{"conv output used twice", func(b *ir.Builder, x *ir.Value) *ir.Value {
			c := b.Apply("conv", ir.Conv2d(3, 1), x)
			y := b.Apply("bn", randBN(), c)
			return b.Add(y, c)
		}, []int{1, 3, 2, 2}, `
			input %x: f32[1,3,2,2]
			const %conv.weight: f32[3,3,1,1]
			const %conv.bias: f32[3]
			const %bn.scale: f32[3]
			const %bn.shift: f32[3]
			%conv: f32[1,3,2,2] = Conv(%x, %conv.weight, %conv.bias)
			%bn: f32[1,3,2,2] = cnnc.ChannelAffine(%conv, %bn.scale, %bn.shift)
			%add: f32[1,3,2,2] = Add(%bn, %conv)
			output %add`,
			"foldbn: 1 batch norm -> ChannelAffine"},
		{"not per channel", func(b *ir.Builder, x *ir.Value) *ir.Value {
			c := b.Apply("conv", ir.Conv2d(3, 1), x)
			c = b.Node1("mul", &ir.Mul{}, c, randConst(b, "along_w", 2))
			return b.Node1("add", &ir.Add{}, c, randConst(b, "full", 1, 3, 2, 2))
		}, []int{1, 3, 2, 2}, `
			input %x: f32[1,3,2,2]
			const %conv.weight: f32[3,3,1,1]
			const %conv.bias: f32[3]
			const %along_w: f32[2]
			const %full: f32[1,3,2,2]
			%conv: f32[1,3,2,2] = Conv(%x, %conv.weight, %conv.bias)
			%mul: f32[1,3,2,2] = Mul(%conv, %along_w)
			%add: f32[1,3,2,2] = Add(%mul, %full)
			output %add`,
			"foldbn: no change"},
	}
	runPassCases(t, "foldbn", 7, tests)
}

// TestFoldBNFusedConv: a FusedConv without activation or residual takes a
// batch norm; one with an activation does not.
func TestFoldBNFusedConv(t *testing.T) {
	for _, act := range []ir.Activation{{}, {Kind: ir.ActRelu}} {
		b := ir.NewBuilder("fused", 3)
		x := b.Input("x", 1, 2, 3, 3)
		y := b.Node1("conv", &ir.FusedConv{Conv: ir.Conv{Group: 1}, Act: act}, x, randConst(b, "w", 2, 2, 1, 1))
		b.Output(b.Apply("bn", randBN(), y))
		g := build(t, b)
		got := runOnly(t, g, Options{}, "foldbn")
		want := "cnnc.FusedConv"
		if act.Kind != ir.ActNone {
			want = "cnnc.FusedConv[relu] cnnc.ChannelAffine"
		}
		var ops []string
		for _, n := range got.Nodes {
			ops = append(ops, compactOp(n.Op))
		}
		if s := strings.Join(ops, " "); s != want {
			t.Errorf("act %v: ops %s, want %s", act.Kind, s, want)
		}
		sameOutputs(t, g, got, 1e-5)
	}
}
