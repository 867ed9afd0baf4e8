package ir

// Training ops: the losses, the gradients of the forward ops, and the
// optimizer updates that passes.Backward builds a training step from. Like
// the fused ops they are not ONNX operators; their OpType names say so
// ("cnnc.ConvGradData"). Each gradient op keeps the forward op it
// differentiates, so that the geometry has one definition. The reference
// interpreter (runtime/reference/train.go) is their living definition.

// SoftmaxCrossEntropy is the mean over the batch of the cross-entropy of
// softmax(Logits) against the labels, computed stably through
// log-softmax: loss = -1/N · Σn Σk T[n, k] · log softmax(Logits[n])[k],
// where the target T is one-hot for class labels. Inputs: Logits [N, K]
// (f32) and Labels, either classes [N] (i64, each in [0, K)) or target
// probabilities [N, K] (f32; a one-hot row is a class label), as
// torch.nn.CrossEntropyLoss takes either. Output: the scalar loss, f32 of
// shape [].
type SoftmaxCrossEntropy struct{}

// SoftmaxCrossEntropyGrad is the gradient of SoftmaxCrossEntropy with
// respect to the logits: dLogits[n, k] = dLoss · (softmax(Logits[n])[k] ·
// Σj T[n, j] - T[n, k]) / N. Inputs: Logits, Labels (either form) and
// dLoss (f32 []). Output: dLogits, shaped as Logits.
type SoftmaxCrossEntropyGrad struct{}

// MSELoss is the mean squared error, mean over every element of (Pred -
// Target)². Inputs: Pred and Target of one shape (f32). Output: f32 [].
type MSELoss struct{}

// MSELossGrad is the gradient of MSELoss with respect to Pred: dPred =
// dLoss · 2 (Pred - Target) / numel. Inputs: Pred, Target and dLoss (f32
// []). Output: dPred, shaped as Pred.
type MSELossGrad struct{}

// ConvGradData is the gradient of Conv (without its bias) with respect to
// X: dX = the transposed convolution of dY with W. Inputs: dY [N, M, O...]
// and W [M, C/group, K...]. Output: dX of shape X, which the op states
// (the forward output size does not determine the input size).
type ConvGradData struct {
	Conv Conv
	X    Shape
}

// ConvGradFilter is the gradient of Conv with respect to W: dW[m, c, k] =
// Σ over n and output positions o of dY[n, m, o] · X[n, group(m)·C/group + c,
// window(o, k)]. Inputs: X and dY. Output: dW of the stated shape W.
type ConvGradFilter struct {
	Conv Conv
	W    Shape
}

// FlipFilter turns a convolution's filter into the filter of its
// transpose, the one that convolves dY back onto X: each group's input and
// output channels swap and every spatial axis reverses,
//
//	W'[g·C/Group + c, m, k] = W[g·M/Group + m, c, K-1-k]
//
// so that the data gradient of a stride-1 convolution is a convolution of
// dY with W' (passes.Backward), run by the forward kernels. Input: W [M,
// C/Group, K...]. Output: W' [C, M/Group, K...].
type FlipFilter struct{ Group int }

// MaxPoolGrad is the gradient of MaxPool with respect to X: each dY
// element goes to its window's first maximum (as MaxPool's Indices
// define it). Inputs: X and dY. Output: dX, shaped as X.
type MaxPoolGrad struct{ Pool MaxPool }

// AveragePoolGrad is the gradient of AveragePool with respect to X: each
// dY element spreads evenly over the elements its window averaged. Inputs:
// X (for its shape) and dY. Output: dX, shaped as X.
type AveragePoolGrad struct{ Pool AveragePool }

// GlobalPoolGrad is the gradient of GlobalAveragePool (or, with Max, of
// GlobalMaxPool: to each plane's first maximum). Inputs: X and dY [N, C,
// 1...]. Output: dX, shaped as X.
type GlobalPoolGrad struct{ Max bool }

