package importer

import "github.com/cnnc/cnnc/ir"

// convCodecs holds the codecs of the conv family: convolutions, pooling and
// the normalizations.
var convCodecs = map[string]codec{
	"Conv":               {decode: decodeConv, encode: encodeConv},
	"ConvTranspose":      {decode: decodeConvTranspose, encode: encodeConvTranspose},
	"MaxPool":            {decode: decodeMaxPool, encode: encodeMaxPool},
	"AveragePool":        {decode: decodeAveragePool, encode: encodeAveragePool},
	"GlobalAveragePool":  noAttrs(func() ir.Op { return &ir.GlobalAveragePool{} }),
	"GlobalMaxPool":      noAttrs(func() ir.Op { return &ir.GlobalMaxPool{} }),
	"BatchNormalization": {decode: decodeBatchNorm, encode: encodeBatchNorm},
	"LRN":                {decode: decodeLRN, encode: encodeLRN},
}

// convInts reads an optional INTS attribute; absent or empty gives nil.
func convInts(a *attrs, name string) []int {
	v := a.Ints(name, nil)
	if len(v) == 0 {
		return nil
	}
	return v
}

// convAutoPad reads auto_pad. An empty string, which some exporters write,
// means NOTSET.
func convAutoPad(a *attrs) (ir.AutoPad, error) {
	s := a.String("auto_pad", "NOTSET")
	if s == "" {
		return ir.AutoPadNotSet, nil
	}
	p, ok := ir.ParseAutoPad(s)
	if !ok {
		return 0, ir.Invalidf("auto_pad is %q, want NOTSET, SAME_UPPER, SAME_LOWER or VALID", s)
	}
	return p, nil
}

// convFlag reads a 0/1 INT attribute as a bool.
func convFlag(a *attrs, name string) (bool, error) {
	switch v := a.Int(name, 0); v {
	case 0, 1:
		return v == 1, nil
	default:
		return false, ir.Invalidf("%s is %d, want 0 or 1", name, v)
	}
}

// convWriteWindow writes the attributes shared by the sliding-window ops,
// leaving out absent ones.
func convWriteWindow(w *attrWriter, kernel, strides, dilations, pads []int, ap ir.AutoPad) {
	if ap != ir.AutoPadNotSet {
		w.String("auto_pad", ap.String())
	}
	for _, f := range []struct {
		name string
		v    []int
	}{{"kernel_shape", kernel}, {"strides", strides}, {"dilations", dilations}, {"pads", pads}} {
		if f.v != nil {
			w.Ints(f.name, f.v)
		}
	}
}

func decodeConv(c *nodeCtx) (ir.Op, error) {
	a := c.Attrs
	ap, err := convAutoPad(a)
	if err != nil {
		return nil, err
	}
	return &ir.Conv{
		Kernel:    convInts(a, "kernel_shape"),
		Strides:   convInts(a, "strides"),
		Dilations: convInts(a, "dilations"),
		Pads:      convInts(a, "pads"),
		AutoPad:   ap,
		Group:     a.Int("group", 1),
	}, nil
}

func encodeConv(op ir.Op, _ int, w *attrWriter) error {
	c := op.(*ir.Conv)
	convWriteWindow(w, c.Kernel, c.Strides, c.Dilations, c.Pads, c.AutoPad)
	w.Int("group", c.Group)
	return nil
}

func decodeConvTranspose(c *nodeCtx) (ir.Op, error) {
	a := c.Attrs
	ap, err := convAutoPad(a)
	if err != nil {
		return nil, err
	}
	return &ir.ConvTranspose{
		Kernel:        convInts(a, "kernel_shape"),
		Strides:       convInts(a, "strides"),
		Dilations:     convInts(a, "dilations"),
		Pads:          convInts(a, "pads"),
		AutoPad:       ap,
		Group:         a.Int("group", 1),
		OutputPadding: convInts(a, "output_padding"),
		OutputShape:   convInts(a, "output_shape"),
	}, nil
}

