//go:build !amd64 || noasm

package kernels

// setPackISA points packRow at packRowGeneric, the only one of this build.
func setPackISA(isa) { packRow = packRowGeneric }
