package importer

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/cnnc/cnnc/importer/onnxpb"
	"github.com/cnnc/cnnc/ir"
)

func TestConvCodecRoundTrip(t *testing.T) {
	cases := []struct {
		opType string
		opset  int
		numOut int
		attrs  []*onnxpb.AttributeProto
		want   ir.Op
	}{
		{"Conv", 11, 1, nil, &ir.Conv{Group: 1}},
		{"Conv", 7, 1, []*onnxpb.AttributeProto{
			attrInts("kernel_shape", 3, 3), attrInts("strides", 2, 2), attrInts("dilations", 1, 2),
			attrInts("pads", 1, 0, 1, 0), attrInt("group", 4),
		}, &ir.Conv{Kernel: []int{3, 3}, Strides: []int{2, 2}, Dilations: []int{1, 2}, Pads: []int{1, 0, 1, 0}, Group: 4}},
		{"Conv", 13, 1, []*onnxpb.AttributeProto{attrString("auto_pad", "SAME_LOWER"), attrInts("strides", 2)},
			&ir.Conv{Strides: []int{2}, AutoPad: ir.AutoPadSameLower, Group: 1}},
		{"Conv", 13, 1, []*onnxpb.AttributeProto{attrString("auto_pad", "")}, &ir.Conv{Group: 1}},
		{"ConvTranspose", 11, 1, []*onnxpb.AttributeProto{
			attrInts("kernel_shape", 3, 3), attrInts("strides", 3, 2), attrInts("output_padding", 1, 1),
			attrInts("output_shape", 10, 8), attrString("auto_pad", "SAME_UPPER"), attrInt("group", 2),
			attrInts("dilations", 1, 1), attrInts("pads", 0, 0, 0, 0),
		}, &ir.ConvTranspose{Kernel: []int{3, 3}, Strides: []int{3, 2}, Dilations: []int{1, 1}, Pads: []int{0, 0, 0, 0},
			AutoPad: ir.AutoPadSameUpper, Group: 2, OutputPadding: []int{1, 1}, OutputShape: []int{10, 8}}},
		{"MaxPool", 7, 1, []*onnxpb.AttributeProto{attrInts("kernel_shape", 2, 2), attrInts("pads", 1, 1, 1, 1)},
			&ir.MaxPool{Kernel: []int{2, 2}, Pads: []int{1, 1, 1, 1}}},
		{"MaxPool", 12, 2, []*onnxpb.AttributeProto{
			attrInts("kernel_shape", 3, 3), attrInts("strides", 2, 2), attrInt("ceil_mode", 1),
			attrInts("dilations", 2, 2), attrInt("storage_order", 1), attrString("auto_pad", "VALID"),
		}, &ir.MaxPool{Kernel: []int{3, 3}, Strides: []int{2, 2}, Dilations: []int{2, 2}, AutoPad: ir.AutoPadValid,
			CeilMode: true, StorageOrder: 1, Indices: true}},
		{"AveragePool", 7, 1, []*onnxpb.AttributeProto{attrInts("kernel_shape", 2), attrInt("count_include_pad", 1)},
			&ir.AveragePool{Kernel: []int{2}, CountIncludePad: true}},
		{"AveragePool", 11, 1, []*onnxpb.AttributeProto{
			attrInts("kernel_shape", 3, 3, 3), attrInt("ceil_mode", 1), attrInt("count_include_pad", 0),
		}, &ir.AveragePool{Kernel: []int{3, 3, 3}, CeilMode: true}},
		{"GlobalAveragePool", 7, 1, nil, &ir.GlobalAveragePool{}},
		{"GlobalMaxPool", 17, 1, nil, &ir.GlobalMaxPool{}},
		{"BatchNormalization", 7, 1, []*onnxpb.AttributeProto{attrInt("spatial", 1), attrFloat("epsilon", 1e-3)},
			&ir.BatchNormalization{Epsilon: 1e-3, Momentum: 0.9}},
		{"BatchNormalization", 9, 1, []*onnxpb.AttributeProto{attrFloat("momentum", 0.2)},
			&ir.BatchNormalization{Epsilon: 1e-5, Momentum: 0.2}},
		{"BatchNormalization", 15, 1, []*onnxpb.AttributeProto{attrInt("training_mode", 0)},
			&ir.BatchNormalization{Epsilon: 1e-5, Momentum: 0.9}},
		{"LRN", 13, 1, []*onnxpb.AttributeProto{attrInt("size", 3)}, &ir.LRN{Size: 3, Alpha: 1e-4, Beta: 0.75, Bias: 1}},
		{"LRN", 7, 1, []*onnxpb.AttributeProto{
			attrInt("size", 5), attrFloat("alpha", 2e-4), attrFloat("beta", 0.5), attrFloat("bias", 2),
		}, &ir.LRN{Size: 5, Alpha: 2e-4, Beta: 0.5, Bias: 2}},
	}
	for _, c := range cases {
		if op, ok := checkDecode(t, c.want, c.opType, c.opset, 3, c.numOut, c.attrs...); ok {
			checkRoundTrip(t, op, c.opset, 3, c.numOut)
		}
	}
}

