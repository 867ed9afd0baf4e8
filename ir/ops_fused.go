package ir

// Fused ops are made by the compiler's passes, never by the importer: each
// computes what a short chain of ONNX ops computes, in one pass over the
// data. They are not ONNX operators, so a graph holding them cannot be
// exported; their OpType names say so ("cnnc.FusedConv").

// ActKind is the element-wise activation a fused op applies last.
type ActKind uint8

const (
	// ActNone applies nothing: f(x) = x.
	ActNone ActKind = iota
	// ActRelu is f(x) = max(x, 0).
	ActRelu
	// ActClip is f(x) = min(max(x, Min), Max) (ReLU6 is Clip 0..6).
	ActClip
)

var actNames = [...]string{ActNone: "none", ActRelu: "relu", ActClip: "clip"}

// String returns none, relu or clip.
func (k ActKind) String() string { return enumName(actNames[:], int(k), "ActKind") }

// Activation is the activation of a fused op. Min and Max are Clip's
// bounds and are zero for the other kinds.
type Activation struct {
	Kind     ActKind
	Min, Max float32
}

// Apply returns f(x). A NaN x stays NaN under every kind, as ONNX's Relu
// and Clip leave it.
func (a Activation) Apply(x float32) float32 {
	switch a.Kind {
	case ActRelu:
		if x < 0 {
			return 0
		}
	case ActClip:
		if x < a.Min {
			return a.Min
		}
		if x > a.Max {
			return a.Max
		}
	}
	return x
}

// Check reports whether a is well formed: a known kind, and Min <= Max for
// Clip.
func (a Activation) Check() error {
	switch a.Kind {
	case ActNone, ActRelu:
		if a.Min != 0 || a.Max != 0 {
			return Invalidf("activation %v has bounds %v..%v, want none", a.Kind, a.Min, a.Max)
		}
	case ActClip:
		if !(a.Min <= a.Max) {
			return Invalidf("clip activation bounds %v..%v: want min <= max", a.Min, a.Max)
		}
	default:
		return Invalidf("unknown activation kind %d", a.Kind)
	}
	return nil
}

// ConvAlgo is the algorithm the compiler chose for a convolution.
type ConvAlgo uint8

const (
	// AlgoAuto leaves the choice to the lowering (the default).
	AlgoAuto ConvAlgo = iota
	// AlgoDirect loops over output positions and the kernel window.
	AlgoDirect
	// AlgoGEMM1x1 is a 1x1, stride-1, unpadded convolution computed as one
	// matrix product per image and group, reading X in place.
	AlgoGEMM1x1
	// AlgoIm2col unfolds the input windows into a matrix (im2col) and
	// multiplies it by the weights, per image and group.
	AlgoIm2col
	// AlgoDepthwise is the per-channel convolution of Group == C == M.
	AlgoDepthwise
	// AlgoWinograd2 is Winograd F(2x2,3x3) (3x3 stride-1 convolutions).
	AlgoWinograd2
	// AlgoWinograd4 is Winograd F(4x4,3x3) (3x3 stride-1 convolutions).
	AlgoWinograd4
	// AlgoOCBlock is the direct convolution with blocks of output channels
	// on the vector lanes: each input value of a tap is broadcast and
	// multiplied by a block's weights (strides up to 4).
	AlgoOCBlock
)

var algoNames = [...]string{
	AlgoAuto:      "auto",
	AlgoDirect:    "direct",
	AlgoGEMM1x1:   "gemm1x1",
	AlgoIm2col:    "im2col",
	AlgoDepthwise: "depthwise",
	AlgoWinograd2: "winograd2",
	AlgoWinograd4: "winograd4",
	AlgoOCBlock:   "ocblock",
}

// String returns the algorithm's short name: auto, direct, gemm1x1,
// im2col, depthwise, winograd2, winograd4 or ocblock.
func (a ConvAlgo) String() string { return enumName(algoNames[:], int(a), "ConvAlgo") }

