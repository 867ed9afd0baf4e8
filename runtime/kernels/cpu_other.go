//go:build !amd64 || noasm

package kernels

// detectISA returns isaGeneric: this build has no assembly.
func detectISA() isa { return isaGeneric }
