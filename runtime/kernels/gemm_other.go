//go:build !amd64 || noasm

package kernels

// setGemmISA points gemmTile at gemmTileGeneric, the only micro-kernel of
// this build.
func setGemmISA(isa) { gemmTile = gemmTileGeneric }
