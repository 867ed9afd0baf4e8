package ir_test

import (
	"math"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/reference"
)

// vggBuild applies l to an input of the given shape and returns the graph.
func vggBuild(t *testing.T, l ir.Layer, shape ...int) (*ir.Graph, error) {
	t.Helper()
	b := ir.NewBuilder("test", 1)
	x := b.Input("input", shape...)
	b.Output(b.Apply("", l, x))
	return b.Graph()
}

func vggConstNames(g *ir.Graph) string {
	var names []string
	for _, v := range g.Constants() {
		names = append(names, v.Name)
	}
	return strings.Join(names, " ")
}

func vggOpTypes(g *ir.Graph) string {
	var ops []string
	for _, n := range g.Nodes {
		ops = append(ops, n.Op.OpType())
	}
	return strings.Join(ops, " ")
}

func TestVGGBlock(t *testing.T) {
	cases := []struct {
		name  string
		layer ir.Layer
		out   string
		names string
		ops   string
	}{
		{"plain", ir.VGGBlock(2, 8, false), "f32[1,8,4,4]",
			"0.weight 0.bias 2.weight 2.bias", "Conv Relu Conv Relu MaxPool"},
		{"bn", ir.VGGBlock(2, 8, true), "f32[1,8,4,4]",
			"0.weight 0.bias 1.weight 1.bias 1.running_mean 1.running_var 3.weight 3.bias 4.weight 4.bias 4.running_mean 4.running_var",
			"Conv BatchNormalization Relu Conv BatchNormalization Relu MaxPool"},
		// Two blocks spliced into one Sequential number their layers
		// flatly, as torchvision's VGG features.
		{"spliced", ir.Sequential(append(ir.VGGBlockLayers(1, 4, false), ir.VGGBlockLayers(1, 8, true)...)...), "f32[1,8,2,2]",
			"0.weight 0.bias 3.weight 3.bias 4.weight 4.bias 4.running_mean 4.running_var",
			"Conv Relu MaxPool Conv BatchNormalization Relu MaxPool"},
	}
	for _, c := range cases {
		g, err := vggBuild(t, c.layer, 1, 3, 8, 8)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := g.Outputs[0].Type.String(); got != c.out {
			t.Errorf("%s: output %s, want %s", c.name, got, c.out)
		}
		if got := vggConstNames(g); got != c.names {
			t.Errorf("%s: constants\n got %s\nwant %s", c.name, got, c.names)
		}
		if got := vggOpTypes(g); got != c.ops {
			t.Errorf("%s: ops %s, want %s", c.name, got, c.ops)
		}
	}
	if _, err := vggBuild(t, ir.Named("block", ir.VGGBlock(0, 8, false)), 1, 3, 8, 8); err == nil ||
		!strings.Contains(err.Error(), `layer "block": VGGBlock(0, 8): a block needs at least one convolution`) {
		t.Errorf("VGGBlock(0, 8): err = %v", err)
	}
	// A 1x1 map cannot be pooled 2x2.
	if _, err := vggBuild(t, ir.VGGBlock(1, 8, false), 1, 3, 1, 1); err == nil {
		t.Error("VGGBlock on a 1x1 input: no error")
	}
}