// ActGrad is the gradient of an element-wise activation, Op (Relu,
// LeakyRelu, Sigmoid, Tanh or Clip), with respect to its input: dX = dY ·
// f'(X). Inputs: X, Y and dY of one shape. Output: dX. Relu, Sigmoid and
// Tanh read only Y (so X may be given as Y), LeakyRelu and Clip only X.
// At a kink the derivative is PyTorch's: 0 for Relu at 0, and for Clip
// 1 only strictly inside (Min, Max).
type ActGrad struct{ Op Op }

// DropoutTrain is dropout in training: each element of X is kept with
// probability 1-Ratio and scaled by 1/(1-Ratio), or zeroed. The mask comes
// from a counter-based generator: element i's draw is a hash of (Seed, Salt,
// i), Seed being the step's seed input and Salt the node's own, so that a
// step is reproducible and every dropout draws apart. Inputs: X and Seed
// (f32 [], an integer value). Outputs: Y and Scale, shaped as X, 0 or
// 1/(1-Ratio) (dX = dY·Scale).
type DropoutTrain struct {
	Ratio float32
	Salt  uint64
}

// StochasticDepthTrain is StochasticDepth in training, torchvision's mode
// "batch": the whole branch X is kept (scaled by 1/Survival) or dropped
// (zero) once per step, by a draw as DropoutTrain's. Inputs: X and Seed.
// Outputs: Y, shaped as X, and Scale [1], 0 or 1/Survival.
type StochasticDepthTrain struct {
	Survival float32
	Salt     uint64
}

// LRNGrad is the gradient of LRN with respect to X: with d_c = Bias +
// Alpha/Size · Σ over c's window of X², dX_j = dY_j·d_j^-β - 2·Alpha·β/Size
// · X_j · Σ over the channels c whose window holds j of dY_c·X_c·d_c^(-β-1).
// Inputs: X and dY. Output: dX.
type LRNGrad struct{ LRN LRN }

// BatchNormTrain is batch normalization in training mode, as
// torch.nn.BatchNorm2d (and 1d) computes it: each channel c of X [N, C,
// ...] is normalized by the mean μ and biased variance σ² of its values
// over the batch and the spatial axes, Y = (X - μ)/sqrt(σ² + Epsilon) ·
// scale[c] + B[c], and the running statistics move toward the batch's
// with ONNX's momentum: mean' = Momentum·mean + (1-Momentum)·μ, var' =
// Momentum·var + (1-Momentum)·σ²·n/(n-1) (the unbiased variance, n the
// values per channel). Inputs: X, scale, B, mean, var (the last four
// [C]). Outputs: Y, mean', var', and μ and 1/sqrt(σ² + Epsilon) [C] for
// the gradient.
type BatchNormTrain struct {
	Epsilon, Momentum float32
}

// BatchNormGrad is the gradient of BatchNormTrain: with x̂ the normalized
// X, n values per channel, dB = Σ dY, dScale = Σ dY·x̂ and dX = scale ·
// invStd / n · (n·dY - dB - x̂·dScale), the sums per channel. Inputs: X,
// scale, μ, invStd and dY. Outputs: dX, dScale, dB.
type BatchNormGrad struct{}

// SGD is one step of stochastic gradient descent with PyTorch's
// torch.optim.SGD semantics (dampening 0): with d = dW + WeightDecay·W,
// V' = Momentum·V + d, and W' = W - LR·(d + Momentum·V') under Nesterov,
// else W' = W - LR·V' (W' = W - LR·d without momentum, V unused). A
// zero V is PyTorch's first step. Inputs: W, dW, V (omitted without
// momentum) and LR (f32 []). Outputs: W' and, with momentum, V'.
type SGD struct {
	Momentum, WeightDecay float32
	Nesterov              bool
}

