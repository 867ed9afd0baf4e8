package importer

import (
	"strings"
	"testing"

	"github.com/cnnc/cnnc/importer/onnxpb"
	"github.com/cnnc/cnnc/ir"
)

func TestMathCodecRoundTrip(t *testing.T) {
	cases := []struct {
		op    ir.Op
		opset int
		numIn int
	}{
		{&ir.Softmax{Axis: 1, Coerce2D: true}, 7, 1},
		{&ir.Softmax{Axis: -1, Coerce2D: true}, 11, 1},
		{&ir.Softmax{Axis: 0}, 13, 1},
		{&ir.LogSoftmax{Axis: 2, Coerce2D: true}, 12, 1},
		{&ir.LogSoftmax{Axis: -1}, 17, 1},
		{&ir.Gemm{Alpha: 0.5, Beta: 2, TransB: true}, 7, 3},
		{&ir.Gemm{Alpha: 1, Beta: 1, TransA: true}, 13, 2},
		{&ir.MatMul{}, 9, 2},
		{&ir.Add{}, 7, 2},
		{&ir.Sub{}, 13, 2},
		{&ir.Mul{}, 14, 2},
		{&ir.Div{}, 17, 2},
		{&ir.Pow{}, 15, 2},
		{&ir.Sum{}, 8, 3},
		{&ir.Mean{}, 13, 1},
		{&ir.Max{}, 12, 2},
		{&ir.Min{}, 7, 2},
		{&ir.ReduceSum{Axes: []int{1, -1}, KeepDims: true}, 11, 1},
		{&ir.ReduceSum{KeepDims: false}, 7, 1},
		{&ir.ReduceSum{KeepDims: true, NoopWithEmptyAxes: true}, 13, 2},
		{&ir.ReduceSum{}, 17, 1},
		{&ir.ReduceMean{Axes: []int{2, 3}}, 17, 1},
		{&ir.ReduceMean{KeepDims: true}, 7, 1},
	}
	for _, c := range cases {
		checkRoundTrip(t, c.op, c.opset, c.numIn, 1)
	}
}

func TestMathDecode(t *testing.T) {
	cases := []struct {
		opType string
		opset  int
		numIn  int
		attrs  []*onnxpb.AttributeProto
		want   ir.Op
	}{
		{"Softmax", 11, 1, nil, &ir.Softmax{Axis: 1, Coerce2D: true}},
		{"Softmax", 13, 1, nil, &ir.Softmax{Axis: -1}},
		{"LogSoftmax", 9, 1, []*onnxpb.AttributeProto{attrInt("axis", 3)}, &ir.LogSoftmax{Axis: 3, Coerce2D: true}},
		{"Gemm", 11, 2, nil, &ir.Gemm{Alpha: 1, Beta: 1}},
		{"Gemm", 7, 3, []*onnxpb.AttributeProto{attrInt("broadcast", 1), attrInt("transA", 1), attrFloat("beta", 0)},
			&ir.Gemm{Alpha: 1, TransA: true}},
		{"ReduceMean", 13, 1, nil, &ir.ReduceMean{KeepDims: true}},
		{"ReduceSum", 12, 1, []*onnxpb.AttributeProto{attrInts("axes", 0), attrInt("keepdims", 0)}, &ir.ReduceSum{Axes: []int{0}}},
		{"ReduceSum", 13, 2, nil, &ir.ReduceSum{KeepDims: true}},
		{"Sum", 8, 4, nil, &ir.Sum{}},
	}
	for _, c := range cases {
		checkDecode(t, c.want, c.opType, c.opset, c.numIn, 1, c.attrs...)
	}
}

func TestMathDecodeErrors(t *testing.T) {
	cases := []struct {
		opType string
		opset  int
		numIn  int
		attrs  []*onnxpb.AttributeProto
		want   string
	}{
		{"Gemm", 9, 2, nil, "input C is required before opset 11"},
		{"Gemm", 13, 2, []*onnxpb.AttributeProto{attrInt("transB", 2)}, `attribute "transB" = 2, want 0 or 1`},
		{"Add", 7, 2, []*onnxpb.AttributeProto{attrInt("broadcast", 1), attrInt("axis", 1)}, `attribute "broadcast" exists only before opset 7`},
		{"Pow", 7, 2, []*onnxpb.AttributeProto{attrInt("axis", 0)}, `attribute "axis" exists only before opset 7`},
		{"Mul", 13, 2, []*onnxpb.AttributeProto{attrInt("alpha", 0)}, `unsupported: attribute "alpha"`},
		{"Max", 13, 0, nil, "node has no inputs"},
		{"ReduceSum", 13, 2, []*onnxpb.AttributeProto{attrInts("axes", 0)}, "from opset 13 axes is input 1"},
		{"ReduceSum", 11, 2, nil, "axes is an input only from opset 13"},
		{"ReduceSum", 11, 1, []*onnxpb.AttributeProto{attrInt("noop_with_empty_axes", 1)}, `attribute "noop_with_empty_axes"`},
		{"ReduceSum", 13, 1, []*onnxpb.AttributeProto{attrInt("keepdims", 3)}, `attribute "keepdims" = 3, want 0 or 1`},
		{"ReduceMean", 13, 2, nil, "axes is an attribute before opset 18"},
		{"Softmax", 13, 1, []*onnxpb.AttributeProto{attrFloat("axis", 1)}, `attribute "axis" has type FLOAT, want INT`},
	}
	for _, c := range cases {
		_, err := decodeNode(c.opType, c.opset, c.numIn, 1, c.attrs...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s@%d: err = %v, want it to contain %q", c.opType, c.opset, err, c.want)
		}
	}
}

func TestMathEncodeErrors(t *testing.T) {
	cases := []struct {
		op    ir.Op
		opset int
		want  string
	}{
		{&ir.Softmax{Axis: 1, Coerce2D: true}, 13, "Softmax coercing its input to 2-D at axis 1 cannot be written at opset 13"},
		{&ir.LogSoftmax{Axis: 1}, 12, "LogSoftmax along axis 1 cannot be written at opset 12"},
		{&ir.ReduceSum{Axes: []int{0}}, 13, "ReduceSum with attribute axes [0] cannot be written at opset 13"},
		{&ir.ReduceSum{NoopWithEmptyAxes: true}, 11, "noop_with_empty_axes and no axes cannot be written at opset 11"},
	}
	for _, c := range cases {
		if err := checkEncodeError(t, c.op, c.opset, c.want); err != nil && !ir.IsUnsupported(err) {
			t.Errorf("encode %+v at opset %d: err = %v, want it unsupported", c.op, c.opset, err)
		}
	}
	// The last axis means the same in both forms, so either form encodes
	// at either opset.
	for _, c := range []struct {
		op    ir.Op
		opset int
	}{{&ir.Softmax{Axis: -1, Coerce2D: true}, 13}, {&ir.LogSoftmax{Axis: -1}, 11}} {
		if _, err := encodeOp(c.op, c.opset); err != nil {
			t.Errorf("%+v@%d: %v", c.op, c.opset, err)
		}
	}
}
