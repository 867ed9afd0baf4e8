package ir

// Element-wise activations and unary math. Each takes one float32 input X
// (Clip and PRelu take more) and produces Y of the same shape.

// Relu is Y = max(X, 0).
type Relu struct{}

// LeakyRelu is Y = X for X >= 0, Alpha*X otherwise.
type LeakyRelu struct{ Alpha float32 }

// PRelu is Y = X for X >= 0, Slope*X otherwise, with Slope (input 1)
// broadcast unidirectionally to X.
type PRelu struct{}

// Elu is Y = X for X >= 0, Alpha*(exp(X)-1) otherwise.
type Elu struct{ Alpha float32 }

// Selu is Y = Gamma*X for X > 0, Gamma*(Alpha*exp(X)-Alpha) otherwise.
type Selu struct{ Alpha, Gamma float32 }

// Sigmoid is Y = 1/(1+exp(-X)).
type Sigmoid struct{}

// Tanh is Y = tanh(X).
type Tanh struct{}

// Sqrt is Y = sqrt(X).
type Sqrt struct{}

// Exp is Y = exp(X).
type Exp struct{}

// Clip is Y = min(max(X, Min), Max). Before opset 11 the bounds are the
// attributes Min and Max; from opset 11 they are the optional scalar inputs
// 1 and 2 and the fields hold the defaults (-Inf, +Inf), which an input
// overrides.
type Clip struct{ Min, Max float32 }

// OpType implements Op.
func (*Relu) OpType() string      { return "Relu" }
func (*LeakyRelu) OpType() string { return "LeakyRelu" }
func (*PRelu) OpType() string     { return "PRelu" }
func (*Elu) OpType() string       { return "Elu" }
func (*Selu) OpType() string      { return "Selu" }
func (*Sigmoid) OpType() string   { return "Sigmoid" }
func (*Tanh) OpType() string      { return "Tanh" }
func (*Sqrt) OpType() string      { return "Sqrt" }
func (*Exp) OpType() string       { return "Exp" }
func (*Clip) OpType() string      { return "Clip" }

// unary is the Infer of a one-input float op.
func unary(in []Type) ([]Type, error) {
	if err := arity(in, 1, 1); err != nil {
		return nil, err
	}
	if err := wantFloat(in, 0); err != nil {
		return nil, err
	}
	return same(in, 0), nil
}

// Infer implements Op.
func (*Relu) Infer(in []Type, _ []*Tensor) ([]Type, error)      { return unary(in) }
func (*LeakyRelu) Infer(in []Type, _ []*Tensor) ([]Type, error) { return unary(in) }
func (*Elu) Infer(in []Type, _ []*Tensor) ([]Type, error)       { return unary(in) }
func (*Selu) Infer(in []Type, _ []*Tensor) ([]Type, error)      { return unary(in) }
func (*Sigmoid) Infer(in []Type, _ []*Tensor) ([]Type, error)   { return unary(in) }
func (*Tanh) Infer(in []Type, _ []*Tensor) ([]Type, error)      { return unary(in) }
func (*Sqrt) Infer(in []Type, _ []*Tensor) ([]Type, error)      { return unary(in) }
func (*Exp) Infer(in []Type, _ []*Tensor) ([]Type, error)       { return unary(in) }

// Infer implements Op.
func (*PRelu) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 2, 2); err != nil {
		return nil, err
	}
	if err := wantFloat(in, 0); err != nil {
		return nil, err
	}
	if err := wantFloat(in, 1); err != nil {
		return nil, err
	}
	out, err := BroadcastShapes(in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, err
	}
	if out != nil && in[0].Shape != nil && len(out) != len(in[0].Shape) {
		return nil, Invalidf("slope shape %v does not broadcast to X shape %v", in[1].Shape, in[0].Shape)
	}
	return same(in, 0), nil
}

// Infer implements Op.
func (*Clip) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 1, 3); err != nil {
		return nil, err
	}
	if err := wantFloat(in, 0); err != nil {
		return nil, err
	}
	for i := 1; i < len(in); i++ {
		if present(in, i) {
			if err := wantFloat(in, i); err != nil {
				return nil, err
			}
			if s := in[i].Shape; s != nil && s.NumElements() != 1 {
				return nil, Invalidf("bound input %d has shape %v, want a scalar", i, s)
			}
		}
	}
	return same(in, 0), nil
}