// Adam is one step of torch.optim.Adam (or AdamW, with Decoupled): with
// g = dW (+ WeightDecay·W unless Decoupled), M' = β1·M + (1-β1)·g, V' =
// β2·V + (1-β2)·g², and t the step number (from 1),
// W' = W·(1 - LR·WeightDecay if Decoupled) - LR·(M'/(1-β1^t)) /
// (sqrt(V'/(1-β2^t)) + Eps). Inputs: W, dW, M, V, LR and Step (f32 []).
// Outputs: W', M', V'.
type Adam struct {
	Beta1, Beta2, Eps, WeightDecay float32
	Decoupled                      bool
}

// OpType implements Op.
func (*SoftmaxCrossEntropy) OpType() string     { return "cnnc.SoftmaxCrossEntropy" }
func (*SoftmaxCrossEntropyGrad) OpType() string { return "cnnc.SoftmaxCrossEntropyGrad" }
func (*MSELoss) OpType() string                 { return "cnnc.MSELoss" }
func (*MSELossGrad) OpType() string             { return "cnnc.MSELossGrad" }
func (*ConvGradData) OpType() string            { return "cnnc.ConvGradData" }
func (*ConvGradFilter) OpType() string          { return "cnnc.ConvGradFilter" }
func (*FlipFilter) OpType() string              { return "cnnc.FlipFilter" }
func (*MaxPoolGrad) OpType() string             { return "cnnc.MaxPoolGrad" }
func (*AveragePoolGrad) OpType() string         { return "cnnc.AveragePoolGrad" }
func (*GlobalPoolGrad) OpType() string          { return "cnnc.GlobalPoolGrad" }
func (*ActGrad) OpType() string                 { return "cnnc.ActGrad" }
func (*SGD) OpType() string                     { return "cnnc.SGD" }
func (*BatchNormTrain) OpType() string          { return "cnnc.BatchNormTrain" }
func (*BatchNormGrad) OpType() string           { return "cnnc.BatchNormGrad" }
func (*LRNGrad) OpType() string                 { return "cnnc.LRNGrad" }
func (*DropoutTrain) OpType() string            { return "cnnc.DropoutTrain" }
func (*StochasticDepthTrain) OpType() string    { return "cnnc.StochasticDepthTrain" }
func (*Adam) OpType() string                    { return "cnnc.Adam" }

// scalarF32 is the type of a loss: f32 of shape [].
var scalarF32 = Type{DType: Float32, Shape: Shape{}}

// wantScalar checks that input i is an f32 scalar (shape [] or [1]).
func wantScalar(in []Type, i int, what string) error {
	if in[i].DType != Float32 {
		return Invalidf("%s (input %d) has element type %v, want f32", what, i, in[i].DType)
	}
	if s := in[i].Shape; s != nil && s.NumElements() != 1 && s.Known() {
		return Invalidf("%s (input %d) has shape %v, want a scalar", what, i, s)
	}
	return nil
}

// wantSameShape checks that inputs i and j are f32 of one shape, where
// both are known.
func wantSameShape(in []Type, i, j int) error {
	if err := wantFloat(in, i); err != nil {
		return err
	}
	if err := wantFloat(in, j); err != nil {
		return err
	}
	a, b := in[i].Shape, in[j].Shape
	if a.Known() && b.Known() && !a.Equal(b) {
		return Invalidf("inputs %d and %d have shapes %v and %v, want one shape", i, j, a, b)
	}
	return nil
}

// crossEntropyInputs checks Logits [N, K] and Labels, classes [N] or
// probabilities [N, K].
func crossEntropyInputs(in []Type) error {
	if err := wantFloat(in, 0); err != nil {
		return err
	}
	if err := wantRank(in, 0, 2, 2); err != nil {
		return Prefix(err, "logits")
	}
	switch in[1].DType {
	case Int64:
		if err := wantRank(in, 1, 1, 1); err != nil {
			return Prefix(err, "class labels")
		}
	case Float32:
		if err := wantSameShape(in, 0, 1); err != nil {
			return Prefix(err, "target probabilities")
		}
	default:
		return Invalidf("labels (input 1) have element type %v, want i64 classes or f32 probabilities", in[1].DType)
	}
	l, y := in[0].Shape, in[1].Shape
	if l != nil && y != nil && len(l) > 0 && len(y) > 0 && l[0] >= 0 && y[0] >= 0 && l[0] != y[0] {
		return Invalidf("logits %v and labels %v disagree on the batch size", l, y)
	}
	return nil
}

