package codegen

import (
	"math"
	"slices"
)

// Memory planning: the activation arena.
//
// Every tensor the steps compute, and every graph input, is a buffer of the
// arena (values that alias another, such as a Reshape's output, share their
// root's buffer). A buffer is live from the first step that touches it to
// the last: graph inputs from step 0, graph outputs to the end. Two buffers
// whose lifetimes overlap must not overlap in memory; the planner places
// them in one arena, as small as it can find, by the "greedy by size"
// heuristic of Pisarchyk and Lee ("Efficient Memory Management for Deep
// Neural Net Inference", 2020): buffers placed one by one, each in the
// smallest gap that holds it (best fit). The order matters; the planner
// tries several (see placeOrders) and keeps the best. Greedy by size alone
// leaves DenseNet-121 5.6% above the lower bound; ordering by the busiest
// step a buffer is live at reaches it.
// Before that, element-wise steps may write their output over an input
// whose life ends at that step (in place), merging the two buffers, and
// the inputs of a concatenation the lowering elides (concatViews) become
// views: parts of the concatenation's buffer, at their place in it.

// arenaBuf is one buffer of the arena.
type arenaBuf struct {
	// size is the tensor's size in bytes.
	size int64
	// first and last are the steps where the buffer is live, inclusive.
	first, last int
	// input and output mark graph inputs and outputs: an input is never
	// overwritten in place, an output lives to the end.
	input, output bool
	// root is the buffer whose memory this one shares after an in-place
	// merge, or lies in as a view, itself when none: only roots are
	// placed.
	root int
	// delta is the byte offset of this buffer in its root's memory: a
	// view's place; 0 for an in-place merge.
	delta int64
	// offset is the placed byte offset of a root, a multiple of
	// operandAlign.
	offset int64
}

// stepBufs lists the arena buffers one step touches, and the in-place
// opportunity it offers.
type stepBufs struct {
	// in and out are the buffer of each operand, -1 for operands outside
	// the arena.
	in, out []int
	// inPlace lists the indices into in of the operands whose buffer the
	// step's single output may take over (element-wise kernels).
	inPlace []int
}

// view places buffer buf inside buffer in, at byte offset at (a multiple
// of operandAlign): an input of an elided concatenation inside its output.
type view struct {
	buf, in int
	at      int64
}

// interval is a buffer to place: size bytes, a multiple of operandAlign,
// live at steps first through last.
type interval struct {
	size        int64
	first, last int
}

// ranked is an interval with the figures the placement orders sort by.
type ranked struct {
	interval
	// pressure is the largest total size of the intervals live at one of
	// this one's steps.
	pressure int64
}

// overlaps reports whether two lifetimes share a step.
func (a interval) overlaps(b interval) bool { return a.first <= b.last && b.first <= a.last }

// planMemory computes the buffers' lifetimes from the steps, joins the
// views to the buffers they lie in, merges in-place outputs into their
// inputs (unless noInPlace), places the root buffers (setting every
// buffer's offset) and returns the plan's MemoryStats. All three figures
// count each buffer rounded up to operandAlign bytes, as it occupies the
// arena; LowerBound counts the buffers left after the views and in-place
// merges.
func planMemory(bufs []arenaBuf, steps []stepBufs, views []view, noInPlace bool) MemoryStats {
	liveness(bufs, steps, views)
	var stats MemoryStats
	for _, b := range bufs {
		stats.NoSharing += alignOperand(b.size)
	}
	if !noInPlace {
		mergeInPlace(bufs, steps)
	}
	var roots []int
	var ivs []interval
	for i, b := range bufs {
		if b.root == i {
			roots = append(roots, i)
			ivs = append(ivs, interval{alignOperand(b.size), b.first, b.last})
		}
	}
	offsets, arena := placeBest(ivs)
	for j, i := range roots {
		bufs[i].offset = offsets[j]
	}
	for i := range bufs {
		r, d := placeOf(bufs, i)
		bufs[i].offset = bufs[r].offset + d
	}
	stats.Arena = arena
	stats.LowerBound = lowerBound(ivs)
	return stats
}

