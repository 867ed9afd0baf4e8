package ir

import "testing"

// costGraph builds a small network with every kind of cost:
//
//	x f32[N,3,8,8] -> Conv(w1 [4,3,3,3], b1 [4], pads 1) -> [N,4,8,8]
//	  -> Relu -> Flatten -> [N,256]
//	  -> Gemm(w2 [256,10] made by ConstantOfShape, b2 [10]) -> [N,10]
//	  -> Clip(min, max: f32 constants) -> MatMul(w3 [10,5]) -> y [N,5]
//	  -> Add(y, y) -> z
func costGraph(batch int) *Graph {
	cf := func(name string, s Shape) *Value {
		return &Value{Name: name, Type: Type{Float32, s}, Const: FromFloat32(s, make([]float32, s.NumElements()))}
	}
	x := &Value{Name: "x", Type: Type{Float32, Shape{batch, 3, 8, 8}}}
	w1, b1 := cf("w1", Shape{4, 3, 3, 3}), cf("b1", Shape{4})
	shape2 := &Value{Name: "shape2", Type: Type{Int64, Shape{2}}, Const: FromInt64(Shape{2}, []int64{256, 10})}
	w2, b2 := &Value{Name: "w2"}, cf("b2", Shape{10})
	lo, hi := cf("lo", Shape{}), cf("hi", Shape{})
	w3 := cf("w3", Shape{10, 5})
	c, r, f, gm, cl, y, z := &Value{Name: "c"}, &Value{Name: "r"}, &Value{Name: "f"}, &Value{Name: "gm"},
		&Value{Name: "cl"}, &Value{Name: "y"}, &Value{Name: "z"}
	g := &Graph{Name: "cost", Opset: 13, Inputs: []*Value{x}, Outputs: []*Value{z}, Nodes: []*Node{
		{Name: "w2", Op: &ConstantOfShape{Value: FromFloat32(Shape{1}, []float32{0.5})}, Inputs: []*Value{shape2}, Outputs: []*Value{w2}},
		{Name: "conv", Op: &Conv{Pads: []int{1, 1, 1, 1}, Group: 1}, Inputs: []*Value{x, w1, b1}, Outputs: []*Value{c}},
		{Name: "relu", Op: &Relu{}, Inputs: []*Value{c}, Outputs: []*Value{r}},
		{Name: "flat", Op: &Flatten{Axis: 1}, Inputs: []*Value{r}, Outputs: []*Value{f}},
		{Name: "fc", Op: &Gemm{Alpha: 1, Beta: 1}, Inputs: []*Value{f, w2, b2}, Outputs: []*Value{gm}},
		{Name: "clip", Op: &Clip{}, Inputs: []*Value{gm, lo, hi}, Outputs: []*Value{cl}},
		{Name: "mm", Op: &MatMul{}, Inputs: []*Value{cl, w3}, Outputs: []*Value{y}},
		{Name: "add", Op: &Add{}, Inputs: []*Value{y, y}, Outputs: []*Value{z}},
	}}
	if err := g.InferTypes(); err != nil {
		panic(err)
	}
	return g
}

func TestCostOf(t *testing.T) {
	gc := CostOf(costGraph(2))
	want := []struct {
		Cost
		static bool
	}{
		{Cost{0, 0}, true}, // ConstantOfShape: its input is i64
		{Cost{4*3*3*3 + 4, 2 * 4 * 8 * 8 * 27}, false}, // conv: N*Cout*H*W * Cin*k*k
		{Cost{0, 0}, false},                            // relu
		{Cost{0, 0}, false},                            // flatten
		{Cost{256*10 + 10, 2 * 10 * 256}, false},       // gemm: M*N*K, weight from ConstantOfShape
		{Cost{0, 0}, false},                            // clip: bounds are settings
		{Cost{10 * 5, 2 * 5 * 10}, false},              // matmul: M*N*K
		{Cost{0, 0}, false},                            // add
	}
	for i, w := range want {
		n := costGraph(2).Nodes[i].Name
		if gc.Nodes[i] != w.Cost || gc.Static[i] != w.static {
			t.Errorf("node %s: got %+v static %v, want %+v static %v", n, gc.Nodes[i], gc.Static[i], w.Cost, w.static)
		}
	}
	if want := int64(112 + 2570 + 50); gc.Params != want {
		t.Errorf("Params: got %d, want %d", gc.Params, want)
	}
	if want := int64(2*4*8*8*27 + 2*10*256 + 2*5*10); gc.MACs != want {
		t.Errorf("MACs: got %d, want %d", gc.MACs, want)
	}
	// conv, relu, flatten: 2*256 floats each; gemm, clip: 2*10; mm, add:
	// 2*5. The ConstantOfShape output is a parameter, not an activation.
	if want := int64(4 * (3*512 + 2*20 + 2*10)); gc.ActivationBytes != want {
		t.Errorf("ActivationBytes: got %d, want %d", gc.ActivationBytes, want)
	}
	if gc.Unknown != 0 {
		t.Errorf("Unknown: got %d, want 0", gc.Unknown)
	}
}

