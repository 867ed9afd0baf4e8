// Package ir is cnnc's intermediate representation of a neural network: a
// Graph of Nodes that consume and produce Values, where every Node carries a
// typed Op (Conv, Relu, Gemm, ...) instead of an attribute map.
//
// An Op knows its own semantics: Infer validates the op against the types of
// its inputs and returns the types of its outputs. Values have a DType and a
// Shape; a negative dimension is unknown (a symbolic batch dimension, say)
// until concrete inputs are given. Constants (weights, ONNX initializers) are
// Values whose Const field holds a Tensor.
//
// The package imports no other cnnc package: the importer builds Graphs from
// ONNX, passes rewrite them, the runtime executes them.
package ir
