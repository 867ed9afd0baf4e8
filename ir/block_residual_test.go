package ir

import (
	"strings"
	"testing"
)

func TestResidualBlocks(t *testing.T) {
	cases := []struct {
		name  string
		layer Layer
		in    Shape
		out   string
		// consts lists every constant "name shape" in creation order.
		consts string
	}{
		{"basic identity", BasicBlock(8, 1), Shape{1, 8, 6, 6}, "[1,8,6,6]",
			"b.conv1.weight [8,8,3,3], b.bn1.weight [8], b.bn1.bias [8], b.bn1.running_mean [8], b.bn1.running_var [8], " +
				"b.conv2.weight [8,8,3,3], b.bn2.weight [8], b.bn2.bias [8], b.bn2.running_mean [8], b.bn2.running_var [8]"},
		{"basic projection", BasicBlock(16, 2), Shape{1, 8, 7, 7}, "[1,16,4,4]",
			"b.conv1.weight [16,8,3,3], b.bn1.weight [16], b.bn1.bias [16], b.bn1.running_mean [16], b.bn1.running_var [16], " +
				"b.conv2.weight [16,16,3,3], b.bn2.weight [16], b.bn2.bias [16], b.bn2.running_mean [16], b.bn2.running_var [16], " +
				"b.downsample.0.weight [16,8,1,1], b.downsample.1.weight [16], b.downsample.1.bias [16], " +
				"b.downsample.1.running_mean [16], b.downsample.1.running_var [16]"},
		{"bottleneck projection", Bottleneck(4, 1, 1, 64), Shape{1, 4, 5, 5}, "[1,16,5,5]",
			"b.conv1.weight [4,4,1,1], b.bn1.weight [4], b.bn1.bias [4], b.bn1.running_mean [4], b.bn1.running_var [4], " +
				"b.conv2.weight [4,4,3,3], b.bn2.weight [4], b.bn2.bias [4], b.bn2.running_mean [4], b.bn2.running_var [4], " +
				"b.conv3.weight [16,4,1,1], b.bn3.weight [16], b.bn3.bias [16], b.bn3.running_mean [16], b.bn3.running_var [16], " +
				"b.downsample.0.weight [16,4,1,1], b.downsample.1.weight [16], b.downsample.1.bias [16], " +
				"b.downsample.1.running_mean [16], b.downsample.1.running_var [16]"},
		// ResNeXt 32x4d at 64 planes: width 128 in 32 groups of 4.
		{"resnext identity", Bottleneck(64, 1, 32, 4), Shape{1, 256, 3, 3}, "[1,256,3,3]",
			"b.conv1.weight [128,256,1,1], b.bn1.weight [128], b.bn1.bias [128], b.bn1.running_mean [128], b.bn1.running_var [128], " +
				"b.conv2.weight [128,4,3,3], b.bn2.weight [128], b.bn2.bias [128], b.bn2.running_mean [128], b.bn2.running_var [128], " +
				"b.conv3.weight [256,128,1,1], b.bn3.weight [256], b.bn3.bias [256], b.bn3.running_mean [256], b.bn3.running_var [256]"},
		{"preact identity", PreActBlock(4, 1), Shape{2, 4, 5, 5}, "[2,4,5,5]",
			"b.bn1.weight [4], b.bn1.bias [4], b.bn1.running_mean [4], b.bn1.running_var [4], b.conv1.weight [4,4,3,3], " +
				"b.bn2.weight [4], b.bn2.bias [4], b.bn2.running_mean [4], b.bn2.running_var [4], b.conv2.weight [4,4,3,3]"},
		// The projection is one convolution, without batch norm.
		{"preact projection", PreActBlock(6, 2), Shape{1, 3, 9, 9}, "[1,6,5,5]",
			"b.bn1.weight [3], b.bn1.bias [3], b.bn1.running_mean [3], b.bn1.running_var [3], b.conv1.weight [6,3,3,3], " +
				"b.bn2.weight [6], b.bn2.bias [6], b.bn2.running_mean [6], b.bn2.running_var [6], b.conv2.weight [6,6,3,3], " +
				"b.downsample.0.weight [6,3,1,1]"},
	}
	for _, c := range cases {
		bd := NewBuilder("block", 1)
		x := bd.Input("x", c.in...)
		y := bd.Apply("b", c.layer, x)
		bd.Output(y)
		g, err := bd.Graph()
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := y.Type.Shape.String(); got != c.out {
			t.Errorf("%s: output %s, want %s", c.name, got, c.out)
		}
		var consts []string
		for _, v := range g.Constants() {
			consts = append(consts, v.Name+" "+v.Type.Shape.String())
		}
		if got := strings.Join(consts, ", "); got != c.consts {
			t.Errorf("%s: constants\n%s\nwant\n%s", c.name, got, c.consts)
		}
		// The addition reads the main path and the shortcut; no other node
		// follows it in a pre-activation block, a ReLU does in the others.
		var add *Node
		for _, n := range g.Nodes {
			if _, ok := n.Op.(*Add); ok {
				add = n
			}
		}
		if add == nil || add.Name != "b.add" {
			t.Fatalf("%s: no node b.add", c.name)
		}
		last := g.Nodes[len(g.Nodes)-1]
		_, relu := last.Op.(*Relu)
		if pre := strings.HasPrefix(c.name, "preact"); pre != (last == add) || pre == relu {
			t.Errorf("%s: last node %s (%s)", c.name, last.Name, last.Op.OpType())
		}
	}
}

