package ir

// Convolution, pooling and normalization over tensors laid out N×C×D1×…×Dn:
// axis 0 is the batch, axis 1 the channels, and the n >= 1 remaining axes
// are spatial. All are float32.
//
// The sliding-window ops (Conv, ConvTranspose, MaxPool, AveragePool) keep
// their attributes exactly as ONNX states them: a nil slice is an absent
// attribute and takes the ONNX default (all 1 for strides and dilations, all
// 0 for pads, W's kernel for Conv's kernel_shape). Their Geometry method
// resolves defaults and auto_pad for a given input shape into a Window, the
// one description of what the op computes that Infer, the kernels and the
// tools share.

// AutoPad is ONNX's auto_pad attribute of the sliding-window ops: whether
// the padding is the op's explicit Pads or derived from the input size.
type AutoPad uint8

const (
	// AutoPadNotSet uses the op's explicit Pads (zero when absent).
	AutoPadNotSet AutoPad = iota
	// AutoPadSameUpper pads so that the output size along each spatial
	// axis is ceil(in/stride) (in*stride for ConvTranspose), splitting the
	// padding between both ends with an odd extra element at the end.
	AutoPadSameUpper
	// AutoPadSameLower is AutoPadSameUpper with the odd extra element at
	// the beginning.
	AutoPadSameLower
	// AutoPadValid does not pad.
	AutoPadValid
)

var autoPadNames = [...]string{
	AutoPadNotSet:    "NOTSET",
	AutoPadSameUpper: "SAME_UPPER",
	AutoPadSameLower: "SAME_LOWER",
	AutoPadValid:     "VALID",
}

// String returns the ONNX spelling of a: NOTSET, SAME_UPPER, SAME_LOWER or
// VALID.
func (a AutoPad) String() string { return enumName(autoPadNames[:], int(a), "AutoPad") }

// ParseAutoPad returns the AutoPad spelled s in ONNX (NOTSET, SAME_UPPER,
// SAME_LOWER, VALID), or false for any other string.
func ParseAutoPad(s string) (AutoPad, bool) {
	i, ok := parseEnum(autoPadNames[:], s)
	return AutoPad(i), ok
}

// Window is the geometry of a sliding-window op resolved for one input
// shape: every default filled in and auto_pad turned into explicit padding.
// Entry i of each slice describes spatial axis i (tensor axis i+2); the
// slices have one entry per spatial axis.
//
// For Conv, MaxPool and AveragePool, output position o reads the input
// positions o*Strides[i] - PadBegin[i] + k*Dilations[i] for k in
// [0, Kernel[i]). Positions outside [0, In[i]) are padding; those at or
// beyond In[i]+PadEnd[i] lie past the padded input, which only a ceil_mode
// pooling window reaches.
//
// For ConvTranspose, input position p contributes to the output positions
// p*Strides[i] - PadBegin[i] + k*Dilations[i] for k in [0, Kernel[i]);
// those outside [0, Out[i]) are dropped. There PadBegin and PadEnd may be
// negative: an output_shape larger than the full result extends it.
//
// A size that depends on an unknown input size is -1: In, Out (unless
// ConvTranspose's output_shape gives it) and the pads when they derive
// from the input size (SAME_UPPER, SAME_LOWER, ConvTranspose's
// output_shape). Kernel[i] is -1 when neither kernel_shape nor W's shape
// gives it. Strides and Dilations are always known (>= 1).
type Window struct {
	In, Out                    []int
	Kernel, Strides, Dilations []int
	PadBegin, PadEnd           []int
}

// ConvOutputSize returns the output size along one spatial axis of a
// convolution: floor((in + padBegin + padEnd - ((kernel-1)*dilation+1)) /
// stride) + 1. It returns -1 when in, kernel or a pad is unknown
// (negative), and 0 when no window fits in the padded input or when
// kernel, stride or dilation is 0 or an argument exceeds MaxElements: an
// op giving 0 is invalid.
func ConvOutputSize(in, kernel, stride, dilation, padBegin, padEnd int) int {
	return PoolOutputSize(in, kernel, stride, dilation, padBegin, padEnd, false)
}