// Infer implements Op.
func (*SoftmaxCrossEntropy) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 2, 2); err != nil {
		return nil, err
	}
	if err := crossEntropyInputs(in); err != nil {
		return nil, err
	}
	return []Type{scalarF32}, nil
}

// Infer implements Op.
func (*SoftmaxCrossEntropyGrad) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 3, 3); err != nil {
		return nil, err
	}
	if err := crossEntropyInputs(in); err != nil {
		return nil, err
	}
	if err := wantScalar(in, 2, "dLoss"); err != nil {
		return nil, err
	}
	return same(in, 0), nil
}

// Infer implements Op.
func (*MSELoss) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 2, 2); err != nil {
		return nil, err
	}
	if err := wantSameShape(in, 0, 1); err != nil {
		return nil, err
	}
	return []Type{scalarF32}, nil
}

// Infer implements Op.
func (*MSELossGrad) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 3, 3); err != nil {
		return nil, err
	}
	if err := wantSameShape(in, 0, 1); err != nil {
		return nil, err
	}
	if err := wantScalar(in, 2, "dLoss"); err != nil {
		return nil, err
	}
	return same(in, 0), nil
}

// Infer implements Op: dY and W against the forward convolution of an X
// of shape c.X.
func (c *ConvGradData) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 2, 2); err != nil {
		return nil, err
	}
	if !c.X.Known() {
		return nil, Invalidf("X shape %v is not known", c.X)
	}
	fwd, err := c.Conv.Infer([]Type{{DType: Float32, Shape: c.X}, in[1]}, nil)
	if err != nil {
		return nil, err
	}
	if err := wantGradOf(in, 0, fwd[0], "convolution"); err != nil {
		return nil, err
	}
	return []Type{{DType: Float32, Shape: c.X.Clone()}}, nil
}

// Infer implements Op: X and dY against the forward convolution with a W
// of shape c.W.
func (c *ConvGradFilter) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 2, 2); err != nil {
		return nil, err
	}
	if !c.W.Known() {
		return nil, Invalidf("W shape %v is not known", c.W)
	}
	fwd, err := c.Conv.Infer([]Type{in[0], {DType: Float32, Shape: c.W}}, nil)
	if err != nil {
		return nil, err
	}
	if err := wantGradOf(in, 1, fwd[0], "convolution"); err != nil {
		return nil, err
	}
	return []Type{{DType: Float32, Shape: c.W.Clone()}}, nil
}

// Infer implements Op.
func (f *FlipFilter) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 1, 1); err != nil {
		return nil, err
	}
	if err := wantFloat(in, 0); err != nil {
		return nil, err
	}
	if f.Group < 1 {
		return nil, Invalidf("group %d, want at least 1", f.Group)
	}
	w := in[0].Shape
	if w == nil {
		return []Type{{DType: Float32}}, nil
	}
	if len(w) < 3 {
		return nil, Invalidf("W has shape %v, want [M, C/group, K...]", w)
	}
	out := w.Clone()
	out[0], out[1] = -1, -1
	if w[0] >= 0 {
		if w[0]%f.Group != 0 {
			return nil, Invalidf("W has %d output channels, not divisible by group %d", w[0], f.Group)
		}
		out[1] = w[0] / f.Group
	}
	if w[1] >= 0 {
		out[0] = w[1] * f.Group
	}
	return []Type{{DType: Float32, Shape: out}}, nil
}

