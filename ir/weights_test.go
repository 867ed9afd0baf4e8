package ir

import (
	"strings"
	"testing"
)

func TestLoadWeights(t *testing.T) {
	build := func(seed uint64, classes int) *Graph {
		b := NewBuilder("net", seed)
		x := b.Input("x", 1, 3, 8, 8)
		y := b.Apply("", Sequential(Conv2d(4, 3), BatchNorm(), ReLU(), GlobalAvgPool(), FlattenLayer(), Linear(classes)), x)
		b.Output(y)
		g, err := b.Graph()
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	dst, src := build(1, 10), build(2, 10)
	if err := LoadWeights(dst, Weights(src)); err != nil {
		t.Fatal(err)
	}
	if a, b := dst.Constants()[0].Const.F32[0], src.Constants()[0].Const.F32[0]; a != b {
		t.Errorf("weight not loaded: %v vs %v", a, b)
	}

	// A weight shared through an Identity node keeps its name.
	c := &Value{Name: "features.17.bias", Type: Type{Float32, Shape{2}}, Const: FromFloat32(Shape{2}, []float32{1, 2})}
	alias, y := &Value{Name: "features.28.bias"}, &Value{Name: "y"}
	shared := &Graph{Nodes: []*Node{
		{Name: "id", Op: &Identity{}, Inputs: []*Value{c}, Outputs: []*Value{alias}},
		{Name: "relu", Op: &Relu{}, Inputs: []*Value{alias}, Outputs: []*Value{y}},
	}}
	if w := Weights(shared); w["features.28.bias"] != c.Const || w["features.17.bias"] != c.Const {
		t.Fatalf("Weights = %v, want both names", w)
	}

	// Another architecture is refused with the differences named.
	err := LoadWeights(build(1, 10), Weights(build(1, 7)))
	if err == nil || !strings.Contains(err.Error(), "5.weight: file has f32[7,4], model wants f32[10,4]") {
		t.Errorf("err = %v", err)
	}
	small := Weights(build(1, 10))
	delete(small, "1.running_var")
	small["extra"] = FromFloat32(Shape{1}, []float32{0})
	err = LoadWeights(build(1, 10), small)
	if err == nil || !strings.Contains(err.Error(), "not in the weights: 1.running_var [4]") || !strings.Contains(err.Error(), "in the weights but not the model: extra [1]") {
		t.Errorf("err = %v", err)
	}
}