// liveness sets first and last of every buffer from the steps that touch
// it: graph inputs are live from step 0 and graph outputs to the last
// step. Each view joins the buffer it lies in (root and delta), whose
// lifetime then spans its parts'. A buffer no step touches, itself or
// through its parts, is live at step 0 only.
func liveness(bufs []arenaBuf, steps []stepBufs, views []view) {
	for i := range bufs {
		bufs[i].first, bufs[i].last, bufs[i].root, bufs[i].delta = math.MaxInt, -1, i, 0
		if bufs[i].input {
			bufs[i].first = 0
		}
	}
	touch := func(id, s int) {
		if id >= 0 {
			bufs[id].first = min(bufs[id].first, s)
			bufs[id].last = max(bufs[id].last, s)
		}
	}
	for s, st := range steps {
		for _, id := range st.in {
			touch(id, s)
		}
		for _, id := range st.out {
			touch(id, s)
		}
	}
	for _, v := range views {
		bufs[v.buf].root, bufs[v.buf].delta = v.in, v.at
	}
	for i := range bufs {
		if r := findRoot(bufs, i); r != i {
			bufs[r].first = min(bufs[r].first, bufs[i].first)
			bufs[r].last = max(bufs[r].last, bufs[i].last)
			bufs[r].output = bufs[r].output || bufs[i].output
		}
	}
	for i := range bufs {
		b := &bufs[i]
		if b.first == math.MaxInt {
			b.first = 0
		}
		if b.output {
			b.last = max(b.last, len(steps)-1)
		}
		b.last = max(b.last, b.first)
	}
}

// findRoot returns the root of buffer i.
func findRoot(bufs []arenaBuf, i int) int {
	r, _ := placeOf(bufs, i)
	return r
}

// placeOf returns the root of buffer i and i's byte offset in it.
func placeOf(bufs []arenaBuf, i int) (int, int64) {
	var d int64
	for bufs[i].root != i {
		d += bufs[i].delta
		i = bufs[i].root
	}
	return i, d
}

// mergeInPlace lets each element-wise step write its output over one of
// its inputs when that input's memory is a whole root of the same size
// (not a view's part of a larger one), dies at this step (no later step
// and no graph output needs it) and is not a graph input: the output
// buffer joins the input's, which then lives until the output's last use.
// Steps are visited in order, so a chain of element-wise steps can run in
// one buffer.
func mergeInPlace(bufs []arenaBuf, steps []stepBufs) {
	for s, st := range steps {
		if len(st.out) != 1 || st.out[0] < 0 || bufs[st.out[0]].root != st.out[0] {
			continue
		}
		o := st.out[0]
		for _, j := range st.inPlace {
			if j < 0 || j >= len(st.in) || st.in[j] < 0 {
				continue
			}
			r, d := placeOf(bufs, st.in[j])
			b := &bufs[r]
			if r == o || d != 0 || b.last != s || b.input || b.output || b.size != bufs[o].size {
				continue
			}
			bufs[o].root = r
			b.last = max(b.last, bufs[o].last)
			b.output = bufs[o].output
			break
		}
	}
}

// lowerBound returns the largest total size of the buffers live at one
// step: no placement fits in less.
func lowerBound(ivs []interval) int64 {
	return slices.Max(append(liveBytes(ivs), 0))
}

// liveBytes returns the total size of the intervals live at each step.
func liveBytes(ivs []interval) []int64 {
	last := -1
	for _, iv := range ivs {
		last = max(last, iv.last)
	}
	// A difference array over the steps: +size at first, -size after last.
	live := make([]int64, last+2)
	for _, iv := range ivs {
		live[iv.first] += iv.size
		live[iv.last+1] -= iv.size
	}
	for s := 1; s < len(live); s++ {
		live[s] += live[s-1]
	}
	return live[:last+1]
}

