package importer

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/cnnc/cnnc/importer/onnxpb"
	"github.com/cnnc/cnnc/ir"
)

// shapeDecode decodes one node of opType the way the decoder does: the
// codec, then sticky attribute errors, then unused attributes.
func shapeDecode(opType string, opset, numOut int, list ...*onnxpb.AttributeProto) (ir.Op, error) {
	c, ok := codecFor(opType)
	if !ok {
		return nil, fmt.Errorf("no codec for %s", opType)
	}
	a, err := newAttrs(&onnxpb.NodeProto{OpType: proto.String(opType), Attribute: list})
	if err != nil {
		return nil, err
	}
	op, err := c.decode(&nodeCtx{Opset: opset, Attrs: a, NumIn: 1, NumOut: numOut})
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

// shapeEncode encodes op at opset and returns the attributes written.
func shapeEncode(op ir.Op, opset int) ([]*onnxpb.AttributeProto, error) {
	c, ok := codecFor(op.OpType())
	if !ok {
		return nil, fmt.Errorf("no codec for %s", op.OpType())
	}
	var w attrWriter
	err := c.encode(op, opset, &w)
	return w.list, err
}

func shAttrInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}
func shAttrInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}
func shAttrFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}
func shAttrString(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

// TestShapeCodecRoundTrip encodes each op at an opset that can express it,
// decodes the attributes again and expects the same op.
func TestShapeCodecRoundTrip(t *testing.T) {
	cases := []struct {
		op     ir.Op
		opset  int
		numOut int
	}{
		{&ir.Identity{}, 7, 1},
		{&ir.Concat{Axis: -2}, 13, 1},
		{&ir.Split{Axis: 1, Split: []int{2, 0, 3}, NumOutputs: 3}, 7, 3},
		{&ir.Split{Axis: -1, NumOutputs: 2}, 11, 2},
		{&ir.Split{Axis: 0, NumOutputs: 4}, 13, 4},
		{&ir.Slice{Starts: []int{1, -3}, Ends: []int{math.MaxInt64, -1}, Axes: []int{0, 2}}, 7, 1},
		{&ir.Slice{Starts: []int{0}, Ends: []int{math.MinInt64}}, 9, 1},
		{&ir.Slice{}, 10, 1},
		{&ir.Slice{}, 13, 1},
		{&ir.Flatten{Axis: 1}, 7, 1},
		{&ir.Flatten{Axis: -2}, 11, 1},
		{&ir.Reshape{}, 7, 1},
		{&ir.Reshape{}, 14, 1},
		{&ir.Reshape{AllowZero: true}, 14, 1},
		{&ir.Transpose{}, 7, 1},
		{&ir.Transpose{Perm: []int{0, 2, 1}}, 13, 1},
		{&ir.Squeeze{Axes: []int{0, -1}}, 11, 1},
		{&ir.Squeeze{}, 7, 1},
		{&ir.Squeeze{}, 13, 1},
		{&ir.Unsqueeze{Axes: []int{0, 3}}, 7, 1},
		{&ir.Unsqueeze{}, 13, 1},
		{&ir.Dropout{Ratio: 0.3}, 7, 1},
		{&ir.Dropout{Ratio: 0.2, Mask: ir.Float32}, 9, 2},
		{&ir.Dropout{Ratio: 0.5, Mask: ir.Bool}, 10, 2},
		{&ir.Dropout{Ratio: 0.5, Mask: ir.Bool}, 13, 2},
		{&ir.ConstantOfShape{Value: ir.FromFloat32(ir.Shape{1}, []float32{0})}, 9, 1},
		{&ir.ConstantOfShape{Value: ir.FromInt64(ir.Shape{1}, []int64{-7})}, 13, 1},
		{&ir.ConstantOfShape{Value: &ir.Tensor{DType: ir.Bool, Shape: ir.Shape{1}, Bool: []bool{true}}}, 17, 1},
		{&ir.ShapeOp{End: math.MaxInt}, 7, 1},
		{&ir.ShapeOp{End: math.MaxInt}, 15, 1},
		{&ir.ShapeOp{Start: -2, End: 3}, 15, 1},
		{&ir.ShapeOp{Start: 1, End: math.MaxInt}, 17, 1},
		{&ir.Gather{Axis: -1}, 13, 1},
		{&ir.Cast{To: ir.Float32}, 7, 1},
		{&ir.Cast{To: ir.Int64}, 13, 1},
		{&ir.Cast{To: ir.Int32}, 9, 1},
		{&ir.Cast{To: ir.Bool}, 17, 1},
		{&ir.Pad{Mode: ir.PadReflect, Pads: []int{0, 1, 2, 3}}, 7, 1},
		{&ir.Pad{Pads: []int{-1, 0}, Value: 2.5}, 10, 1},
		{&ir.Pad{Mode: ir.PadEdge}, 11, 1},
		{&ir.Pad{}, 13, 1},
	}
	for _, c := range cases {
		list, err := shapeEncode(c.op, c.opset)
		if err != nil {
			t.Errorf("encode %+v at opset %d: %v", c.op, c.opset, err)
			continue
		}
		got, err := shapeDecode(c.op.OpType(), c.opset, c.numOut, list...)
		if err != nil {
			t.Errorf("decode %+v at opset %d: %v", c.op, c.opset, err)
			continue
		}
		if !reflect.DeepEqual(got, c.op) {
			t.Errorf("opset %d: round trip of %+v gave %+v", c.opset, c.op, got)
		}
	}
}

// TestShapeDecode checks defaults and opset-dependent readings.
func TestShapeDecode(t *testing.T) {
	cases := []struct {
		opType string
		opset  int
		numOut int
		attrs  []*onnxpb.AttributeProto
		want   ir.Op
	}{
		{"Split", 7, 2, nil, &ir.Split{NumOutputs: 2}},
		{"Split", 11, 2, []*onnxpb.AttributeProto{shAttrInts("split")}, &ir.Split{NumOutputs: 2}},
		{"Slice", 7, 1, []*onnxpb.AttributeProto{shAttrInts("starts", 0), shAttrInts("ends", math.MaxInt64)},
			&ir.Slice{Starts: []int{0}, Ends: []int{math.MaxInt64}}},
		{"Flatten", 7, 1, nil, &ir.Flatten{Axis: 1}},
		{"Reshape", 13, 1, nil, &ir.Reshape{}},
		{"Squeeze", 11, 1, []*onnxpb.AttributeProto{shAttrInts("axes")}, &ir.Squeeze{}},
		{"Unsqueeze", 11, 1, []*onnxpb.AttributeProto{shAttrInts("axes", -1)}, &ir.Unsqueeze{Axes: []int{-1}}},
		{"Dropout", 7, 1, nil, &ir.Dropout{Ratio: 0.5}},
		{"Dropout", 12, 2, []*onnxpb.AttributeProto{shAttrInt("seed", 3)}, &ir.Dropout{Ratio: 0.5, Mask: ir.Bool}},
		{"ConstantOfShape", 9, 1, nil, &ir.ConstantOfShape{Value: ir.FromFloat32(ir.Shape{1}, []float32{0})}},
		{"Shape", 13, 1, nil, &ir.ShapeOp{End: math.MaxInt}},
		{"Shape", 15, 1, []*onnxpb.AttributeProto{shAttrInt("end", -1)}, &ir.ShapeOp{End: -1}},
		{"Gather", 7, 1, nil, &ir.Gather{}},
		{"Cast", 13, 1, []*onnxpb.AttributeProto{shAttrInt("to", int64(onnxpb.TensorProto_INT32))}, &ir.Cast{To: ir.Int32}},
		{"Pad", 7, 1, []*onnxpb.AttributeProto{shAttrInts("pads", 1, 1)}, &ir.Pad{Pads: []int{1, 1}}},
		{"Pad", 11, 1, []*onnxpb.AttributeProto{shAttrString("mode", "edge")}, &ir.Pad{Mode: ir.PadEdge}},
	}
	for _, c := range cases {
		got, err := shapeDecode(c.opType, c.opset, c.numOut, c.attrs...)
		if err != nil {
			t.Errorf("%s at opset %d: %v", c.opType, c.opset, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s at opset %d: got %+v, want %+v", c.opType, c.opset, got, c.want)
		}
	}
}

func TestShapeDecodeErrors(t *testing.T) {
	cases := []struct {
		opType      string
		opset       int
		numOut      int
		attrs       []*onnxpb.AttributeProto
		err         string
		unsupported bool
	}{
		{"Concat", 13, 1, nil, "needs the axis attribute", false},
		{"Split", 13, 2, []*onnxpb.AttributeProto{shAttrInts("split", 1, 1)}, `attribute "split"`, true},
		{"Split", 13, 0, nil, "Split has no outputs", false},
		{"Slice", 9, 1, []*onnxpb.AttributeProto{shAttrInts("starts", 0)}, "needs the starts and ends attributes", false},
		{"Slice", 10, 1, []*onnxpb.AttributeProto{shAttrInts("starts", 0), shAttrInts("ends", 1)}, `attribute "ends"`, true},
		{"Reshape", 14, 1, []*onnxpb.AttributeProto{shAttrInt("allowzero", 2)}, "allowzero is 2", false},
		{"Reshape", 13, 1, []*onnxpb.AttributeProto{shAttrInt("allowzero", 1)}, `attribute "allowzero"`, true},
		{"Squeeze", 13, 1, []*onnxpb.AttributeProto{shAttrInts("axes", 0)}, `attribute "axes"`, true},
		{"Unsqueeze", 11, 1, nil, "needs the axes attribute", false},
		{"Dropout", 7, 1, []*onnxpb.AttributeProto{shAttrInt("is_test", 1)}, `attribute "is_test"`, true},
		{"Dropout", 12, 1, []*onnxpb.AttributeProto{shAttrFloat("ratio", 0.5)}, `attribute "ratio"`, true},
		{"Dropout", 13, 3, nil, "has 3 outputs", false},
		{"ConstantOfShape", 8, 1, nil, "needs opset 9", false},
		{"Shape", 13, 1, []*onnxpb.AttributeProto{shAttrInt("start", 1)}, `attribute "start"`, true},
		{"Cast", 13, 1, nil, "needs the to attribute", false},
		{"Cast", 13, 1, []*onnxpb.AttributeProto{shAttrInt("to", int64(onnxpb.TensorProto_DOUBLE))}, "Cast to DOUBLE", true},
		{"Cast", 13, 1, []*onnxpb.AttributeProto{shAttrInt("to", int64(onnxpb.TensorProto_FLOAT16))}, "Cast to FLOAT16", true},
		{"Cast", 13, 1, []*onnxpb.AttributeProto{shAttrInt("to", 0)}, "unknown element type 0", false},
		{"Cast", 13, 1, []*onnxpb.AttributeProto{shAttrInt("to", 99)}, "unknown element type 99", false},
		{"Cast", 13, 1, []*onnxpb.AttributeProto{shAttrFloat("to", 1)}, `attribute "to" has type FLOAT, want INT`, false},
		{"Pad", 7, 1, nil, "needs the pads attribute", false},
		{"Pad", 11, 1, []*onnxpb.AttributeProto{shAttrString("mode", "wrap")}, `Pad mode "wrap"`, true},
		{"Pad", 11, 1, []*onnxpb.AttributeProto{shAttrInts("pads", 0, 0)}, `attribute "pads"`, true},
		{"Transpose", 13, 1, []*onnxpb.AttributeProto{shAttrInt("perm", 1)}, `attribute "perm" has type INT, want INTS`, false},
	}
	for _, c := range cases {
		_, err := shapeDecode(c.opType, c.opset, c.numOut, c.attrs...)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s at opset %d: err = %v, want it to contain %q", c.opType, c.opset, err, c.err)
		} else if ir.IsUnsupported(err) != c.unsupported {
			t.Errorf("%s at opset %d: err = %v, want unsupported=%v", c.opType, c.opset, err, c.unsupported)
		}
	}
}

func TestShapeEncodeErrors(t *testing.T) {
	cases := []struct {
		op    ir.Op
		opset int
		err   string
	}{
		{&ir.Split{Split: []int{1, 2}, NumOutputs: 2}, 13, "Split with attribute lengths cannot be written at opset 13"},
		{&ir.Slice{}, 9, "Slice with input starts and ends cannot be written at opset 9"},
		{&ir.Slice{Starts: []int{0}, Ends: []int{1}}, 10, "Slice with attribute starts and ends cannot be written at opset 10"},
		{&ir.Reshape{AllowZero: true}, 13, "allowzero cannot be written at opset 13"},
		{&ir.Squeeze{Axes: []int{0}}, 13, "Squeeze with attribute axes cannot be written at opset 13"},
		{&ir.Unsqueeze{Axes: []int{0}}, 13, "Unsqueeze with attribute axes cannot be written"},
		{&ir.Unsqueeze{}, 11, "Unsqueeze with input axes cannot be written at opset 11"},
		{&ir.Dropout{Mask: ir.Bool}, 9, "bool mask cannot be written at opset 9"},
		{&ir.Dropout{Mask: ir.Float32}, 10, "float mask cannot be written at opset 10"},
		{&ir.ConstantOfShape{Value: ir.FromFloat32(ir.Shape{1}, []float32{0})}, 8, "cannot be written at opset 8"},
		{&ir.ShapeOp{Start: 1, End: math.MaxInt}, 14, "Shape with start 1"},
		{&ir.Cast{}, 13, "Cast to element type invalid"},
		{&ir.Pad{}, 10, "Pad with input pads cannot be written at opset 10"},
		{&ir.Pad{Pads: []int{0, 0}}, 11, "Pad with attribute pads or value cannot be written at opset 11"},
	}
	for _, c := range cases {
		_, err := shapeEncode(c.op, c.opset)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("encode %+v at opset %d: err = %v, want it to contain %q", c.op, c.opset, err, c.err)
		}
	}
}
