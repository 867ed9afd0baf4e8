package importer

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/cnnc/cnnc/importer/onnxpb"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/reference"
)

// Tests of opset 6, the last opset with legacy broadcasting, per-channel
// PRelu slopes and is_test.

// legacyInit is a float initializer holding 1, 2, 3, ...
func legacyInit(name string, dims ...int64) *onnxpb.TensorProto {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(i + 1)
	}
	return &onnxpb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: data}
}

// legacyConstNode is a Constant node whose value is legacyInit(out, dims...).
func legacyConstNode(out string, dims ...int64) *onnxpb.NodeProto {
	t := legacyInit("", dims...)
	t.Name = nil
	return &onnxpb.NodeProto{OpType: proto.String("Constant"), Name: proto.String("const_" + out), Output: []string{out},
		Attribute: []*onnxpb.AttributeProto{attrTensor("value", t)}}
}

// legacyRamp returns a float tensor of the shape holding 0, -1, 2, -3, ...
func legacyRamp(shape ...int) *ir.Tensor {
	s := ir.Shape(shape)
	data := make([]float32, s.NumElements())
	for i := range data {
		data[i] = float32(i)
		if i%2 == 1 {
			data[i] = -data[i]
		}
	}
	return ir.FromFloat32(s, data)
}

// legacyGraph builds a graph with the given inputs (name and dims),
// initializers and nodes, whose output is y.
func legacyGraph(inputs []*onnxpb.ValueInfoProto, inits []*onnxpb.TensorProto, nodes ...*onnxpb.NodeProto) *onnxpb.GraphProto {
	return &onnxpb.GraphProto{
		Name:        proto.String("legacy"),
		Input:       inputs,
		Initializer: inits,
		Node:        nodes,
		Output:      []*onnxpb.ValueInfoProto{{Name: proto.String("y")}},
	}
}

// legacyRun runs g on one input tensor per graph input, in order.
func legacyRun(t *testing.T, g *ir.Graph, ins ...*ir.Tensor) *ir.Tensor {
	t.Helper()
	feed := map[string]*ir.Tensor{}
	for i, v := range g.Inputs {
		feed[v.Name] = ins[i]
	}
	outs, err := reference.Run(g, feed)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return outs[0]
}

// legacyExportRun exports g (imported at opset 6), checks that the model
// is written at opset 7 without legacy attributes, imports it again and
// checks that it computes want.
func legacyExportRun(t *testing.T, g *ir.Graph, want *ir.Tensor, ins ...*ir.Tensor) {
	t.Helper()
	m, err := encodeModel(g)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	if v := m.OpsetImport[0].GetVersion(); v != 7 {
		t.Errorf("exported at opset %d, want 7", v)
	}
	binary := map[string]bool{"Add": true, "Sub": true, "Mul": true, "Div": true, "Pow": true}
	for _, n := range m.Graph.Node {
		for _, a := range n.Attribute {
			if name := a.GetName(); name == "broadcast" || name == "is_test" || name == "axis" && binary[n.GetOpType()] {
				t.Errorf("exported %s has attribute %q", n.GetOpType(), name)
			}
		}
	}
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	g2, err := Decode(data, "")
	if err != nil {
		t.Fatalf("re-import: %v", err)
	}
	if err := ir.Verify(g2); err != nil {
		t.Fatalf("re-imported graph: %v", err)
	}
	legacyCompare(t, legacyRun(t, g2, ins...), want)
}

func legacyCompare(t *testing.T, got, want *ir.Tensor) {
	t.Helper()
	if !got.Shape.Equal(want.Shape) || !reflect.DeepEqual(got.F32, want.F32) {
		t.Errorf("got %v %v, want %v %v", got.Shape, got.F32, want.Shape, want.F32)
	}
}

// legacyWantKind checks that err is an *ir.Error of the kind containing sub.
func legacyWantKind(t *testing.T, err error, kind ir.ErrorKind, sub string) {
	t.Helper()
	var e *ir.Error
	if !errors.As(err, &e) || e.Kind != kind || !strings.Contains(err.Error(), sub) {
		t.Errorf("err = %v, want kind %d containing %q", err, kind, sub)
	}
}

