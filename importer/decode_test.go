package importer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/cnnc/cnnc/importer/onnxpb"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/reference"
)

// model builds a one-graph ModelProto at the given opset.
func model(opset int64, g *onnxpb.GraphProto) *onnxpb.ModelProto {
	return &onnxpb.ModelProto{
		IrVersion:   proto.Int64(7),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(opset)}},
		Graph:       g,
	}
}

// tensorInfo declares a float tensor value with the given dims; a negative
// dim becomes the symbolic dimension "N".
func tensorInfo(name string, dims ...int64) *onnxpb.ValueInfoProto {
	sh := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		if d < 0 {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}
		} else {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}
		}
		sh.Dim = append(sh.Dim, dim)
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: sh}}}}
}

func node(op string, in, out []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(strings.ToLower(op) + "1"), Input: in, Output: out, Attribute: attrs}
}

// reluGraph is x[N,3] -> LeakyRelu -> y.
func reluGraph() *onnxpb.GraphProto {
	return &onnxpb.GraphProto{
		Name:   proto.String("g"),
		Input:  []*onnxpb.ValueInfoProto{tensorInfo("x", -1, 3)},
		Output: []*onnxpb.ValueInfoProto{tensorInfo("y", -1, 3)},
		Node:   []*onnxpb.NodeProto{node("LeakyRelu", []string{"x"}, []string{"y"}, attrFloat("alpha", 0.5))},
	}
}

func decodeProto(t *testing.T, m *onnxpb.ModelProto, dir string) (*ir.Graph, error) {
	t.Helper()
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return Decode(data, dir)
}

// checkModelRoundTrip encodes g, decodes the model again and reports a
// graph that prints differently.
func checkModelRoundTrip(t *testing.T, g *ir.Graph) {
	t.Helper()
	data, err := Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	g2, err := Decode(data, "")
	if err != nil {
		t.Fatal(err)
	}
	if a, b := ir.Print(g), ir.Print(g2); a != b {
		t.Errorf("round trip changed the graph:\n%s\nbecame\n%s", a, b)
	}
}

func TestDecodeSymbolicBatch(t *testing.T) {
	g, err := decodeProto(t, model(13, reluGraph()), "")
	if err != nil {
		t.Fatal(err)
	}
	want := `graph "g" opset 13
  input  %x: f32[N,3]
  %y: f32[?,3] = LeakyRelu{Alpha:0.5}(%x)  # leakyrelu1
  output %y
`
	if got := ir.Print(g); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if err := ir.Verify(g); err != nil {
		t.Fatal(err)
	}
	x := ir.FromFloat32(ir.Shape{2, 3}, []float32{-2, 0, 2, -4, 1, 3})
	out, err := reference.Run(g, map[string]*ir.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	wantY := []float32{-1, 0, 2, -2, 1, 3}
	for i, v := range out[0].F32 {
		if v != wantY[i] {
			t.Fatalf("y = %v, want %v", out[0].F32, wantY)
		}
	}
}

// TestDecodeInitializerAsInput checks IR-3 style models, whose
// initializers are also listed as graph inputs: they become constants.
func TestDecodeInitializerAsInput(t *testing.T) {
	g := reluGraph()
	g.Node = []*onnxpb.NodeProto{node("PRelu", []string{"x", "slope"}, []string{"y"})}
	g.Input = append(g.Input, tensorInfo("slope", 3))
	g.Initializer = []*onnxpb.TensorProto{{Name: proto.String("slope"), Dims: []int64{3},
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), FloatData: []float32{0.1, 0.2, 0.3}}}
	m := model(8, g)
	m.IrVersion = proto.Int64(3)
	ig, err := decodeProto(t, m, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ig.Inputs) != 1 || ig.Inputs[0].Name != "x" {
		t.Fatalf("inputs = %v, want only x", ig.Inputs)
	}
	if c := ig.Nodes[0].Inputs[1].Const; c == nil || c.F32[2] != 0.3 {
		t.Fatalf("slope constant = %v", c)
	}
}

func TestDecodeExternalData(t *testing.T) {
	dir := t.TempDir()
	raw := []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40} // 1, 2, 3
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), append([]byte{9, 9, 9, 9}, raw...), 0o644); err != nil {
		t.Fatal(err)
	}
	ext := func(loc string) *onnxpb.ModelProto {
		g := reluGraph()
		g.Node = []*onnxpb.NodeProto{node("PRelu", []string{"x", "slope"}, []string{"y"})}
		g.Initializer = []*onnxpb.TensorProto{{Name: proto.String("slope"), Dims: []int64{3},
			DataType:     proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
			DataLocation: onnxpb.TensorProto_EXTERNAL.Enum(),
			ExternalData: []*onnxpb.StringStringEntryProto{
				{Key: proto.String("location"), Value: proto.String(loc)},
				{Key: proto.String("offset"), Value: proto.String("4")},
				{Key: proto.String("length"), Value: proto.String("12")},
			}}}
		return model(13, g)
	}
	g, err := decodeProto(t, ext("w.bin"), dir)
	if err != nil {
		t.Fatal(err)
	}
	if c := g.Nodes[0].Inputs[1].Const; c.F32[0] != 1 || c.F32[2] != 3 {
		t.Fatalf("slope = %v, want 1 2 3", c.F32)
	}
	for _, loc := range []string{"../w.bin", "/etc/passwd", "sub/../../w.bin"} {
		_, err := decodeProto(t, ext(loc), dir)
		if err == nil || !strings.Contains(err.Error(), "leaves the model's folder") {
			t.Errorf("location %q: err = %v, want refusal", loc, err)
		}
	}
	// A symbolic link out of the folder is refused too.
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "w.bin"), raw, 0o644)
	os.Symlink(filepath.Join(outside, "w.bin"), filepath.Join(dir, "link.bin"))
	if _, err := decodeProto(t, ext("link.bin"), dir); err == nil || !strings.Contains(err.Error(), "leaves") {
		t.Errorf("symlink: err = %v, want refusal", err)
	}
}

