package importer

import (
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/cnnc/cnnc/importer/onnxpb"
	"github.com/cnnc/cnnc/ir"
)

func convIntAttr(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func convIntsAttr(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func convFloatAttr(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func convStringAttr(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

// convDecode decodes one node's attributes through its codec as the
// decoder does, including the refusal of unread attributes.
func convDecode(opType string, opset, numOut int, list []*onnxpb.AttributeProto) (ir.Op, error) {
	c, ok := codecFor(opType)
	if !ok {
		return nil, ir.Unsupportedf("operator %s", opType)
	}
	a, err := newAttrs(&onnxpb.NodeProto{OpType: proto.String(opType), Attribute: list})
	if err != nil {
		return nil, err
	}
	op, err := c.decode(&nodeCtx{Opset: opset, Attrs: a, NumIn: 3, NumOut: numOut})
	if err == nil {
		err = a.err
	}
	if err == nil {
		if u := a.unused(); u != "" {
			err = ir.Unsupportedf("attribute %q", u)
		}
	}
	return op, err
}

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
			convIntsAttr("kernel_shape", 3, 3), convIntsAttr("strides", 2, 2), convIntsAttr("dilations", 1, 2),
			convIntsAttr("pads", 1, 0, 1, 0), convIntAttr("group", 4),
		}, &ir.Conv{Kernel: []int{3, 3}, Strides: []int{2, 2}, Dilations: []int{1, 2}, Pads: []int{1, 0, 1, 0}, Group: 4}},
		{"Conv", 13, 1, []*onnxpb.AttributeProto{convStringAttr("auto_pad", "SAME_LOWER"), convIntsAttr("strides", 2)},
			&ir.Conv{Strides: []int{2}, AutoPad: ir.AutoPadSameLower, Group: 1}},
		{"Conv", 13, 1, []*onnxpb.AttributeProto{convStringAttr("auto_pad", "")}, &ir.Conv{Group: 1}},
		{"ConvTranspose", 11, 1, []*onnxpb.AttributeProto{
			convIntsAttr("kernel_shape", 3, 3), convIntsAttr("strides", 3, 2), convIntsAttr("output_padding", 1, 1),
			convIntsAttr("output_shape", 10, 8), convStringAttr("auto_pad", "SAME_UPPER"), convIntAttr("group", 2),
			convIntsAttr("dilations", 1, 1), convIntsAttr("pads", 0, 0, 0, 0),
		}, &ir.ConvTranspose{Kernel: []int{3, 3}, Strides: []int{3, 2}, Dilations: []int{1, 1}, Pads: []int{0, 0, 0, 0},
			AutoPad: ir.AutoPadSameUpper, Group: 2, OutputPadding: []int{1, 1}, OutputShape: []int{10, 8}}},
		{"MaxPool", 7, 1, []*onnxpb.AttributeProto{convIntsAttr("kernel_shape", 2, 2), convIntsAttr("pads", 1, 1, 1, 1)},
			&ir.MaxPool{Kernel: []int{2, 2}, Pads: []int{1, 1, 1, 1}}},
		{"MaxPool", 12, 2, []*onnxpb.AttributeProto{
			convIntsAttr("kernel_shape", 3, 3), convIntsAttr("strides", 2, 2), convIntAttr("ceil_mode", 1),
			convIntsAttr("dilations", 2, 2), convIntAttr("storage_order", 1), convStringAttr("auto_pad", "VALID"),
		}, &ir.MaxPool{Kernel: []int{3, 3}, Strides: []int{2, 2}, Dilations: []int{2, 2}, AutoPad: ir.AutoPadValid,
			CeilMode: true, StorageOrder: 1, Indices: true}},
		{"AveragePool", 7, 1, []*onnxpb.AttributeProto{convIntsAttr("kernel_shape", 2), convIntAttr("count_include_pad", 1)},
			&ir.AveragePool{Kernel: []int{2}, CountIncludePad: true}},
		{"AveragePool", 11, 1, []*onnxpb.AttributeProto{
			convIntsAttr("kernel_shape", 3, 3, 3), convIntAttr("ceil_mode", 1), convIntAttr("count_include_pad", 0),
		}, &ir.AveragePool{Kernel: []int{3, 3, 3}, CeilMode: true}},
		{"GlobalAveragePool", 7, 1, nil, &ir.GlobalAveragePool{}},
		{"GlobalMaxPool", 17, 1, nil, &ir.GlobalMaxPool{}},
		{"BatchNormalization", 7, 1, []*onnxpb.AttributeProto{convIntAttr("spatial", 1), convFloatAttr("epsilon", 1e-3)},
			&ir.BatchNormalization{Epsilon: 1e-3, Momentum: 0.9}},
		{"BatchNormalization", 9, 1, []*onnxpb.AttributeProto{convFloatAttr("momentum", 0.2)},
			&ir.BatchNormalization{Epsilon: 1e-5, Momentum: 0.2}},
		{"BatchNormalization", 15, 1, []*onnxpb.AttributeProto{convIntAttr("training_mode", 0)},
			&ir.BatchNormalization{Epsilon: 1e-5, Momentum: 0.9}},
		{"LRN", 13, 1, []*onnxpb.AttributeProto{convIntAttr("size", 3)}, &ir.LRN{Size: 3, Alpha: 1e-4, Beta: 0.75, Bias: 1}},
		{"LRN", 7, 1, []*onnxpb.AttributeProto{
			convIntAttr("size", 5), convFloatAttr("alpha", 2e-4), convFloatAttr("beta", 0.5), convFloatAttr("bias", 2),
		}, &ir.LRN{Size: 5, Alpha: 2e-4, Beta: 0.5, Bias: 2}},
	}
	for _, c := range cases {
		op, err := convDecode(c.opType, c.opset, c.numOut, c.attrs)
		if err != nil {
			t.Errorf("%s opset %d: decode: %v", c.opType, c.opset, err)
			continue
		}
		if !reflect.DeepEqual(op, c.want) {
			t.Errorf("%s opset %d: decoded %+v, want %+v", c.opType, c.opset, op, c.want)
		}
		codec, _ := codecFor(c.opType)
		var w attrWriter
		if err := codec.encode(op, c.opset, &w); err != nil {
			t.Errorf("%s opset %d: encode: %v", c.opType, c.opset, err)
			continue
		}
		again, err := convDecode(c.opType, c.opset, c.numOut, w.list)
		if err != nil {
			t.Errorf("%s opset %d: decode after encode: %v", c.opType, c.opset, err)
			continue
		}
		if !reflect.DeepEqual(again, op) {
			t.Errorf("%s opset %d: round trip gives %+v, want %+v", c.opType, c.opset, again, op)
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
		{"Conv", 11, 1, []*onnxpb.AttributeProto{convStringAttr("auto_pad", "SAME")}, `auto_pad is "SAME"`, false},
		{"Conv", 11, 1, []*onnxpb.AttributeProto{convIntAttr("kernel_shape", 3)}, `attribute "kernel_shape" has type INT, want INTS`, false},
		{"Conv", 11, 1, []*onnxpb.AttributeProto{convIntAttr("bogus", 3)}, `attribute "bogus"`, true},
		{"MaxPool", 12, 1, nil, "MaxPool needs the kernel_shape attribute", false},
		{"MaxPool", 9, 1, []*onnxpb.AttributeProto{convIntsAttr("kernel_shape", 2), convIntAttr("ceil_mode", 1)}, `attribute "ceil_mode"`, true},
		{"MaxPool", 9, 1, []*onnxpb.AttributeProto{convIntsAttr("kernel_shape", 2), convIntsAttr("dilations", 2)}, `attribute "dilations"`, true},
		{"MaxPool", 7, 1, []*onnxpb.AttributeProto{convIntsAttr("kernel_shape", 2), convIntAttr("storage_order", 1)}, `attribute "storage_order"`, true},
		{"MaxPool", 7, 2, []*onnxpb.AttributeProto{convIntsAttr("kernel_shape", 2)}, "the Indices output exists from opset 8", false},
		{"MaxPool", 12, 3, []*onnxpb.AttributeProto{convIntsAttr("kernel_shape", 2)}, "MaxPool has 3 outputs", false},
		{"MaxPool", 12, 1, []*onnxpb.AttributeProto{convIntsAttr("kernel_shape", 2), convIntAttr("ceil_mode", 2)}, "ceil_mode is 2", false},
		{"AveragePool", 12, 1, nil, "AveragePool needs the kernel_shape attribute", false},
		{"AveragePool", 9, 1, []*onnxpb.AttributeProto{convIntsAttr("kernel_shape", 2), convIntAttr("ceil_mode", 1)}, `attribute "ceil_mode"`, true},
		{"AveragePool", 17, 1, []*onnxpb.AttributeProto{convIntsAttr("kernel_shape", 2), convIntsAttr("dilations", 2)}, `attribute "dilations"`, true},
		{"BatchNormalization", 15, 1, []*onnxpb.AttributeProto{convIntAttr("training_mode", 1)}, "BatchNormalization training_mode=1", true},
		{"BatchNormalization", 15, 3, nil, "BatchNormalization training outputs", true},
		{"BatchNormalization", 9, 5, nil, "BatchNormalization training outputs", true},
		{"BatchNormalization", 8, 1, []*onnxpb.AttributeProto{convIntAttr("spatial", 0)}, "BatchNormalization spatial=0", true},
		{"BatchNormalization", 9, 1, []*onnxpb.AttributeProto{convIntAttr("spatial", 1)}, `attribute "spatial"`, true},
		{"BatchNormalization", 13, 1, []*onnxpb.AttributeProto{convIntAttr("training_mode", 0)}, `attribute "training_mode"`, true},
		{"BatchNormalization", 7, 1, []*onnxpb.AttributeProto{convIntAttr("is_test", 1)}, `"is_test" belongs to BatchNormalization before opset 7`, false},
		{"BatchNormalization", 7, 1, []*onnxpb.AttributeProto{convIntsAttr("consumed_inputs", 0, 0, 0, 1, 1)}, `"consumed_inputs" belongs`, false},
		{"LRN", 13, 1, nil, "LRN needs the size attribute", false},
	}
	for _, c := range cases {
		_, err := convDecode(c.opType, c.opset, c.numOut, c.attrs)
		switch {
		case err == nil:
			t.Errorf("%s opset %d: decoded, want an error containing %q", c.opType, c.opset, c.errSub)
		case !strings.Contains(err.Error(), c.errSub) || ir.IsUnsupported(err) != c.unsupported:
			t.Errorf("%s opset %d: got %v, want an error containing %q (unsupported %v)", c.opType, c.opset, err, c.errSub, c.unsupported)
		}
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
		codec, _ := codecFor(c.op.OpType())
		var w attrWriter
		err := codec.encode(c.op, c.opset, &w)
		if err == nil || !strings.Contains(err.Error(), c.errSub) {
			t.Errorf("encode %+v at opset %d: got %v, want an error containing %q", c.op, c.opset, err, c.errSub)
		}
	}
	// Dilations of 1 are the default, so an older opset just leaves them out.
	codec, _ := codecFor("MaxPool")
	var w attrWriter
	if err := codec.encode(&ir.MaxPool{Kernel: []int{2}, Dilations: []int{1}}, 9, &w); err != nil {
		t.Errorf("MaxPool with unit dilations at opset 9: %v", err)
	}
	for _, a := range w.list {
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
	nd := func(op string, in, out []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
		return &onnxpb.NodeProto{OpType: proto.String(op), Name: proto.String(strings.ToLower(op)), Input: in, Output: out, Attribute: attrs}
	}
	f := onnxpb.TensorProto_FLOAT
	g := &onnxpb.GraphProto{
		Name:        proto.String("convnet"),
		Input:       []*onnxpb.ValueInfoProto{info("x", f, 1, 3, 8, 8)},
		Initializer: []*onnxpb.TensorProto{weight("w", 4, 3, 3, 3), weight("b", 4), weight("s", 4), weight("m", 4), weight("v", 4)},
		Node: []*onnxpb.NodeProto{
			nd("Conv", []string{"x", "w", "b"}, []string{"c"}, convIntsAttr("pads", 1, 1, 1, 1), convIntAttr("group", 1)),
			nd("BatchNormalization", []string{"c", "s", "b", "m", "v"}, []string{"n"}),
			nd("LRN", []string{"n"}, []string{"l"}, convIntAttr("size", 3)),
			nd("MaxPool", []string{"l"}, []string{"p", "i"}, convIntsAttr("kernel_shape", 2, 2), convIntsAttr("strides", 2, 2)),
			nd("GlobalAveragePool", []string{"p"}, []string{"y"}),
		},
		Output: []*onnxpb.ValueInfoProto{info("y", f, 1, 4, 1, 1), info("i", onnxpb.TensorProto_INT64, 1, 4, 4, 4)},
	}
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph:       g,
	}
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	g1, err := Decode(data, "")
	if err != nil {
		t.Fatal(err)
	}
	data2, err := Encode(g1)
	if err != nil {
		t.Fatal(err)
	}
	g2, err := Decode(data2, "")
	if err != nil {
		t.Fatal(err)
	}
	if p1, p2 := ir.Print(g1), ir.Print(g2); p1 != p2 {
		t.Errorf("round trip changed the graph:\n%s\nbecame\n%s", p1, p2)
	}
	if got := g1.Outputs[1].Type.String(); got != "i64[1,4,4,4]" {
		t.Errorf("MaxPool Indices type is %s, want i64[1,4,4,4]", got)
	}
}
