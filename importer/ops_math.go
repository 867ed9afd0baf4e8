package importer

import "github.com/cnnc/cnnc/ir"

// mathCodecs holds the codecs of the math family.
var mathCodecs = map[string]codec{
	"Softmax": softmaxCodec(
		func(axis int, coerce bool) ir.Op { return &ir.Softmax{Axis: axis, Coerce2D: coerce} },
		func(op ir.Op) (int, bool) { s := op.(*ir.Softmax); return s.Axis, s.Coerce2D }),
	"LogSoftmax": softmaxCodec(
		func(axis int, coerce bool) ir.Op { return &ir.LogSoftmax{Axis: axis, Coerce2D: coerce} },
		func(op ir.Op) (int, bool) { s := op.(*ir.LogSoftmax); return s.Axis, s.Coerce2D }),
	"Gemm": {
		decode: func(c *nodeCtx) (ir.Op, error) {
			a := c.Attrs
			if c.Opset < 11 && c.NumIn < 3 {
				return nil, ir.Invalidf("Gemm has %d inputs; input C is required before opset 11", c.NumIn)
			}
			// broadcast (opset < 7) allowed C to broadcast; from opset 7 C
			// always broadcasts unidirectionally, which covers both values.
			a.Ignore("broadcast")
			transA, err := mathFlag(a, "transA", false)
			if err != nil {
				return nil, err
			}
			transB, err := mathFlag(a, "transB", false)
			if err != nil {
				return nil, err
			}
			return &ir.Gemm{Alpha: a.Float("alpha", 1), Beta: a.Float("beta", 1), TransA: transA, TransB: transB}, nil
		},
		encode: func(op ir.Op, _ int, w *attrWriter) error {
			g := op.(*ir.Gemm)
			w.Float("alpha", g.Alpha)
			w.Float("beta", g.Beta)
			w.Int("transA", mathBool(g.TransA))
			w.Int("transB", mathBool(g.TransB))
			return nil
		},
	},
	"MatMul": noAttrs(func() ir.Op { return &ir.MatMul{} }),
	"Add":    mathBinaryCodec(func() ir.Op { return &ir.Add{} }),
	"Sub":    mathBinaryCodec(func() ir.Op { return &ir.Sub{} }),
	"Mul":    mathBinaryCodec(func() ir.Op { return &ir.Mul{} }),
	"Div":    mathBinaryCodec(func() ir.Op { return &ir.Div{} }),
	"Pow":    mathBinaryCodec(func() ir.Op { return &ir.Pow{} }),
	"Sum":    mathVariadicCodec(func() ir.Op { return &ir.Sum{} }),
	"Mean":   mathVariadicCodec(func() ir.Op { return &ir.Mean{} }),
	"Max":    mathVariadicCodec(func() ir.Op { return &ir.Max{} }),
	"Min":    mathVariadicCodec(func() ir.Op { return &ir.Min{} }),
	"ReduceSum": {
		decode: func(c *nodeCtx) (ir.Op, error) {
			a := c.Attrs
			keep, err := mathFlag(a, "keepdims", true)
			if err != nil {
				return nil, err
			}
			r := &ir.ReduceSum{KeepDims: keep}
			if c.Opset < 13 {
				if c.NumIn > 1 {
					return nil, ir.Invalidf("ReduceSum has %d inputs; axes is an input only from opset 13", c.NumIn)
				}
				r.Axes = a.Ints("axes", nil)
				return r, nil
			}
			if a.Has("axes") {
				return nil, ir.Invalidf("ReduceSum has an axes attribute; from opset 13 axes is input 1")
			}
			if r.NoopWithEmptyAxes, err = mathFlag(a, "noop_with_empty_axes", false); err != nil {
				return nil, err
			}
			return r, nil
		},
		encode: func(op ir.Op, opset int, w *attrWriter) error {
			r := op.(*ir.ReduceSum)
			if opset < 13 {
				if r.NoopWithEmptyAxes && len(r.Axes) == 0 {
					return ir.Unsupportedf("ReduceSum with noop_with_empty_axes and no axes cannot be written at opset %d (from opset 13)", opset)
				}
				if r.Axes != nil {
					w.Ints("axes", r.Axes)
				}
				w.Int("keepdims", mathBool(r.KeepDims))
				return nil
			}
			if r.Axes != nil {
				return ir.Unsupportedf("ReduceSum with attribute axes %v cannot be written at opset %d (axes is an input from opset 13)", r.Axes, opset)
			}
			w.Int("keepdims", mathBool(r.KeepDims))
			w.Int("noop_with_empty_axes", mathBool(r.NoopWithEmptyAxes))
			return nil
		},
	},
	"ReduceMean": {
		// The axes of ReduceMean are an attribute up to opset 17 (an input
		// from opset 18, which cnnc does not read).
		decode: func(c *nodeCtx) (ir.Op, error) {
			a := c.Attrs
			keep, err := mathFlag(a, "keepdims", true)
			if err != nil {
				return nil, err
			}
			if c.NumIn > 1 {
				return nil, ir.Invalidf("ReduceMean has %d inputs, want 1 (axes is an attribute before opset 18)", c.NumIn)
			}
			return &ir.ReduceMean{Axes: a.Ints("axes", nil), KeepDims: keep}, nil
		},
		encode: func(op ir.Op, _ int, w *attrWriter) error {
			r := op.(*ir.ReduceMean)
			if r.Axes != nil {
				w.Ints("axes", r.Axes)
			}
			w.Int("keepdims", mathBool(r.KeepDims))
			return nil
		},
	},
}

