package ir

import (
	"fmt"
	"strings"
	"testing"
)

func TestDenseBlockAndTransition(t *testing.T) {
	b := NewBuilder("dense", 1)
	x := b.Input("x", 1, 64, 56, 56)
	x = b.Apply("denseblock1", DenseBlock(6, 32, 4), x)
	b.Output(b.Apply("transition1", DenseTransition(128), x))
	g, err := b.Graph()
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Outputs[0].Type.String(); got != "f32[1,128,28,28]" {
		t.Errorf("output %s, want f32[1,128,28,28]", got)
	}
	want := map[string]string{
		"denseblock1.denselayer1.norm1.weight": "[64]",
		"denseblock1.denselayer1.conv1.weight": "[128,64,1,1]",
		"denseblock1.denselayer6.norm1.bias":   "[224]",
		"denseblock1.denselayer6.conv2.weight": "[32,128,3,3]",
		"transition1.norm.running_mean":        "[256]",
		"transition1.conv.weight":              "[128,256,1,1]",
	}
	for _, v := range g.Constants() {
		if w, ok := want[v.Name]; ok && v.Type.Shape.String() != w {
			t.Errorf("%s: shape %v, want %s", v.Name, v.Type.Shape, w)
		}
		delete(want, v.Name)
	}
	if len(want) != 0 {
		t.Errorf("missing constants %v", want)
	}
	// Layer i concatenates the block input and layers 1..i-1, as
	// torchvision's _DenseLayer does; the block ends with one more Concat.
	var cats []int
	for _, n := range g.Nodes {
		if _, ok := n.Op.(*Concat); ok {
			cats = append(cats, len(n.Inputs))
		}
	}
	if got := fmt.Sprint(cats); got != "[2 3 4 5 6 7]" {
		t.Errorf("Concat arities %v, want [2 3 4 5 6 7]", cats)
	}
}

func TestDenseBlockErrors(t *testing.T) {
	cases := []struct {
		layer Layer
		want  string
	}{
		{Named("block", DenseBlock(0, 32, 4)), `layer "block": DenseBlock(0 layers)`},
		{Named("block", DenseBlock(2, 0, 4)), `layer "block.denselayer1": DenseLayer(growth 0, bn_size 4)`},
		{Named("t", Sequential(DenseTransition(4), DenseTransition(4), DenseTransition(4), DenseTransition(4))), `node "t.3.pool" (AveragePool)`},
	}
	for _, c := range cases {
		b := NewBuilder("bad", 1)
		b.Output(b.Apply("", c.layer, b.Input("x", 1, 8, 8, 8)))
		if _, err := b.Graph(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want it to contain %q", err, c.want)
		}
	}
}