func encodeConvTranspose(op ir.Op, _ int, w *attrWriter) error {
	c := op.(*ir.ConvTranspose)
	convWriteWindow(w, c.Kernel, c.Strides, c.Dilations, c.Pads, c.AutoPad)
	w.Int("group", c.Group)
	if c.OutputPadding != nil {
		w.Ints("output_padding", c.OutputPadding)
	}
	if c.OutputShape != nil {
		w.Ints("output_shape", c.OutputShape)
	}
	return nil
}

// MaxPool gained the Indices output and storage_order in opset 8, and
// ceil_mode and dilations in opset 10; an attribute not yet defined at the
// model's opset is left unread, so the decoder refuses it.
func decodeMaxPool(c *nodeCtx) (ir.Op, error) {
	a := c.Attrs
	if !a.Has("kernel_shape") {
		return nil, ir.Invalidf("MaxPool needs the kernel_shape attribute")
	}
	ap, err := convAutoPad(a)
	if err != nil {
		return nil, err
	}
	p := &ir.MaxPool{
		Kernel:  convInts(a, "kernel_shape"),
		Strides: convInts(a, "strides"),
		Pads:    convInts(a, "pads"),
		AutoPad: ap,
	}
	if c.Opset >= 8 {
		p.StorageOrder = a.Int("storage_order", 0)
	}
	if c.Opset >= 10 {
		p.Dilations = convInts(a, "dilations")
		if p.CeilMode, err = convFlag(a, "ceil_mode"); err != nil {
			return nil, err
		}
	}
	switch {
	case c.NumOut == 2 && c.Opset < 8:
		return nil, ir.Invalidf("MaxPool has 2 outputs; the Indices output exists from opset 8, the model's opset is %d", c.Opset)
	case c.NumOut == 2:
		p.Indices = true
	case c.NumOut > 2:
		return nil, ir.Invalidf("MaxPool has %d outputs, want 1 or 2", c.NumOut)
	}
	return p, nil
}

func encodeMaxPool(op ir.Op, opset int, w *attrWriter) error {
	p := op.(*ir.MaxPool)
	if p.Kernel == nil {
		return ir.Invalidf("MaxPool without kernel_shape")
	}
	dil := p.Dilations
	if opset < 10 {
		if p.CeilMode {
			return ir.Unsupportedf("MaxPool ceil_mode cannot be written at opset %d (it exists from opset 10)", opset)
		}
		for _, d := range dil {
			if d != 1 {
				return ir.Unsupportedf("MaxPool dilations %v cannot be written at opset %d (they exist from opset 10)", dil, opset)
			}
		}
		dil = nil
	}
	if opset < 8 && (p.Indices || p.StorageOrder != 0) {
		return ir.Unsupportedf("MaxPool Indices output or storage_order cannot be written at opset %d (they exist from opset 8)", opset)
	}
	convWriteWindow(w, p.Kernel, p.Strides, dil, p.Pads, p.AutoPad)
	if p.CeilMode {
		w.Int("ceil_mode", 1)
	}
	if p.StorageOrder != 0 {
		w.Int("storage_order", p.StorageOrder)
	}
	return nil
}

