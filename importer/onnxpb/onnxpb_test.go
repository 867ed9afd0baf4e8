package onnxpb

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
)

func TestModelRoundTrip(t *testing.T) {
	vals := []float32{1.5, -2, 3.25, 0}
	raw := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	m := &ModelProto{
		IrVersion:    proto.Int64(int64(Version_IR_VERSION)),
		ProducerName: proto.String("cnnc-test"),
		OpsetImport:  []*OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &GraphProto{
			Name: proto.String("g"),
			Node: []*NodeProto{{
				Name:   proto.String("add0"),
				OpType: proto.String("Add"),
				Input:  []string{"x", "w"},
				Output: []string{"y"},
				Attribute: []*AttributeProto{{
					Name: proto.String("alpha"),
					Type: AttributeProto_FLOAT.Enum(),
					F:    proto.Float32(0.5),
				}},
			}},
			Initializer: []*TensorProto{{
				Name:     proto.String("w"),
				Dims:     []int64{2, 2},
				DataType: proto.Int32(int32(TensorProto_FLOAT)),
				RawData:  raw,
			}},
			Input: []*ValueInfoProto{{
				Name: proto.String("x"),
				Type: &TypeProto{Value: &TypeProto_TensorType{TensorType: &TypeProto_Tensor{
					ElemType: proto.Int32(int32(TensorProto_FLOAT)),
					Shape: &TensorShapeProto{Dim: []*TensorShapeProto_Dimension{
						{Value: &TensorShapeProto_Dimension_DimParam{DimParam: "N"}},
						{Value: &TensorShapeProto_Dimension_DimValue{DimValue: 2}},
					}},
				}}},
			}},
		},
	}

	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var got ModelProto
	if err := proto.Unmarshal(b, &got); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if !proto.Equal(m, &got) {
		t.Fatalf("round trip mismatch:\nwant %v\ngot  %v", m, &got)
	}

	if got.GetIrVersion() != 8 || got.GetProducerName() != "cnnc-test" {
		t.Errorf("ir_version/producer = %d/%q", got.GetIrVersion(), got.GetProducerName())
	}
	if ops := got.GetOpsetImport(); len(ops) != 1 || ops[0].Domain == nil /* proto2 presence: "" != unset */ || ops[0].GetVersion() != 13 {
		t.Errorf("opset_import = %v", ops)
	}
	g := got.GetGraph()
	if n := g.GetNode(); len(n) != 1 || n[0].GetOpType() != "Add" || len(n[0].GetInput()) != 2 || n[0].GetOutput()[0] != "y" {
		t.Fatalf("nodes = %v", n)
	}
	a := g.GetNode()[0].GetAttribute()[0]
	if a.GetType() != AttributeProto_FLOAT || a.GetF() != 0.5 || a.I != nil {
		t.Errorf("attribute = %v", a)
	}
	init := g.GetInitializer()[0]
	if TensorProto_DataType(init.GetDataType()) != TensorProto_FLOAT || len(init.GetDims()) != 2 {
		t.Errorf("initializer = %v", init)
	}
	// proto2 presence: data_location was never set.
	if init.DataLocation != nil || init.GetDataLocation() != TensorProto_DEFAULT {
		t.Errorf("data_location should be unset, got %v", init.DataLocation)
	}
	if len(init.GetRawData()) != len(raw) {
		t.Fatalf("raw_data len = %d, want %d", len(init.GetRawData()), len(raw))
	}
	for i, want := range vals {
		if v := math.Float32frombits(binary.LittleEndian.Uint32(init.GetRawData()[4*i:])); v != want {
			t.Errorf("raw_data[%d] = %v, want %v", i, v, want)
		}
	}
	dims := g.GetInput()[0].GetType().GetTensorType().GetShape().GetDim()
	if len(dims) != 2 || dims[0].GetDimParam() != "N" || dims[1].GetDimValue() != 2 {
		t.Errorf("input dims = %v", dims)
	}
}

func TestSqueezenet(t *testing.T) {
	path := filepath.Join("..", "..", "..", "shared", "onnx-light", "light_squeezenet.onnx")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && testing.Short() {
		t.Skipf("%s not present", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	var m ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatalf("Unmarshal %s: %v", path, err)
	}
	if m.GetIrVersion() != 3 {
		t.Errorf("ir_version = %d, want 3", m.GetIrVersion())
	}
	g := m.GetGraph()
	if len(g.GetNode()) == 0 {
		t.Fatal("graph has no nodes")
	}
	t.Logf("%s: producer %q, opset %v, %d nodes, %d initializers, %d inputs",
		filepath.Base(path), m.GetProducerName(), m.GetOpsetImport(), len(g.GetNode()), len(g.GetInitializer()), len(g.GetInput()))
}
