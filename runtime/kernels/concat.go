package kernels

import (
	"sort"
	"strconv"

	"github.com/cnnc/cnnc/ir"
)

// copyChunk is the number of elements a copying task moves.
const copyChunk = 64 << 10

// Bind implements Kernel. Inner must have an entry per input; Y must not
// overlap any input.
func (k *Concat) Bind(in, out []*ir.Tensor) (Task, error) {
	if len(k.Inner) == 0 {
		return nil, ir.Invalidf("%s kernel: Inner is empty, want one entry per input", k.Name())
	}
	if err := miscArity(k, in, out, len(k.Inner), 1); err != nil {
		return nil, err
	}
	if err := miscFields(k, miscField{"Outer", k.Outer, 0}); err != nil {
		return nil, err
	}
	off := make([]int, len(k.Inner)+1) // off[j]: where input j's part of a row of Y starts
	for j, n := range k.Inner {
		if n < 0 || n > ir.MaxElements-off[j] {
			return nil, ir.Invalidf("%s kernel: Inner[%d] is %d, want 0 to %d (the sum of Inner at most %d)", k.Name(), j, n, ir.MaxElements-off[j], ir.MaxElements)
		}
		off[j+1] = off[j] + n
	}
	row := off[len(k.Inner)]
	total, ok := miscProduct(k.Outer, row)
	if !ok {
		return nil, ir.Invalidf("%s kernel: Outer*sum(Inner) = %d*%d exceeds %d elements", k.Name(), k.Outer, row, ir.MaxElements)
	}
	y, err := miscF32(k, "output 0 (Y)", out[0], total)
	if err != nil {
		return nil, err
	}
	xs := make([][]float32, len(in))
	for j, t := range in {
		what := "input " + strconv.Itoa(j)
		x, err := miscF32(k, what, t, k.Outer*k.Inner[j])
		if err != nil {
			return nil, err
		}
		if err := miscDisjoint(k, what, x, y); err != nil {
			return nil, err
		}
		xs[j] = x
	}
	return &concatTask{xs: xs, y: y, inner: k.Inner, off: off, row: row, miscGrid: newMiscGrid(1, total, copyChunk)}, nil
}

// concatTask is a bound Concat: task t fills one chunk of Y, in order.
type concatTask struct {
	xs    [][]float32
	y     []float32
	inner []int
	off   []int // off[j] is where input j's part of a row of Y starts
	row   int   // the length of a row of Y
	miscGrid
}

// Run implements Task.
func (t *concatTask) Run(i int, _ []float32) {
	if i < 0 || i >= t.miscGrid.tasks {
		return
	}
	_, _, pos, end := t.miscGrid.span(i)
	if pos >= end {
		return
	}
	o, r := pos/t.row, pos%t.row
	// j is the input whose part of the row holds r: off[j] <= r < off[j+1].
	j := sort.SearchInts(t.off, r+1) - 1
	for pos < end {
		n := min(end-pos, t.off[j+1]-r)
		src := o*t.inner[j] + r - t.off[j]
		copy(t.y[pos:pos+n], t.xs[j][src:src+n])
		pos += n
		r += n
		for j < len(t.inner) && r >= t.off[j+1] {
			j++
		}
		if j == len(t.inner) {
			o, r, j = o+1, 0, 0
			for r >= t.off[j+1] { // skip empty inputs
				j++
			}
		}
	}
}

// Bind implements Kernel. Y may be X itself (then Run does nothing) but
// no other overlapping slice.
func (k *Copy) Bind(in, out []*ir.Tensor) (Task, error) {
	if err := miscArity(k, in, out, 1, 1); err != nil {
		return nil, err
	}
	if err := miscFields(k, miscField{"Len", k.Len, 0}); err != nil {
		return nil, err
	}
	x, err := miscF32(k, "input 0 (X)", in[0], k.Len)
	if err != nil {
		return nil, err
	}
	y, err := miscF32(k, "output 0 (Y)", out[0], k.Len)
	if err != nil {
		return nil, err
	}
	if err := miscInPlace(k, "X", x, y); err != nil {
		return nil, err
	}
	return &copyTask{x: x, y: y, miscGrid: newMiscGrid(1, k.Len, copyChunk)}, nil
}

// copyTask is a bound Copy: task t copies one chunk.
type copyTask struct {
	x, y []float32
	miscGrid
}

// Run implements Task.
func (t *copyTask) Run(i int, _ []float32) {
	if i < 0 || i >= t.miscGrid.tasks {
		return
	}
	_, _, lo, hi := t.miscGrid.span(i)
	copy(t.y[lo:hi], t.x[lo:hi])
}