func TestCostSymbolicBatch(t *testing.T) {
	gc := CostOf(costGraph(-1))
	for i, n := range costGraph(-1).Nodes {
		switch n.Op.(type) {
		case *Gemm, *MatMul:
			if gc.Nodes[i].MACs != -1 {
				t.Errorf("node %s: MACs %d with a symbolic batch, want -1", n.Name, gc.Nodes[i].MACs)
			}
		}
		if n.Name == "conv" && gc.Nodes[i].MACs != -1 {
			t.Errorf("node conv: MACs %d with a symbolic batch, want -1", gc.Nodes[i].MACs)
		}
	}
	// Parameters do not depend on the batch.
	if want := int64(112 + 2570 + 50); gc.Params != want {
		t.Errorf("Params: got %d, want %d", gc.Params, want)
	}
	if gc.MACs != 0 || gc.ActivationBytes != 0 {
		t.Errorf("MACs %d, ActivationBytes %d: want 0 with every shape unknown", gc.MACs, gc.ActivationBytes)
	}
	if want := 7; gc.Unknown != want {
		t.Errorf("Unknown: got %d, want %d", gc.Unknown, want)
	}
}

func TestNodeCostConstantsOnly(t *testing.T) {
	// Without the graph, NodeCost does not know that w2 comes from
	// constants alone.
	g := costGraph(1)
	if got, want := NodeCost(g.Nodes[4]), (Cost{10, 10 * 256}); got != want {
		t.Errorf("NodeCost(fc): got %+v, want %+v", got, want)
	}
	if got, want := NodeCost(g.Nodes[1]), (Cost{112, 4 * 64 * 27}); got != want {
		t.Errorf("NodeCost(conv): got %+v, want %+v", got, want)
	}
}

func TestCostSharedWeight(t *testing.T) {
	x := &Value{Name: "x", Type: Type{Float32, Shape{3, 2, 4}}}
	w := &Value{Name: "w", Type: Type{Float32, Shape{4, 4}}, Const: FromFloat32(Shape{4, 4}, make([]float32, 16))}
	a, b := &Value{Name: "a"}, &Value{Name: "b"}
	g := &Graph{Inputs: []*Value{x}, Outputs: []*Value{b}, Nodes: []*Node{
		{Name: "m1", Op: &MatMul{}, Inputs: []*Value{x, w}, Outputs: []*Value{a}},
		{Name: "m2", Op: &MatMul{}, Inputs: []*Value{a, w}, Outputs: []*Value{b}},
	}}
	if err := g.InferTypes(); err != nil {
		t.Fatal(err)
	}
	gc := CostOf(g)
	// batch*M*N*K = 3*2*4*4 per MatMul; w counts once in the total.
	if gc.Nodes[0] != (Cost{16, 96}) || gc.Nodes[1] != (Cost{16, 96}) {
		t.Errorf("nodes: got %+v, want {16 96} each", gc.Nodes)
	}
	if gc.Params != 16 || gc.MACs != 192 || gc.ActivationBytes != 2*24*4 {
		t.Errorf("totals: got params %d, MACs %d, activation bytes %d; want 16, 192, 192", gc.Params, gc.MACs, gc.ActivationBytes)
	}
	if got := ActivationBytes(g); got != 192 {
		t.Errorf("ActivationBytes: got %d, want 192", got)
	}
}

func TestElems64(t *testing.T) {
	for _, c := range []struct {
		s    Shape
		want int64
	}{
		{nil, -1},
		{Shape{}, 1},
		{Shape{2, -1}, -1},
		{Shape{0, 5}, 0},
		{Shape{1 << 20, 1 << 20, 1 << 20}, 1 << 60},
		{Shape{1 << 20, 1 << 20, 1 << 20, 1 << 20}, -1}, // overflows
	} {
		if got := elems64(c.s); got != c.want {
			t.Errorf("elems64(%v) = %d, want %d", c.s, got, c.want)
		}
	}
}

