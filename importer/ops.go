package importer

import (
	"math"

	"github.com/cnnc/cnnc/ir"
)

// codec translates one ONNX op type between NodeProto attributes and a typed
// ir.Op, in both directions.
type codec struct {
	// decode builds the typed op from the node's attributes, interpreting
	// them under c.Opset.
	decode func(c *nodeCtx) (ir.Op, error)
	// encode writes op's attributes for a model of the given opset, or
	// fails when that opset cannot express the op.
	encode func(op ir.Op, opset int, w *attrWriter) error
}

// nodeCtx is what a decoder sees of one ONNX node.
type nodeCtx struct {
	Opset int    // default-domain opset of the model
	Attrs *attrs // the node's attributes
	NumIn int    // number of inputs, counting omitted optional ones
	// NumOut is the number of outputs up to the last one with a name.
	NumOut int

	// FixInputs, when decode sets it, rewrites the node's inputs before the
	// node joins the graph. It is how a codec expresses an old opset's
	// semantics that depend on the inputs' shapes in the IR's terms, such
	// as legacy broadcasting before opset 7 (B aligned with A at an axis),
	// which becomes numpy broadcasting of a reshaped B. It gets the node's
	// inputs (nil for an omitted one) with their types inferred: before
	// calling it the decoder infers the types of the graph decoded so far.
	// It returns the inputs the IR node takes, or an error about the node,
	// for example when the inputs' shapes break the old opset's rules.
	// New constants it needs come from Reshaped.
	FixInputs func(in []*ir.Value) ([]*ir.Value, error)

	d *decoder // the model's decoder; nil when a test decodes attributes only
}

// Known returns the value of v when it is known before running, that is
// when v is a constant (an initializer) or the output of a Constant node,
// else nil. It is meant for FixInputs.
func (c *nodeCtx) Known(v *ir.Value) *ir.Tensor {
	if v == nil {
		return nil
	}
	if v.Const != nil {
		return v.Const
	}
	if c.d == nil {
		return nil
	}
	return c.d.known[v]
}

// Reshaped returns a constant holding the elements of t, the known value
// of v, with shape s (of t's element count), named after v. It is made once
// per v and shape, so nodes that reshape the same weight alike share it.
// It is meant for FixInputs.
func (c *nodeCtx) Reshaped(v *ir.Value, t *ir.Tensor, s ir.Shape) *ir.Value {
	if c.d == nil {
		return reshapedConst(v.Name, t, s)
	}
	return c.d.reshaped(v, t, s)
}

// families holds the codec tables, one per op family (one file each).
var families = []map[string]codec{
	unaryCodecs,
	constCodecs,
	convCodecs,
	mathCodecs,
	shapeCodecs,
}

// codecFor returns the codec for an ONNX op type.
func codecFor(opType string) (codec, bool) {
	for _, f := range families {
		if c, ok := f[opType]; ok {
			return c, true
		}
	}
	return codec{}, false
}

// noAttrs is the codec of an op without attributes.
func noAttrs(make func() ir.Op) codec {
	return codec{
		decode: func(*nodeCtx) (ir.Op, error) { return make(), nil },
		encode: func(ir.Op, int, *attrWriter) error { return nil },
	}
}

var unaryCodecs = map[string]codec{
	"Relu":    noAttrs(func() ir.Op { return &ir.Relu{} }),
	"Sigmoid": noAttrs(func() ir.Op { return &ir.Sigmoid{} }),
	"Tanh":    noAttrs(func() ir.Op { return &ir.Tanh{} }),
	"Sqrt":    noAttrs(func() ir.Op { return &ir.Sqrt{} }),
	"Exp":     noAttrs(func() ir.Op { return &ir.Exp{} }),
	"PRelu": {
		decode: func(c *nodeCtx) (ir.Op, error) {
			if c.Opset < 7 {
				c.FixInputs = func(in []*ir.Value) ([]*ir.Value, error) { return preluLegacySlope(c, in) }
			}
			return &ir.PRelu{}, nil
		},
		encode: func(ir.Op, int, *attrWriter) error { return nil },
	},
	"LeakyRelu": {
		decode: func(c *nodeCtx) (ir.Op, error) { return &ir.LeakyRelu{Alpha: c.Attrs.Float("alpha", 0.01)}, nil },
		encode: func(op ir.Op, _ int, w *attrWriter) error {
			w.Float("alpha", op.(*ir.LeakyRelu).Alpha)
			return nil
		},
	},
	"Elu": {
		decode: func(c *nodeCtx) (ir.Op, error) { return &ir.Elu{Alpha: c.Attrs.Float("alpha", 1)}, nil },
		encode: func(op ir.Op, _ int, w *attrWriter) error {
			w.Float("alpha", op.(*ir.Elu).Alpha)
			return nil
		},
	},
	"Selu": {
		decode: func(c *nodeCtx) (ir.Op, error) {
			return &ir.Selu{
				Alpha: c.Attrs.Float("alpha", 1.67326319217681884765625),
				Gamma: c.Attrs.Float("gamma", 1.05070102214813232421875),
			}, nil
		},
		encode: func(op ir.Op, _ int, w *attrWriter) error {
			w.Float("alpha", op.(*ir.Selu).Alpha)
			w.Float("gamma", op.(*ir.Selu).Gamma)
			return nil
		},
	},
	"Clip": {
		decode: func(c *nodeCtx) (ir.Op, error) {
			lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
			if c.Opset < 11 {
				lo, hi = c.Attrs.Float("min", lo), c.Attrs.Float("max", hi)
			}
			return &ir.Clip{Min: lo, Max: hi}, nil
		},
		encode: func(op ir.Op, opset int, w *attrWriter) error {
			c := op.(*ir.Clip)
			if opset < 11 {
				w.Float("min", c.Min)
				w.Float("max", c.Max)
			} else if !math.IsInf(float64(c.Min), -1) || !math.IsInf(float64(c.Max), 1) {
				return ir.Unsupportedf("Clip with attribute bounds cannot be written at opset %d (bounds are inputs from opset 11)", opset)
			}
			return nil
		},
	},
}

