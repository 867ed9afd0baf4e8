package importer

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/cnnc/cnnc/importer/onnxpb"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/reference"
)

// TestExportStochasticDepth checks that StochasticDepth, which ONNX has no
// operator for, is written as Identity (its inference meaning), and that
// the model read back computes the same.
func TestExportStochasticDepth(t *testing.T) {
	bd := ir.NewBuilder("sd", 3)
	x := bd.Input("x", 1, 4, 5, 5)
	y := bd.Apply("b", ir.BasicBlock(4, 1, ir.WithStochasticDepth(0.8)), x)
	bd.Output(y)
	g, err := bd.Graph()
	if err != nil {
		t.Fatal(err)
	}
	data, err := Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, n := range m.GetGraph().GetNode() {
		if n.GetOpType() == "StochasticDepth" {
			t.Errorf("node %s written as StochasticDepth", n.GetName())
		}
		if n.GetName() == "b.stochastic_depth" {
			found = true
			if n.GetOpType() != "Identity" || len(n.GetAttribute()) != 0 || len(n.GetInput()) != 1 || len(n.GetOutput()) != 1 {
				t.Errorf("node %s: %s with %d attributes, inputs %v, outputs %v; want Identity, none, 1, 1",
					n.GetName(), n.GetOpType(), len(n.GetAttribute()), n.GetInput(), n.GetOutput())
			}
		}
	}
	if !found {
		t.Fatal("no node b.stochastic_depth in the model")
	}
	g2, err := Decode(data, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range g2.Nodes {
		if _, ok := n.Op.(*ir.StochasticDepth); ok {
			t.Errorf("the importer produced StochasticDepth (node %s)", n.Name)
		}
	}
	in := ir.FromFloat32(ir.Shape{1, 4, 5, 5}, make([]float32, 100))
	for i := range in.F32 {
		in.F32[i] = float32(i%7) - 3
	}
	want, err := reference.Run(g, map[string]*ir.Tensor{"x": in})
	if err != nil {
		t.Fatal(err)
	}
	got, err := reference.Run(g2, map[string]*ir.Tensor{"x": in})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got[0].F32, want[0].F32) {
		t.Errorf("re-imported graph computes %v, want %v", got[0].F32, want[0].F32)
	}
	// The graph without the op computes the same too: it is the identity.
	bp := ir.NewBuilder("sd", 3)
	bp.Output(bp.Apply("b", ir.BasicBlock(4, 1), bp.Input("x", 1, 4, 5, 5)))
	gp, err := bp.Graph()
	if err != nil {
		t.Fatal(err)
	}
	plain, err := reference.Run(gp, map[string]*ir.Tensor{"x": in})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plain[0].F32, want[0].F32) {
		t.Errorf("with stochastic depth %v, without %v", want[0].F32, plain[0].F32)
	}
}
