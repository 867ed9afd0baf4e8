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
			transA, err := mathFlag(a, "transA", false)
			if err != nil {
				return nil, err
			}
			transB, err := mathFlag(a, "transB", false)
			if err != nil {
				return nil, err
			}
			if c.Opset < 7 {
				if err := gemmLegacyBroadcast(c, transA, transB); err != nil {
					return nil, err
				}
			} else {
				// From opset 7 C always broadcasts unidirectionally; an
				// opset 6 leftover broadcast attribute changes nothing.
				a.Ignore("broadcast")
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

// mathBinaryCodec is the codec of Add, Sub, Mul, Div and Pow. From opset 7
// they broadcast numpy-style, as the IR ops do. Before, their broadcast and
// axis attributes select legacy broadcasting, which mathLegacyBroadcast
// translates; a model of opset 7 or later that still carries them is
// refused rather than misread. Encoding writes no attribute: the exporter
// writes opset 7 or later.
func mathBinaryCodec(make func() ir.Op) codec {
	return codec{
		decode: func(c *nodeCtx) (ir.Op, error) {
			if c.Attrs.Has("consumed_inputs") {
				return nil, ir.Invalidf("attribute \"consumed_inputs\" exists only before opset 6; the model is opset %d", c.Opset)
			}
			if c.Opset < 7 {
				if err := mathLegacyBroadcast(c); err != nil {
					return nil, err
				}
				return make(), nil
			}
			for _, name := range []string{"broadcast", "axis"} {
				if c.Attrs.Has(name) {
					return nil, ir.Invalidf("attribute %q exists only before opset 7 (legacy broadcasting); the model is opset %d, where broadcasting is numpy-style", name, c.Opset)
				}
			}
			return make(), nil
		},
		encode: func(ir.Op, int, *attrWriter) error { return nil },
	}
}

// mathLegacyBroadcast reads the broadcast and axis attributes of a binary
// op before opset 7 and sets c.FixInputs to translate them to numpy
// broadcasting. Legacy broadcasting never changes A (input 0): the result
// has A's shape.
//
//   - broadcast=0 (the default): A and B have equal shapes.
//   - broadcast=1 without axis: B's shape is a suffix of A's (or B has one
//     element), which numpy broadcasting reads alike.
//   - broadcast=1 with axis: B's shape matches A's dimensions axis to
//     axis+rank(B)-1. Unless that is a suffix, numpy needs B with trailing
//     1s appended: a reshaped copy when B is known before running (an
//     initializer or a Constant output); a computed B is refused.
//
// Where legacy broadcasting wants a dimension of B equal to A's, a B
// dimension of 1 is also accepted (numpy stretches it, as the ONNX
// PyTorch exporter expected); an A that would have to stretch, or a B of
// higher rank, is refused. Checks are made on the shapes known when the
// model is imported; a negative axis, whose meaning the specification
// leaves open, is refused.
func mathLegacyBroadcast(c *nodeCtx) error {
	a := c.Attrs
	bc, err := mathFlag(a, "broadcast", false)
	if err != nil {
		return err
	}
	hasAxis := a.Has("axis")
	axis := a.Int("axis", 0) // no effect without broadcast=1
	if a.err != nil {
		return a.err
	}
	if bc && hasAxis && axis < 0 {
		return ir.Unsupportedf("legacy broadcast with negative axis %d", axis)
	}
	c.FixInputs = func(in []*ir.Value) ([]*ir.Value, error) {
		if len(in) != 2 || in[0] == nil || in[1] == nil {
			return in, nil // the op's Infer reports it
		}
		sa, sb := in[0].Type.Shape, in[1].Type.Shape
		if !bc {
			if sa != nil && sb != nil && !mathSameShape(sa, sb) {
				return nil, ir.Invalidf("shapes %v and %v differ; without broadcast=1 (before opset 7) they must be equal", sa, sb)
			}
			return in, nil
		}
		if sa == nil || sb == nil {
			if !hasAxis || mathOneElement(sb) {
				return in, nil // suffix alignment is numpy's
			}
			return nil, ir.Unsupportedf("legacy broadcast at axis %d of operands of unknown rank (A %v, B %v)", axis, sa, sb)
		}
		if len(sb) > len(sa) {
			return nil, ir.Invalidf("B shape %v has a higher rank than A shape %v (legacy broadcasting, before opset 7)", sb, sa)
		}
		start := len(sa) - len(sb)
		if hasAxis {
			if axis > start {
				return nil, ir.Invalidf("axis %d is out of range for A shape %v and B shape %v (want 0 to %d)", axis, sa, sb, start)
			}
			start = axis
		}
		for i, db := range sb {
			da := sa[start+i]
			if da >= 0 && db >= 0 && db != da && db != 1 {
				return nil, ir.Invalidf("B shape %v does not match A shape %v from axis %d (legacy broadcasting, before opset 7)", sb, sa, start)
			}
		}
		trailing := len(sa) - start - len(sb)
		if trailing == 0 || mathOneElement(sb) {
			return in, nil
		}
		t := c.Known(in[1])
		if t == nil {
			return nil, ir.Unsupportedf("legacy broadcast of a computed tensor at axis %d (A shape %v, B shape %v)", axis, sa, sb)
		}
		s := append(sb.Clone(), make(ir.Shape, trailing)...)
		for i := len(sb); i < len(s); i++ {
			s[i] = 1
		}
		return []*ir.Value{in[0], c.Reshaped(in[1], t, s)}, nil
	}
	return nil
}

// gemmLegacyBroadcast reads Gemm's broadcast attribute before opset 7 and
// sets c.FixInputs to check C: with broadcast=1, C broadcasts to [M, N]
// (legacy suffix alignment, which the IR's unidirectional broadcasting
// covers); with broadcast=0 (the default), C must be [M, N].
func gemmLegacyBroadcast(c *nodeCtx, transA, transB bool) error {
	bc, err := mathFlag(c.Attrs, "broadcast", false)
	if err != nil || bc {
		return err
	}
	c.FixInputs = func(in []*ir.Value) ([]*ir.Value, error) {
		if len(in) != 3 || in[0] == nil || in[1] == nil || in[2] == nil {
			return in, nil // the op's Infer reports it
		}
		sa, sb, sc := in[0].Type.Shape, in[1].Type.Shape, in[2].Type.Shape
		if sc == nil {
			return in, nil
		}
		mn := ir.Shape{-1, -1} // [M, N], -1 where unknown
		if len(sa) == 2 {
			mn[0] = sa[mathBool(transA)]
		}
		if len(sb) == 2 {
			mn[1] = sb[1-mathBool(transB)]
		}
		if !mathSameShape(sc, mn) {
			return nil, ir.Invalidf("C has shape %v, want [M, N] = %v: without broadcast=1 (before opset 7) C does not broadcast", sc, mn)
		}
		return in, nil
	}
	return nil
}

// mathSameShape reports whether shapes a and b of known rank can be equal:
// same rank and equal dimensions where both are known.
func mathSameShape(a, b ir.Shape) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] >= 0 && b[i] >= 0 && a[i] != b[i] {
			return false
		}
	}
	return true
}

// mathOneElement reports whether s is known to hold one element (every
// dimension 1, or a scalar).
func mathOneElement(s ir.Shape) bool {
	if s == nil {
		return false
	}
	for _, d := range s {
		if d != 1 {
			return false
		}
	}
	return true
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
