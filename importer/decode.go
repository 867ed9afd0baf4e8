package importer

import (
	"fmt"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"github.com/cnnc/cnnc/importer/onnxpb"
	"github.com/cnnc/cnnc/ir"
)

// The ONNX versions the importer reads.
const (
	MinIRVersion = 3
	MaxIRVersion = 9
	MinOpset     = 7
	MaxOpset     = 17
)

// Load reads an ONNX model file into an ir.Graph. External data files are
// resolved relative to the model's folder and may not leave it.
func Load(path string) (*ir.Graph, error) {
	data, err := readFileLimited(path)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	return Decode(data, abs)
}

// Decode parses a serialized ONNX ModelProto into an ir.Graph with every
// value's type inferred. dir is the folder external data is resolved
// against; with dir == "" external data is refused. Errors are *ir.Error:
// KindInvalid for a malformed model, KindUnsupported for a valid one using
// something cnnc lacks; node errors name the node and op.
func Decode(data []byte, dir string) (*ir.Graph, error) {
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		return nil, ir.Invalidf("not an ONNX model: %v", err)
	}
	return decodeModel(&m, dir)
}

func decodeModel(m *onnxpb.ModelProto, dir string) (*ir.Graph, error) {
	if v := m.GetIrVersion(); v < MinIRVersion || v > MaxIRVersion {
		if v <= 0 {
			return nil, ir.Invalidf("IR version %d", v)
		}
		return nil, ir.Unsupportedf("IR version %d (cnnc reads %d to %d)", v, MinIRVersion, MaxIRVersion)
	}
	opset := 0
	for _, o := range m.GetOpsetImport() {
		if d := o.GetDomain(); d == "" || d == "ai.onnx" {
			opset = int(o.GetVersion())
		}
	}
	if opset == 0 {
		return nil, ir.Invalidf("no default-domain opset is imported")
	}
	if opset < MinOpset || opset > MaxOpset {
		return nil, ir.Unsupportedf("opset %d (cnnc reads opsets %d to %d)", opset, MinOpset, MaxOpset)
	}
	if m.Graph == nil {
		return nil, ir.Invalidf("model has no graph")
	}
	d := &decoder{opset: opset, dir: dir, values: map[string]*ir.Value{}}
	g, err := d.graph(m.Graph)
	if err != nil {
		return nil, err
	}
	return g, nil
}

// decoder holds the state of one model's decoding.
type decoder struct {
	opset  int
	dir    string
	values map[string]*ir.Value // by ONNX name, as defined so far
}

func (d *decoder) define(v *ir.Value, what string) error {
	if v.Name == "" {
		return ir.Invalidf("%s has an empty name", what)
	}
	if _, dup := d.values[v.Name]; dup {
		return ir.Invalidf("%s %q is defined twice", what, v.Name)
	}
	d.values[v.Name] = v
	return nil
}

func (d *decoder) graph(gp *onnxpb.GraphProto) (*ir.Graph, error) {
	g := &ir.Graph{Name: gp.GetName(), Opset: d.opset}
	if len(gp.SparseInitializer) > 0 {
		return nil, ir.Unsupportedf("sparse initializers")
	}
	for _, tp := range gp.Initializer {
		t, err := decodeTensor(tp, d.dir)
		if err != nil {
			return nil, err
		}
		v := &ir.Value{Name: tp.GetName(), Type: t.Type(), Const: t}
		if err := d.define(v, "initializer"); err != nil {
			return nil, err
		}
	}
	for _, vi := range gp.Input {
		if c, ok := d.values[vi.GetName()]; ok && c.Const != nil {
			// An initializer listed as an input (IR version 3): a constant.
			continue
		}
		v, err := valueFromInfo(vi)
		if err != nil {
			return nil, err
		}
		if err := d.define(v, "graph input"); err != nil {
			return nil, err
		}
		g.Inputs = append(g.Inputs, v)
	}
	for i, np := range gp.Node {
		n, err := d.node(np, i)
		if err != nil {
			return nil, err
		}
		g.Nodes = append(g.Nodes, n)
	}
	for _, vi := range gp.Output {
		v, ok := d.values[vi.GetName()]
		if !ok {
			return nil, ir.Invalidf("graph output %q is never defined", vi.GetName())
		}
		g.Outputs = append(g.Outputs, v)
	}
	if len(g.Outputs) == 0 {
		return nil, ir.Invalidf("graph has no outputs")
	}
	if err := g.InferTypes(); err != nil {
		return nil, err
	}
	if err := checkDeclared(gp.Output, d.values); err != nil {
		return nil, err
	}
	return g, nil
}

