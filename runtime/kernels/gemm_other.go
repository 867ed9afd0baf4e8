//go:build !amd64 || noasm

package kernels

// setGemmISA points gemmRow and convRow at their Go versions, the only
// micro-kernels of this build.
func setGemmISA(isa) { gemmRow, convRow = gemmRowGeneric, convRowGeneric }
