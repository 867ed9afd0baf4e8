package runtime

import (
	goruntime "runtime"
	"sync/atomic"
	"testing"
	"time"
)

// countTask records how often each piece ran.
type countTask struct {
	n       int
	scratch int
	counts  []atomic.Int32
	short   atomic.Bool
}

func (c *countTask) Tasks() int   { return c.n }
func (c *countTask) Scratch() int { return c.scratch }
func (c *countTask) Run(t int, scratch []float32) {
	if len(scratch) < c.scratch {
		c.short.Store(true)
	}
	c.counts[t].Add(1)
}

func TestPoolRunsEveryPieceOnce(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8} {
		p := newPool(threads, 16)
		for _, n := range []int{1, 2, 3, 7, 100} {
			for range 20 {
				c := &countTask{n: n, scratch: 16, counts: make([]atomic.Int32, n)}
				p.run(c)
				for i := range c.counts {
					if got := c.counts[i].Load(); got != 1 {
						t.Fatalf("threads %d, %d pieces: piece %d ran %d times, want 1", threads, n, i, got)
					}
				}
				if c.short.Load() {
					t.Fatalf("threads %d: a worker got less scratch than asked", threads)
				}
			}
		}
		p.close()
	}
}

// TestPoolParks checks the hand-over between spinning and parked helpers:
// tasks after the helpers have parked still run every piece once, on
// several threads, and close stops parked and spinning helpers alike.
func TestPoolParks(t *testing.T) {
	before := goruntime.NumGoroutine()
	for _, threads := range []int{2, 3} {
		p := newPool(threads, 0)
		for round := range 6 {
			if round%2 == 1 {
				time.Sleep(3 * poolSpin) // long enough to park
			}
			c := &countTask{n: 64, counts: make([]atomic.Int32, 64)}
			p.run(c)
			for i := range c.counts {
				if got := c.counts[i].Load(); got != 1 {
					t.Fatalf("threads %d, round %d: piece %d ran %d times", threads, round, i, got)
				}
			}
		}
		time.Sleep(3 * poolSpin) // close parked helpers
		p.close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for goruntime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := goruntime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after close, %d before", n, before)
	}
}
