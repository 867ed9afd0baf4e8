package importer

import (
	"fmt"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"github.com/cnnc/cnnc/importer/onnxpb"
	"github.com/cnnc/cnnc/ir"
)

// The ONNX versions the importer reads. Opset 6 is the last with legacy
// broadcasting (the broadcast and axis attributes of Add, Sub, Mul, Div and
// Pow, Gemm's broadcast), per-channel PRelu slopes and the is_test
// attribute of BatchNormalization and Dropout; its codecs translate those
// into the IR's forms, which are opset 7's (numpy broadcasting), and refuse
// what has no inference equivalent. Such a graph keeps Opset 6 but is
// exported at opset 7 (see encodeModel).
const (
	MinIRVersion = 3
	MaxIRVersion = 9
	MinOpset     = 6
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
	d := &decoder{opset: opset, dir: dir, values: map[string]*ir.Value{}, known: map[*ir.Value]*ir.Tensor{}}
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

	// For nodeCtx.FixInputs: how many of the nodes decoded so far have
	// their output types inferred, and the values of the Constant node
	// outputs among them (see typeNodes).
	typed int
	known map[*ir.Value]*ir.Tensor
	// The constants made by nodeCtx.Reshaped, in order, and by source
	// value and shape; they are named uniquely once the graph is decoded.
	made     []*ir.Value
	reshapes map[reshapeKey]*ir.Value
}

// reshapeKey identifies a constant made by reshaping a known value.
type reshapeKey struct {
	src   *ir.Value
	shape string
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
		n, err := d.node(np, i, g.Nodes)
		if err != nil {
			return nil, err
		}
		g.Nodes = append(g.Nodes, n)
	}
	d.nameMade()
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

// node decodes the i-th node; prev are the nodes before it.
func (d *decoder) node(np *onnxpb.NodeProto, i int, prev []*ir.Node) (*ir.Node, error) {
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
	ctx := &nodeCtx{Opset: d.opset, Attrs: a, NumIn: len(np.Input), NumOut: nOut, d: d}
	op, err := decodeOp(c, ctx)
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
	if ctx.FixInputs != nil {
		if err := d.typeNodes(prev); err != nil {
			return nil, err // located at the earlier node
		}
		in, err := ctx.FixInputs(n.Inputs)
		if err != nil {
			return fail(err)
		}
		n.Inputs = in
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

// decodeOp builds a node's op through its codec: the codec's decode, then
// the first attribute error (which sticks in ctx.Attrs), then the refusal of
// any attribute that no read consumed.
func decodeOp(c codec, ctx *nodeCtx) (ir.Op, error) {
	op, err := c.decode(ctx)
	if err == nil {
		err = ctx.Attrs.err
	}
	if err == nil {
		if u := ctx.Attrs.unused(); u != "" {
			err = ir.Unsupportedf("attribute %q", u)
		}
	}
	if err != nil {
		return nil, err
	}
	return op, nil
}

// typeNodes infers the output types of the nodes not yet typed, in order, as
// ir.Graph.InferTypes does: the value of a Constant node's output is known
// to the nodes after it. The decoder does this only before calling a
// nodeCtx.FixInputs, which needs its inputs' types (so an inference error
// in an earlier node can then come before a decoding error in a later
// one); the decoded graph's InferTypes types every node again.
func (d *decoder) typeNodes(nodes []*ir.Node) error {
	for _, n := range nodes[d.typed:] {
		if err := ir.InferNode(n, d.known); err != nil {
			return err
		}
	}
	d.typed = len(nodes)
	return nil
}

// reshaped implements nodeCtx.Reshaped.
func (d *decoder) reshaped(v *ir.Value, t *ir.Tensor, s ir.Shape) *ir.Value {
	key := reshapeKey{v, fmt.Sprint(s)}
	if c, ok := d.reshapes[key]; ok {
		return c
	}
	c := reshapedConst(v.Name, t, s)
	if d.reshapes == nil {
		d.reshapes = map[reshapeKey]*ir.Value{}
	}
	d.reshapes[key] = c
	d.made = append(d.made, c)
	return c
}

// reshapedConst returns a new constant named name holding a copy of t's
// elements with shape s.
func reshapedConst(name string, t *ir.Tensor, s ir.Shape) *ir.Value {
	c := t.Clone()
	c.Shape = s.Clone()
	return &ir.Value{Name: name, Type: c.Type(), Const: c}
}

// nameMade gives the constants made by Reshaped names that no ONNX value of
// the model has (nor each other): their source's name with a suffix.
func (d *decoder) nameMade() {
	mine := map[string]bool{}
	for _, c := range d.made {
		base := c.Name
		for i := 1; ; i++ {
			c.Name = fmt.Sprintf("%s_%d", base, i)
			if _, taken := d.values[c.Name]; !taken && !mine[c.Name] {
				break
			}
		}
		mine[c.Name] = true
	}
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
