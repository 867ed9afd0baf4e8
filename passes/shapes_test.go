package passes

import (
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

// shapesGraph is conv 3->4 3x3 (pad 1) -> relu on x [N,3,8,8].
func shapesGraph(t *testing.T) *ir.Graph {
	b := ir.NewBuilder("shapes", 1)
	x := b.Input("x", -1, 3, 8, 8)
	y := b.Apply("conv", ir.Conv2d(4, 3, ir.Padding(1)), x)
	b.Output(b.Apply("relu", ir.ReLU(), y))
	return build(t, b)
}

func TestShapes(t *testing.T) {
	g := shapesGraph(t)
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"batch", Options{Batch: 2}, `
			input %x: f32[2,3,8,8]
			const %conv.weight: f32[4,3,3,3]
			const %conv.bias: f32[4]
			%conv: f32[2,4,8,8] = Conv(%x, %conv.weight, %conv.bias)
			%relu: f32[2,4,8,8] = Relu(%conv)
			output %relu`},
		{"input shapes win over batch", Options{Batch: 2, InputShapes: map[string]ir.Shape{"x": {5, 3, 8, 8}}}, `
			input %x: f32[5,3,8,8]
			const %conv.weight: f32[4,3,3,3]
			const %conv.bias: f32[4]
			%conv: f32[5,4,8,8] = Conv(%x, %conv.weight, %conv.bias)
			%relu: f32[5,4,8,8] = Relu(%conv)
			output %relu`},
		{"nothing given", Options{}, `
			input %x: f32[?,3,8,8]
			const %conv.weight: f32[4,3,3,3]
			const %conv.bias: f32[4]
			%conv: f32[?,4,8,8] = Conv(%x, %conv.weight, %conv.bias)
			%relu: f32[?,4,8,8] = Relu(%conv)
			output %relu`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runOnly(t, g, tt.opts, "shapes")
			wantIR(t, got, tt.want)
			if tt.opts.Batch > 0 && got.Inputs[0].DimNames != nil {
				t.Errorf("DimNames %q kept after the batch was fixed", got.Inputs[0].DimNames)
			}
			if got.Inputs[0].Type.Shape.Known() {
				sameOutputs(t, g, got, 1e-5)
			}
		})
	}
	if g.Inputs[0].Type.Shape[0] != -1 || g.Nodes[0].Outputs[0].Type.Shape[0] != -1 {
		t.Error("the shapes pass changed the input graph")
	}
}

// TestShapesNamedBatch: Batch also replaces a known but named dimension 0.
func TestShapesNamedBatch(t *testing.T) {
	g := shapesGraph(t)
	g.Inputs[0].Type.Shape[0] = 1
	if err := g.InferTypes(); err != nil {
		t.Fatal(err)
	}
	got := runOnly(t, g, Options{Batch: 3}, "shapes")
	if s := got.Inputs[0].Type.Shape.String(); s != "[3,3,8,8]" {
		t.Errorf("input shape %s, want [3,3,8,8]", s)
	}
}

func TestShapesErrors(t *testing.T) {
	g := shapesGraph(t)
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"unknown input", Options{InputShapes: map[string]ir.Shape{"y": {1, 3, 8, 8}}},
			`pass shapes: InputShapes names "y", which is not a graph input (inputs: x)`},
		{"rank", Options{InputShapes: map[string]ir.Shape{"x": {1, 3, 8}}},
			`graph input "x": InputShapes gives [1,3,8], rank 3; want rank 4 (declared [?,3,8,8])`},
		{"known dimension", Options{InputShapes: map[string]ir.Shape{"x": {1, 4, 8, 8}}},
			`graph input "x": InputShapes gives [1,4,8,8]; dimension 1 is 4, want 3 (declared [?,3,8,8])`},
		{"unknown dimension", Options{InputShapes: map[string]ir.Shape{"x": {-1, 3, 8, 8}}},
			`graph input "x": InputShapes gives [?,3,8,8], want a fully known shape`},
		{"negative batch", Options{Batch: -1}, `batch size -1, want > 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runOnlyErr(g, tt.opts, "shapes")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestShapesOpRejects: a fixed batch that a constant Reshape cannot take
// is reported at the Reshape.
func TestShapesOpRejects(t *testing.T) {
	b := ir.NewBuilder("reshape", 1)
	x := b.Input("x", -1, 12)
	shape := b.Const("shape", ir.FromInt64(ir.Shape{2}, []int64{3, 4}))
	b.Output(b.Node1("reshape", &ir.Reshape{}, x, shape))
	g := build(t, b)
	_, err := runOnlyErr(g, Options{Batch: 2}, "shapes")
	want := `invalid model: node "reshape" (Reshape): pass shapes: input shape [2,12] has 24 elements, shape [3 4] has 12`
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
}
