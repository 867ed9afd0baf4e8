//go:build !amd64 || noasm

package kernels

// convGradRuns is convGradRunsGeneric, the only one of this build.
func convGradRuns(dst, src []float32, offs *[gemmNR]int32, maxOff, n, stride int) {
	convGradRunsGeneric(dst, src, offs, maxOff, n, stride)
}

// convGradPackDY is convGradPackDYGeneric, the only one of this build.
func convGradPackDY(dst, src []float32, ld, n int) { convGradPackDYGeneric(dst, src, ld, n) }
