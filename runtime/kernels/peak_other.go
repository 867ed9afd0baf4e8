//go:build !amd64 || noasm

package kernels

// fmaProbe returns no loop: this build has no assembly, and a pure-Go
// loop would not measure the core's peak (see FMAPeak).
func fmaProbe(l isa) (loop func(n int), flopsPerIter float64, at isa) {
	return nil, 0, isaGeneric
}
