package kernels

import "github.com/cnnc/cnnc/ir"

// The kernels a plan is made of. Each struct lists its operands (In, Out)
// in its doc comment; all tensors are float32 and row-major. Sizes are
// element counts, never bytes.

// Conv2D is a two-dimensional convolution over N×C×H×W input with a fused
// epilogue:
//
//	Y[n, m, oh, ow] = Act(B[m] + Z[n, m, oh, ow] + sum over c < C/Group, kh, kw of
//	    X[n, g*C/Group + c, oh*SH - PadT + kh*DH, ow*SW - PadL + kw*DW] * W[m, c, kh, kw])
//
// where g = m / (M/Group) and positions outside X read 0. Operands: In X
// [N, C, H, W], the packed weights (PackConvWeights of W [M, C/Group, KH,
// KW]), the optional bias B [M] and the optional residual Z [N, M, OH, OW];
// Out Y [N, M, OH, OW]. Algo is one of AlgoDirect, AlgoGEMM1x1 (needs a 1×1
// kernel, unit strides and no padding), AlgoIm2col and AlgoDepthwise (needs
// Group == C == M); the packed weight layout depends on it.
type Conv2D struct {
	N, C, H, W             int
	M, OH, OW              int
	KH, KW, SH, SW, DH, DW int
	PadT, PadL             int
	Group                  int
	Algo                   ir.ConvAlgo
	Act                    ir.Activation
}

// Gemm is the fully connected layer Y = Act(X·B + Bias), with B stored
// packed. Operands: In X [M, K], the packed B (PackGemmB of B [K, N]) and
// the optional Bias [N]; Out Y [M, N]. (The code generator folds Gemm's
// alpha, beta and transpositions into the packed B and the bias.)
type Gemm struct {
	M, N, K int
	Act     ir.Activation
}

// Pool2D is max or average pooling over N×C×H×W input:
//
//	Y[n, c, oh, ow] = max or mean of X[n, c, oh*SH - PadT + kh*DH, ow*SW - PadL + kw*DW]
//
// over kh < KH, kw < KW. Max ignores positions outside X (a window wholly
// outside gives -Inf). Average divides by the number of positions inside X,
// or with CountIncludePad by those inside the padded input (H+PadT+PadB by
// W+PadL+PadR), and gives 0 for an empty count; DH and DW are 1 for it.
// Operands: In X [N, C, H, W]; Out Y [N, C, OH, OW].
type Pool2D struct {
	N, C, H, W             int
	OH, OW                 int
	KH, KW, SH, SW, DH, DW int
	PadT, PadL, PadB, PadR int
	Max, CountIncludePad   bool
}

// GlobalPool is Y[i] = the max (Max) or mean of X[i*Size : (i+1)*Size],
// global pooling with Rows = N*C and Size the spatial size. Operands: In X
// [N, C, ...]; Out Y [N, C, 1, ...].
type GlobalPool struct {
	Rows, Size int
	Max        bool
}

// Affine is Y[n, c, i] = Act(X[n, c, i]*Scale[c] + Shift[c]) for i < Inner:
// inference batch normalization. Operands: In X [N, C, ...], Scale [C],
// Shift [C]; Out Y of X's shape, which may be X itself (in place).
type Affine struct {
	N, C, Inner int
	Act         ir.Activation
}

// BinaryOp is the operation of a Binary kernel.
type BinaryOp uint8

// The Binary operations.
const (
	BinAdd BinaryOp = iota
	BinSub
	BinMul
	BinDiv
	BinMax
	BinMin
)

// Binary is Y[i] = Act(A[i] op B[i]) over Len elements of two tensors of
// the same shape. Operands: In A, B; Out Y, which may be A or B (in
// place).
type Binary struct {
	Op  BinaryOp
	Len int
	Act ir.Activation
}

// UnaryOp is the function of a Unary kernel.
type UnaryOp uint8

// The Unary functions.
const (
	UnRelu      UnaryOp = iota // max(x, 0)
	UnClip                     // min(max(x, Min), Max)
	UnLeakyRelu                // x >= 0 ? x : Alpha*x
	UnSigmoid                  // 1/(1+exp(-x))
	UnTanh                     // tanh(x)
	UnExp                      // exp(x)
	UnSqrt                     // sqrt(x)
)