// ParseConvAlgo returns the ConvAlgo named s (see String), or false.
func ParseConvAlgo(s string) (ConvAlgo, bool) {
	i, ok := parseEnum(algoNames[:], s)
	return ConvAlgo(i), ok
}

// FusedConv is a convolution followed by the addition of an optional
// residual and an activation:
//
//	Y = Act(Conv(X, W, B) + Z)
//
// Its inputs are X, W, the optional B and the optional Z (input 3, of Y's
// shape); Conv's fields give the geometry. Algo records the algorithm the
// compiler chose; it does not change the result.
type FusedConv struct {
	Conv Conv
	Act  Activation
	Algo ConvAlgo
}

// FusedGemm is Gemm followed by an activation: Y = Act(Gemm(A, B, C)), with
// Gemm's inputs.
type FusedGemm struct {
	Gemm Gemm
	Act  Activation
}

// ChannelAffine is a per-channel scale and shift followed by an
// activation, the form batch normalization takes at inference once its
// statistics are folded: Y[n, c, ...] = Act(X[n, c, ...]*Scale[c] +
// Shift[c]). Its inputs are X [N, C, ...] (rank >= 2), Scale [C] and Shift
// [C]; Y has X's shape.
type ChannelAffine struct {
	Act Activation
}

// OpType implements Op.
func (*FusedConv) OpType() string     { return "cnnc.FusedConv" }
func (*FusedGemm) OpType() string     { return "cnnc.FusedGemm" }
func (*ChannelAffine) OpType() string { return "cnnc.ChannelAffine" }

// Infer implements Op.
func (f *FusedConv) Infer(in []Type, vals []*Tensor) ([]Type, error) {
	if err := f.Act.Check(); err != nil {
		return nil, err
	}
	if err := arity(in, 2, 4); err != nil {
		return nil, err
	}
	out, err := f.Conv.Infer(in[:min(len(in), 3)], nil)
	if err != nil {
		return nil, err
	}
	if err := residual(in, 3, out[0]); err != nil {
		return nil, err
	}
	return out, nil
}

// Infer implements Op.
func (f *FusedGemm) Infer(in []Type, vals []*Tensor) ([]Type, error) {
	if err := f.Act.Check(); err != nil {
		return nil, err
	}
	return f.Gemm.Infer(in, vals)
}

// Infer implements Op.
func (a *ChannelAffine) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := a.Act.Check(); err != nil {
		return nil, err
	}
	if err := arity(in, 3, 3); err != nil {
		return nil, err
	}
	for i := range in {
		if err := wantFloat(in, i); err != nil {
			return nil, err
		}
	}
	x := in[0].Shape
	if x != nil && len(x) < 2 {
		return nil, Invalidf("X has shape %v, want rank >= 2", x)
	}
	for i := 1; i < 3; i++ {
		s := in[i].Shape
		if s == nil {
			continue
		}
		if len(s) != 1 {
			return nil, Invalidf("input %d has shape %v, want [C]", i, s)
		}
		if x != nil && x[1] >= 0 && s[0] >= 0 && s[0] != x[1] {
			return nil, Invalidf("input %d has shape %v, want [%d] (X's channels)", i, s, x[1])
		}
	}
	return same(in, 0), nil
}

// residual checks the optional residual input i of a fused op against the
// op's output type.
func residual(in []Type, i int, out Type) error {
	if !present(in, i) {
		return nil
	}
	if err := wantFloat(in, i); err != nil {
		return err
	}
	z := in[i].Shape
	if z == nil || out.Shape == nil {
		return nil
	}
	ok := len(z) == len(out.Shape)
	for j := 0; ok && j < len(z); j++ {
		ok = z[j] < 0 || out.Shape[j] < 0 || z[j] == out.Shape[j]
	}
	if !ok {
		return Invalidf("residual input has shape %v, want the output's %v", z, out.Shape)
	}
	return nil
}