// valueFromInfo makes a graph input from its ValueInfoProto.
func valueFromInfo(vi *onnxpb.ValueInfoProto) (*ir.Value, error) {
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return nil, ir.Unsupportedf("graph input %q is not a tensor", vi.GetName())
	}
	dt, err := dtypeOf(tt.GetElemType())
	if err != nil {
		return nil, ir.Prefix(err, "graph input %q", vi.GetName())
	}
	v := &ir.Value{Name: vi.GetName(), Type: ir.Type{DType: dt}}
	if tt.Shape == nil {
		return v, nil // unknown rank
	}
	v.Type.Shape = make(ir.Shape, len(tt.Shape.Dim))
	named := false
	names := make([]string, len(tt.Shape.Dim))
	for i, dim := range tt.Shape.Dim {
		switch x := dim.Value.(type) {
		case *onnxpb.TensorShapeProto_Dimension_DimValue:
			if x.DimValue < 0 || x.DimValue > ir.MaxElements {
				return nil, ir.Invalidf("graph input %q: dimension %d is %d", vi.GetName(), i, x.DimValue)
			}
			v.Type.Shape[i] = int(x.DimValue)
		case *onnxpb.TensorShapeProto_Dimension_DimParam:
			v.Type.Shape[i], names[i], named = -1, x.DimParam, true
		default:
			v.Type.Shape[i] = -1
		}
	}
	if named {
		v.DimNames = names
	}
	return v, nil
}

// node decodes the i-th node.
func (d *decoder) node(np *onnxpb.NodeProto, i int) (*ir.Node, error) {
	name, opType := np.GetName(), np.GetOpType()
	if name == "" {
		name = fmt.Sprintf("%s_%d", opType, i)
	}
	fail := func(err error) (*ir.Node, error) { return nil, ir.AtNode(err, name, opType) }
	if dom := np.GetDomain(); dom != "" && dom != "ai.onnx" {
		return fail(ir.Unsupportedf("operator domain %q", dom))
	}
	c, ok := codecFor(opType)
	if !ok {
		return fail(ir.Unsupportedf("operator %s", opType))
	}
	a, err := newAttrs(np)
	if err != nil {
		return fail(err)
	}
	nOut := len(np.Output)
	for nOut > 0 && np.Output[nOut-1] == "" {
		nOut--
	}
	ctx := &nodeCtx{Opset: d.opset, Attrs: a, NumIn: len(np.Input), NumOut: nOut}
	op, err := c.decode(ctx)
	if err == nil {
		err = a.err
	}
	if err == nil {
		if u := a.unused(); u != "" {
			err = ir.Unsupportedf("attribute %q", u)
		}
	}
	if err != nil {
		return fail(err)
	}
	n := &ir.Node{Name: name, Op: op}
	for _, in := range np.Input {
		if in == "" {
			n.Inputs = append(n.Inputs, nil)
			continue
		}
		v, ok := d.values[in]
		if !ok {
			return fail(ir.Invalidf("input %q is not defined before this node", in))
		}
		n.Inputs = append(n.Inputs, v)
	}
	for j, out := range np.Output[:nOut] {
		if out == "" {
			out = fmt.Sprintf("%s:%d", name, j)
		}
		v := &ir.Value{Name: out}
		if err := d.define(v, "output"); err != nil {
			return fail(err)
		}
		n.Outputs = append(n.Outputs, v)
	}
	return n, nil
}

// checkDeclared compares the declared element types of graph outputs with
// the inferred ones.
func checkDeclared(outs []*onnxpb.ValueInfoProto, values map[string]*ir.Value) error {
	for _, vi := range outs {
		tt := vi.GetType().GetTensorType()
		if tt == nil || tt.GetElemType() == 0 {
			continue
		}
		dt, err := dtypeOf(tt.GetElemType())
		if err != nil {
			return ir.Prefix(err, "graph output %q", vi.GetName())
		}
		if got := values[vi.GetName()].Type.DType; got != dt {
			return ir.Invalidf("graph output %q: declared %v, inferred %v", vi.GetName(), dt, got)
		}
	}
	return nil
}