// PoolOutputSize is ConvOutputSize for pooling, which with ceilMode rounds
// the division up instead of down; then the last window must still start
// inside the input or its beginning padding (before in + padBegin), else
// it is dropped (the rule of PyTorch and ONNX Runtime).
func PoolOutputSize(in, kernel, stride, dilation, padBegin, padEnd int, ceilMode bool) int {
	if in < 0 || kernel < 0 || padBegin < 0 || padEnd < 0 {
		return -1
	}
	if kernel == 0 || stride < 1 || dilation < 1 || max(in, kernel, stride, dilation, padBegin, padEnd) > MaxElements {
		return 0
	}
	span := in + padBegin + padEnd - ((kernel-1)*dilation + 1)
	if span < 0 {
		return 0
	}
	out := span/stride + 1
	if ceilMode && span%stride != 0 {
		out++
		if (out-1)*stride >= in+padBegin {
			out--
		}
	}
	return out
}

// AutoPads returns the padding at the beginning and the end of one spatial
// axis of size in that mode implies for a convolution or pooling window.
// Under SAME_UPPER and SAME_LOWER the total is max(0, (ceil(in/stride)-1)*
// stride + (kernel-1)*dilation+1 - in), halved with the odd element at the
// end (SAME_UPPER) or the beginning (SAME_LOWER), and unknown (-1, -1) when
// in or kernel is; VALID gives 0, 0, and so does NOTSET, whose padding is
// the op's explicit pads. Arguments are as for ConvOutputSize.
func AutoPads(mode AutoPad, in, kernel, stride, dilation int) (begin, end int) {
	if mode != AutoPadSameUpper && mode != AutoPadSameLower {
		return 0, 0
	}
	if in < 0 || kernel < 0 {
		return -1, -1
	}
	if stride < 1 || dilation < 1 || max(in, kernel, stride, dilation) > MaxElements {
		return 0, 0
	}
	out := (in + stride - 1) / stride
	total := max(0, (out-1)*stride+(kernel-1)*dilation+1-in)
	if mode == AutoPadSameUpper {
		return total / 2, total - total/2
	}
	return total - total/2, total / 2
}

// ConvTransposeOutputSize returns the output size along one spatial axis
// of a transposed convolution with explicit padding: stride*(in-1) +
// outputPadding + (kernel-1)*dilation+1 - padBegin - padEnd. It returns -1
// when in or kernel is unknown (negative), and 0 when that size is not
// positive or an argument is out of range (as for ConvOutputSize).
func ConvTransposeOutputSize(in, kernel, stride, dilation, outputPadding, padBegin, padEnd int) int {
	if in < 0 || kernel < 0 {
		return -1
	}
	if kernel == 0 || stride < 1 || dilation < 1 || outputPadding < 0 || padBegin < 0 || padEnd < 0 ||
		max(in, kernel, stride, dilation, outputPadding, padBegin, padEnd) > MaxElements {
		return 0
	}
	return max(0, stride*(in-1)+outputPadding+(kernel-1)*dilation+1-padBegin-padEnd)
}

// ConvTransposePads returns the padding of one spatial axis of a
// transposed convolution whose output size out is imposed (by output_shape,
// or as in*stride under SAME_UPPER and SAME_LOWER). The total, stride*(in-1)
// + outputPadding + (kernel-1)*dilation+1 - out, is halved rounding toward
// minus infinity (the ONNX specification's formula), the odd element going
// to the end for SAME_UPPER and to the beginning otherwise. A negative total
// (out larger than the full result) gives negative padding, which extends
// the output. The result is meaningless (0, 0) when in or kernel is unknown
// (negative) or an argument is out of range.
func ConvTransposePads(mode AutoPad, in, kernel, stride, dilation, outputPadding, out int) (begin, end int) {
	if in < 0 || kernel < 0 || out < 0 || stride < 1 || dilation < 1 || outputPadding < 0 ||
		max(in, kernel, stride, dilation, outputPadding, out) > MaxElements {
		return 0, 0
	}
	total := stride*(in-1) + outputPadding + (kernel-1)*dilation + 1 - out
	half := total >> 1 // floor(total/2), also for negative totals
	if mode == AutoPadSameUpper {
		return half, total - half
	}
	return total - half, half
}

