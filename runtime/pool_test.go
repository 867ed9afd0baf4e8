package runtime

import (
	"sync/atomic"
	"testing"
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
