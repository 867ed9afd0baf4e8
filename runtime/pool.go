package runtime

import (
	"sync"
	"sync/atomic"

	"github.com/cnnc/cnnc/runtime/kernels"
)

// pool is a fixed set of worker goroutines that run the pieces of one task
// at a time. The goroutine calling run is worker 0 and works too, so a pool
// of n threads starts n-1 goroutines. Pieces are handed out by an atomic
// counter, so uneven pieces balance themselves.
type pool struct {
	threads int
	scratch [][]float32 // per worker
	wake    []chan struct{}
	wg      sync.WaitGroup

	// Set by run before waking the workers, read-only while they work.
	task  kernels.Task
	tasks int64
	next  atomic.Int64
}

// newPool starts a pool of threads workers (threads >= 1), each with
// scratch floats of scratch space.
func newPool(threads, scratch int) *pool {
	p := &pool{threads: threads, scratch: make([][]float32, threads)}
	for w := range p.scratch {
		p.scratch[w] = make([]float32, scratch)
	}
	p.wake = make([]chan struct{}, threads-1)
	for w := range p.wake {
		p.wake[w] = make(chan struct{}, 1)
		go p.worker(w+1, p.wake[w])
	}
	return p
}

// worker runs pieces of the current task each time it is woken, until its
// channel is closed.
func (p *pool) worker(w int, wake chan struct{}) {
	for range wake {
		p.drain(w)
		p.wg.Done()
	}
}

// drain runs pieces of the current task as worker w until none are left.
func (p *pool) drain(w int) {
	for {
		t := p.next.Add(1) - 1
		if t >= p.tasks {
			return
		}
		p.task.Run(int(t), p.scratch[w])
	}
}

// run computes every piece of t and returns when all are done: for a
// kernels.Staged task, the pieces of its first stage before the others.
func (p *pool) run(t kernels.Task) {
	n := t.Tasks()
	if st, ok := t.(kernels.Staged); ok {
		if first := st.Stage(); first > 0 {
			p.runRange(t, 0, first)
			p.runRange(t, first, n)
			return
		}
	}
	p.runRange(t, 0, n)
}

// runRange computes pieces [lo, hi) of t and returns when all are done.
func (p *pool) runRange(t kernels.Task, lo, hi int) {
	if hi-lo <= 1 || p.threads == 1 {
		for i := lo; i < hi; i++ {
			t.Run(i, p.scratch[0])
		}
		return
	}
	p.task, p.tasks = t, int64(hi)
	p.next.Store(int64(lo))
	helpers := min(p.threads, hi-lo) - 1
	p.wg.Add(helpers)
	for w := 0; w < helpers; w++ {
		p.wake[w] <- struct{}{}
	}
	p.drain(0)
	p.wg.Wait()
	p.task = nil
}

// close stops the worker goroutines.
func (p *pool) close() {
	for _, c := range p.wake {
		close(c)
	}
	p.wake = nil
}

// scratchLen returns the scratch floats each worker has.
func (p *pool) scratchLen() int { return len(p.scratch[0]) }