func TestLegacyBroadcastSuffix(t *testing.T) {
	// A [2,3,4] + B [3,4] with broadcast=1 and no axis: suffix alignment,
	// numpy's too, so B is used as it is.
	g, err := decodeProto(t, model(6, legacyGraph(
		[]*onnxpb.ValueInfoProto{tensorInfo("a", 2, 3, 4)},
		[]*onnxpb.TensorProto{legacyInit("b", 3, 4)},
		node("Add", []string{"a", "b"}, []string{"y"}, attrInt("broadcast", 1)))), "")
	if err != nil {
		t.Fatal(err)
	}
	if b := g.Nodes[0].Inputs[1]; b.Name != "b" {
		t.Errorf("B became %q %v, want the initializer b", b.Name, b.Type)
	}
	a := legacyRamp(2, 3, 4)
	want := a.Clone()
	for i := range want.F32 {
		want.F32[i] += float32(i%12 + 1)
	}
	legacyCompare(t, legacyRun(t, g, a), want)
	legacyExportRun(t, g, want, a)
}

func TestLegacyBroadcastAxis(t *testing.T) {
	// A [2,3,4,5] op B [3,4] at axis 1: B[c,h] applies to A[n,c,h,w]. B is
	// an initializer, or a Constant node's output.
	for _, viaNode := range []bool{false, true} {
		var inits []*onnxpb.TensorProto
		var nodes []*onnxpb.NodeProto
		if viaNode {
			nodes = append(nodes, legacyConstNode("b", 3, 4))
		} else {
			inits = append(inits, legacyInit("b", 3, 4))
		}
		nodes = append(nodes,
			node("Sub", []string{"a", "b"}, []string{"d"}, attrInt("broadcast", 1), attrInt("axis", 1)),
			// A second use of b at the same axis shares the reshaped copy.
			node("Mul", []string{"d", "b"}, []string{"y"}, attrInt("broadcast", 1), attrInt("axis", 1)))
		nodes[len(nodes)-1].Name = proto.String("mul2")
		g, err := decodeProto(t, model(6, legacyGraph(
			[]*onnxpb.ValueInfoProto{tensorInfo("a", 2, 3, 4, 5)}, inits, nodes...)), "")
		if err != nil {
			t.Fatalf("via node %v: %v", viaNode, err)
		}
		sub, mul := g.Nodes[len(g.Nodes)-2], g.Nodes[len(g.Nodes)-1]
		b := sub.Inputs[1]
		if b.Const == nil || !b.Type.Shape.Equal(ir.Shape{3, 4, 1}) || b.Name == "b" {
			t.Errorf("via node %v: B is %q %v (const %v), want a new constant of shape [3,4,1]", viaNode, b.Name, b.Type, b.Const != nil)
		}
		if mul.Inputs[1] != b {
			t.Errorf("via node %v: the two nodes use different reshaped copies of b", viaNode)
		}
		if err := ir.Verify(g); err != nil {
			t.Errorf("via node %v: %v", viaNode, err)
		}
		a := legacyRamp(2, 3, 4, 5)
		want := a.Clone()
		for i := range want.F32 {
			bv := float32((i/5)%12 + 1) // b[c,h] at A's flat index i
			want.F32[i] = (want.F32[i] - bv) * bv
		}
		legacyCompare(t, legacyRun(t, g, a), want)
		legacyExportRun(t, g, want, a)
	}
}

