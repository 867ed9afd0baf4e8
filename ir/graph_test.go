package ir

import (
	"strings"
	"testing"
)

// chain builds x[N,4] -> Relu -> LeakyRelu -> y, plus a PRelu with a
// constant slope.
func chain() *Graph {
	x := &Value{Name: "x", Type: Type{Float32, Shape{-1, 4}}, DimNames: []string{"N", ""}}
	slope := &Value{Name: "slope", Type: Type{Float32, Shape{4}}, Const: FromFloat32(Shape{4}, []float32{1, 2, 3, 4})}
	a, b, y := &Value{Name: "a"}, &Value{Name: "b"}, &Value{Name: "y"}
	g := &Graph{Name: "chain", Opset: 13, Inputs: []*Value{x}, Outputs: []*Value{y}, Nodes: []*Node{
		{Name: "r", Op: &Relu{}, Inputs: []*Value{x}, Outputs: []*Value{a}},
		{Name: "l", Op: &LeakyRelu{Alpha: 0.1}, Inputs: []*Value{a}, Outputs: []*Value{b}},
		{Name: "p", Op: &PRelu{}, Inputs: []*Value{b, slope}, Outputs: []*Value{y}},
	}}
	if err := g.InferTypes(); err != nil {
		panic(err)
	}
	return g
}

func TestPrint(t *testing.T) {
	want := `graph "chain" opset 13
  input  %x: f32[N,4]
  const  %slope: f32[4]
  %a: f32[?,4] = Relu(%x)  # r
  %b: f32[?,4] = LeakyRelu{Alpha:0.1}(%a)  # l
  %y: f32[?,4] = PRelu(%b, %slope)  # p
  output %y
`
	if got := Print(chain()); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestVerify(t *testing.T) {
	if err := Verify(chain()); err != nil {
		t.Fatalf("valid graph: %v", err)
	}
	cases := []struct {
		name string
		edit func(g *Graph)
		want string
	}{
		{"use before def", func(g *Graph) { g.Nodes[0], g.Nodes[1] = g.Nodes[1], g.Nodes[0] },
			`node "l" (LeakyRelu): input 0 ("a") is used before it is defined`},
		{"stale type", func(g *Graph) { g.Nodes[1].Outputs[0].Type.Shape = Shape{2, 4} },
			`value "b": recorded type f32[2,4], want f32[?,4]`},
		{"bad op input", func(g *Graph) {
			g.Nodes[2].Inputs[1].Const = FromFloat32(Shape{5}, make([]float32, 5))
			g.Nodes[2].Inputs[1].Type.Shape = Shape{5}
		},
			`node "p" (PRelu): shapes [?,4] and [5] do not broadcast`},
		{"undefined output", func(g *Graph) { g.Outputs[0] = &Value{Name: "z"} },
			`graph output "z" is never defined`},
		{"defined twice", func(g *Graph) { g.Nodes[1].Outputs[0] = g.Nodes[0].Outputs[0] },
			`value "a" defined twice`},
	}
	for _, c := range cases {
		g := chain()
		c.edit(g)
		err := Verify(g)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", c.name, err, c.want)
		}
	}
}

func TestBroadcastShapes(t *testing.T) {
	cases := []struct {
		a, b, want Shape
		ok         bool
	}{
		{Shape{2, 3, 4}, Shape{4}, Shape{2, 3, 4}, true},
		{Shape{2, 1, 4}, Shape{3, 1}, Shape{2, 3, 4}, true},
		{Shape{}, Shape{5}, Shape{5}, true},
		{Shape{-1, 3}, Shape{1, 3}, Shape{-1, 3}, true},
		{Shape{2, 3}, Shape{4, 3}, nil, false},
	}
	for _, c := range cases {
		got, err := BroadcastShapes(c.a, c.b)
		if (err == nil) != c.ok || !got.Equal(c.want) {
			t.Errorf("BroadcastShapes(%v, %v) = %v, %v; want %v", c.a, c.b, got, err, c.want)
		}
	}
}

func TestNumElementsLimit(t *testing.T) {
	if n := (Shape{1 << 20, 1 << 20}).NumElements(); n != -1 {
		t.Errorf("2^40 elements: got %d, want -1", n)
	}
	if n := (Shape{2, 0, 1 << 30}).NumElements(); n != 0 {
		t.Errorf("zero dim: got %d, want 0", n)
	}
	if _, err := NewTensor(Float32, Shape{MaxElements + 1}); err == nil {
		t.Error("NewTensor over MaxElements succeeded")
	}
}