// Conv is the convolution with optional bias. X is [N, C, D1..Dn] (n >= 1),
// W is [M, C/Group, K1..Kn], the optional B (input 2) is [M], and Y is
// [N, M, O1..On] with Oi = ConvOutputSize(Di, Ki, stride, dilation, pads):
//
//	Y[n, m, o] = B[m] + sum over c < C/Group and k < K of
//	             X[n, g*C/Group + c, o*stride - padBegin + k*dilation] * W[m, c, k]
//
// where g = m / (M/Group) is the group of output channel m, and padding
// positions of X read 0. Group == C == M is a depthwise convolution.
type Conv struct {
	// Kernel is kernel_shape, W's spatial dimensions; nil takes them from W.
	Kernel []int
	// Strides (>= 1) per spatial axis; nil means all 1.
	Strides []int
	// Dilations (>= 1) per spatial axis; nil means all 1.
	Dilations []int
	// Pads is [begin_1..begin_n, end_1..end_n] (>= 0), used when AutoPad is
	// AutoPadNotSet; nil means all 0. With another AutoPad it must be nil or
	// all 0.
	Pads    []int
	AutoPad AutoPad
	// Group (>= 1) divides C and M.
	Group int
}

// ConvTranspose is the transposed convolution (the gradient of Conv with
// respect to its input) with optional bias. X is [N, C, D1..Dn], W is
// [C, M/Group, K1..Kn], the optional B (input 2) is [M], and Y is
// [N, M, O1..On]:
//
//	Y[n, g*M/Group + m, p*stride - padBegin + k*dilation] +=
//	    X[n, g*C/Group + c, p] * W[g*C/Group + c, m, k]
//
// over every group g, input channel c < C/Group, input position p and
// kernel position k, plus B[m] everywhere; contributions falling outside Y
// are dropped. Oi is OutputShape's when given (the padding then follows
// from it, see ConvTransposePads), in*stride under SAME_*, and otherwise
// ConvTransposeOutputSize with the explicit Pads.
type ConvTranspose struct {
	// Kernel, Strides, Dilations, Pads and AutoPad are as in Conv.
	Kernel, Strides, Dilations, Pads []int
	AutoPad                          AutoPad
	// Group (>= 1) divides C and M.
	Group int
	// OutputPadding (output_padding, >= 0, each less than its axis's stride
	// or dilation) adds elements at the end of each spatial axis of the
	// output; nil means all 0. With OutputShape it only enters the padding.
	OutputPadding []int
	// OutputShape (output_shape) imposes the spatial output size, one entry
	// per spatial axis or (as ONNX Runtime accepts) [N, M, O1..On] of which
	// only the spatial entries count; Pads are then ignored. nil when absent.
	OutputShape []int
}

// MaxPool is Y[n, c, o] = the maximum of X[n, c, o*stride - padBegin +
// k*dilation] over the kernel positions k that fall inside X (padding is
// never the maximum; a window entirely in the padding gives -Inf). X is
// [N, C, D1..Dn] and Y is [N, C, O1..On] with Oi = PoolOutputSize(Di, Ki,
// stride, dilation, pads, CeilMode). A NaN in a window gives NaN.
type MaxPool struct {
	// Kernel is kernel_shape, required, one entry (>= 1) per spatial axis.
	Kernel []int
	// Strides, Dilations, Pads and AutoPad are as in Conv.
	Strides, Dilations, Pads []int
	AutoPad                  AutoPad
	CeilMode                 bool
	// StorageOrder is how Indices flatten a spatial position: 0 for row
	// major, 1 for column major (the first spatial axis varies fastest).
	StorageOrder int
	// Indices requests the second output, int64 like Y: the flat index into
	// X, (n*C + c)*D1*..*Dn + the flattened spatial position, of the first
	// maximum of each window (-1 when the window is entirely padding).
	Indices bool
}

