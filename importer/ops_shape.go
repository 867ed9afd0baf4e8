package importer

import (
	"math"

	"github.com/cnnc/cnnc/importer/onnxpb"
	"github.com/cnnc/cnnc/ir"
)

// shapeCodecs holds the codecs of the shape family. Where an opset turned an
// attribute into an input (Slice at 10, Pad at 11, Split, Squeeze and
// Unsqueeze at 13, Dropout's ratio at 12), the op's field is nil or default
// in the input form, and encoding refuses to move a value between the two
// forms, since the exporter keeps a node's inputs as they are.
var shapeCodecs = map[string]codec{
	"Identity": noAttrs(func() ir.Op { return &ir.Identity{} }),
	"Concat": {
		decode: func(c *nodeCtx) (ir.Op, error) {
			if !c.Attrs.Has("axis") {
				return nil, ir.Invalidf("Concat needs the axis attribute")
			}
			return &ir.Concat{Axis: c.Attrs.Int("axis", 0)}, nil
		},
		encode: func(op ir.Op, _ int, w *attrWriter) error {
			w.Int("axis", op.(*ir.Concat).Axis)
			return nil
		},
	},
	"Split": {
		decode: func(c *nodeCtx) (ir.Op, error) {
			if c.NumOut < 1 {
				return nil, ir.Invalidf("Split has no outputs")
			}
			op := &ir.Split{Axis: c.Attrs.Int("axis", 0), NumOutputs: c.NumOut}
			if c.Opset < 13 {
				if op.Split = c.Attrs.Ints("split", nil); len(op.Split) == 0 {
					op.Split = nil
				}
			}
			return op, nil
		},
		encode: func(op ir.Op, opset int, w *attrWriter) error {
			s := op.(*ir.Split)
			w.Int("axis", s.Axis)
			if s.Split != nil {
				if opset >= 13 {
					return ir.Unsupportedf("Split with attribute lengths cannot be written at opset %d (they are input 1 from opset 13)", opset)
				}
				w.Ints("split", s.Split)
			}
			return nil
		},
	},
	"Slice": {
		decode: func(c *nodeCtx) (ir.Op, error) {
			if c.Opset >= 10 {
				return &ir.Slice{}, nil
			}
			a := c.Attrs
			if !a.Has("starts") || !a.Has("ends") {
				return nil, ir.Invalidf("Slice needs the starts and ends attributes before opset 10")
			}
			return &ir.Slice{Starts: a.WideInts("starts", nil), Ends: a.WideInts("ends", nil), Axes: a.WideInts("axes", nil)}, nil
		},
		encode: func(op ir.Op, opset int, w *attrWriter) error {
			s := op.(*ir.Slice)
			switch {
			case opset < 10 && s.Starts == nil:
				return ir.Unsupportedf("Slice with input starts and ends cannot be written at opset %d (inputs from opset 10)", opset)
			case opset >= 10 && s.Starts != nil:
				return ir.Unsupportedf("Slice with attribute starts and ends cannot be written at opset %d (inputs from opset 10)", opset)
			case s.Starts != nil:
				w.Ints("starts", s.Starts)
				w.Ints("ends", s.Ends)
				if s.Axes != nil {
					w.Ints("axes", s.Axes)
				}
			}
			return nil
		},
	},
	"Flatten": {
		decode: func(c *nodeCtx) (ir.Op, error) { return &ir.Flatten{Axis: c.Attrs.Int("axis", 1)}, nil },
		encode: func(op ir.Op, _ int, w *attrWriter) error {
			w.Int("axis", op.(*ir.Flatten).Axis)
			return nil
		},
	},
	"Reshape": {
		decode: func(c *nodeCtx) (ir.Op, error) {
			op := &ir.Reshape{}
			if c.Opset >= 14 {
				switch z := c.Attrs.Int("allowzero", 0); z {
				case 0, 1:
					op.AllowZero = z == 1
				default:
					return nil, ir.Invalidf("allowzero is %d, want 0 or 1", z)
				}
			}
			return op, nil
		},
		encode: func(op ir.Op, opset int, w *attrWriter) error {
			if op.(*ir.Reshape).AllowZero {
				if opset < 14 {
					return ir.Unsupportedf("Reshape with allowzero cannot be written at opset %d (from opset 14)", opset)
				}
				w.Int("allowzero", 1)
			}
			return nil
		},
	},
	"Transpose": {
		decode: func(c *nodeCtx) (ir.Op, error) { return &ir.Transpose{Perm: c.Attrs.Ints("perm", nil)}, nil },
		encode: func(op ir.Op, _ int, w *attrWriter) error {
			if p := op.(*ir.Transpose).Perm; p != nil {
				w.Ints("perm", p)
			}
			return nil
		},
	},
	"Squeeze": {
		decode: func(c *nodeCtx) (ir.Op, error) {
			op := &ir.Squeeze{}
			if c.Opset < 13 {
				if op.Axes = c.Attrs.Ints("axes", nil); len(op.Axes) == 0 {
					op.Axes = nil // an empty list squeezes all, like none
				}
			}
			return op, nil
		},
		encode: func(op ir.Op, opset int, w *attrWriter) error {
			return writeAxes("Squeeze", op.(*ir.Squeeze).Axes, opset, w)
		},
	},
	"Unsqueeze": {
		decode: func(c *nodeCtx) (ir.Op, error) {
			if c.Opset >= 13 {
				return &ir.Unsqueeze{}, nil
			}
			if !c.Attrs.Has("axes") {
				return nil, ir.Invalidf("Unsqueeze needs the axes attribute before opset 13")
			}
			return &ir.Unsqueeze{Axes: c.Attrs.Ints("axes", []int{})}, nil
		},
		encode: func(op ir.Op, opset int, w *attrWriter) error {
			axes := op.(*ir.Unsqueeze).Axes
			if axes == nil && opset < 13 {
				return ir.Unsupportedf("Unsqueeze with input axes cannot be written at opset %d (input from opset 13)", opset)
			}
			return writeAxes("Unsqueeze", axes, opset, w)
		},
	},
	"Dropout": {
		decode: func(c *nodeCtx) (ir.Op, error) {
			op := &ir.Dropout{Ratio: 0.5}
			if c.Opset < 7 {
				// Opset 6's is_test (default 0) selects test mode, the
				// identity; training mode drops at random.
				if t := c.Attrs.Int("is_test", 0); t == 0 && c.Attrs.err == nil {
					return nil, ir.Unsupportedf("Dropout in training mode (is_test=0, the default before opset 7; inference needs is_test=1)")
				}
			}
			if c.Opset < 12 {
				op.Ratio = c.Attrs.Float("ratio", 0.5)
			} else {
				c.Attrs.Ignore("seed") // no randomness at inference
			}
			switch {
			case c.NumOut > 2:
				return nil, ir.Invalidf("Dropout has %d outputs, want 1 or 2", c.NumOut)
			case c.NumOut == 2 && c.Opset >= 10:
				op.Mask = ir.Bool
			case c.NumOut == 2:
				op.Mask = ir.Float32
			}
			return op, nil
		},
		encode: func(op ir.Op, opset int, w *attrWriter) error {
			d := op.(*ir.Dropout)
			switch {
			case d.Mask == ir.Bool && opset < 10:
				return ir.Unsupportedf("Dropout with a bool mask cannot be written at opset %d (from opset 10)", opset)
			case d.Mask == ir.Float32 && opset >= 10:
				return ir.Unsupportedf("Dropout with a float mask cannot be written at opset %d (before opset 10)", opset)
			}
			if opset < 12 {
				w.Float("ratio", d.Ratio)
			}
			return nil
		},
	},
	"ConstantOfShape": {
		decode: func(c *nodeCtx) (ir.Op, error) {
			if c.Opset < 9 {
				return nil, ir.Invalidf("ConstantOfShape needs opset 9, the model has %d", c.Opset)
			}
			v := ir.FromFloat32(ir.Shape{1}, []float32{0})
			if c.Attrs.Has("value") {
				if v = c.Attrs.Tensor("value"); v == nil {
					if c.Attrs.err != nil {
						return nil, c.Attrs.err
					}
					return nil, ir.Invalidf("value attribute has no tensor")
				}
				if v.Len() != 1 {
					return nil, ir.Invalidf("value has shape %v, want one element", v.Shape)
				}
			}
			return &ir.ConstantOfShape{Value: v}, nil
		},
		encode: func(op ir.Op, opset int, w *attrWriter) error {
			if opset < 9 {
				return ir.Unsupportedf("ConstantOfShape cannot be written at opset %d (from opset 9)", opset)
			}
			w.Tensor("value", op.(*ir.ConstantOfShape).Value)
			return nil
		},
	},
	"Shape": {
		decode: func(c *nodeCtx) (ir.Op, error) {
			op := &ir.ShapeOp{Start: 0, End: math.MaxInt}
			if c.Opset >= 15 {
				op.Start, op.End = c.Attrs.Int("start", 0), c.Attrs.Int("end", math.MaxInt)
			}
			return op, nil
		},
		encode: func(op ir.Op, opset int, w *attrWriter) error {
			s := op.(*ir.ShapeOp)
			if opset < 15 && (s.Start != 0 || s.End != math.MaxInt) {
				return ir.Unsupportedf("Shape with start %d and end %d cannot be written at opset %d (from opset 15)", s.Start, s.End, opset)
			}
			if s.Start != 0 {
				w.Int("start", s.Start)
			}
			if s.End != math.MaxInt {
				w.Int("end", s.End)
			}
			return nil
		},
	},
	"Gather": {
		decode: func(c *nodeCtx) (ir.Op, error) { return &ir.Gather{Axis: c.Attrs.Int("axis", 0)}, nil },
		encode: func(op ir.Op, _ int, w *attrWriter) error {
			w.Int("axis", op.(*ir.Gather).Axis)
			return nil
		},
	},
	"Cast": {
		decode: func(c *nodeCtx) (ir.Op, error) {
			if !c.Attrs.Has("to") {
				return nil, ir.Invalidf("Cast needs the to attribute")
			}
			to := c.Attrs.Int("to", 0)
			if c.Attrs.err != nil {
				return nil, c.Attrs.err
			}
			dt, err := dtypeOf(int32(to))
			if err != nil {
				if name, ok := onnxpb.TensorProto_DataType_name[int32(to)]; ok && to != 0 {
					return nil, ir.Unsupportedf("Cast to %s", name)
				}
				return nil, ir.Invalidf("Cast to unknown element type %d", to)
			}
			return &ir.Cast{To: dt}, nil
		},
		encode: func(op ir.Op, _ int, w *attrWriter) error {
			to := onnxType(op.(*ir.Cast).To)
			if to == onnxpb.TensorProto_UNDEFINED {
				return ir.Invalidf("Cast to element type %v", op.(*ir.Cast).To)
			}
			w.Int("to", int(to))
			return nil
		},
	},
	"Pad": {
		decode: func(c *nodeCtx) (ir.Op, error) {
			a := c.Attrs
			op := &ir.Pad{}
			switch m := a.String("mode", "constant"); m {
			case "constant":
				op.Mode = ir.PadConstant
			case "reflect":
				op.Mode = ir.PadReflect
			case "edge":
				op.Mode = ir.PadEdge
			default:
				return nil, ir.Unsupportedf("Pad mode %q", m)
			}
			if c.Opset < 11 {
				if !a.Has("pads") {
					return nil, ir.Invalidf("Pad needs the pads attribute before opset 11")
				}
				op.Pads = a.Ints("pads", []int{})
				op.Value = a.Float("value", 0)
			}
			return op, nil
		},
		encode: func(op ir.Op, opset int, w *attrWriter) error {
			p := op.(*ir.Pad)
			switch {
			case opset < 11 && p.Pads == nil:
				return ir.Unsupportedf("Pad with input pads cannot be written at opset %d (input from opset 11)", opset)
			case opset >= 11 && (p.Pads != nil || p.Value != 0):
				return ir.Unsupportedf("Pad with attribute pads or value cannot be written at opset %d (inputs from opset 11)", opset)
			}
			w.String("mode", p.Mode.String())
			if p.Pads != nil {
				w.Ints("pads", p.Pads)
				w.Float("value", p.Value)
			}
			return nil
		},
	},
}

// writeAxes writes the axes attribute of Squeeze or Unsqueeze, which only
// opsets before 13 have.
func writeAxes(opType string, axes []int, opset int, w *attrWriter) error {
	if axes == nil {
		return nil
	}
	if opset >= 13 {
		return ir.Unsupportedf("%s with attribute axes cannot be written at opset %d (input from opset 13)", opType, opset)
	}
	w.Ints("axes", axes)
	return nil
}