func TestLegacyBroadcastMadeNames(t *testing.T) {
	// The reshaped copy of w must not take the name of an ONNX value, even
	// one defined after it.
	g, err := decodeProto(t, model(6, legacyGraph(
		[]*onnxpb.ValueInfoProto{tensorInfo("a", 2, 3, 4)},
		[]*onnxpb.TensorProto{legacyInit("w", 3)},
		node("Add", []string{"a", "w"}, []string{"w_1"}, attrInt("broadcast", 1), attrInt("axis", 1)),
		node("Relu", []string{"w_1"}, []string{"y"}))), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Nodes[0].Inputs[1].Name; got != "w_2" {
		t.Errorf("reshaped copy named %q, want w_2", got)
	}
	if err := ir.Verify(g); err != nil {
		t.Error(err)
	}
}

func TestLegacyBroadcastErrors(t *testing.T) {
	in := func(dims ...int64) []*onnxpb.ValueInfoProto {
		return []*onnxpb.ValueInfoProto{tensorInfo("a", 2, 3, 4, 5), tensorInfo("b", dims...)}
	}
	bc := attrInt("broadcast", 1)
	cases := []struct {
		name  string
		g     *onnxpb.GraphProto
		kind  ir.ErrorKind
		sub   string
		works bool
	}{
		{"computed B at an axis", legacyGraph(in(3, 4), nil, node("Add", []string{"a", "b"}, []string{"y"}, bc, attrInt("axis", 1))),
			ir.KindUnsupported, `node "add1" (Add): legacy broadcast of a computed tensor at axis 1`, false},
		{"computed B at the suffix axis", legacyGraph(in(4, 5), nil, node("Add", []string{"a", "b"}, []string{"y"}, bc, attrInt("axis", 2))),
			0, "", true},
		{"computed B of one element", legacyGraph(in(1), nil, node("Mul", []string{"a", "b"}, []string{"y"}, bc, attrInt("axis", 0))),
			0, "", true},
		{"broadcast=0 equal shapes", legacyGraph(in(2, 3, 4, 5), nil, node("Div", []string{"a", "b"}, []string{"y"})),
			0, "", true},
		{"broadcast=0 unequal shapes", legacyGraph(in(5), nil, node("Div", []string{"a", "b"}, []string{"y"})),
			ir.KindInvalid, "shapes [2,3,4,5] and [5] differ; without broadcast=1", false},
		{"broadcast=0 explicit", legacyGraph(in(1, 5), nil, node("Pow", []string{"a", "b"}, []string{"y"}, attrInt("broadcast", 0))),
			ir.KindInvalid, "without broadcast=1", false},
		{"axis out of range", legacyGraph(in(4, 5), nil, node("Add", []string{"a", "b"}, []string{"y"}, bc, attrInt("axis", 3))),
			ir.KindInvalid, "axis 3 is out of range", false},
		{"negative axis", legacyGraph(in(5), nil, node("Add", []string{"a", "b"}, []string{"y"}, bc, attrInt("axis", -1))),
			ir.KindUnsupported, "legacy broadcast with negative axis -1", false},
		{"mismatched dims", legacyGraph(in(3, 5), nil, node("Sub", []string{"a", "b"}, []string{"y"}, bc, attrInt("axis", 1))),
			ir.KindInvalid, "B shape [3,5] does not match A shape [2,3,4,5] from axis 1", false},
		{"B of higher rank", legacyGraph(in(1, 2, 3, 4, 5), nil, node("Add", []string{"a", "b"}, []string{"y"}, bc)),
			ir.KindInvalid, "has a higher rank than A", false},
		{"A would stretch", legacyGraph([]*onnxpb.ValueInfoProto{tensorInfo("a", 2, 1), tensorInfo("b", 3)}, nil,
			node("Add", []string{"a", "b"}, []string{"y"}, bc)), ir.KindInvalid, "B shape [3] does not match A shape [2,1]", false},
		{"consumed_inputs", legacyGraph(in(2, 3, 4, 5), nil, node("Add", []string{"a", "b"}, []string{"y"}, attrInts("consumed_inputs", 0, 0))),
			ir.KindInvalid, `"consumed_inputs" exists only before opset 6`, false},
		{"bad broadcast value", legacyGraph(in(2, 3, 4, 5), nil, node("Add", []string{"a", "b"}, []string{"y"}, attrInt("broadcast", 2))),
			ir.KindInvalid, `attribute "broadcast" = 2`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeProto(t, model(6, c.g), "")
			if c.works {
				if err != nil {
					t.Errorf("err = %v, want success", err)
				}
				return
			}
			legacyWantKind(t, err, c.kind, c.sub)
		})
	}
	// From opset 7 the attributes are refused (see TestMathDecodeErrors).
	if _, err := decodeProto(t, model(7, legacyGraph(in(5), nil, node("Add", []string{"a", "b"}, []string{"y"}, bc))), ""); err == nil {
		t.Error("opset 7 Add with broadcast=1 decoded")
	}
}

