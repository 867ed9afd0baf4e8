package ir

import (
	"strings"
	"testing"
)

// lenet5 is LeNet-5 as taught, written with the builder.
func lenet5(b *Builder) *Value {
	x := b.Input("input", 1, 1, 28, 28)
	return b.Apply("", Sequential(
		Conv2d(6, 5, Padding(2)), SigmoidLayer(), AvgPool2d(2, 2),
		Conv2d(16, 5), SigmoidLayer(), AvgPool2d(2, 2),
		FlattenLayer(),
		Linear(120), SigmoidLayer(), Linear(84), SigmoidLayer(), Linear(10),
	), x)
}

func TestBuilderLeNet(t *testing.T) {
	b := NewBuilder("lenet", 1)
	b.Output(lenet5(b))
	g, err := b.Graph()
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Outputs[0].Type.String(); got != "f32[1,10]" {
		t.Errorf("output %s, want f32[1,10]", got)
	}
	var params int
	for _, v := range g.Constants() {
		params += v.Type.Shape.NumElements()
	}
	if params != 61706 { // LeNet-5 as in d2l.ai
		t.Errorf("params %d, want 61706", params)
	}
	// torchvision-style names.
	want := []string{"0.weight", "0.bias", "3.weight", "3.bias", "7.weight"}
	for i, w := range want {
		if got := g.Constants()[i].Name; got != w {
			t.Errorf("constant %d named %q, want %q", i, got, w)
		}
	}
	// Seeded: the same seed gives the same weights, another seed others.
	b2 := NewBuilder("lenet", 1)
	b2.Output(lenet5(b2))
	g2, _ := b2.Graph()
	b3 := NewBuilder("lenet", 2)
	b3.Output(lenet5(b3))
	g3, _ := b3.Graph()
	w1, w2, w3 := g.Constants()[0].Const.F32, g2.Constants()[0].Const.F32, g3.Constants()[0].Const.F32
	if w1[0] != w2[0] || w1[0] == w3[0] {
		t.Errorf("weights not seeded: %v %v %v", w1[0], w2[0], w3[0])
	}
	for _, v := range w1 {
		if bound := float32(1.0 / 5); v < -bound || v >= bound {
			t.Fatalf("conv1 weight %v outside the default init bound %v", v, bound)
		}
	}
}

func TestBuilderErrors(t *testing.T) {
	cases := []struct {
		layer Layer
		want  string
	}{
		{Named("conv", Conv2d(8, 3, Groups(3))), `layer "conv": Conv2d(8, 3, groups 3) on 4 input channels`},
		{Named("fc", Linear(10)), `layer "fc": Linear(10) wants a [N, features] input`},
		{Named("body", Sequential(Conv2d(4, 9))), `node "body.0" (Conv)`},
	}
	for _, c := range cases {
		b := NewBuilder("bad", 1)
		x := b.Input("x", 1, 4, 8, 8)
		y := b.Apply("", c.layer, x)
		b.Output(y)
		_, err := b.Graph()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want it to contain %q", err, c.want)
		}
	}
}
