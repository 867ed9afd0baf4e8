package ir

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// BuilderOpset is the ONNX opset of graphs made by a Builder.
const BuilderOpset = 17

// Builder assembles a Graph layer by layer, the way the papers' layer
// tables read. Layers find their input channels from the value they are
// applied to (as PyTorch's lazy modules do), create their weights from the
// builder's seeded generator, and are named by the scope they are applied
// in, as torchvision's state_dict keys are ("layer1.0.conv1", whose weight
// is "layer1.0.conv1.weight").
//
// A Builder keeps the first error and makes later calls no-ops, as
// bufio.Scanner does: build the whole network, then check Graph's error,
// which names the layer that failed.
type Builder struct {
	g     *Graph
	rng   *rand.Rand
	err   error
	scope []string
	names map[string]bool
	known map[*Value]*Tensor // Constant outputs, for inference
}

// NewBuilder starts an empty graph of the given name whose weights are drawn
// from a generator seeded with seed.
func NewBuilder(name string, seed uint64) *Builder {
	return &Builder{
		g:     &Graph{Name: name, Opset: BuilderOpset},
		rng:   rand.New(rand.NewPCG(seed, 0x636e6e63)),
		names: map[string]bool{},
		known: map[*Value]*Tensor{},
	}
}

// Err returns the first error the builder met, or nil.
func (b *Builder) Err() error { return b.err }

// fail records err at the current scope, if no error was recorded yet.
func (b *Builder) fail(err error) {
	if b.err != nil {
		return
	}
	if e, ok := err.(*Error); ok && e.Node != "" {
		b.err = err // already names the node, which is the layer
		return
	}
	b.err = Prefix(err, "layer %q", b.path(""))
}

// path returns the current scope joined with dots, plus leaf if given.
func (b *Builder) path(leaf string) string {
	parts := b.scope
	if leaf != "" {
		parts = append(append([]string{}, parts...), leaf)
	}
	return strings.Join(parts, ".")
}

// unique returns name, or name with a numeric suffix if it is taken.
func (b *Builder) unique(name string) string {
	if name == "" {
		name = "value"
	}
	s := name
	for i := 1; b.names[s]; i++ {
		s = name + "_" + strconv.Itoa(i)
	}
	b.names[s] = true
	return s
}

// Input adds a float32 graph input with the given dimensions; a negative
// dimension is a symbolic batch dimension named "N".
func (b *Builder) Input(name string, shape ...int) *Value {
	v := &Value{Name: b.unique(name), Type: Type{DType: Float32, Shape: Shape(shape).Clone()}}
	for i, d := range shape {
		if d < 0 {
			if v.DimNames == nil {
				v.DimNames = make([]string, len(shape))
			}
			v.DimNames[i] = "N"
		}
	}
	b.g.Inputs = append(b.g.Inputs, v)
	return v
}

// Output marks values as graph outputs, in order.
func (b *Builder) Output(vs ...*Value) {
	for _, v := range vs {
		if v != nil {
			b.g.Outputs = append(b.g.Outputs, v)
		}
	}
}

// Graph returns the built graph after verifying it, or the first error.
func (b *Builder) Graph() (*Graph, error) {
	if b.err != nil {
		return nil, b.err
	}
	if len(b.g.Outputs) == 0 {
		return nil, Invalidf("graph %q has no outputs", b.g.Name)
	}
	if err := Verify(b.g); err != nil {
		return nil, err
	}
	return b.g, nil
}

// Apply runs layer l on x inside the scope name (empty: the current one)
// and returns its output.
func (b *Builder) Apply(name string, l Layer, x *Value) *Value {
	if b.err != nil || x == nil {
		return x
	}
	if name != "" {
		b.scope = append(b.scope, name)
		defer func() { b.scope = b.scope[:len(b.scope)-1] }()
	}
	return l(b, x)
}

// Node appends a node applying op to inputs (nil for an omitted optional
// input), named by the current scope (plus suffix when given), infers its
// output types and returns its outputs. After an error it returns nil
// values and records nothing.
func (b *Builder) Node(suffix string, op Op, nout int, inputs ...*Value) []*Value {
	if b.err != nil {
		return make([]*Value, nout)
	}
	name := b.unique(b.path(suffix))
	n := &Node{Name: name, Op: op, Inputs: inputs}
	for i := range nout {
		vn := name
		if i > 0 {
			vn = b.unique(name + ":" + strconv.Itoa(i))
		}
		n.Outputs = append(n.Outputs, &Value{Name: vn})
	}
	if err := InferNode(n, b.known); err != nil {
		b.fail(err)
		return make([]*Value, nout)
	}
	b.g.Nodes = append(b.g.Nodes, n)
	return n.Outputs
}

// Node1 is Node for an op with one output.
func (b *Builder) Node1(suffix string, op Op, inputs ...*Value) *Value {
	return b.Node(suffix, op, 1, inputs...)[0]
}

// Const adds a constant named by the current scope and leaf.
func (b *Builder) Const(leaf string, t *Tensor) *Value {
	return &Value{Name: b.unique(b.path(leaf)), Type: t.Type(), Const: t}
}

// Uniform adds a float32 parameter of the given shape, drawn uniformly
// from [-bound, bound): PyTorch's default initialization of convolution
// and linear layers has bound 1/sqrt(fan_in).
func (b *Builder) Uniform(leaf string, bound float64, shape ...int) *Value {
	t, err := NewTensor(Float32, Shape(shape))
	if err != nil {
		b.fail(err)
		return nil
	}
	for i := range t.F32 {
		t.F32[i] = float32((2*b.rng.Float64() - 1) * bound)
	}
	return b.Const(leaf, t)
}

// Fill adds a float32 parameter of the given shape with every element v.
func (b *Builder) Fill(leaf string, v float32, shape ...int) *Value {
	t, err := NewTensor(Float32, Shape(shape))
	if err != nil {
		b.fail(err)
		return nil
	}
	for i := range t.F32 {
		t.F32[i] = v
	}
	return b.Const(leaf, t)
}

// fanInBound is PyTorch's default init bound for a layer with fan-in n.
func fanInBound(n int) float64 { return 1 / math.Sqrt(float64(n)) }