// Unary is Y[i] = f(X[i]) over Len elements. Operands: In X; Out Y, which
// may be X (in place).
type Unary struct {
	Op       UnaryOp
	Len      int
	Alpha    float32
	Min, Max float32
}

// Concat joins its inputs along one axis: viewing input j as [Outer,
// Inner[j]] and Y as [Outer, sum of Inner], row o of Y is the rows o of the
// inputs one after another. Operands: In one tensor per entry of Inner; Out
// Y.
type Concat struct {
	Outer int
	Inner []int
}

// Softmax is, for each of Outer rows of N contiguous elements, Y = exp(X -
// max) / sum(exp(X - max)), or with Log its logarithm, X - max - log(sum).
// Operands: In X; Out Y.
type Softmax struct {
	Outer, N int
	Log      bool
}

// LRN is local response normalization across channels, as ir.LRN:
// Y[n, c, i] = X[n, c, i] / (Bias + Alpha/Size * sum of X[n, c', i]^2)^Beta
// over c' in [c - (Size-1)/2, c + ceil((Size-1)/2)] ∩ [0, C). Operands: In
// X [N, C, ...] with Inner elements per channel; Out Y.
type LRN struct {
	N, C, Inner       int
	Size              int
	Alpha, Beta, Bias float32
}

// Copy is Y = X over Len float32 elements. Operands: In X; Out Y.
type Copy struct {
	Len int
}

// PackConv packs a convolution's weights at run time, for a Conv2D whose
// W is computed rather than a constant (a training step's parameter):
// the packed weights are what PackConvWeights(&Conv, W) returns. With
// Flip, W is the FlipFilter of the input (a data gradient's filter, made
// from the forward one as it is packed). Operands: In W [M, C/Group, KH,
// KW], or with Flip the forward filter [C, M/Group, KH, KW]; Out the
// packed weights (PackedConvLen(&Conv) floats).
type PackConv struct {
	Conv Conv2D
	Flip bool
}

// PackGemm packs a fully connected layer's B at run time, for a Gemm
// whose B is computed: Out = PackGemmB(&Gemm, Alpha·B), or with TransB
// PackGemmBT(&Gemm, Alpha·B). Operands: In B [K, N] ([N, K] with TransB);
// Out the packed B (PackedGemmLen(&Gemm) floats).
type PackGemm struct {
	Gemm   Gemm
	Alpha  float32
	TransB bool
}

// ConvGradData is the gradient of a Conv2D (without bias and activation)
// with respect to X: dX = the transposed convolution of dY with W.
// Operands: In dY [N, M, OH, OW] and W [M, C/Group, KH, KW] as stored (not
// packed); Out dX [N, C, H, W]. Conv's Algo and Act are ignored.
type ConvGradData struct {
	Conv Conv2D
}

// ConvGradFilter is the gradient of a Conv2D with respect to W:
//
//	dW[m, c, kh, kw] = sum over n, oh, ow of dY[n, m, oh, ow] ·
//	    X[n, g*C/Group + c, oh*SH - PadT + kh*DH, ow*SW - PadL + kw*DW]
//
// (g = m / (M/Group); positions outside X read 0). Operands: In X [N, C,
// H, W] and dY [N, M, OH, OW]; Out dW [M, C/Group, KH, KW]. Conv's Algo
// and Act are ignored.
type ConvGradFilter struct {
	Conv Conv2D
}

// PoolGrad is the gradient of a Pool2D with respect to X: each dY
// element goes to its window's first maximum (Max) or spreads over the
// window's elements divided by the forward count (average). Operands: In
// X [N, C, H, W] and dY [N, C, OH, OW]; Out dX [N, C, H, W].
type PoolGrad struct {
	Pool Pool2D
}

// ActGrad is the gradient of an activation over Len elements: dX = dY ·
// f'(X), Op one of UnRelu and UnSigmoid, UnTanh (from Y), UnLeakyRelu
// (Alpha) and UnClip (Min, Max; 1 strictly inside) from X. Operands: In
// X, Y and dY; Out dX.
type ActGrad struct {
	Op       UnaryOp
	Len      int
	Alpha    float32
	Min, Max float32
}

// FlipFilter turns a filter W [M, C/Group, K] (K the spatial taps,
// flattened) into its transpose's: W' [C, M/Group, K] with W'[g·C/Group
// + c, m, k] = W[g·M/Group + m, c, K-1-k] (ir.FlipFilter). Operands: In
// W; Out W'.
type FlipFilter struct {
	M, C, Group, K int
}