func TestConvCodecErrors(t *testing.T) {
	cases := []struct {
		opType      string
		opset       int
		numOut      int
		attrs       []*onnxpb.AttributeProto
		errSub      string
		unsupported bool
	}{
		{"Conv", 11, 1, []*onnxpb.AttributeProto{attrString("auto_pad", "SAME")}, `auto_pad is "SAME"`, false},
		{"Conv", 11, 1, []*onnxpb.AttributeProto{attrInt("kernel_shape", 3)}, `attribute "kernel_shape" has type INT, want INTS`, false},
		{"Conv", 11, 1, []*onnxpb.AttributeProto{attrInt("bogus", 3)}, `attribute "bogus"`, true},
		{"MaxPool", 12, 1, nil, "MaxPool needs the kernel_shape attribute", false},
		{"MaxPool", 9, 1, []*onnxpb.AttributeProto{attrInts("kernel_shape", 2), attrInt("ceil_mode", 1)}, `attribute "ceil_mode"`, true},
		{"MaxPool", 9, 1, []*onnxpb.AttributeProto{attrInts("kernel_shape", 2), attrInts("dilations", 2)}, `attribute "dilations"`, true},
		{"MaxPool", 7, 1, []*onnxpb.AttributeProto{attrInts("kernel_shape", 2), attrInt("storage_order", 1)}, `attribute "storage_order"`, true},
		{"MaxPool", 7, 2, []*onnxpb.AttributeProto{attrInts("kernel_shape", 2)}, "the Indices output exists from opset 8", false},
		{"MaxPool", 12, 3, []*onnxpb.AttributeProto{attrInts("kernel_shape", 2)}, "MaxPool has 3 outputs", false},
		{"MaxPool", 12, 1, []*onnxpb.AttributeProto{attrInts("kernel_shape", 2), attrInt("ceil_mode", 2)}, "ceil_mode is 2", false},
		{"AveragePool", 12, 1, nil, "AveragePool needs the kernel_shape attribute", false},
		{"AveragePool", 9, 1, []*onnxpb.AttributeProto{attrInts("kernel_shape", 2), attrInt("ceil_mode", 1)}, `attribute "ceil_mode"`, true},
		{"AveragePool", 17, 1, []*onnxpb.AttributeProto{attrInts("kernel_shape", 2), attrInts("dilations", 2)}, `attribute "dilations"`, true},
		{"BatchNormalization", 15, 1, []*onnxpb.AttributeProto{attrInt("training_mode", 1)}, "BatchNormalization training_mode=1", true},
		{"BatchNormalization", 15, 3, nil, "BatchNormalization training outputs", true},
		{"BatchNormalization", 9, 5, nil, "BatchNormalization training outputs", true},
		{"BatchNormalization", 8, 1, []*onnxpb.AttributeProto{attrInt("spatial", 0)}, "BatchNormalization spatial=0", true},
		{"BatchNormalization", 9, 1, []*onnxpb.AttributeProto{attrInt("spatial", 1)}, `attribute "spatial"`, true},
		{"BatchNormalization", 13, 1, []*onnxpb.AttributeProto{attrInt("training_mode", 0)}, `attribute "training_mode"`, true},
		{"BatchNormalization", 7, 1, []*onnxpb.AttributeProto{attrInt("is_test", 1)}, `"is_test" belongs to BatchNormalization before opset 7`, false},
		{"BatchNormalization", 7, 1, []*onnxpb.AttributeProto{attrInts("consumed_inputs", 0, 0, 0, 1, 1)}, `"consumed_inputs" belongs`, false},
		{"LRN", 13, 1, nil, "LRN needs the size attribute", false},
	}
	for _, c := range cases {
		checkDecodeError(t, c.errSub, c.unsupported, c.opType, c.opset, 3, c.numOut, c.attrs...)
	}
}

