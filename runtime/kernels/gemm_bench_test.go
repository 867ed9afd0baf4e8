package kernels

import (
	"math/rand"
	"sync"
	"testing"
	"time"
)

// benchPeak is FMAPeak over 0.5 s, measured once per test binary (on first
// use) rather than once per b.N round.
var benchPeak = sync.OnceValue(func() float64 {
	p, _ := FMAPeak(500 * time.Millisecond)
	return p
})

// BenchmarkSGEMM1024 measures issue 5's SGEMM bar: C = A·B for 1024×1024
// matrices on one thread, A packed once beforehand (outside the timer), at
// the active ISA level. It reports GFLOP/s (2·1024³ per product) and the
// percentage of the core's FMA peak (FMAPeak, measured once before the
// timed loops; the bar is 85%), and GFLOP/cpu-s, the rate per second of
// the process's CPU time, which a loaded machine disturbs less. The peak
// metric is absent in pure Go.
func BenchmarkSGEMM1024(b *testing.B) {
	const m, n, k = 1024, 1024, 1024
	r := rand.New(rand.NewSource(1))
	a, bb := gemmRandSlice(r, m*k), gemmRandSlice(r, k*n)
	pa := make([]float32, packedALen(m, k))
	packA(pa, a, m, k, k, 1)
	c := make([]float32, m*n)
	scratch := make([]float32, gemmScratch(k, n))
	peak := benchPeak()
	b.ResetTimer()
	cpu := processCPU()
	for range b.N {
		gemmPacked(m, n, k, pa, bb, n, c, n, scratch)
	}
	work := 2 * float64(m*n*k) * float64(b.N)
	flops := work / b.Elapsed().Seconds()
	b.ReportMetric(flops/1e9, "GFLOP/s")
	reportCPU(b, work/1e9, cpu, "GFLOP/cpu-s")
	if peak > 0 {
		b.ReportMetric(100*flops/peak, "%peak")
	}
}