// ChannelSum sums X [Outer, Channels, Inner] over Outer and Inner: a
// bias's gradient. Operands: In X; Out Y [Channels].
type ChannelSum struct {
	Outer, Channels, Inner int
}

// SGD is torch.optim.SGD's step over Len elements (ir.SGD): with d = dW +
// WeightDecay·W, V' = Momentum·V + d and W' = W - LR·(Nesterov ? d +
// Momentum·V' : V'), or W' = W - LR·d without momentum. Operands: In W,
// dW, V (omitted without momentum) and LR [1]; Out W' and, with momentum,
// V'.
type SGD struct {
	Len                   int
	Momentum, WeightDecay float32
	Nesterov              bool
}

// Adam is torch.optim.Adam's step (AdamW's with Decoupled) over Len
// elements (ir.Adam): g = dW (+ WeightDecay·W unless Decoupled), M' =
// Beta1·M + (1-Beta1)·g, V' = Beta2·V + (1-Beta2)·g², W' = W·(1 -
// LR·WeightDecay if Decoupled) - LR·(M'/(1-Beta1^t)) / (sqrt(V'/(1-Beta2^t))
// + Eps), t the step number. Operands: In W, dW, M, V, LR [1] and Step
// [1]; Out W', M', V'.
type Adam struct {
	Len                            int
	Beta1, Beta2, Eps, WeightDecay float32
	Decoupled                      bool
}

// BatchNormTrain is ir.BatchNormTrain over X [N, C, Inner]: the batch's
// mean and biased variance per channel normalize X, and the running
// statistics move by Momentum (ONNX's sense). Operands: In X, scale, B,
// mean and var [C]; Out Y, mean', var', μ and invStd [C].
type BatchNormTrain struct {
	N, C, Inner       int
	Epsilon, Momentum float32
}

// BatchNormGrad is ir.BatchNormGrad over X [N, C, Inner]. Operands: In X,
// scale, μ, invStd and dY; Out dX, dScale and dB.
type BatchNormGrad struct {
	N, C, Inner int
}

// Reference runs the reference interpreter's kernel for Op: the fallback
// for ops the runtime has no fast kernel for. Operands: the op's inputs and
// outputs, any dtype. Unlike the other kernels it may allocate while
// running.
type Reference struct {
	Op ir.Op
}

// Name implements Kernel.
func (*Conv2D) Name() string     { return "conv2d" }
func (*Gemm) Name() string       { return "gemm" }
func (*Pool2D) Name() string     { return "pool2d" }
func (*GlobalPool) Name() string { return "globalpool" }
func (*Affine) Name() string     { return "affine" }
func (*Binary) Name() string     { return "binary" }
func (*Unary) Name() string      { return "unary" }
func (*Concat) Name() string     { return "concat" }
func (*Softmax) Name() string    { return "softmax" }
func (*LRN) Name() string        { return "lrn" }
func (*Copy) Name() string       { return "copy" }
func (*Reference) Name() string  { return "reference" }
func (*PackConv) Name() string   { return "packconv" }
func (*PackGemm) Name() string   { return "packgemm" }

// Name implements Kernel.
func (*ConvGradData) Name() string   { return "convgraddata" }
func (*ConvGradFilter) Name() string { return "convgradfilter" }
func (*PoolGrad) Name() string       { return "poolgrad" }
func (*ActGrad) Name() string        { return "actgrad" }
func (*ChannelSum) Name() string     { return "channelsum" }
func (*FlipFilter) Name() string     { return "flipfilter" }
func (*SGD) Name() string            { return "sgd" }
func (*Adam) Name() string           { return "adam" }
func (*BatchNormTrain) Name() string { return "batchnormtrain" }
func (*BatchNormGrad) Name() string  { return "batchnormgrad" }

// PackConvWeights returns W [M, C/Group, KH, KW] (row-major, float32) in
// the layout k's Algo reads, to be stored in the plan. It fails when w's
// length disagrees with k.
//
// PackedConvLen returns the length of that packed form.
//
// PackGemmB returns B [K, N] (row-major) in the layout Gemm reads.
//
// PackedGemmLen returns the length of that packed form.
//
// (These four are implemented in conv.go and gemm.go.)
