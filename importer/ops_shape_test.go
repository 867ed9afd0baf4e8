package importer

import (
	"math"
	"testing"

	"github.com/cnnc/cnnc/importer/onnxpb"
	"github.com/cnnc/cnnc/ir"
)

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
		checkRoundTrip(t, c.op, c.opset, 1, c.numOut)
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
		{"Split", 11, 2, []*onnxpb.AttributeProto{attrInts("split")}, &ir.Split{NumOutputs: 2}},
		{"Slice", 7, 1, []*onnxpb.AttributeProto{attrInts("starts", 0), attrInts("ends", math.MaxInt64)},
			&ir.Slice{Starts: []int{0}, Ends: []int{math.MaxInt64}}},
		{"Flatten", 7, 1, nil, &ir.Flatten{Axis: 1}},
		{"Reshape", 13, 1, nil, &ir.Reshape{}},
		{"Squeeze", 11, 1, []*onnxpb.AttributeProto{attrInts("axes")}, &ir.Squeeze{}},
		{"Unsqueeze", 11, 1, []*onnxpb.AttributeProto{attrInts("axes", -1)}, &ir.Unsqueeze{Axes: []int{-1}}},
		{"Dropout", 7, 1, nil, &ir.Dropout{Ratio: 0.5}},
		{"Dropout", 12, 2, []*onnxpb.AttributeProto{attrInt("seed", 3)}, &ir.Dropout{Ratio: 0.5, Mask: ir.Bool}},
		{"ConstantOfShape", 9, 1, nil, &ir.ConstantOfShape{Value: ir.FromFloat32(ir.Shape{1}, []float32{0})}},
		{"Shape", 13, 1, nil, &ir.ShapeOp{End: math.MaxInt}},
		{"Shape", 15, 1, []*onnxpb.AttributeProto{attrInt("end", -1)}, &ir.ShapeOp{End: -1}},
		{"Gather", 7, 1, nil, &ir.Gather{}},
		{"Cast", 13, 1, []*onnxpb.AttributeProto{attrInt("to", int64(onnxpb.TensorProto_INT32))}, &ir.Cast{To: ir.Int32}},
		{"Pad", 7, 1, []*onnxpb.AttributeProto{attrInts("pads", 1, 1)}, &ir.Pad{Pads: []int{1, 1}}},
		{"Pad", 11, 1, []*onnxpb.AttributeProto{attrString("mode", "edge")}, &ir.Pad{Mode: ir.PadEdge}},
	}
	for _, c := range cases {
		checkDecode(t, c.want, c.opType, c.opset, 1, c.numOut, c.attrs...)
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
		{"Split", 13, 2, []*onnxpb.AttributeProto{attrInts("split", 1, 1)}, `attribute "split"`, true},
		{"Split", 13, 0, nil, "Split has no outputs", false},
		{"Slice", 9, 1, []*onnxpb.AttributeProto{attrInts("starts", 0)}, "needs the starts and ends attributes", false},
		{"Slice", 10, 1, []*onnxpb.AttributeProto{attrInts("starts", 0), attrInts("ends", 1)}, `attribute "ends"`, true},
		{"Reshape", 14, 1, []*onnxpb.AttributeProto{attrInt("allowzero", 2)}, "allowzero is 2", false},
		{"Reshape", 13, 1, []*onnxpb.AttributeProto{attrInt("allowzero", 1)}, `attribute "allowzero"`, true},
		{"Squeeze", 13, 1, []*onnxpb.AttributeProto{attrInts("axes", 0)}, `attribute "axes"`, true},
		{"Unsqueeze", 11, 1, nil, "needs the axes attribute", false},
		{"Dropout", 7, 1, []*onnxpb.AttributeProto{attrInt("is_test", 1)}, `attribute "is_test"`, true},
		{"Dropout", 12, 1, []*onnxpb.AttributeProto{attrFloat("ratio", 0.5)}, `attribute "ratio"`, true},
		{"Dropout", 13, 3, nil, "has 3 outputs", false},
		{"ConstantOfShape", 8, 1, nil, "needs opset 9", false},
		{"Shape", 13, 1, []*onnxpb.AttributeProto{attrInt("start", 1)}, `attribute "start"`, true},
		{"Cast", 13, 1, nil, "needs the to attribute", false},
		{"Cast", 13, 1, []*onnxpb.AttributeProto{attrInt("to", int64(onnxpb.TensorProto_DOUBLE))}, "Cast to DOUBLE", true},
		{"Cast", 13, 1, []*onnxpb.AttributeProto{attrInt("to", int64(onnxpb.TensorProto_FLOAT16))}, "Cast to FLOAT16", true},
		{"Cast", 13, 1, []*onnxpb.AttributeProto{attrInt("to", 0)}, "unknown element type 0", false},
		{"Cast", 13, 1, []*onnxpb.AttributeProto{attrInt("to", 99)}, "unknown element type 99", false},
		{"Cast", 13, 1, []*onnxpb.AttributeProto{attrFloat("to", 1)}, `attribute "to" has type FLOAT, want INT`, false},
		{"Pad", 7, 1, nil, "needs the pads attribute", false},
		{"Pad", 11, 1, []*onnxpb.AttributeProto{attrString("mode", "wrap")}, `Pad mode "wrap"`, true},
		{"Pad", 11, 1, []*onnxpb.AttributeProto{attrInts("pads", 0, 0)}, `attribute "pads"`, true},
		{"Transpose", 13, 1, []*onnxpb.AttributeProto{attrInt("perm", 1)}, `attribute "perm" has type INT, want INTS`, false},
	}
	for _, c := range cases {
		checkDecodeError(t, c.err, c.unsupported, c.opType, c.opset, 1, c.numOut, c.attrs...)
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
		checkEncodeError(t, c.op, c.opset, c.err)
	}
}