// TestPreActProjectionInput checks that a pre-activation block projects
// BN-ReLU(x), not x, as the authors' code does.
func TestPreActProjectionInput(t *testing.T) {
	bd := NewBuilder("block", 1)
	x := bd.Input("x", 1, 3, 8, 8)
	bd.Output(bd.Apply("b", PreActBlock(6, 2), x))
	g, err := bd.Graph()
	if err != nil {
		t.Fatal(err)
	}
	producer := map[*Value]*Node{}
	for _, n := range g.Nodes {
		for _, v := range n.Outputs {
			producer[v] = n
		}
	}
	for _, n := range g.Nodes {
		if n.Name == "b.downsample.0" {
			p := producer[n.Inputs[0]]
			if p == nil || p.Name != "b.relu" {
				t.Errorf("downsample reads %v, want the output of b.relu", n.Inputs[0].Name)
			}
			return
		}
	}
	t.Error("no node b.downsample.0")
}

func TestResidualBlockErrors(t *testing.T) {
	cases := []struct {
		layer Layer
		want  string
	}{
		{Bottleneck(64, 1, 1, 0), `layer "b": Bottleneck(planes 64, groups 1, base width 0)`},
		{Bottleneck(64, 1, 0, 4), `layer "b": Bottleneck(planes 64, groups 0, base width 4)`},
		{BasicBlock(0, 1), `layer "b.conv1": Conv2d(0, 3, groups 1)`},
		{PreActBlock(-2, 1), `layer "b.conv1": Conv2d(-2, 3, groups 1)`},
		{BasicBlock(8, 0), `node "b.conv1"`},
	}
	for _, c := range cases {
		bd := NewBuilder("bad", 1)
		x := bd.Input("x", 1, 8, 4, 4)
		bd.Output(bd.Apply("b", c.layer, x))
		_, err := bd.Graph()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want it to contain %q", err, c.want)
		}
	}
}

// TestResidualStochasticDepth checks WithStochasticDepth: a StochasticDepth
// node of the given survival on the branch, right before the addition,
// and no change to the constants.
func TestResidualStochasticDepth(t *testing.T) {
	cases := []struct {
		name         string
		plain, layer Layer
		in           Shape
	}{
		{"basic", BasicBlock(8, 2), BasicBlock(8, 2, WithStochasticDepth(0.75)), Shape{1, 4, 6, 6}},
		{"bottleneck", Bottleneck(4, 1, 1, 64), Bottleneck(4, 1, 1, 64, WithStochasticDepth(0.75)), Shape{1, 16, 5, 5}},
	}
	for _, c := range cases {
		build := func(l Layer) *Graph {
			bd := NewBuilder("block", 1)
			bd.Output(bd.Apply("b", l, bd.Input("x", c.in...)))
			g, err := bd.Graph()
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			return g
		}
		gp, gs := build(c.plain), build(c.layer)
		if len(gs.Nodes) != len(gp.Nodes)+1 || len(gs.Constants()) != len(gp.Constants()) {
			t.Errorf("%s: %d nodes, %d constants; want %d, %d", c.name, len(gs.Nodes), len(gs.Constants()), len(gp.Nodes)+1, len(gp.Constants()))
		}
		var sd, add *Node
		for _, n := range gs.Nodes {
			switch n.Op.(type) {
			case *StochasticDepth:
				sd = n
			case *Add:
				add = n
			}
		}
		if sd == nil || add == nil {
			t.Fatalf("%s: StochasticDepth %v, Add %v", c.name, sd, add)
		}
		if sd.Name != "b.stochastic_depth" || sd.Op.(*StochasticDepth).Survival != 0.75 {
			t.Errorf("%s: node %s with %+v", c.name, sd.Name, sd.Op)
		}
		if add.Inputs[0] != sd.Outputs[0] {
			t.Errorf("%s: the addition reads %s, not the StochasticDepth output", c.name, add.Inputs[0].Name)
		}
	}
	bd := NewBuilder("block", 1)
	bd.Output(bd.Apply("b", BasicBlock(4, 1, WithStochasticDepth(0)), bd.Input("x", 1, 4, 3, 3)))
	if _, err := bd.Graph(); err == nil {
		t.Error("survival 0: no error")
	}
}