// TestDecodeBadInput checks that each kind of broken model gets an error of
// the right kind that names the culprit.
func TestDecodeBadInput(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(m *onnxpb.ModelProto)
		kind   ir.ErrorKind
		substr string
	}{
		{"unknown op", func(m *onnxpb.ModelProto) { m.Graph.Node[0].OpType = proto.String("Frobnicate") },
			ir.KindUnsupported, `node "leakyrelu1" (Frobnicate): operator Frobnicate`},
		{"other domain", func(m *onnxpb.ModelProto) { m.Graph.Node[0].Domain = proto.String("com.microsoft") },
			ir.KindUnsupported, `operator domain "com.microsoft"`},
		{"attribute type", func(m *onnxpb.ModelProto) { m.Graph.Node[0].Attribute[0] = attrInt("alpha", 1) },
			ir.KindInvalid, `attribute "alpha" has type INT, want FLOAT`},
		{"unknown attribute", func(m *onnxpb.ModelProto) {
			m.Graph.Node[0].Attribute = append(m.Graph.Node[0].Attribute, attrInt("beta", 1))
		}, ir.KindUnsupported, `attribute "beta"`},
		{"undefined input", func(m *onnxpb.ModelProto) { m.Graph.Node[0].Input[0] = "nope" },
			ir.KindInvalid, `input "nope" is not defined`},
		{"undefined output", func(m *onnxpb.ModelProto) { m.Graph.Output[0].Name = proto.String("z") },
			ir.KindInvalid, `graph output "z" is never defined`},
		{"opset", func(m *onnxpb.ModelProto) { m.OpsetImport[0].Version = proto.Int64(5) },
			ir.KindUnsupported, "opset 5 (cnnc reads opsets 6 to 17)"},
		{"ir version", func(m *onnxpb.ModelProto) { m.IrVersion = proto.Int64(11) },
			ir.KindUnsupported, "IR version 11"},
		{"tensor length", func(m *onnxpb.ModelProto) {
			m.Graph.Initializer = []*onnxpb.TensorProto{{Name: proto.String("w"), Dims: []int64{2, 2},
				DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), RawData: make([]byte, 12)}}
		}, ir.KindInvalid, `tensor "w": raw data has 12 bytes`},
		{"dims overflow", func(m *onnxpb.ModelProto) {
			m.Graph.Initializer = []*onnxpb.TensorProto{{Name: proto.String("w"), Dims: []int64{1 << 20, 1 << 20, 1 << 30},
				DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT))}}
		}, ir.KindInvalid, `tensor "w": dimension 2`},
		{"dims product", func(m *onnxpb.ModelProto) {
			m.Graph.Initializer = []*onnxpb.TensorProto{{Name: proto.String("w"), Dims: []int64{1 << 20, 1 << 20},
				DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT))}}
		}, ir.KindInvalid, `tensor "w": dims [1048576 1048576] hold more than`},
		{"double tensor", func(m *onnxpb.ModelProto) {
			m.Graph.Initializer = []*onnxpb.TensorProto{{Name: proto.String("w"), Dims: []int64{1},
				DataType: proto.Int32(int32(onnxpb.TensorProto_DOUBLE)), DoubleData: []float64{1}}}
		}, ir.KindUnsupported, `tensor "w": element type DOUBLE`},
		{"duplicate value", func(m *onnxpb.ModelProto) { m.Graph.Node[0].Output[0] = "x" },
			ir.KindInvalid, `output "x" is defined twice`},
		{"no graph", func(m *onnxpb.ModelProto) { m.Graph = nil }, ir.KindInvalid, "no graph"},
		{"tensor attribute without tensor", func(m *onnxpb.ModelProto) { // a fuzz crasher
			m.Graph.Node = append([]*onnxpb.NodeProto{node("Constant", nil, []string{"c"},
				&onnxpb.AttributeProto{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum()})}, m.Graph.Node...)
		}, ir.KindInvalid, `attribute "value" has type TENSOR but holds no tensor`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := model(13, reluGraph())
			c.edit(m)
			_, err := decodeProto(t, m, "")
			var e *ir.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want an *ir.Error", err)
			}
			if e.Kind != c.kind || !strings.Contains(err.Error(), c.substr) {
				t.Errorf("err = %q (kind %d), want kind %d containing %q", err, e.Kind, c.kind, c.substr)
			}
		})
	}
}

func TestDecodeCorrupt(t *testing.T) {
	data, _ := proto.Marshal(model(13, reluGraph()))
	for _, b := range [][]byte{data[:len(data)/2], {0xff, 0xff, 0xff}, []byte("not a model")} {
		if _, err := Decode(b, ""); err == nil {
			t.Errorf("Decode(%q...) succeeded", b[:min(len(b), 8)])
		}
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	g, err := decodeProto(t, model(13, reluGraph()), "")
	if err != nil {
		t.Fatal(err)
	}
	checkModelRoundTrip(t, g)
}
