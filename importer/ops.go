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
	"PRelu":   noAttrs(func() ir.Op { return &ir.PRelu{} }),
	"Sigmoid": noAttrs(func() ir.Op { return &ir.Sigmoid{} }),
	"Tanh":    noAttrs(func() ir.Op { return &ir.Tanh{} }),
	"Sqrt":    noAttrs(func() ir.Op { return &ir.Sqrt{} }),
	"Exp":     noAttrs(func() ir.Op { return &ir.Exp{} }),
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
