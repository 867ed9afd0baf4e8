//go:build !amd64 || noasm

package kernels

// setWinogradISA points the Winograd transforms at their Go versions, the
// only ones of this build.
func setWinogradISA(isa) { wgInput, wgOutput = wgInputGeneric, wgOutputGeneric }
