// Package onnxpb holds Go bindings generated from the official onnx.proto
// (proto2 syntax, package onnx) as shipped by Debian's python3-onnx package.
// The source proto is kept alongside as onnx.proto; onnx.pb.go is generated
// by protoc-gen-go and must not be edited by hand. Regenerate with gen.sh
// (optionally setting ONNX_PROTO to another onnx.proto), e.g. via go generate.
package onnxpb

//go:generate bash gen.sh
