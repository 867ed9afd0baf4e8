package ir

import (
	"reflect"
	"testing"
)

// cloneTestGraph builds conv -> relu -> add(relu, relu) with a Constant
// node, a symbolic batch dimension and an omitted optional input.
func cloneTestGraph(t *testing.T) *Graph {
	t.Helper()
	b := NewBuilder("clone", 1)
	x := b.Input("x", -1, 3, 8, 8)
	y := b.Apply("conv", Conv2d(4, 3, Padding(1), NoBias()), x)
	y = b.Apply("relu", ReLU(), y)
	y = b.Add(y, y)
	shape := b.Node1("shape", &Constant{Value: FromInt64(Shape{2}, []int64{0, -1})})
	y = b.Node1("reshape", &Reshape{}, y, shape)
	b.Output(y)
	g, err := b.Graph()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestCloneIsDeep(t *testing.T) {
	g := cloneTestGraph(t)
	before := Print(g)
	c := g.Clone()
	if got := Print(c); got != before {
		t.Fatalf("clone prints differently:\n%s\nwant:\n%s", got, before)
	}
	if err := Verify(c); err != nil {
		t.Fatalf("Verify(clone): %v", err)
	}

	// No Node, Value, slice or shape is shared; constant tensors are.
	old := map[*Value]bool{}
	for _, v := range g.Inputs {
		old[v] = true
	}
	for _, n := range g.Nodes {
		for _, v := range append(append([]*Value{}, n.Inputs...), n.Outputs...) {
			old[v] = true
		}
	}
	for i, n := range c.Nodes {
		if n == g.Nodes[i] {
			t.Fatalf("node %q is shared", n.Name)
		}
		// Pointers to distinct zero-size ops (Relu{}) may compare equal.
		if n.Op == g.Nodes[i].Op && reflect.TypeOf(n.Op).Elem().Size() > 0 {
			t.Errorf("node %q: op is shared", n.Name)
		}
		if len(n.Inputs) > 0 && &n.Inputs[0] == &g.Nodes[i].Inputs[0] {
			t.Errorf("node %q: input slice is shared", n.Name)
		}
		for j, v := range n.Inputs {
			if v == nil {
				continue
			}
			if old[v] {
				t.Errorf("node %q input %d (%q) is shared", n.Name, j, v.Name)
			}
			if w := g.Nodes[i].Inputs[j]; v.Const != w.Const {
				t.Errorf("node %q input %d: constant tensor copied, want shared", n.Name, j)
			}
			if len(v.Type.Shape) > 0 && &v.Type.Shape[0] == &g.Nodes[i].Inputs[j].Type.Shape[0] {
				t.Errorf("node %q input %d: shape slice is shared", n.Name, j)
			}
		}
	}
	if c.Inputs[0] == g.Inputs[0] || &c.Inputs[0].DimNames[0] == &g.Inputs[0].DimNames[0] {
		t.Error("graph input or its DimNames is shared")
	}

	// A value used twice (add's two operands) stays one value.
	add := c.Nodes[2]
	if add.Inputs[0] != add.Inputs[1] || add.Inputs[0] != c.Nodes[1].Outputs[0] {
		t.Error("the value relu feeds twice into add is not one value in the clone")
	}
	if c.Outputs[0] != c.Nodes[len(c.Nodes)-1].Outputs[0] {
		t.Error("graph output is not the clone's last node output")
	}

	// Rewriting the clone leaves g as it was.
	c.Nodes[0].Op.(*Conv).Group = 7
	c.Inputs[0].Type.Shape[0] = 5
	c.Inputs[0].DimNames[0] = ""
	c.Nodes[1].Outputs[0].Name = "renamed"
	c.Nodes = c.Nodes[:1]
	if got := Print(g); got != before {
		t.Errorf("rewriting the clone changed the original:\n%s\nwant:\n%s", got, before)
	}
}

func TestCloneOp(t *testing.T) {
	tests := []struct {
		name string
		op   Op
	}{
		{"conv", &Conv{Kernel: []int{3, 3}, Pads: []int{1, 1, 1, 1}, Group: 2}},
		{"empty struct", &Relu{}},
		{"fused", &FusedConv{Conv: Conv{Group: 1}, Act: Activation{Kind: ActClip, Max: 6}, Algo: AlgoIm2col}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := CloneOp(tt.op)
			if opString(c) != opString(tt.op) {
				t.Errorf("CloneOp = %s, want %s", opString(c), opString(tt.op))
			}
			// Pointers to distinct zero-size structs may compare equal.
			if c == tt.op && tt.name != "empty struct" {
				t.Error("CloneOp returned the same pointer")
			}
		})
	}
	if CloneOp(nil) != nil {
		t.Error("CloneOp(nil) != nil")
	}
}
