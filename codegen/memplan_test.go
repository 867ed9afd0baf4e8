package codegen

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// checkPlacement fails t unless the placement is sound: every offset
// aligned, every interval inside the arena, and no two intervals that are
// live at a common step overlapping in memory.
func checkPlacement(t *testing.T, ivs []interval, offsets []int64, arena int64) {
	t.Helper()
	if len(offsets) != len(ivs) {
		t.Fatalf("got %d offsets for %d intervals", len(offsets), len(ivs))
	}
	for i, iv := range ivs {
		if offsets[i]%operandAlign != 0 || offsets[i] < 0 {
			t.Errorf("interval %d at offset %d, want a non-negative multiple of %d", i, offsets[i], operandAlign)
		}
		if end := offsets[i] + iv.size; end > arena {
			t.Errorf("interval %d ends at %d, past the arena of %d", i, end, arena)
		}
		for j := range i {
			a, b := ivs[i], ivs[j]
			if a.size == 0 || b.size == 0 || !a.overlaps(b) {
				continue
			}
			if offsets[i] < offsets[j]+b.size && offsets[j] < offsets[i]+a.size {
				t.Errorf("intervals %d %+v at %d and %d %+v at %d are live together and overlap in memory",
					i, a, offsets[i], j, b, offsets[j])
			}
		}
	}
}

func TestPlaceHandMade(t *testing.T) {
	const k = operandAlign
	for _, c := range []struct {
		name            string
		ivs             []interval
		arena, lowBound int64
	}{
		{"empty", nil, 0, 0},
		{"one", []interval{{k, 0, 0}}, k, k},
		// A chain a -> b -> c: a and c can share.
		{"chain", []interval{{2 * k, 0, 1}, {k, 1, 2}, {2 * k, 2, 3}}, 3 * k, 3 * k},
		// Disjoint lifetimes share everything.
		{"disjoint", []interval{{4 * k, 0, 0}, {4 * k, 1, 1}, {4 * k, 2, 2}}, 4 * k, 4 * k},
		// All live together: the sum.
		{"together", []interval{{k, 0, 5}, {2 * k, 0, 5}, {3 * k, 2, 3}}, 6 * k, 6 * k},
		// A residual block: x lives across the branch.
		{"residual", []interval{
			{4 * k, 0, 3}, // x
			{4 * k, 1, 2}, // branch 1
			{4 * k, 2, 3}, // branch 2
			{4 * k, 3, 4}, // x + branch
		}, 12 * k, 12 * k},
		// Best fit: the small late buffer takes the small gap, leaving the
		// large one for the large buffer.
		{"best fit", []interval{
			{8 * k, 0, 1}, {2 * k, 0, 1}, {8 * k, 0, 4}, // a big and a small hole open at step 2
			{2 * k, 2, 4}, {8 * k, 3, 4},
		}, 18 * k, 18 * k},
		{"zero size", []interval{{0, 0, 3}, {k, 0, 3}, {0, 1, 1}}, k, k},
	} {
		t.Run(c.name, func(t *testing.T) {
			offsets, arena := placeBest(c.ivs)
			checkPlacement(t, c.ivs, offsets, arena)
			if arena != c.arena {
				t.Errorf("arena %d, want %d (offsets %v)", arena, c.arena, offsets)
			}
			if lb := lowerBound(c.ivs); lb != c.lowBound {
				t.Errorf("lower bound %d, want %d", lb, c.lowBound)
			}
		})
	}
}

func TestPlaceRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := 1 + rng.IntN(60)
		steps := 1 + rng.IntN(40)
		ivs := make([]interval, n)
		for i := range ivs {
			first := rng.IntN(steps)
			last := first + rng.IntN(min(steps-first, 1+rng.IntN(10)))
			size := int64(rng.IntN(20)) * operandAlign
			if rng.IntN(4) == 0 {
				size = int64(rng.IntN(1<<10)) * operandAlign
			}
			ivs[i] = interval{size, first, last}
		}
		t.Run(fmt.Sprint(trial), func(t *testing.T) {
			offsets, arena := placeBest(ivs)
			checkPlacement(t, ivs, offsets, arena)
			lb := lowerBound(ivs)
			for i, r := range rank(ivs) {
				var want int64
				for s := ivs[i].first; s <= ivs[i].last; s++ {
					var live int64
					for _, iv := range ivs {
						if iv.first <= s && s <= iv.last {
							live += iv.size
						}
					}
					want = max(want, live)
				}
				if r.pressure != want || r.interval != ivs[i] {
					t.Fatalf("interval %d %+v ranked %+v, want pressure %d", i, ivs[i], r, want)
				}
			}
			if arena < lb {
				t.Errorf("arena %d is below the lower bound %d", arena, lb)
			}
			// Any order gives a sound placement; the best is no worse
			// than the first order's.
			order := rng.Perm(len(ivs))
			o, a := placeGreedy(ivs, order)
			checkPlacement(t, ivs, o, a)
			slices.SortStableFunc(order, func(i, j int) int { return cmpDesc(ivs[i].size, ivs[j].size) })
			if _, bySize := placeGreedy(ivs, order); arena > bySize {
				t.Errorf("best arena %d is larger than greedy by size's %d", arena, bySize)
			}
		})
	}
}

// plannedBufs makes buffers of the given sizes and flags for planMemory.
func plannedBufs(sizes []int64, inputs, outputs []int) []arenaBuf {
	bufs := make([]arenaBuf, len(sizes))
	for i, s := range sizes {
		bufs[i].size = s
	}
	for _, i := range inputs {
		bufs[i].input = true
	}
	for _, i := range outputs {
		bufs[i].output = true
	}
	return bufs
}

func TestLiveness(t *testing.T) {
	// 0: input, used at step 1; 1: made at 0, unused; 2: made at 1,
	// output; 3: made at 2, used at 3; 4: input never used.
	bufs := plannedBufs([]int64{4, 4, 4, 4, 4}, []int{0, 4}, []int{2})
	steps := []stepBufs{
		{out: []int{1}},
		{in: []int{0, -1}, out: []int{2}},
		{in: []int{-1}, out: []int{3}},
		{in: []int{3}, out: []int{-1}},
	}
	liveness(bufs, steps, nil)
	want := [][2]int{{0, 1}, {0, 0}, {1, 3}, {2, 3}, {0, 0}}
	for i, w := range want {
		if got := [2]int{bufs[i].first, bufs[i].last}; got != w {
			t.Errorf("buffer %d live %v, want %v", i, got, w)
		}
	}
}

func TestMergeInPlace(t *testing.T) {
	for _, c := range []struct {
		name      string
		sizes     []int64
		in, out   []int
		steps     []stepBufs
		wantRoots []int
		wantArena int64
	}{
		{
			// x(in) -conv-> a -relu-> b -relu-> c(out): a, b, c share.
			name:  "chain",
			sizes: []int64{64, 64, 64, 64}, in: []int{0}, out: []int{3},
			steps: []stepBufs{
				{in: []int{0}, out: []int{1}},
				{in: []int{1}, out: []int{2}, inPlace: []int{0}},
				{in: []int{2}, out: []int{3}, inPlace: []int{0}},
			},
			wantRoots: []int{0, 1, 1, 1}, wantArena: 128,
		},
		{
			// A graph input is never overwritten.
			name:  "input",
			sizes: []int64{64, 64}, in: []int{0}, out: []int{1},
			steps:     []stepBufs{{in: []int{0}, out: []int{1}, inPlace: []int{0}}},
			wantRoots: []int{0, 1}, wantArena: 128,
		},
		{
			// a is read again after the relu, so the relu's output b gets
			// its own buffer; the last step may take either, and takes a.
			name:  "still needed",
			sizes: []int64{64, 64, 64, 64}, in: []int{0}, out: []int{3},
			steps: []stepBufs{
				{in: []int{0}, out: []int{1}},
				{in: []int{1}, out: []int{2}, inPlace: []int{0}},
				{in: []int{1, 2}, out: []int{3}, inPlace: []int{0, 1}},
			},
			wantRoots: []int{0, 1, 2, 1}, wantArena: 128,
		},
		{
			// Sizes differ (a broadcast would): no in-place.
			name:  "size",
			sizes: []int64{64, 64, 128}, in: []int{0}, out: []int{2},
			steps: []stepBufs{
				{in: []int{0}, out: []int{1}},
				{in: []int{1}, out: []int{2}, inPlace: []int{0}},
			},
			wantRoots: []int{0, 1, 2}, wantArena: 192,
		},
		{
			// A graph output read by the last step keeps its memory (the
			// second output takes the dead input's).
			name:  "output",
			sizes: []int64{64, 64, 64}, in: []int{0}, out: []int{1, 2},
			steps: []stepBufs{
				{in: []int{0}, out: []int{1}},
				{in: []int{1}, out: []int{2}, inPlace: []int{0}},
			},
			wantRoots: []int{0, 1, 2}, wantArena: 128,
		},
		{
			// The second operand of a binary step, when the first lives on.
			name:  "second operand",
			sizes: []int64{64, 64, 64}, in: []int{0}, out: []int{2},
			steps: []stepBufs{
				{in: []int{0}, out: []int{1}},
				{in: []int{0, 1}, out: []int{2}, inPlace: []int{0, 1}},
			},
			wantRoots: []int{0, 1, 1}, wantArena: 128,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			bufs := plannedBufs(c.sizes, c.in, c.out)
			stats := planMemory(bufs, c.steps, nil, false)
			for i, w := range c.wantRoots {
				if got := findRoot(bufs, i); got != w {
					t.Errorf("buffer %d has root %d, want %d", i, got, w)
				}
			}
			if stats.Arena != c.wantArena {
				t.Errorf("arena %d, want %d", stats.Arena, c.wantArena)
			}
			var sum int64
			for _, s := range c.sizes {
				sum += s
			}
			if stats.NoSharing != sum {
				t.Errorf("no sharing %d, want %d", stats.NoSharing, sum)
			}
			checkBufs(t, bufs)

			bufs = plannedBufs(c.sizes, c.in, c.out)
			planMemory(bufs, c.steps, nil, true)
			for i := range bufs {
				if r := findRoot(bufs, i); r != i {
					t.Errorf("NoInPlace: buffer %d has root %d", i, r)
				}
			}
			checkBufs(t, bufs)
		})
	}
}