// preluLegacySlope translates PRelu's slope before opset 7, where it has
// one element (shared) or one per channel, channels being axis 1 of X
// [N, C, ...], into the IR's unidirectional broadcasting (opset 7's): a
// per-channel slope becomes [C, 1, ..., 1] of rank(X)-1, a reshaped copy
// when it is known before running. A computed slope that needs reshaping is
// refused.
func preluLegacySlope(c *nodeCtx, in []*ir.Value) ([]*ir.Value, error) {
	if len(in) != 2 || in[0] == nil || in[1] == nil {
		return in, nil // the op's Infer reports it
	}
	x, s := in[0].Type.Shape, in[1].Type.Shape
	n := -1 // slope elements, -1 when unknown
	if s != nil {
		n = s.NumElements()
	}
	switch {
	case n == 1:
		return in, nil // shared, as numpy broadcasts it
	case x == nil || n < 0:
		return nil, ir.Unsupportedf("PRelu before opset 7 with X shape %v and slope shape %v: the per-channel slope needs both known", x, s)
	case len(x) < 2:
		return nil, ir.Invalidf("slope has %d elements, X shape %v has no channel axis: before opset 7 the slope has 1 element or one per channel", n, x)
	case x[1] >= 0 && n != x[1]:
		return nil, ir.Invalidf("slope shape %v has %d elements, X shape %v has %d channels: before opset 7 the slope has 1 element or one per channel", s, n, x, x[1])
	}
	want := make(ir.Shape, len(x)-1)
	for i := range want {
		want[i] = 1
	}
	want[0] = n
	if s.Equal(want) {
		return in, nil
	}
	t := c.Known(in[1])
	if t == nil {
		return nil, ir.Unsupportedf("PRelu before opset 7 with a computed per-channel slope of shape %v (X shape %v)", s, x)
	}
	return []*ir.Value{in[0], c.Reshaped(in[1], t, want)}, nil
}

var constCodecs = map[string]codec{
	"Constant": {
		decode: func(c *nodeCtx) (ir.Op, error) {
			a := c.Attrs
			var t *ir.Tensor
			switch {
			case a.Has("value"):
				t = a.Tensor("value")
			case a.Has("value_float"):
				t = ir.FromFloat32(ir.Shape{}, []float32{a.Float("value_float", 0)})
			case a.Has("value_floats"):
				v := a.Floats("value_floats", nil)
				t = ir.FromFloat32(ir.Shape{len(v)}, v)
			case a.Has("value_int"):
				t = ir.FromInt64(ir.Shape{}, []int64{int64(a.Int("value_int", 0))})
			case a.Has("value_ints"):
				v := a.Ints("value_ints", nil)
				d := make([]int64, len(v))
				for i, x := range v {
					d[i] = int64(x)
				}
				t = ir.FromInt64(ir.Shape{len(v)}, d)
			case a.Has("sparse_value") || a.Has("value_string") || a.Has("value_strings"):
				return nil, ir.Unsupportedf("Constant with a sparse or string value")
			default:
				return nil, ir.Invalidf("Constant has no value attribute")
			}
			if a.err != nil {
				return nil, a.err
			}
			return &ir.Constant{Value: t}, nil
		},
		encode: func(op ir.Op, _ int, w *attrWriter) error {
			w.Tensor("value", op.(*ir.Constant).Value)
			return nil
		},
	},
}
