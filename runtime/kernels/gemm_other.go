//go:build !amd64 || noasm

package kernels

// setGemmISA points gemmRow at gemmRowGeneric, the only micro-kernel of
// this build.
func setGemmISA(isa) { gemmRow = gemmRowGeneric }
