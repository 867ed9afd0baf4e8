package importer

import (
	"fmt"
	"os"

	"google.golang.org/protobuf/proto"

	"github.com/cnnc/cnnc/importer/onnxpb"
	"github.com/cnnc/cnnc/ir"
)

// exportIRVersion is the ONNX IR version of exported models (ONNX 1.12's).
const exportIRVersion = 8

// Encode serializes g as an ONNX model at g's opset (17 when unset; 7 for a
// graph of opset 6, see encodeModel).
// Constants become initializers with raw data; every op is written with the
// attributes its opset expects, or Encode fails naming the node.
func Encode(g *ir.Graph) ([]byte, error) {
	m, err := encodeModel(g)
	if err != nil {
		return nil, err
	}
	return proto.Marshal(m)
}

// Save writes g to path as an ONNX model (see Encode).
func Save(g *ir.Graph, path string) error {
	data, err := Encode(g)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func encodeModel(g *ir.Graph) (*onnxpb.ModelProto, error) {
	opset := g.Opset
	if opset == 0 {
		opset = MaxOpset
	}
	// A graph imported at opset 6 is written at opset 7: its ops already
	// hold opset 7's semantics (the decoder turned legacy broadcasting into
	// numpy broadcasting, per-channel PRelu slopes into broadcastable ones,
	// and accepted BatchNormalization and Dropout only in test mode), and
	// every op whose schema changed from 6 to 7 has an opset 7 form for
	// them. Writing opset 6 would mean translating back, broadcast=1 on
	// every binary op included.
	opset = max(opset, 7)
	if opset < MinOpset || opset > MaxOpset {
		return nil, ir.Unsupportedf("exporting at opset %d", opset)
	}
	names := newNamer()
	gp := &onnxpb.GraphProto{Name: proto.String(g.Name)}
	if g.Name == "" {
		gp.Name = proto.String("cnnc")
	}
	for _, v := range g.Inputs {
		gp.Input = append(gp.Input, valueInfo(v, names.of(v)))
	}
	for _, v := range g.Constants() {
		gp.Initializer = append(gp.Initializer, encodeTensor(v.Const, names.of(v)))
	}
	for _, n := range g.Nodes {
		np, err := encodeNode(n, opset, names)
		if err != nil {
			return nil, ir.AtNode(err, n.Name, n.Op.OpType())
		}
		gp.Node = append(gp.Node, np)
	}
	for _, v := range g.Outputs {
		gp.Output = append(gp.Output, valueInfo(v, names.of(v)))
	}
	return &onnxpb.ModelProto{
		IrVersion:    proto.Int64(exportIRVersion),
		ProducerName: proto.String("cnnc"),
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(int64(opset))}},
		Graph:        gp,
	}, nil
}

// exportForm returns the op that stands for op in an exported model. It is
// op itself, except for the IR's ops that ONNX has no operator for, which
// are written as the ONNX op with their inference meaning:
//   - StochasticDepth, the identity at inference, becomes Identity.
//
// Importing the model again gives that ONNX op, not the original one: the
// importer never produces these ops.
func exportForm(op ir.Op) ir.Op {
	switch op.(type) {
	case *ir.StochasticDepth:
		return &ir.Identity{}
	}
	return op
}

func encodeNode(n *ir.Node, opset int, names *namer) (*onnxpb.NodeProto, error) {
	op := exportForm(n.Op)
	typ := op.OpType()
	c, ok := codecFor(typ)
	if !ok {
		return nil, ir.Unsupportedf("no ONNX encoding for %s", typ)
	}
	var w attrWriter
	if err := c.encode(op, opset, &w); err != nil {
		return nil, err
	}
	np := &onnxpb.NodeProto{OpType: proto.String(typ), Name: proto.String(n.Name), Attribute: w.list}
	for _, v := range n.Inputs {
		if v == nil {
			np.Input = append(np.Input, "")
		} else {
			np.Input = append(np.Input, names.of(v))
		}
	}
	for _, v := range n.Outputs {
		np.Output = append(np.Output, names.of(v))
	}
	return np, nil
}

// valueInfo describes a graph input or output, with named dimensions.
func valueInfo(v *ir.Value, name string) *onnxpb.ValueInfoProto {
	tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(onnxType(v.Type.DType)))}
	if v.Type.Shape != nil {
		tt.Shape = &onnxpb.TensorShapeProto{}
		for i, d := range v.Type.Shape {
			dim := &onnxpb.TensorShapeProto_Dimension{}
			switch {
			case i < len(v.DimNames) && v.DimNames[i] != "":
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: v.DimNames[i]}
			case d >= 0:
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
			}
			tt.Shape.Dim = append(tt.Shape.Dim, dim)
		}
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}},
	}
}

// namer gives every value a unique, non-empty ONNX name, keeping the
// value's own name when it is free.
type namer struct {
	names map[*ir.Value]string
	used  map[string]bool
}

func newNamer() *namer {
	return &namer{names: map[*ir.Value]string{}, used: map[string]bool{}}
}

func (n *namer) of(v *ir.Value) string {
	if s, ok := n.names[v]; ok {
		return s
	}
	s := v.Name
	for i := 1; s == "" || n.used[s]; i++ {
		s = fmt.Sprintf("%s_%d", v.Name, i)
	}
	n.names[v], n.used[s] = s, true
	return s
}