// softmaxCodec is the codec of Softmax and LogSoftmax. Before opset 13 the
// input is coerced to 2-D at axis (default 1); from 13 the op runs along
// axis (default -1). Encoding to the other form is allowed only when the
// two agree whatever the rank: when Axis is -1, the last axis.
func softmaxCodec(make func(axis int, coerce bool) ir.Op, fields func(ir.Op) (int, bool)) codec {
	return codec{
		decode: func(c *nodeCtx) (ir.Op, error) {
			if c.Opset < 13 {
				return make(c.Attrs.Int("axis", 1), true), nil
			}
			return make(c.Attrs.Int("axis", -1), false), nil
		},
		encode: func(op ir.Op, opset int, w *attrWriter) error {
			axis, coerce := fields(op)
			if coerce != (opset < 13) && axis != -1 {
				if coerce {
					return ir.Unsupportedf("%s coercing its input to 2-D at axis %d cannot be written at opset %d (from opset 13 it runs along one axis)", op.OpType(), axis, opset)
				}
				return ir.Unsupportedf("%s along axis %d cannot be written at opset %d (before opset 13 it coerces its input to 2-D)", op.OpType(), axis, opset)
			}
			w.Int("axis", axis)
			return nil
		},
	}
}

// mathBinaryCodec is the codec of Add, Sub, Mul, Div and Pow. Their
// broadcast and axis attributes (legacy broadcasting, where B aligns with A
// at axis) exist only before opset 7, which cnnc does not read; a model that
// still carries them is refused rather than misread.
func mathBinaryCodec(make func() ir.Op) codec {
	return codec{
		decode: func(c *nodeCtx) (ir.Op, error) {
			for _, name := range []string{"broadcast", "axis", "consumed_inputs"} {
				if c.Attrs.Has(name) {
					return nil, ir.Invalidf("attribute %q exists only before opset 7 (legacy broadcasting); the model is opset %d, where broadcasting is numpy-style", name, c.Opset)
				}
			}
			return make(), nil
		},
		encode: func(ir.Op, int, *attrWriter) error { return nil },
	}
}

// mathVariadicCodec is the codec of Sum, Mean, Max and Min, which have no
// attributes and take one or more inputs.
func mathVariadicCodec(make func() ir.Op) codec {
	return codec{
		decode: func(c *nodeCtx) (ir.Op, error) {
			if c.NumIn < 1 {
				return nil, ir.Invalidf("node has no inputs, want 1 or more")
			}
			return make(), nil
		},
		encode: func(ir.Op, int, *attrWriter) error { return nil },
	}
}

// mathFlag reads a 0/1 INT attribute as a bool, refusing other values.
func mathFlag(a *attrs, name string, def bool) (bool, error) {
	v := a.Int(name, mathBool(def))
	if v != 0 && v != 1 {
		return def, ir.Invalidf("attribute %q = %d, want 0 or 1", name, v)
	}
	return v == 1, nil
}

// mathBool returns 1 for true and 0 for false.
func mathBool(b bool) int {
	if b {
		return 1
	}
	return 0
}