func TestConvEncodeErrors(t *testing.T) {
	cases := []struct {
		op     ir.Op
		opset  int
		errSub string
	}{
		{&ir.MaxPool{Kernel: []int{2}, CeilMode: true}, 9, "MaxPool ceil_mode cannot be written at opset 9"},
		{&ir.MaxPool{Kernel: []int{2}, Dilations: []int{2}}, 9, "MaxPool dilations [2] cannot be written at opset 9"},
		{&ir.MaxPool{Kernel: []int{2}, Indices: true}, 7, "cannot be written at opset 7"},
		{&ir.MaxPool{}, 12, "MaxPool without kernel_shape"},
		{&ir.AveragePool{Kernel: []int{2}, CeilMode: true}, 7, "AveragePool ceil_mode cannot be written at opset 7"},
		{&ir.AveragePool{}, 12, "AveragePool without kernel_shape"},
	}
	for _, c := range cases {
		checkEncodeError(t, c.op, c.opset, c.errSub)
	}
	// Dilations of 1 are the default, so an older opset just leaves them out.
	list, err := encodeOp(&ir.MaxPool{Kernel: []int{2}, Dilations: []int{1}}, 9)
	if err != nil {
		t.Errorf("MaxPool with unit dilations at opset 9: %v", err)
	}
	for _, a := range list {
		if a.GetName() == "dilations" {
			t.Errorf("MaxPool at opset 9 was written with dilations")
		}
	}
}

// TestConvModelRoundTrip decodes a small network of the family, encodes it
// and decodes it again, comparing the printed graphs.
func TestConvModelRoundTrip(t *testing.T) {
	info := func(name string, elem onnxpb.TensorProto_DataType, dims ...int64) *onnxpb.ValueInfoProto {
		sh := &onnxpb.TensorShapeProto{}
		for _, d := range dims {
			sh.Dim = append(sh.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
		}
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(elem)), Shape: sh}}}}
	}
	weight := func(name string, dims ...int64) *onnxpb.TensorProto {
		n := int64(1)
		for _, d := range dims {
			n *= d
		}
		return &onnxpb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
			FloatData: make([]float32, n)}
	}
	f := onnxpb.TensorProto_FLOAT
	g := &onnxpb.GraphProto{
		Name:        proto.String("convnet"),
		Input:       []*onnxpb.ValueInfoProto{info("x", f, 1, 3, 8, 8)},
		Initializer: []*onnxpb.TensorProto{weight("w", 4, 3, 3, 3), weight("b", 4), weight("s", 4), weight("m", 4), weight("v", 4)},
		Node: []*onnxpb.NodeProto{
			node("Conv", []string{"x", "w", "b"}, []string{"c"}, attrInts("pads", 1, 1, 1, 1), attrInt("group", 1)),
			node("BatchNormalization", []string{"c", "s", "b", "m", "v"}, []string{"n"}),
			node("LRN", []string{"n"}, []string{"l"}, attrInt("size", 3)),
			node("MaxPool", []string{"l"}, []string{"p", "i"}, attrInts("kernel_shape", 2, 2), attrInts("strides", 2, 2)),
			node("GlobalAveragePool", []string{"p"}, []string{"y"}),
		},
		Output: []*onnxpb.ValueInfoProto{info("y", f, 1, 4, 1, 1), info("i", onnxpb.TensorProto_INT64, 1, 4, 4, 4)},
	}
	m := model(13, g)
	m.IrVersion = proto.Int64(8)
	g1, err := decodeProto(t, m, "")
	if err != nil {
		t.Fatal(err)
	}
	checkModelRoundTrip(t, g1)
	if got := g1.Outputs[1].Type.String(); got != "i64[1,4,4,4]" {
		t.Errorf("MaxPool Indices type is %s, want i64[1,4,4,4]", got)
	}
}
