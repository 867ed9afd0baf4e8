//go:build !amd64 || noasm

package kernels

// setGemvISA points gemvBlock at gemvBlockGeneric, the only version of
// this build.
func setGemvISA(isa) { gemvBlock = gemvBlockGeneric }
