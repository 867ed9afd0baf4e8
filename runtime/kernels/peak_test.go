package kernels

import (
	"math"
	"testing"
	"time"
)

// TestFMAPeak checks that FMAPeak measures something at every level this
// machine runs: a positive, finite FLOP/s with assembly, 0 in pure Go. It
// asserts no speed.
func TestFMAPeak(t *testing.T) {
	t.Cleanup(func() { setISA(cpuISA) })
	for _, l := range testISAs() {
		setISA(l)
		flops, name := FMAPeak(10 * time.Millisecond)
		t.Logf("%v: %.1f GFLOP/s", l, flops/1e9)
		if name != l.String() {
			t.Errorf("FMAPeak at %v names the level %q, want %q", l, name, l)
		}
		if l == isaGeneric {
			if flops != 0 {
				t.Errorf("FMAPeak at generic = %v, want 0 (no pure-Go peak)", flops)
			}
			continue
		}
		if !(flops > 0) || math.IsInf(flops, 0) {
			t.Errorf("FMAPeak at %v = %v, want a positive, finite FLOP/s", l, flops)
		}
	}
}
