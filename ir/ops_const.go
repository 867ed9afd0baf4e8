package ir

// Constant produces the tensor Value. The importer turns each of ONNX's
// value_* attribute forms into this one tensor.
type Constant struct{ Value *Tensor }

// OpType implements Op.
func (*Constant) OpType() string { return "Constant" }

// Infer implements Op.
func (c *Constant) Infer(in []Type, _ []*Tensor) ([]Type, error) {
	if err := arity(in, 0, 0); err != nil {
		return nil, err
	}
	if c.Value == nil {
		return nil, Invalidf("constant has no value")
	}
	return []Type{{DType: c.Value.DType, Shape: c.Value.Shape.Clone()}}, nil
}
