//go:build !amd64 || noasm

package kernels

// setOCBlockISA points convOCRow at convOCRowGeneric, the only
// micro-kernel of this build.
func setOCBlockISA(isa) { convOCRow = convOCRowGeneric }