// AveragePool is Y[n, c, o] = the mean of X[n, c, o*stride - padBegin + k]
// over the kernel positions k. X is [N, C, D1..Dn] and Y is [N, C, O1..On]
// with Oi = PoolOutputSize(Di, Ki, stride, 1, pads, CeilMode). The divisor
// counts the positions inside X, and with CountIncludePad also those in the
// padding (but not those past the padded input, which only ceil_mode
// windows reach: PyTorch's rule). A window with nothing to count gives 0.
type AveragePool struct {
	// Kernel is kernel_shape, required, one entry (>= 1) per spatial axis.
	Kernel []int
	// Strides, Pads and AutoPad are as in Conv.
	Strides, Pads   []int
	AutoPad         AutoPad
	CeilMode        bool
	CountIncludePad bool
}

// GlobalAveragePool is Y[n, c, 0..0] = the mean of X[n, c, ...] over all
// spatial positions. X is [N, C, D1..Dn] (n >= 1) and Y is [N, C, 1..1].
type GlobalAveragePool struct{}

// GlobalMaxPool is GlobalAveragePool with the maximum instead of the mean.
type GlobalMaxPool struct{}

// BatchNormalization is the inference form of batch normalization over the
// channel axis 1 of X [N, C, ...]: Y = (X - mean[c]) / sqrt(var[c] +
// Epsilon) * scale[c] + B[c], with inputs X, scale, B, mean and var, the
// last four [C]. Y has the shape of X.
type BatchNormalization struct {
	Epsilon float32
	// Momentum only matters in training; it is kept so that exporting the
	// op writes it back.
	Momentum float32
}

// LRN is local response normalization across channels of X [N, C, ...]:
//
//	Y[n, c, d] = X[n, c, d] / (Bias + Alpha/Size * sum of X[n, c', d]^2)^Beta
//
// over the channels c' in [c - floor((Size-1)/2), c + ceil((Size-1)/2)]
// that exist. Y has the shape of X.
type LRN struct {
	// Size (>= 1) is the number of channels of the window.
	Size              int
	Alpha, Beta, Bias float32
}

// OpType implements Op.
func (*Conv) OpType() string               { return "Conv" }
func (*ConvTranspose) OpType() string      { return "ConvTranspose" }
func (*MaxPool) OpType() string            { return "MaxPool" }
func (*AveragePool) OpType() string        { return "AveragePool" }
func (*GlobalAveragePool) OpType() string  { return "GlobalAveragePool" }
func (*GlobalMaxPool) OpType() string      { return "GlobalMaxPool" }
func (*BatchNormalization) OpType() string { return "BatchNormalization" }
func (*LRN) OpType() string                { return "LRN" }

// convDim returns dimension i of s, or -1 when s has unknown rank or
// fewer dimensions.
func convDim(s Shape, i int) int {
	if s == nil || i >= len(s) {
		return -1
	}
	return s[i]
}

// convSpatialAxes returns the number of spatial axes of a Conv or
// ConvTranspose from X's rank, else W's rank, else the attributes; -1 when
// none tells. It checks the ranks and that no dimension is absurdly large.
func convSpatialAxes(x, w Shape, kernel, pads []int) (int, error) {
	for _, s := range []struct {
		name string
		s    Shape
	}{{"X", x}, {"W", w}} {
		if s.s == nil {
			continue
		}
		if len(s.s) < 3 {
			return 0, Invalidf("%s has shape %v, want rank >= 3 (2 leading axes and at least one spatial axis)", s.name, s.s)
		}
		for _, d := range s.s {
			if d > MaxElements {
				return 0, Invalidf("%s has shape %v, a dimension above %d", s.name, s.s, MaxElements)
			}
		}
	}
	switch {
	case x != nil && w != nil && len(x) != len(w):
		return 0, Invalidf("W has shape %v and X %v: ranks differ", w, x)
	case x != nil:
		return len(x) - 2, nil
	case w != nil:
		return len(w) - 2, nil
	case kernel != nil:
		return len(kernel), nil
	case pads != nil && len(pads)%2 == 0:
		return len(pads) / 2, nil
	}
	return -1, nil
}

// convAttrs are the attributes shared by the sliding-window ops.
type convAttrs struct {
	kernel, strides, dilations, pads []int
	autoPad                          AutoPad
}