// AveragePool gained count_include_pad in opset 7 (before, padding is
// never counted, as with count_include_pad=0), ceil_mode in opset 10 (and
// dilations only in opset 19, beyond cnnc's range).
func decodeAveragePool(c *nodeCtx) (ir.Op, error) {
	a := c.Attrs
	if !a.Has("kernel_shape") {
		return nil, ir.Invalidf("AveragePool needs the kernel_shape attribute")
	}
	ap, err := convAutoPad(a)
	if err != nil {
		return nil, err
	}
	p := &ir.AveragePool{
		Kernel:  convInts(a, "kernel_shape"),
		Strides: convInts(a, "strides"),
		Pads:    convInts(a, "pads"),
		AutoPad: ap,
	}
	if c.Opset >= 7 {
		if p.CountIncludePad, err = convFlag(a, "count_include_pad"); err != nil {
			return nil, err
		}
	}
	if c.Opset >= 10 {
		if p.CeilMode, err = convFlag(a, "ceil_mode"); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func encodeAveragePool(op ir.Op, opset int, w *attrWriter) error {
	p := op.(*ir.AveragePool)
	if p.Kernel == nil {
		return ir.Invalidf("AveragePool without kernel_shape")
	}
	if p.CeilMode && opset < 10 {
		return ir.Unsupportedf("AveragePool ceil_mode cannot be written at opset %d (it exists from opset 10)", opset)
	}
	convWriteWindow(w, p.Kernel, p.Strides, nil, p.Pads, p.AutoPad)
	if p.CeilMode {
		w.Int("ceil_mode", 1)
	}
	if p.CountIncludePad {
		w.Int("count_include_pad", 1)
	}
	return nil
}

// BatchNormalization is imported in its inference form only. Opset 6 has
// is_test, which must be nonzero (test mode; its default 0 is training,
// normalizing with the batch's own statistics); opsets 6 to 8 have spatial
// (only 1, per-channel statistics, is supported); opset 14 added
// training_mode (only 0 is supported). Training is also what extra outputs
// request at every opset.
func decodeBatchNorm(c *nodeCtx) (ir.Op, error) {
	a := c.Attrs
	if a.Has("consumed_inputs") {
		return nil, ir.Invalidf("attribute \"consumed_inputs\" belongs to BatchNormalization before opset 6; the model's opset is %d", c.Opset)
	}
	if c.Opset < 7 {
		if t := a.Int("is_test", 0); t == 0 && a.err == nil {
			return nil, ir.Unsupportedf("BatchNormalization in training mode (is_test=0, the default before opset 7; inference needs is_test=1)")
		}
	} else if a.Has("is_test") {
		return nil, ir.Invalidf("attribute \"is_test\" belongs to BatchNormalization before opset 7; the model's opset is %d", c.Opset)
	}
	if c.Opset < 9 {
		if s := a.Int("spatial", 1); s != 1 {
			return nil, ir.Unsupportedf("BatchNormalization spatial=%d (statistics per activation rather than per channel)", s)
		}
	}
	if c.Opset >= 14 {
		if t := a.Int("training_mode", 0); t != 0 {
			return nil, ir.Unsupportedf("BatchNormalization training_mode=%d", t)
		}
	}
	if c.NumOut > 1 {
		return nil, ir.Unsupportedf("BatchNormalization training outputs (%d outputs; inference has 1)", c.NumOut)
	}
	return &ir.BatchNormalization{
		Epsilon:  a.Float("epsilon", 1e-5),
		Momentum: a.Float("momentum", 0.9),
	}, nil
}

func encodeBatchNorm(op ir.Op, _ int, w *attrWriter) error {
	b := op.(*ir.BatchNormalization)
	w.Float("epsilon", b.Epsilon)
	w.Float("momentum", b.Momentum)
	return nil
}

func decodeLRN(c *nodeCtx) (ir.Op, error) {
	a := c.Attrs
	if !a.Has("size") {
		return nil, ir.Invalidf("LRN needs the size attribute")
	}
	return &ir.LRN{
		Size:  a.Int("size", 0),
		Alpha: a.Float("alpha", 1e-4),
		Beta:  a.Float("beta", 0.75),
		Bias:  a.Float("bias", 1),
	}, nil
}

func encodeLRN(op ir.Op, _ int, w *attrWriter) error {
	l := op.(*ir.LRN)
	w.Int("size", l.Size)
	w.Float("alpha", l.Alpha)
	w.Float("beta", l.Beta)
	w.Float("bias", l.Bias)
	return nil
}
