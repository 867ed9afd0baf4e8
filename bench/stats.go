package main

import (
	"slices"
	"time"
)

// stats summarizes the timed runs of one engine in one cell.
type stats struct {
	Median, Min time.Duration
	N           int // timed runs
}

// summarize returns the median (the mean of the middle two for an even
// count) and the minimum of d; the zero stats for an empty d.
func summarize(d []time.Duration) stats {
	if len(d) == 0 {
		return stats{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return stats{Median: med, Min: s[0], N: n}
}

// gflops returns 2*macs floating-point operations over d in 1e9 per
// second, or 0 when either is unknown (macs < 0 or d <= 0).
func gflops(macs int64, d time.Duration) float64 {
	if macs < 0 || d <= 0 {
		return 0
	}
	return 2 * float64(macs) / d.Seconds() / 1e9
}

// ms returns d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fromMs converts milliseconds to a Duration, rounding to the nanosecond.
func fromMs(v float64) time.Duration { return time.Duration(v*float64(time.Millisecond) + 0.5) }
