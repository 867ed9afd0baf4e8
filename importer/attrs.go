package importer

import (
	"math"

	"github.com/cnnc/cnnc/importer/onnxpb"
	"github.com/cnnc/cnnc/ir"
)

// attrs reads the attributes of one ONNX node with type checking. The first
// error sticks (later reads return defaults) and is reported by the
// decoder, which also refuses attributes that no read consumed.
type attrs struct {
	m    map[string]*onnxpb.AttributeProto
	used map[string]bool
	err  error
}

func newAttrs(n *onnxpb.NodeProto) (*attrs, error) {
	a := &attrs{m: map[string]*onnxpb.AttributeProto{}, used: map[string]bool{}}
	for _, p := range n.GetAttribute() {
		if _, dup := a.m[p.GetName()]; dup {
			return nil, ir.Invalidf("attribute %q is given twice", p.GetName())
		}
		if p.GetRefAttrName() != "" {
			return nil, ir.Unsupportedf("attribute %q refers to a function attribute", p.GetName())
		}
		a.m[p.GetName()] = p
	}
	return a, nil
}

// get returns the attribute name if present and of type want, marking it used.
func (a *attrs) get(name string, want onnxpb.AttributeProto_AttributeType) *onnxpb.AttributeProto {
	p, ok := a.m[name]
	if !ok || a.err != nil {
		return nil
	}
	a.used[name] = true
	if got := attrType(p); got != want {
		a.err = ir.Invalidf("attribute %q has type %v, want %v", name, got, want)
		return nil
	}
	return p
}

// attrType returns the attribute's declared type, or for old files that
// leave it unset, the type implied by the one field that is filled in.
func attrType(p *onnxpb.AttributeProto) onnxpb.AttributeProto_AttributeType {
	if p.Type != nil {
		return p.GetType()
	}
	switch {
	case p.F != nil:
		return onnxpb.AttributeProto_FLOAT
	case p.I != nil:
		return onnxpb.AttributeProto_INT
	case p.S != nil:
		return onnxpb.AttributeProto_STRING
	case p.T != nil:
		return onnxpb.AttributeProto_TENSOR
	case len(p.Floats) > 0:
		return onnxpb.AttributeProto_FLOATS
	case len(p.Ints) > 0:
		return onnxpb.AttributeProto_INTS
	case len(p.Strings) > 0:
		return onnxpb.AttributeProto_STRINGS
	}
	return onnxpb.AttributeProto_UNDEFINED
}

// Has reports whether the attribute is present (without consuming it).
func (a *attrs) Has(name string) bool { _, ok := a.m[name]; return ok }

// Ignore marks attributes that are accepted and have no effect (such as
// BatchNormalization's spatial=1 before opset 9).
func (a *attrs) Ignore(names ...string) {
	for _, n := range names {
		a.used[n] = true
	}
}

// Int returns an INT attribute, or def when absent. Values outside the
// int32 range are refused: no ONNX CNN attribute needs them.
func (a *attrs) Int(name string, def int) int {
	p := a.get(name, onnxpb.AttributeProto_INT)
	if p == nil {
		return def
	}
	v := p.GetI()
	if v < math.MinInt32 || v > math.MaxInt32 {
		a.err = ir.Invalidf("attribute %q = %d is out of range", name, v)
		return def
	}
	return int(v)
}

// Ints returns an INTS attribute, or def when absent.
func (a *attrs) Ints(name string, def []int) []int {
	p := a.get(name, onnxpb.AttributeProto_INTS)
	if p == nil {
		return def
	}
	out := make([]int, len(p.Ints))
	for i, v := range p.Ints {
		if v < math.MinInt32 || v > math.MaxInt32 {
			a.err = ir.Invalidf("attribute %q[%d] = %d is out of range", name, i, v)
			return def
		}
		out[i] = int(v)
	}
	return out
}

// WideInts returns an INTS attribute without the int32 range limit of Ints
// (Slice's ends are often INT64_MAX), or def when absent.
func (a *attrs) WideInts(name string, def []int) []int {
	p := a.get(name, onnxpb.AttributeProto_INTS)
	if p == nil {
		return def
	}
	out := make([]int, len(p.Ints))
	for i, v := range p.Ints {
		out[i] = int(min(max(v, math.MinInt), math.MaxInt))
	}
	return out
}

// Float returns a FLOAT attribute, or def when absent.
func (a *attrs) Float(name string, def float32) float32 {
	p := a.get(name, onnxpb.AttributeProto_FLOAT)
	if p == nil {
		return def
	}
	return p.GetF()
}

// Floats returns a FLOATS attribute, or def when absent.
func (a *attrs) Floats(name string, def []float32) []float32 {
	p := a.get(name, onnxpb.AttributeProto_FLOATS)
	if p == nil {
		return def
	}
	return append([]float32{}, p.Floats...)
}

// String returns a STRING attribute, or def when absent.
func (a *attrs) String(name, def string) string {
	p := a.get(name, onnxpb.AttributeProto_STRING)
	if p == nil {
		return def
	}
	return string(p.GetS())
}

// Tensor returns a TENSOR attribute decoded to an ir.Tensor, or nil when
// absent. External data is not allowed in attributes.
func (a *attrs) Tensor(name string) *ir.Tensor {
	p := a.get(name, onnxpb.AttributeProto_TENSOR)
	if p == nil {
		return nil
	}
	if p.T == nil {
		a.err = ir.Invalidf("attribute %q has type TENSOR but holds no tensor", name)
		return nil
	}
	t, err := decodeTensor(p.GetT(), "")
	if err != nil {
		a.err = ir.Invalidf("attribute %q: %v", name, err)
		return nil
	}
	return t
}

// unused returns the name of an attribute no read consumed, or "".
func (a *attrs) unused() string {
	first := ""
	for name := range a.m {
		if !a.used[name] && (first == "" || name < first) {
			first = name
		}
	}
	return first
}

// attrWriter collects the attributes of one node being encoded, in order.
type attrWriter struct{ list []*onnxpb.AttributeProto }

func (w *attrWriter) add(name string, t onnxpb.AttributeProto_AttributeType) *onnxpb.AttributeProto {
	p := &onnxpb.AttributeProto{Name: &name, Type: t.Enum()}
	w.list = append(w.list, p)
	return p
}

// Int writes an INT attribute.
func (w *attrWriter) Int(name string, v int) {
	x := int64(v)
	w.add(name, onnxpb.AttributeProto_INT).I = &x
}

// Ints writes an INTS attribute.
func (w *attrWriter) Ints(name string, v []int) {
	p := w.add(name, onnxpb.AttributeProto_INTS)
	for _, x := range v {
		p.Ints = append(p.Ints, int64(x))
	}
}

// Float writes a FLOAT attribute.
func (w *attrWriter) Float(name string, v float32) { w.add(name, onnxpb.AttributeProto_FLOAT).F = &v }

// Floats writes a FLOATS attribute.
func (w *attrWriter) Floats(name string, v []float32) {
	w.add(name, onnxpb.AttributeProto_FLOATS).Floats = append([]float32{}, v...)
}

// String writes a STRING attribute.
func (w *attrWriter) String(name, v string) { w.add(name, onnxpb.AttributeProto_STRING).S = []byte(v) }

// Tensor writes a TENSOR attribute.
func (w *attrWriter) Tensor(name string, t *ir.Tensor) {
	w.add(name, onnxpb.AttributeProto_TENSOR).T = encodeTensor(t, "")
}