// wantGradOf checks that input i, dY, is f32 of the forward op's output
// type y (where both shapes are known).
func wantGradOf(in []Type, i int, y Type, what string) error {
	if err := wantFloat(in, i); err != nil {
		return err
	}
	if dy := in[i].Shape; dy.Known() && y.Shape.Known() && !dy.Equal(y.Shape) {
		return Invalidf("dY has shape %v, want the %s's output %v", dy, what, y.Shape)
	}
	return nil
}

// poolGradInfer checks X and dY against the forward pool op's output for X.
func poolGradInfer(fwd Op, in []Type) ([]Type, error) {
	if err := arity(in, 2, 2); err != nil {
		return nil, err
	}
	out, err := fwd.Infer(in[:1], nil)
	if err != nil {
		return nil, err
	}
	if err := wantGradOf(in, 1, out[0], "pool"); err != nil {
		return nil, err
	}
	return same(in, 0), nil
}

// Infer implements Op.
func (p *MaxPoolGrad) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	fwd := p.Pool
	fwd.Indices = false
	return poolGradInfer(&fwd, in)
}

// Infer implements Op.
func (p *AveragePoolGrad) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	return poolGradInfer(&p.Pool, in)
}

// Infer implements Op.
func (p *GlobalPoolGrad) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if p.Max {
		return poolGradInfer(&GlobalMaxPool{}, in)
	}
	return poolGradInfer(&GlobalAveragePool{}, in)
}

// Infer implements Op.
func (a *ActGrad) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	switch a.Op.(type) {
	case *Relu, *LeakyRelu, *Sigmoid, *Tanh, *Clip:
	default:
		return nil, Unsupportedf("gradient of %s", opName(a.Op))
	}
	if err := arity(in, 3, 3); err != nil {
		return nil, err
	}
	for _, j := range []int{1, 2} {
		if err := wantSameShape(in, 0, j); err != nil {
			return nil, err
		}
	}
	return same(in, 0), nil
}

// opName returns op's type, or "a missing op" for nil.
func opName(op Op) string {
	if op == nil {
		return "a missing op"
	}
	return op.OpType()
}

// Infer implements Op.
func (s *SGD) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 2, 4); err != nil {
		return nil, err
	}
	if !present(in, 3) {
		return nil, Invalidf("required input 3 (LR) is missing")
	}
	if !(s.Momentum >= 0) || !(s.WeightDecay >= 0) {
		return nil, Invalidf("momentum %v and weight decay %v, want >= 0", s.Momentum, s.WeightDecay)
	}
	if s.Nesterov && s.Momentum == 0 {
		return nil, Invalidf("Nesterov momentum needs a momentum > 0")
	}
	if err := wantSameShape(in, 0, 1); err != nil {
		return nil, err
	}
	if err := wantScalar(in, 3, "LR"); err != nil {
		return nil, err
	}
	if s.Momentum == 0 {
		if present(in, 2) {
			return nil, Invalidf("a velocity without momentum")
		}
		return same(in, 0), nil
	}
	if !present(in, 2) {
		return nil, Invalidf("momentum %v without a velocity (input 2)", s.Momentum)
	}
	if err := wantSameShape(in, 0, 2); err != nil {
		return nil, err
	}
	return append(same(in, 0), same(in, 0)...), nil
}

// Infer implements Op.
func (a *Adam) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 6, 6); err != nil {
		return nil, err
	}
	if !(a.Beta1 >= 0 && a.Beta1 < 1) || !(a.Beta2 >= 0 && a.Beta2 < 1) || !(a.Eps > 0) || !(a.WeightDecay >= 0) {
		return nil, Invalidf("betas %v, %v (want [0, 1)), eps %v (want > 0), weight decay %v (want >= 0)", a.Beta1, a.Beta2, a.Eps, a.WeightDecay)
	}
	for _, j := range []int{1, 2, 3} {
		if err := wantSameShape(in, 0, j); err != nil {
			return nil, err
		}
	}
	if err := wantScalar(in, 4, "LR"); err != nil {
		return nil, err
	}
	if err := wantScalar(in, 5, "step"); err != nil {
		return nil, err
	}
	return append(same(in, 0), append(same(in, 0), same(in, 0)...)...), nil
}