// check validates the attributes for n spatial axes: lengths, ranges, and
// pads against auto_pad.
func (a convAttrs) check(n int) error {
	for _, f := range []struct {
		name      string
		v         []int
		want, min int
	}{
		{"kernel_shape", a.kernel, n, 1},
		{"strides", a.strides, n, 1},
		{"dilations", a.dilations, n, 1},
		{"pads", a.pads, 2 * n, 0},
	} {
		if err := convCheckInts(f.name, f.v, f.want, f.min); err != nil {
			return err
		}
	}
	if int(a.autoPad) >= len(autoPadNames) {
		return Invalidf("auto_pad is %v", a.autoPad)
	}
	if a.autoPad != AutoPadNotSet {
		for _, p := range a.pads {
			if p != 0 {
				return Invalidf("pads %v are given with auto_pad %v", a.pads, a.autoPad)
			}
		}
	}
	return nil
}

// convCheckInts checks that an optional per-axis attribute has want
// entries, each in [min, MaxElements].
func convCheckInts(name string, v []int, want, min int) error {
	if v == nil {
		return nil
	}
	if len(v) != want {
		return Invalidf("%s %v has %d entries, want %d", name, v, len(v), want)
	}
	for _, x := range v {
		if x < min || x > MaxElements {
			return Invalidf("%s %v: entry %d is out of range [%d, %d]", name, v, x, min, MaxElements)
		}
	}
	return nil
}

// convOr returns v[i], or def when v is nil.
func convOr(v []int, i, def int) int {
	if v == nil {
		return def
	}
	return v[i]
}

// resolve computes the Window of a convolution or pooling of X shaped x
// (nil: unknown rank) over n spatial axes with the given resolved kernel.
func (a convAttrs) resolve(x Shape, n int, kernel []int, ceil bool) (Window, error) {
	g := Window{
		In: make([]int, n), Out: make([]int, n), Kernel: kernel,
		Strides: make([]int, n), Dilations: make([]int, n),
		PadBegin: make([]int, n), PadEnd: make([]int, n),
	}
	for i := 0; i < n; i++ {
		in, k := convDim(x, i+2), kernel[i]
		s, d := convOr(a.strides, i, 1), convOr(a.dilations, i, 1)
		pb, pe := convOr(a.pads, i, 0), convOr(a.pads, n+i, 0)
		if a.autoPad != AutoPadNotSet {
			pb, pe = AutoPads(a.autoPad, in, k, s, d)
		}
		out := PoolOutputSize(in, k, s, d, pb, pe, ceil)
		if out == 0 {
			return Window{}, Invalidf("spatial axis %d: input size %d padded by %d+%d is smaller than the dilated kernel size %d",
				i, in, pb, pe, (k-1)*d+1)
		}
		g.In[i], g.Out[i], g.Strides[i], g.Dilations[i], g.PadBegin[i], g.PadEnd[i] = in, out, s, d, pb, pe
	}
	return g, nil
}

// convKernelOf resolves the kernel of a Conv or ConvTranspose from
// kernel_shape and W's spatial dimensions, checking that they agree.
func convKernelOf(kernel []int, w Shape, n int) ([]int, error) {
	k := make([]int, n)
	for i := range k {
		wd := convDim(w, i+2)
		switch {
		case kernel != nil && wd >= 0 && wd != kernel[i]:
			return nil, Invalidf("kernel_shape %v disagrees with W shape %v", kernel, w)
		case kernel != nil:
			k[i] = kernel[i]
		case wd == 0:
			return nil, Invalidf("W has shape %v, an empty kernel", w)
		default:
			k[i] = wd
		}
	}
	return k, nil
}

// convCheckGroup checks Group's range.
func convCheckGroup(group int) error {
	if group < 1 || group > MaxElements {
		return Invalidf("group is %d, want >= 1", group)
	}
	return nil
}

