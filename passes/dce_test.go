package passes

import (
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

func TestDCE(t *testing.T) {
	b := ir.NewBuilder("dead", 1)
	x := b.Input("x", 1, 4)
	dead := b.Apply("dead1", ir.SigmoidLayer(), x)
	b.Apply("dead2", ir.TanhLayer(), dead)
	b.Output(b.Apply("relu", ir.ReLU(), x))
	g := build(t, b)
	var log strings.Builder
	got := runOnly(t, g, Options{Log: &log}, "dce")
	wantIR(t, got, `
		input %x: f32[1,4]
		%relu: f32[1,4] = Relu(%x)
		output %relu`)
	if !strings.HasPrefix(log.String(), "dce: 2 dead nodes removed (") {
		t.Errorf("log %q, want 2 dead nodes removed", log.String())
	}
	sameOutputs(t, g, got, 1e-5)
}

func TestDCEDynamicShape(t *testing.T) {
	// A Reshape to a shape fed at run time has an unknown shape whatever
	// the input shapes.
	x := &ir.Value{Name: "x", Type: ir.Type{DType: ir.Float32, Shape: ir.Shape{2, 3}}}
	s := &ir.Value{Name: "s", Type: ir.Type{DType: ir.Int64, Shape: ir.Shape{2}}}
	y := &ir.Value{Name: "reshape"}
	g := &ir.Graph{Name: "dyn", Inputs: []*ir.Value{x, s}, Outputs: []*ir.Value{y},
		Nodes: []*ir.Node{{Name: "reshape", Op: &ir.Reshape{}, Inputs: []*ir.Value{x, s}, Outputs: []*ir.Value{y}}}}
	if err := g.InferTypes(); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		g    *ir.Graph
		opts Options
		want string
	}{
		{"output", g, Options{},
			`unsupported: node "reshape" (Reshape): pass dce: dynamic shape: output "reshape" has shape [?,?] after constant folding; compile with a fixed input shape (--batch)`},
		{"input", dynamicReshapeGraph(t), Options{},
			`unsupported: pass dce: dynamic shape: graph input "x" has shape f32[N,3,4,4]; compile with a fixed input shape (--batch)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(tt.g, Options{Verify: true})
			if err == nil || err.Error() != tt.want {
				t.Errorf("error %v\nwant %s", err, tt.want)
			}
			if !ir.IsUnsupported(err) {
				t.Errorf("error %v is not KindUnsupported", err)
			}
		})
	}
}
