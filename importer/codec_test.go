package importer

import (
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/cnnc/cnnc/importer/onnxpb"
	"github.com/cnnc/cnnc/ir"
)

// Helpers shared by the codec tests: decoding one node's attributes and
// encoding one op without a whole model, and attribute constructors.

// decodeNode decodes one node of opType, with numIn inputs, numOut outputs
// and the given attributes, through its codec as the decoder does
// (decodeOp): the codec, then sticky attribute errors, then unused
// attributes. The node is not part of a model, so a codec's FixInputs is
// not run.
func decodeNode(opType string, opset, numIn, numOut int, attrs ...*onnxpb.AttributeProto) (ir.Op, error) {
	c, ok := codecFor(opType)
	if !ok {
		return nil, ir.Unsupportedf("operator %s", opType)
	}
	a, err := newAttrs(&onnxpb.NodeProto{OpType: proto.String(opType), Attribute: attrs})
	if err != nil {
		return nil, err
	}
	return decodeOp(c, &nodeCtx{Opset: opset, Attrs: a, NumIn: numIn, NumOut: numOut})
}

// encodeOp encodes op's attributes at opset through its codec and returns
// the attributes written.
func encodeOp(op ir.Op, opset int) ([]*onnxpb.AttributeProto, error) {
	c, ok := codecFor(op.OpType())
	if !ok {
		return nil, ir.Unsupportedf("no ONNX encoding for %s", op.OpType())
	}
	var w attrWriter
	err := c.encode(op, opset, &w)
	return w.list, err
}

func attrInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func attrInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func attrFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func attrString(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

func attrTensor(name string, t *onnxpb.TensorProto) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: t}
}

// checkDecode decodes a node with decodeNode and reports an error, or an op
// other than want. It returns the op, and false when decoding failed.
func checkDecode(t *testing.T, want ir.Op, opType string, opset, numIn, numOut int, attrs ...*onnxpb.AttributeProto) (ir.Op, bool) {
	t.Helper()
	op, err := decodeNode(opType, opset, numIn, numOut, attrs...)
	if err != nil {
		t.Errorf("%s at opset %d: decode: %v", opType, opset, err)
		return nil, false
	}
	if !reflect.DeepEqual(op, want) {
		t.Errorf("%s at opset %d: decoded %+v, want %+v", opType, opset, op, want)
	}
	return op, true
}

// checkDecodeError decodes a node with decodeNode and reports success, or
// an error that does not contain sub or is unsupported when unsupported is
// false (or the other way round).
func checkDecodeError(t *testing.T, sub string, unsupported bool, opType string, opset, numIn, numOut int, attrs ...*onnxpb.AttributeProto) {
	t.Helper()
	_, err := decodeNode(opType, opset, numIn, numOut, attrs...)
	switch {
	case err == nil:
		t.Errorf("%s at opset %d: decoded, want an error containing %q", opType, opset, sub)
	case !strings.Contains(err.Error(), sub) || ir.IsUnsupported(err) != unsupported:
		t.Errorf("%s at opset %d: got %v, want an error containing %q (unsupported %v)", opType, opset, err, sub, unsupported)
	}
}

// checkRoundTrip encodes op at opset, decodes the attributes again as a node
// with numIn inputs and numOut outputs, and reports an error or an op other
// than op.
func checkRoundTrip(t *testing.T, op ir.Op, opset, numIn, numOut int) {
	t.Helper()
	list, err := encodeOp(op, opset)
	if err != nil {
		t.Errorf("%s at opset %d: encode %+v: %v", op.OpType(), opset, op, err)
		return
	}
	got, err := decodeNode(op.OpType(), opset, numIn, numOut, list...)
	if err != nil {
		t.Errorf("%s at opset %d: decode after encoding %+v: %v", op.OpType(), opset, op, err)
		return
	}
	if !reflect.DeepEqual(got, op) {
		t.Errorf("%s at opset %d: round trip of %+v gave %+v", op.OpType(), opset, op, got)
	}
}

// checkEncodeError encodes op at opset with encodeOp and reports success, or
// an error that does not contain sub. It returns the error.
func checkEncodeError(t *testing.T, op ir.Op, opset int, sub string) error {
	t.Helper()
	_, err := encodeOp(op, opset)
	if err == nil || !strings.Contains(err.Error(), sub) {
		t.Errorf("encode %+v at opset %d: err = %v, want an error containing %q", op, opset, err, sub)
	}
	return err
}