// Geometry resolves c for X of shape x and W of shape w, either of which
// may have unknown dimensions or rank (nil). It validates the attributes
// against each other and the shapes, as Infer does. The Window is empty
// (nil slices) when the number of spatial axes is unknown.
func (c *Conv) Geometry(x, w Shape) (Window, error) {
	n, err := convSpatialAxes(x, w, c.Kernel, c.Pads)
	if err != nil || n < 0 {
		return Window{}, err
	}
	if err := convCheckGroup(c.Group); err != nil {
		return Window{}, err
	}
	a := convAttrs{c.Kernel, c.Strides, c.Dilations, c.Pads, c.AutoPad}
	if err := a.check(n); err != nil {
		return Window{}, err
	}
	kernel, err := convKernelOf(c.Kernel, w, n)
	if err != nil {
		return Window{}, err
	}
	if m := convDim(w, 0); m >= 0 && m%c.Group != 0 {
		return Window{}, Invalidf("W has shape %v: %d output channels do not divide into %d groups", w, m, c.Group)
	}
	ch, wc := convDim(x, 1), convDim(w, 1)
	if ch >= 0 && ch%c.Group != 0 {
		return Window{}, Invalidf("X has shape %v: %d channels do not divide into %d groups", x, ch, c.Group)
	}
	if ch >= 0 && wc >= 0 && ch/c.Group != wc {
		return Window{}, Invalidf("W shape %v wants %d input channels (%d per group, %d groups), X %v has %d",
			w, wc*c.Group, wc, c.Group, x, ch)
	}
	return a.resolve(x, n, kernel, false)
}

// convOutput finishes the Infer of an op with output [N, ch, spatial...]:
// it checks the optional bias (input 2, [ch]) and the element count.
func convOutput(in []Type, x Shape, ch int, spatial []int) ([]Type, error) {
	if present(in, 2) {
		if err := wantFloat(in, 2); err != nil {
			return nil, err
		}
		if b := in[2].Shape; b != nil {
			if len(b) != 1 || (ch >= 0 && b[0] >= 0 && b[0] != ch) {
				return nil, Invalidf("B has shape %v, want [%d] (one per output channel)", b, ch)
			}
			if ch < 0 {
				ch = b[0]
			}
		}
	}
	if spatial == nil {
		return []Type{{DType: Float32}}, nil
	}
	out := append(Shape{convDim(x, 0), ch}, spatial...)
	if err := convCheckSize(out); err != nil {
		return nil, err
	}
	return []Type{{DType: Float32, Shape: out}}, nil
}

// convCheckSize refuses a known output shape with too many elements.
func convCheckSize(s Shape) error {
	if s.Known() && s.NumElements() < 0 {
		return Invalidf("output shape %v has more than %d elements", s, MaxElements)
	}
	return nil
}

// convInputs checks arity and element types of X, W and the optional B.
func convInputs(in []Type) error {
	if err := arity(in, 2, 3); err != nil {
		return err
	}
	if err := wantFloat(in, 0); err != nil {
		return err
	}
	return wantFloat(in, 1)
}

// Infer implements Op.
func (c *Conv) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := convInputs(in); err != nil {
		return nil, err
	}
	g, err := c.Geometry(in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, err
	}
	return convOutput(in, in[0].Shape, convDim(in[1].Shape, 0), g.Out)
}