// rank returns the intervals with their pressure: the largest live total
// over their lifetime, found with a sparse table of range maxima.
func rank(ivs []interval) []ranked {
	live := liveBytes(ivs)
	table := [][]int64{live} // table[k][s] = max of live[s : s+2^k]
	for w := 1; 2*w <= len(live); w *= 2 {
		prev := table[len(table)-1]
		next := make([]int64, len(prev)-w)
		for s := range next {
			next[s] = max(prev[s], prev[s+w])
		}
		table = append(table, next)
	}
	r := make([]ranked, len(ivs))
	for i, iv := range ivs {
		k, w := 0, 1
		for 2*w <= iv.last-iv.first+1 {
			k, w = k+1, 2*w
		}
		r[i] = ranked{iv, max(table[k][iv.first], table[k][iv.last+1-w])}
	}
	return r
}

// placeOrders are the orders in which placeBest tries the greedy
// placement; each compares buffers a and b and returns a negative number
// when a goes first. Ties fall back to the larger size, the earlier first
// step, then the index.
var placeOrders = []func(a, b ranked) int{
	// Greedy by size: the largest first (Pisarchyk and Lee).
	func(a, b ranked) int { return cmpDesc(a.size, b.size) },
	// The intervals live at the busiest steps first, each group in order
	// of birth: the tensors that make the lower bound get packed as it
	// counts them, and long-lived ones (DenseNet's features) stack below
	// the short-lived ones.
	func(a, b ranked) int {
		if c := cmpDesc(a.pressure, b.pressure); c != 0 {
			return c
		}
		return a.first - b.first
	},
	// The largest area (size × lifetime) first.
	func(a, b ranked) int {
		return cmpDesc(a.size*int64(a.last-a.first+1), b.size*int64(b.last-b.first+1))
	},
	// The longest lifetime first.
	func(a, b ranked) int { return cmpDesc(int64(a.last-a.first), int64(b.last-b.first)) },
	// In order of birth: the linear scan of a simple allocator.
	func(a, b ranked) int { return a.first - b.first },
}

// cmpDesc orders larger values first.
func cmpDesc(a, b int64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// placeBest places the intervals with every order of placeOrders, or
// until one reaches the lower bound, and returns the offsets and arena size
// of the smallest arena found.
func placeBest(ivs []interval) ([]int64, int64) {
	r := rank(ivs)
	bound := lowerBound(ivs)
	var best []int64
	bestSize := int64(-1)
	order := make([]int, len(ivs))
	for _, cmp := range placeOrders {
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(i, j int) int {
			a, b := r[i], r[j]
			if c := cmp(a, b); c != 0 {
				return c
			}
			if c := cmpDesc(a.size, b.size); c != 0 {
				return c
			}
			if a.first != b.first {
				return a.first - b.first
			}
			return i - j
		})
		offsets, size := placeGreedy(ivs, order)
		if bestSize < 0 || size < bestSize {
			best, bestSize = offsets, size
		}
		if bestSize <= bound {
			break
		}
	}
	if bestSize < 0 {
		bestSize = 0
	}
	return best, bestSize
}

// placeGreedy places the intervals one by one in the given order, each at
// the start of the smallest gap that holds it between the already placed
// intervals whose lifetimes overlap its own (best fit), or after the last
// of them when no gap does. Sizes must be multiples of operandAlign, so
// every offset is. It returns the offsets and the arena size, the largest
// end.
func placeGreedy(ivs []interval, order []int) ([]int64, int64) {
	offsets := make([]int64, len(ivs))
	var placed []int // indices of placed intervals, by increasing offset
	var arena int64
	for _, i := range order {
		iv := ivs[i]
		var end int64 // the end of the overlapping intervals seen so far
		bestOff, bestGap := int64(-1), int64(math.MaxInt64)
		for _, j := range placed {
			if !iv.overlaps(ivs[j]) {
				continue
			}
			if gap := offsets[j] - end; gap >= iv.size && gap < bestGap {
				bestOff, bestGap = end, gap
			}
			end = max(end, offsets[j]+ivs[j].size)
		}
		if bestOff < 0 {
			bestOff = end
		}
		offsets[i] = bestOff
		arena = max(arena, bestOff+iv.size)
		at, _ := slices.BinarySearchFunc(placed, bestOff, func(j int, off int64) int {
			switch {
			case offsets[j] < off:
				return -1
			case offsets[j] > off:
				return 1
			}
			return 0
		})
		placed = slices.Insert(placed, at, i)
	}
	return offsets, arena
}