// checkBufs checks that planned buffers with different roots that are live
// together do not overlap in memory, and that merged ones share offsets.
func checkBufs(t *testing.T, bufs []arenaBuf) {
	t.Helper()
	for i, a := range bufs {
		ra := findRoot(bufs, i)
		if a.offset != bufs[ra].offset {
			t.Errorf("buffer %d at %d, its root %d at %d", i, a.offset, ra, bufs[ra].offset)
		}
		for j := range i {
			b := bufs[j]
			rb := findRoot(bufs, j)
			if ra == rb || a.size == 0 || b.size == 0 {
				continue
			}
			ia, ib := interval{a.size, bufs[ra].first, bufs[ra].last}, interval{b.size, bufs[rb].first, bufs[rb].last}
			if ia.overlaps(ib) && a.offset < b.offset+b.size && b.offset < a.offset+a.size {
				t.Errorf("buffers %d and %d are live together and overlap in memory", i, j)
			}
		}
	}
}

func TestPlanMemoryViews(t *testing.T) {
	// 0: a Concat's output, read at step 3, holding 1 (written at step
	// 1) at byte 0 and 2 (written at step 2) at byte 64; 3: live at
	// steps 0 and 1 only, so it may share 0's memory only before step 1.
	bufs := plannedBufs([]int64{128, 64, 64, 128}, nil, nil)
	steps := []stepBufs{
		{out: []int{3}},
		{in: []int{3}, out: []int{1}},
		{out: []int{2}},
		{in: []int{0}, out: []int{-1}},
	}
	views := []view{{buf: 1, in: 0, at: 0}, {buf: 2, in: 0, at: 64}}
	stats := planMemory(bufs, steps, views, false)
	if got := [2]int{bufs[0].first, bufs[0].last}; got != [2]int{1, 3} {
		t.Errorf("concat output live %v, want [1 3]: its parts' steps and its own", got)
	}
	if bufs[1].offset != bufs[0].offset || bufs[2].offset != bufs[0].offset+64 {
		t.Errorf("parts at %d and %d, concat at %d: want at +0 and +64", bufs[1].offset, bufs[2].offset, bufs[0].offset)
	}
	if bufs[3].offset == bufs[0].offset {
		t.Errorf("buffer 3 shares the concat's memory at step 1, where part 1 is written from it")
	}
	if stats.Arena != 256 || stats.LowerBound != 256 {
		t.Errorf("memory %+v, want arena = lower bound = 256", stats)
	}
}