// Geometry resolves c for X of shape x and W of shape w as Conv's Geometry
// does, with the ConvTranspose meaning of Window (see there).
func (c *ConvTranspose) Geometry(x, w Shape) (Window, error) {
	n, err := convSpatialAxes(x, w, c.Kernel, c.Pads)
	if err != nil || n < 0 {
		return Window{}, err
	}
	if err := convCheckGroup(c.Group); err != nil {
		return Window{}, err
	}
	a := convAttrs{c.Kernel, c.Strides, c.Dilations, c.Pads, c.AutoPad}
	if err := a.check(n); err != nil {
		return Window{}, err
	}
	if err := convCheckInts("output_padding", c.OutputPadding, n, 0); err != nil {
		return Window{}, err
	}
	outShape := c.OutputShape
	if len(outShape) == n+2 {
		outShape = outShape[2:]
	}
	if err := convCheckInts("output_shape", outShape, n, 1); err != nil {
		return Window{}, Prefix(err, "want %d or %d entries", n, n+2)
	}
	kernel, err := convKernelOf(c.Kernel, w, n)
	if err != nil {
		return Window{}, err
	}
	ch, wc := convDim(x, 1), convDim(w, 0)
	if wc >= 0 && wc%c.Group != 0 {
		return Window{}, Invalidf("W has shape %v: %d input channels do not divide into %d groups", w, wc, c.Group)
	}
	if ch >= 0 && wc >= 0 && ch != wc {
		return Window{}, Invalidf("W shape %v wants %d input channels, X %v has %d", w, wc, x, ch)
	}
	if ch >= 0 && ch%c.Group != 0 {
		return Window{}, Invalidf("X has shape %v: %d channels do not divide into %d groups", x, ch, c.Group)
	}
	g := Window{
		In: make([]int, n), Out: make([]int, n), Kernel: kernel,
		Strides: make([]int, n), Dilations: make([]int, n),
		PadBegin: make([]int, n), PadEnd: make([]int, n),
	}
	for i := 0; i < n; i++ {
		in, k := convDim(x, i+2), kernel[i]
		s, d, adj := convOr(c.Strides, i, 1), convOr(c.Dilations, i, 1), convOr(c.OutputPadding, i, 0)
		if adj >= max(s, d) {
			return Window{}, Invalidf("output_padding %v: %d on spatial axis %d is not less than the stride %d or the dilation %d",
				c.OutputPadding, adj, i, s, d)
		}
		var out, pb, pe int
		switch {
		case outShape != nil:
			out = outShape[i]
			pb, pe = ConvTransposePads(c.AutoPad, in, k, s, d, adj, out)
		case c.AutoPad == AutoPadSameUpper || c.AutoPad == AutoPadSameLower:
			out = -1
			if in >= 0 {
				out = in * s
			}
			pb, pe = ConvTransposePads(c.AutoPad, in, k, s, d, adj, out)
		default:
			pb, pe = convOr(c.Pads, i, 0), convOr(c.Pads, n+i, 0)
			out = ConvTransposeOutputSize(in, k, s, d, adj, pb, pe)
		}
		if in < 0 || k < 0 {
			pb, pe = -1, -1
		}
		if out == 0 {
			return Window{}, Invalidf("spatial axis %d: padding %d+%d leaves no output of input size %d, stride %d, kernel %d",
				i, pb, pe, in, s, k)
		}
		g.In[i], g.Out[i], g.Strides[i], g.Dilations[i], g.PadBegin[i], g.PadEnd[i] = in, out, s, d, pb, pe
	}
	return g, nil
}

// Infer implements Op.
func (c *ConvTranspose) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := convInputs(in); err != nil {
		return nil, err
	}
	g, err := c.Geometry(in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, err
	}
	m := convDim(in[1].Shape, 1)
	if m >= 0 {
		m *= c.Group
	}
	return convOutput(in, in[0].Shape, m, g.Out)
}

// poolGeometry is the Geometry of MaxPool and AveragePool.
func poolGeometry(x Shape, a convAttrs, ceil bool) (Window, error) {
	if len(a.kernel) == 0 {
		return Window{}, Invalidf("kernel_shape is missing")
	}
	n := len(a.kernel)
	if x != nil && len(x) != n+2 {
		return Window{}, Invalidf("X has shape %v, want rank %d (2 leading axes and the %d axes of kernel_shape %v)", x, n+2, n, a.kernel)
	}
	for _, d := range x {
		if d > MaxElements {
			return Window{}, Invalidf("X has shape %v, a dimension above %d", x, MaxElements)
		}
	}
	if err := a.check(n); err != nil {
		return Window{}, err
	}
	return a.resolve(x, n, a.kernel, ceil)
}

// poolOutput returns the pooled type [N, C, spatial...] of X shaped x.
func poolOutput(x Shape, spatial []int) (Type, error) {
	out := append(Shape{convDim(x, 0), convDim(x, 1)}, spatial...)
	return Type{DType: Float32, Shape: out}, convCheckSize(out)
}

// Geometry resolves p for X of shape x (nil: unknown rank), validating the
// attributes as Infer does.
func (p *MaxPool) Geometry(x Shape) (Window, error) {
	return poolGeometry(x, convAttrs{p.Kernel, p.Strides, p.Dilations, p.Pads, p.AutoPad}, p.CeilMode)
}