func TestCostGroupedAndTransposed(t *testing.T) {
	cf := func(name string, s Shape) *Value {
		return &Value{Name: name, Type: Type{Float32, s}, Const: FromFloat32(s, make([]float32, s.NumElements()))}
	}
	x := &Value{Name: "x", Type: Type{Float32, Shape{1, 8, 6, 6}}}
	dw, pw, tw := cf("dw", Shape{8, 1, 3, 3}), cf("pw", Shape{4, 8, 1, 1}), cf("tw", Shape{4, 2, 3, 3})
	a, b, c := &Value{Name: "a"}, &Value{Name: "b"}, &Value{Name: "c"}
	g := &Graph{Inputs: []*Value{x}, Outputs: []*Value{c}, Nodes: []*Node{
		{Name: "depthwise", Op: &Conv{Group: 8}, Inputs: []*Value{x, dw}, Outputs: []*Value{a}},
		{Name: "pointwise", Op: &Conv{Group: 1}, Inputs: []*Value{a, pw}, Outputs: []*Value{b}},
		{Name: "up", Op: &ConvTranspose{Strides: []int{2, 2}, Group: 1}, Inputs: []*Value{b, tw}, Outputs: []*Value{c}},
	}}
	if err := g.InferTypes(); err != nil {
		t.Fatal(err)
	}
	want := []Cost{
		{72, 8 * 4 * 4 * 9},         // [1,8,4,4] outputs, 1*3*3 weights each
		{32, 4 * 4 * 4 * 8},         // [1,4,4,4] outputs, 8 weights each
		{72, (4 * 4 * 4) * (2 * 9)}, // [1,4,4,4] inputs scattered through 2*3*3 weights each
	}
	gc := CostOf(g)
	for i, w := range want {
		if gc.Nodes[i] != w {
			t.Errorf("node %s: got %+v, want %+v", g.Nodes[i].Name, gc.Nodes[i], w)
		}
	}
	if s := c.Type.Shape; !s.Equal(Shape{1, 2, 9, 9}) {
		t.Errorf("ConvTranspose output %v, want [1,2,9,9]", s)
	}
}

func TestCostSettingInputs(t *testing.T) {
	x := &Value{Name: "x", Type: Type{Float32, Shape{1, 2, 3, 3}}}
	pads := &Value{Name: "pads", Type: Type{Int64, Shape{8}}, Const: FromInt64(Shape{8}, make([]int64, 8))}
	fill := &Value{Name: "fill", Type: Type{Float32, Shape{}}, Const: FromFloat32(Shape{}, []float32{1})}
	y := &Value{Name: "y"}
	n := &Node{Name: "pad", Op: &Pad{}, Inputs: []*Value{x, pads, fill}, Outputs: []*Value{y}}
	if got := NodeCost(n); got != (Cost{}) {
		t.Errorf("Pad: got %+v, want no parameters", got)
	}
}

func TestCostStaticChain(t *testing.T) {
	// BN written as Unsqueeze/Mul (old Caffe2 exports): the unsqueezed
	// scale is the parameter; the scale itself is not counted again.
	x := &Value{Name: "x", Type: Type{Float32, Shape{1, 4, 2, 2}}}
	scale := &Value{Name: "scale", Type: Type{Float32, Shape{4}}, Const: FromFloat32(Shape{4}, []float32{1, 2, 3, 4})}
	s, y := &Value{Name: "s"}, &Value{Name: "y"}
	g := &Graph{Inputs: []*Value{x}, Outputs: []*Value{y}, Nodes: []*Node{
		{Name: "unsq", Op: &Unsqueeze{Axes: []int{1, 2}}, Inputs: []*Value{scale}, Outputs: []*Value{s}},
		{Name: "mul", Op: &Mul{}, Inputs: []*Value{x, s}, Outputs: []*Value{y}},
	}}
	if err := g.InferTypes(); err != nil {
		t.Fatal(err)
	}
	gc := CostOf(g)
	if !gc.Static[0] || gc.Static[1] || gc.Nodes[0] != (Cost{}) || gc.Nodes[1] != (Cost{4, 0}) {
		t.Errorf("got static %v, costs %+v; want [true false], [{0 0} {4 0}]", gc.Static, gc.Nodes)
	}
	if gc.Params != 4 || gc.ActivationBytes != 16*4 || gc.Unknown != 0 {
		t.Errorf("got params %d, activation bytes %d, unknown %d; want 4, 64, 0", gc.Params, gc.ActivationBytes, gc.Unknown)
	}
}
