//go:build !noasm

package kernels

// The FLOP of one iteration of the probes in peak_amd64.s: 24 FMAs of 8
// (ymm) or 16 (zmm) lanes, 2 FLOP per lane.
const (
	fmaFlopsAVX2   = 24 * 8 * 2
	fmaFlopsAVX512 = 24 * 16 * 2
)

// fmaProbe returns the FMA loop FMAPeak times at level l (the best probe
// at or below l), the FLOP of one of its iterations and the level the
// probe runs at; a nil loop at isaGeneric.
func fmaProbe(l isa) (loop func(n int), flopsPerIter float64, at isa) {
	switch {
	case l >= isaAVX512:
		return fmaLoopAVX512, fmaFlopsAVX512, isaAVX512
	case l >= isaAVX2:
		return fmaLoopAVX2, fmaFlopsAVX2, isaAVX2
	}
	return nil, 0, isaGeneric
}