func TestLegacyGemm(t *testing.T) {
	gemm := func(cDims []int64, attrs ...*onnxpb.AttributeProto) *onnxpb.GraphProto {
		return legacyGraph([]*onnxpb.ValueInfoProto{tensorInfo("a", 4, 3)},
			[]*onnxpb.TensorProto{legacyInit("b", 5, 3), legacyInit("c", cDims...)},
			node("Gemm", []string{"a", "b", "c"}, []string{"y"}, append(attrs, attrInt("transB", 1))...))
	}
	// broadcast=1: C [5] broadcasts over the rows of Y [4,5].
	g, err := decodeProto(t, model(6, gemm([]int64{5}, attrInt("broadcast", 1))), "")
	if err != nil {
		t.Fatal(err)
	}
	if op := g.Nodes[0].Op; !reflect.DeepEqual(op, &ir.Gemm{Alpha: 1, Beta: 1, TransB: true}) {
		t.Errorf("op = %+v", op)
	}
	a := legacyRamp(4, 3)
	want := ir.FromFloat32(ir.Shape{4, 5}, make([]float32, 20))
	for m := 0; m < 4; m++ {
		for n := 0; n < 5; n++ {
			s := float32(n + 1) // c[n]
			for k := 0; k < 3; k++ {
				s += a.F32[m*3+k] * float32(n*3+k+1)
			}
			want.F32[m*5+n] = s
		}
	}
	legacyCompare(t, legacyRun(t, g, a), want)
	legacyExportRun(t, g, want, a)

	// broadcast=0, explicit or by default: C must be [M, N].
	if _, err := decodeProto(t, model(6, gemm([]int64{4, 5}, attrInt("broadcast", 0))), ""); err != nil {
		t.Errorf("broadcast=0 with C [4,5]: %v", err)
	}
	for _, attrs := range [][]*onnxpb.AttributeProto{nil, {attrInt("broadcast", 0)}} {
		_, err := decodeProto(t, model(6, gemm([]int64{5}, attrs...)), "")
		legacyWantKind(t, err, ir.KindInvalid, "C has shape [5], want [M, N] = [4,5]: without broadcast=1")
	}
	_, err = decodeProto(t, model(6, gemm([]int64{1, 5})), "")
	legacyWantKind(t, err, ir.KindInvalid, "C has shape [1,5]")
}

