package ir

import (
	"strings"
	"testing"
)

func TestInceptionBlock(t *testing.T) {
	b := NewBuilder("inception", 1)
	x := b.Input("x", 1, 192, 28, 28)
	b.Output(b.Apply("inception3a", Inception(64, 96, 128, 16, 32, 32), x))
	g, err := b.Graph()
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Outputs[0].Type.String(); got != "f32[1,256,28,28]" {
		t.Errorf("output %s, want f32[1,256,28,28]", got)
	}
	want := map[string]string{
		"inception3a.branch1.conv.weight":      "[64,192,1,1]",
		"inception3a.branch2.1.conv.weight":    "[128,96,3,3]",
		"inception3a.branch3.1.conv.weight":    "[32,16,3,3]",
		"inception3a.branch4.1.bn.running_var": "[32]",
	}
	n := 0
	for _, v := range g.Constants() {
		n++
		if w, ok := want[v.Name]; ok && v.Type.Shape.String() != w {
			t.Errorf("%s: shape %v, want %s", v.Name, v.Type.Shape, w)
		}
		delete(want, v.Name)
	}
	if len(want) != 0 || n != 6*5 {
		t.Errorf("%d constants, want 30; missing %v", n, want)
	}
	for _, node := range g.Nodes {
		if bn, ok := node.Op.(*BatchNormalization); ok && bn.Epsilon != 1e-3 {
			t.Errorf("%s: epsilon %v, want 1e-3", node.Name, bn.Epsilon)
		}
	}
}

func TestInceptionBlockErrors(t *testing.T) {
	cases := []struct {
		layer Layer
		want  string
	}{
		{Named("inc", Inception(64, 0, 128, 16, 32, 32)), `layer "inc.branch2.0.conv": Conv2d(0, 1`},
		{Named("bn", BatchNormEps(0)), `layer "bn": BatchNormEps(0): epsilon must be positive`},
	}
	for _, c := range cases {
		b := NewBuilder("bad", 1)
		b.Output(b.Apply("", c.layer, b.Input("x", 1, 4, 8, 8)))
		if _, err := b.Graph(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want it to contain %q", err, c.want)
		}
	}
}
