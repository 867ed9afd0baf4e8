package runtime

import (
	goruntime "runtime"
	"sync/atomic"
	"time"

	"github.com/cnnc/cnnc/runtime/kernels"
)

// pool is a fixed set of worker goroutines that run the pieces of one task
// at a time. The goroutine calling run is worker 0 and works too, so a pool
// of n threads starts n-1 goroutines. Pieces are handed out by an atomic
// counter, so uneven pieces balance themselves.
//
// A worker that finds no work spins for poolSpin before it parks on its
// channel: the steps of a Run follow each other within microseconds, and a
// goroutine woken through a channel waits in the waker's run queue, often
// for 100 µs or more on two cores, before another P takes it.
type pool struct {
	threads int
	scratch [][]float32 // per worker
	helpers []helper    // workers 1..threads-1

	// run publishes each task as a job in one of two slots, alternately:
	// cur points at it, then gen counts it.
	jobs   [2]job
	cur    atomic.Pointer[job]
	gen    atomic.Uint64
	closed atomic.Bool
}

// job is one range of pieces of a task. A worker registers in active
// before it reads the job, and checks that gen has not moved on, so that
// run can wait for the job's last reader before it reuses the slot.
type job struct {
	task    kernels.Task
	hi      int64
	next    atomic.Int64 // the next piece to hand out
	pending atomic.Int64 // pieces not finished
	active  atomic.Int64 // helpers reading the job
}

// helper is a worker goroutine's parking place: parked is set while it
// waits on wake (or is about to).
type helper struct {
	wake   chan struct{}
	parked atomic.Bool
}

// poolSpin is how long an idle worker polls for work before it parks.
const poolSpin = 200 * time.Microsecond

// newPool starts a pool of threads workers (threads >= 1), each with
// scratch floats of scratch space.
func newPool(threads, scratch int) *pool {
	p := &pool{threads: threads, scratch: make([][]float32, threads)}
	for w := range p.scratch {
		p.scratch[w] = make([]float32, scratch)
	}
	p.helpers = make([]helper, threads-1)
	for w := range p.helpers {
		p.helpers[w].wake = make(chan struct{}, 1)
		go p.worker(w + 1)
	}
	return p
}

// worker runs the pieces of each new job as worker w, spinning between
// jobs for poolSpin and then parking, until the pool is closed.
func (p *pool) worker(w int) {
	h := &p.helpers[w-1]
	seen := p.gen.Load()
	idle := time.Time{}
	for spins := 0; ; spins++ {
		if g := p.gen.Load(); g != seen {
			seen = g
			p.join(g, w)
			idle, spins = time.Time{}, 0
			continue
		}
		if p.closed.Load() {
			return
		}
		if spins%256 != 0 {
			continue
		}
		// Let other goroutines run where workers outnumber the Ps.
		goruntime.Gosched()
		now := time.Now()
		if idle.IsZero() {
			idle = now
		}
		if now.Sub(idle) < poolSpin {
			continue
		}
		// Park. run wakes a parked helper after it bumps gen, so look at
		// gen again once parked is set: if it moved, un-park, unless run
		// already took the flag and sent (or will send) the wake.
		h.parked.Store(true)
		if p.gen.Load() != seen || p.closed.Load() {
			if h.parked.CompareAndSwap(true, false) {
				continue
			}
		}
		<-h.wake
		idle, spins = time.Time{}, 0
	}
}

// join works on job generation g as worker w, if it is still current.
func (p *pool) join(g uint64, w int) {
	j := p.cur.Load()
	j.active.Add(1)
	if p.gen.Load() == g {
		p.drain(j, w)
	}
	j.active.Add(-1)
}

// drain runs pieces of job j as worker w until none are left.
func (p *pool) drain(j *job, w int) {
	for {
		t := j.next.Add(1) - 1
		if t >= j.hi {
			return
		}
		j.task.Run(int(t), p.scratch[w])
		j.pending.Add(-1)
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
	j := &p.jobs[p.gen.Load()%2]
	waitZero(&j.active) // a helper late from the slot's last job
	j.task, j.hi = t, int64(hi)
	j.pending.Store(int64(hi - lo))
	j.next.Store(int64(lo))
	p.cur.Store(j)
	p.gen.Add(1)
	for w := range p.helpers[:min(len(p.helpers), hi-lo-1)] {
		if h := &p.helpers[w]; h.parked.CompareAndSwap(true, false) {
			h.wake <- struct{}{}
		}
	}
	p.drain(j, 0)
	waitZero(&j.pending)
	waitZero(&j.active)
	j.task = nil
}

// waitZero spins until v is 0, yielding the processor now and then.
func waitZero(v *atomic.Int64) {
	for i := 1; v.Load() != 0; i++ {
		if i%64 == 0 {
			goruntime.Gosched()
		}
	}
}

// close stops the worker goroutines.
func (p *pool) close() {
	p.closed.Store(true)
	for w := range p.helpers {
		if h := &p.helpers[w]; h.parked.CompareAndSwap(true, false) {
			h.wake <- struct{}{}
		}
	}
}

// scratchLen returns the scratch floats each worker has.
func (p *pool) scratchLen() int { return len(p.scratch[0]) }