// Infer implements Op.
func (p *MaxPool) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 1, 1); err != nil {
		return nil, err
	}
	if err := wantFloat(in, 0); err != nil {
		return nil, err
	}
	if p.StorageOrder != 0 && p.StorageOrder != 1 {
		return nil, Invalidf("storage_order is %d, want 0 or 1", p.StorageOrder)
	}
	g, err := p.Geometry(in[0].Shape)
	if err != nil {
		return nil, err
	}
	y, err := poolOutput(in[0].Shape, g.Out)
	if err != nil {
		return nil, err
	}
	if p.Indices {
		return []Type{y, {DType: Int64, Shape: y.Shape.Clone()}}, nil
	}
	return []Type{y}, nil
}

// Geometry resolves p for X of shape x (nil: unknown rank), validating the
// attributes as Infer does. Its Dilations are all 1.
func (p *AveragePool) Geometry(x Shape) (Window, error) {
	return poolGeometry(x, convAttrs{p.Kernel, p.Strides, nil, p.Pads, p.AutoPad}, p.CeilMode)
}

// Infer implements Op.
func (p *AveragePool) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 1, 1); err != nil {
		return nil, err
	}
	if err := wantFloat(in, 0); err != nil {
		return nil, err
	}
	g, err := p.Geometry(in[0].Shape)
	if err != nil {
		return nil, err
	}
	y, err := poolOutput(in[0].Shape, g.Out)
	return []Type{y}, err
}

// globalPool is the Infer of GlobalAveragePool and GlobalMaxPool.
func globalPool(in []Type) ([]Type, error) {
	if err := arity(in, 1, 1); err != nil {
		return nil, err
	}
	if err := wantFloat(in, 0); err != nil {
		return nil, err
	}
	x := in[0].Shape
	if x == nil {
		return []Type{{DType: Float32}}, nil
	}
	if len(x) < 3 {
		return nil, Invalidf("X has shape %v, want rank >= 3 (2 leading axes and at least one spatial axis)", x)
	}
	out := make(Shape, len(x))
	out[0], out[1] = x[0], x[1]
	for i := 2; i < len(x); i++ {
		if x[i] == 0 {
			return nil, Invalidf("X has shape %v: pooling over an empty spatial axis", x)
		}
		out[i] = 1
	}
	return []Type{{DType: Float32, Shape: out}}, nil
}

// Infer implements Op.
func (*GlobalAveragePool) Infer(in []Type, _ []*Tensor) ([]Type, error) { return globalPool(in) }

// Infer implements Op.
func (*GlobalMaxPool) Infer(in []Type, _ []*Tensor) ([]Type, error) { return globalPool(in) }

// Infer implements Op.
func (*BatchNormalization) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 5, 5); err != nil {
		return nil, err
	}
	for i := range in {
		if err := wantFloat(in, i); err != nil {
			return nil, err
		}
	}
	x := in[0].Shape
	if x != nil && len(x) < 2 {
		return nil, Invalidf("X has shape %v, want rank >= 2 (batch, channels, ...)", x)
	}
	ch := convDim(x, 1)
	for i, name := range []string{"scale", "B", "mean", "var"} {
		s := in[i+1].Shape
		if s == nil {
			continue
		}
		if len(s) != 1 || (ch >= 0 && s[0] >= 0 && s[0] != ch) {
			return nil, Invalidf("%s has shape %v, want [%d] (the channels of X %v)", name, s, ch, x)
		}
	}
	return same(in, 0), nil
}

// Infer implements Op.
func (l *LRN) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 1, 1); err != nil {
		return nil, err
	}
	if err := wantFloat(in, 0); err != nil {
		return nil, err
	}
	if l.Size < 1 || l.Size > MaxElements {
		return nil, Invalidf("size is %d, want >= 1", l.Size)
	}
	if x := in[0].Shape; x != nil && len(x) < 2 {
		return nil, Invalidf("X has shape %v, want rank >= 2 (batch, channels, ...)", x)
	}
	return same(in, 0), nil
}
