package ir

// StochasticDepth is stochastic depth on a residual branch (Huang et al.,
// "Deep Networks with Stochastic Depth", ECCV 2016), with the semantics of
// torchvision.ops.StochasticDepth in mode "batch": in training, the whole
// branch X is dropped (Y = 0) with probability 1-Survival, once per batch,
// and a surviving branch is scaled by 1/Survival, so that at inference the
// op is the identity, Y = X. It takes one float input and produces Y of the
// same shape.
//
// The IR's graphs are inference graphs, and there the op means the
// identity: the reference interpreter copies X, and the ONNX exporter,
// ONNX having no such operator, writes an Identity node (the importer never
// produces this op). The training backend will give it its training
// meaning (the per-batch drop and the 1/Survival scaling).
type StochasticDepth struct {
	// Survival is the probability that the branch is kept in training, in
	// (0, 1].
	Survival float32
}

// OpType implements Op. It is not an ONNX operator type.
func (*StochasticDepth) OpType() string { return "StochasticDepth" }

// Infer implements Op.
func (s *StochasticDepth) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if !(s.Survival > 0 && s.Survival <= 1) {
		return nil, Invalidf("survival probability %v is not in (0, 1]", s.Survival)
	}
	return unary(in)
}

// StochasticDepthLayer puts the branch it is applied to under stochastic
// depth with survival probability p (see StochasticDepth): the identity at
// inference.
func StochasticDepthLayer(p float32) Layer {
	return unaryLayer(func() Op { return &StochasticDepth{Survival: p} })
}
