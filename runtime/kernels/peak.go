package kernels

import (
	"math"
	goruntime "runtime"
	"time"
)

// peakBurst is the length FMAPeak aims each timed burst at: long enough
// that the clock's resolution and the call are negligible, short enough
// that a burst often runs undisturbed on a shared machine (and that the
// assembly loop, which Go cannot preempt, holds up a garbage collection
// only briefly).
const peakBurst = 2 * time.Millisecond

// peakMinBursts is the fewest timed bursts FMAPeak makes, whatever d.
const peakMinBursts = 3

// FMAPeak measures the single-precision fused multiply-add peak of one core
// at the instruction-set level the kernels run at, the bar the GEMM is
// held to: the best FLOP/s (2 per lane per FMA) of short timed bursts of
// independent vector FMAs that keep every FMA pipe busy, repeated for about
// d (at least a few bursts) on a locked OS thread. isa names the level, as
// ISA does.
//
// The result is the most the core reached, not an average: on a shared
// machine a burst can only lose time to others, never gain it. With the
// pure-Go kernels (isa "generic": the noasm build, another architecture,
// a CPU without AVX2+FMA, or CNNC_ISA=generic) flops is 0: Go compiles
// float32 arithmetic to scalar instructions, so a Go loop would measure
// the compiler, not the core, and there is no meaningful pure-Go peak.
func FMAPeak(d time.Duration) (flops float64, isa string) {
	loop, perIter, l := fmaProbe(activeISA)
	if loop == nil {
		return 0, l.String()
	}
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()

	// Grow the burst until it takes about peakBurst; this also wakes the
	// vector units and the clock up.
	n := 256
	for n < math.MaxInt32 {
		t := time.Now()
		loop(n)
		if time.Since(t) >= peakBurst/2 {
			break
		}
		n *= 2
	}
	best := 0.0
	start := time.Now()
	for i := 0; i < peakMinBursts || time.Since(start) < d; i++ {
		t := time.Now()
		loop(n)
		if s := time.Since(t).Seconds(); s > 0 {
			best = max(best, float64(n)*perIter/s)
		}
	}
	return best, l.String()
}