func TestLegacyPRelu(t *testing.T) {
	prelu := func(x, slope []int64, slopeInput bool) *onnxpb.GraphProto {
		ins := []*onnxpb.ValueInfoProto{tensorInfo("x", x...)}
		var inits []*onnxpb.TensorProto
		if slopeInput {
			ins = append(ins, tensorInfo("s", slope...))
		} else {
			inits = append(inits, legacyInit("s", slope...))
		}
		return legacyGraph(ins, inits, node("PRelu", []string{"x", "s"}, []string{"y"}))
	}
	// One slope per channel (axis 1), whatever the rank.
	g, err := decodeProto(t, model(6, prelu([]int64{2, 3, 4}, []int64{3}, false)), "")
	if err != nil {
		t.Fatal(err)
	}
	if s := g.Nodes[0].Inputs[1]; !s.Type.Shape.Equal(ir.Shape{3, 1}) {
		t.Errorf("slope has shape %v, want [3 1]", s.Type.Shape)
	}
	x := legacyRamp(2, 3, 4)
	want := x.Clone()
	for i, v := range want.F32 {
		if v < 0 {
			want.F32[i] = v * float32((i/4)%3+1)
		}
	}
	legacyCompare(t, legacyRun(t, g, x), want)
	legacyExportRun(t, g, want, x)

	for _, c := range []struct {
		name     string
		x, slope []int64
		input    bool
		kind     ir.ErrorKind
		sub      string
	}{
		{"shared slope", []int64{2, 3, 4}, []int64{1}, true, 0, ""},
		{"rank 2", []int64{2, 3}, []int64{3}, true, 0, ""},
		{"already broadcastable", []int64{2, 3, 4, 5}, []int64{3, 1, 1}, true, 0, ""},
		{"computed per-channel slope", []int64{2, 3, 4}, []int64{3}, true, ir.KindUnsupported, "PRelu before opset 7 with a computed per-channel slope"},
		{"wrong channel count", []int64{2, 3, 4}, []int64{4}, false, ir.KindInvalid, "X shape [2,3,4] has 3 channels"},
		{"no channel axis", []int64{4}, []int64{4}, false, ir.KindInvalid, "has no channel axis"},
	} {
		_, err := decodeProto(t, model(6, prelu(c.x, c.slope, c.input)), "")
		if c.kind == 0 {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		legacyWantKind(t, err, c.kind, c.sub)
	}
}

func TestLegacyBatchNormDropout(t *testing.T) {
	bn := func(nOut int, attrs ...*onnxpb.AttributeProto) (ir.Op, error) {
		return decodeNode("BatchNormalization", 6, 3, nOut, attrs...)
	}
	op, err := bn(1, attrInt("is_test", 1), attrFloat("epsilon", 1e-3), attrFloat("momentum", 0.5), attrInt("spatial", 1))
	if err != nil || !reflect.DeepEqual(op, &ir.BatchNormalization{Epsilon: 1e-3, Momentum: 0.5}) {
		t.Errorf("BatchNormalization is_test=1: %+v, %v", op, err)
	}
	for _, c := range []struct {
		nOut  int
		attrs []*onnxpb.AttributeProto
		kind  ir.ErrorKind
		sub   string
	}{
		{1, nil, ir.KindUnsupported, "BatchNormalization in training mode (is_test=0"},
		{1, []*onnxpb.AttributeProto{attrInt("is_test", 0)}, ir.KindUnsupported, "training mode"},
		{5, []*onnxpb.AttributeProto{attrInt("is_test", 0)}, ir.KindUnsupported, "training mode"},
		{5, []*onnxpb.AttributeProto{attrInt("is_test", 1)}, ir.KindUnsupported, "BatchNormalization training outputs"},
		{1, []*onnxpb.AttributeProto{attrInt("is_test", 1), attrInt("spatial", 0)}, ir.KindUnsupported, "spatial=0"},
		{1, []*onnxpb.AttributeProto{attrInt("is_test", 1), attrInts("consumed_inputs", 0, 0, 0, 1, 1)}, ir.KindInvalid, "before opset 6"},
	} {
		_, err := bn(c.nOut, c.attrs...)
		legacyWantKind(t, err, c.kind, c.sub)
	}

	op, err = decodeNode("Dropout", 6, 1, 2, attrInt("is_test", 1), attrFloat("ratio", 0.25))
	if err != nil || !reflect.DeepEqual(op, &ir.Dropout{Ratio: 0.25, Mask: ir.Float32}) {
		t.Errorf("Dropout is_test=1: %+v, %v", op, err)
	}
	for _, attrs := range [][]*onnxpb.AttributeProto{nil, {attrInt("is_test", 0), attrFloat("ratio", 0.25)}} {
		_, err := decodeNode("Dropout", 6, 1, 1, attrs...)
		legacyWantKind(t, err, ir.KindUnsupported, "Dropout in training mode (is_test=0")
	}

	// AveragePool has no count_include_pad before opset 7: padding is not
	// counted.
	op, err = decodeNode("AveragePool", 6, 3, 1, attrInts("kernel_shape", 2, 2), attrInts("pads", 1, 1, 1, 1))
	if err != nil || op.(*ir.AveragePool).CountIncludePad {
		t.Errorf("AveragePool opset 6: %+v, %v", op, err)
	}
	_, err = decodeNode("AveragePool", 6, 3, 1, attrInts("kernel_shape", 2), attrInt("count_include_pad", 1))
	legacyWantKind(t, err, ir.KindUnsupported, `attribute "count_include_pad"`)
}

// TestLegacyNetwork imports a small opset 6 network in the style of the
// ONNX PyTorch-converted tests, with the batch dimension symbolic, and
// exports it at opset 7.
func TestLegacyNetwork(t *testing.T) {
	g, err := decodeProto(t, model(6, legacyGraph(
		[]*onnxpb.ValueInfoProto{tensorInfo("x", -1, 3, 4, 4)},
		[]*onnxpb.TensorProto{legacyInit("w", 2, 3, 1, 1), legacyInit("s", 2), legacyInit("b", 2), legacyInit("m", 2),
			legacyInit("v", 2), legacyInit("k", 2), legacyInit("fw", 3, 8), legacyInit("fb", 3)},
		node("Conv", []string{"x", "w"}, []string{"c"}, attrInts("kernel_shape", 1, 1)),
		node("BatchNormalization", []string{"c", "s", "b", "m", "v"}, []string{"n"}, attrInt("is_test", 1)),
		node("PRelu", []string{"n", "k"}, []string{"p"}),
		node("Mul", []string{"p", "k"}, []string{"q"}, attrInt("broadcast", 1), attrInt("axis", 1)),
		node("Dropout", []string{"q"}, []string{"d"}, attrInt("is_test", 1)),
		node("AveragePool", []string{"d"}, []string{"a"}, attrInts("kernel_shape", 2, 2), attrInts("strides", 2, 2)),
		node("Flatten", []string{"a"}, []string{"f"}),
		node("Gemm", []string{"f", "fw", "fb"}, []string{"y"}, attrInt("broadcast", 1), attrInt("transB", 1)),
	)), "")
	if err != nil {
		t.Fatal(err)
	}
	if g.Opset != 6 {
		t.Errorf("graph opset %d, want 6", g.Opset)
	}
	if err := ir.Verify(g); err != nil {
		t.Fatal(err)
	}
	x := legacyRamp(2, 3, 4, 4)
	legacyExportRun(t, g, legacyRun(t, g, x), x)
}