func TestAdaptiveAvgPool2d(t *testing.T) {
	cases := []struct {
		h, w, out int
		ops       string // "" when the layer is the identity
		kernel    []int
		strides   []int
		err       string
		unsup     bool
	}{
		{h: 6, w: 6, out: 6}, // torchvision's alexnet at 224
		{h: 7, w: 7, out: 7}, // and VGG
		{h: 14, w: 14, out: 7, ops: "AveragePool", kernel: []int{2, 2}, strides: []int{2, 2}},
		{h: 13, w: 12, out: 6, ops: "AveragePool", kernel: []int{3, 2}, strides: []int{2, 2}},
		{h: 8, w: 8, out: 7, ops: "AveragePool", kernel: []int{2, 2}, strides: []int{1, 1}},
		{h: 5, w: 9, out: 1, ops: "AveragePool", kernel: []int{5, 9}, strides: []int{5, 9}},
		{h: 10, w: 12, out: 6, err: "AdaptiveAvgPool2d(6) on a 10x12 input: PyTorch's windows differ", unsup: true},
		{h: 5, w: 12, out: 6, err: "AdaptiveAvgPool2d(6) on a 5x12 input: the input is smaller than the output", unsup: true},
		{h: 1, w: 1, out: 7, err: "on a 1x1 input: the input is smaller", unsup: true},
		{h: 4, w: 4, out: 0, err: "AdaptiveAvgPool2d(0) wants a positive output size"},
	}
	for _, c := range cases {
		g, err := vggBuild(t, ir.Named("pool", ir.AdaptiveAvgPool2d(c.out)), 1, 2, c.h, c.w)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || ir.IsUnsupported(err) != c.unsup {
				t.Errorf("%dx%d to %d: err = %v, want %q (unsupported: %v)", c.h, c.w, c.out, err, c.err, c.unsup)
			}
			continue
		}
		if err != nil {
			t.Errorf("%dx%d to %d: %v", c.h, c.w, c.out, err)
			continue
		}
		if got := vggOpTypes(g); got != c.ops {
			t.Errorf("%dx%d to %d: ops %q, want %q", c.h, c.w, c.out, got, c.ops)
			continue
		}
		if got, want := g.Outputs[0].Type.Shape, (ir.Shape{1, 2, c.out, c.out}); !got.Equal(want) {
			t.Errorf("%dx%d to %d: output %v, want %v", c.h, c.w, c.out, got, want)
		}
		if c.ops == "" {
			continue
		}
		p := g.Nodes[0].Op.(*ir.AveragePool)
		if !ir.Shape(p.Kernel).Equal(c.kernel) || !ir.Shape(p.Strides).Equal(c.strides) {
			t.Errorf("%dx%d to %d: kernel %v stride %v, want %v %v", c.h, c.w, c.out, p.Kernel, p.Strides, c.kernel, c.strides)
		}
	}
	// On a non-square input whose rows and columns pool differently.
	got := vggRunPool(t, 13, 12, 6)
	if want := vggAdaptiveAvgPool(13, 12, 6); !vggClose(got, want) {
		t.Errorf("13x12 to 6: %v, want %v", got, want)
	}
	// PyTorch's: nn.AdaptiveAvgPool2d(6)(torch.arange(13 * 12.).reshape(1, 1, 13, 12)),
	// and nn.AdaptiveAvgPool2d(2)(torch.arange(25.).reshape(1, 1, 5, 5)).
	if want := []float32{12.5, 14.5, 16.5, 18.5, 20.5, 22.5, 36.5, 38.5}; !vggClose(got[:8], want) {
		t.Errorf("13x12 to 6: starts %v, want PyTorch's %v", got[:8], want)
	}
	if got, want := vggRunPool(t, 5, 5, 2), []float32{6, 8, 16, 18}; !vggClose(got, want) {
		t.Errorf("5x5 to 2: %v, want PyTorch's %v", got, want)
	}
}

// vggRunPool runs AdaptiveAvgPool2d(out) on the interpreter over a 1x1xhxw
// input holding 0, 1, 2, ... in row-major order.
func vggRunPool(t *testing.T, h, w, out int) []float32 {
	t.Helper()
	g, err := vggBuild(t, ir.AdaptiveAvgPool2d(out), 1, 1, h, w)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := ir.NewTensor(ir.Float32, ir.Shape{1, 1, h, w})
	for i := range in.F32 {
		in.F32[i] = float32(i)
	}
	outs, err := reference.Run(g, map[string]*ir.Tensor{"input": in})
	if err != nil {
		t.Fatal(err)
	}
	return outs[0].F32
}

// vggAdaptiveAvgPool is PyTorch's definition: output (i, j) averages input
// rows [floor(i*h/out), ceil((i+1)*h/out)) and the columns likewise, of
// the input 0, 1, 2, ... of vggRunPool.
func vggAdaptiveAvgPool(h, w, out int) []float32 {
	var y []float32
	for i := range out {
		for j := range out {
			var sum float64
			var n int
			for r := i * h / out; r < ((i+1)*h+out-1)/out; r++ {
				for c := j * w / out; c < ((j+1)*w+out-1)/out; c++ {
					sum += float64(r*w + c)
					n++
				}
			}
			y = append(y, float32(sum/float64(n)))
		}
	}
	return y
}

func vggClose(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-4 {
			return false
		}
	}
	return true
}