// channelVector is the type of a per-channel vector of X's channels.
func channelVector(x Shape) Type {
	return Type{DType: Float32, Shape: Shape{convDim(x, 1)}}
}

// Infer implements Op.
func (b *BatchNormTrain) Infer(in []Type, vals []*Tensor) ([]Type, error) {
	if !(b.Momentum >= 0 && b.Momentum <= 1) || !(b.Epsilon >= 0) {
		return nil, Invalidf("momentum %v (want [0, 1]) and epsilon %v (want >= 0)", b.Momentum, b.Epsilon)
	}
	y, err := (&BatchNormalization{}).Infer(in, vals)
	if err != nil {
		return nil, err
	}
	c := channelVector(in[0].Shape)
	return []Type{y[0], c, c, c, c}, nil
}

// Infer implements Op.
func (*BatchNormGrad) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 5, 5); err != nil {
		return nil, err
	}
	if err := wantSameShape(in, 0, 4); err != nil {
		return nil, err
	}
	x := in[0].Shape
	if x != nil && len(x) < 2 {
		return nil, Invalidf("X has shape %v, want rank >= 2 (batch, channels, ...)", x)
	}
	ch := convDim(x, 1)
	for i, name := range []string{"scale", "mean", "invStd"} {
		if err := wantFloat(in, i+1); err != nil {
			return nil, err
		}
		if s := in[i+1].Shape; s != nil && (len(s) != 1 || (ch >= 0 && s[0] >= 0 && s[0] != ch)) {
			return nil, Invalidf("%s has shape %v, want [%d] (the channels of X %v)", name, s, ch, x)
		}
	}
	c := channelVector(x)
	return []Type{same(in, 0)[0], c, c}, nil
}

// Infer implements Op.
func (l *LRNGrad) Infer(in []Type, vals []*Tensor) ([]Type, error) {
	if err := arity(in, 2, 2); err != nil {
		return nil, err
	}
	if _, err := l.LRN.Infer(in[:1], nil); err != nil {
		return nil, err
	}
	if err := wantSameShape(in, 0, 1); err != nil {
		return nil, err
	}
	return same(in, 0), nil
}

// Infer implements Op.
func (d *DropoutTrain) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if !(d.Ratio >= 0 && d.Ratio < 1) {
		return nil, Invalidf("ratio %v, want [0, 1)", d.Ratio)
	}
	if err := wantSeeded(in); err != nil {
		return nil, err
	}
	return append(same(in, 0), same(in, 0)...), nil
}

// wantSeeded checks the inputs of a seeded training op: X (f32) and the
// step's seed (a scalar).
func wantSeeded(in []Type) error {
	if err := arity(in, 2, 2); err != nil {
		return err
	}
	if err := wantFloat(in, 0); err != nil {
		return err
	}
	return wantScalar(in, 1, "seed")
}

// Infer implements Op.
func (d *StochasticDepthTrain) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if !(d.Survival > 0 && d.Survival <= 1) {
		return nil, Invalidf("survival probability %v is not in (0, 1]", d.Survival)
	}
	if err := wantSeeded(in); err != nil {
		return nil, err
	}
	return []Type{same(in, 0)[0], {DType: Float32, Shape: Shape{1}}}, nil
}

// TrainDraw returns draw i, uniform in [0, 1), of the training ops'
// counter-based generator for seed and salt (splitmix64 of their mix):
// DropoutTrain's and StochasticDepthTrain's definition, which kernels
// share.
func TrainDraw(seed float32, salt uint64, i int) float64 {
	z := uint64(int64(seed))*0x9e3779b97f4a7c15 ^ salt*0xbf58476d1ce4e5b9 ^ uint64(i)*0x94d049bb133111eb
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) / (1 << 53)
}
