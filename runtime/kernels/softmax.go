package kernels

import (
	"math"

	"github.com/cnnc/cnnc/ir"
)

// Bind implements Kernel. Y may be X itself (in place) but no other
// overlapping slice.
func (k *Softmax) Bind(in, out []*ir.Tensor) (Task, error) {
	if err := miscArity(k, in, out, 1, 1); err != nil {
		return nil, err
	}
	if err := miscFields(k, miscField{"Outer", k.Outer, 0}, miscField{"N", k.N, 0}); err != nil {
		return nil, err
	}
	n, ok := miscProduct(k.Outer, k.N)
	if !ok {
		return nil, ir.Invalidf("%s kernel: Outer*N = %d*%d exceeds %d elements", k.Name(), k.Outer, k.N, ir.MaxElements)
	}
	x, err := miscF32(k, "input 0 (X)", in[0], n)
	if err != nil {
		return nil, err
	}
	y, err := miscF32(k, "output 0 (Y)", out[0], n)
	if err != nil {
		return nil, err
	}
	if err := miscInPlace(k, "X", x, y); err != nil {
		return nil, err
	}
	return &softmaxTask{x: x, y: y, n: k.N, log: k.Log, miscGrid: newMiscRowGrid(k.Outer, k.N, miscChunk)}, nil
}

// softmaxTask is a bound Softmax: task t covers a block of whole rows.
type softmaxTask struct {
	x, y []float32
	n    int
	log  bool
	miscGrid
}

// Run implements Task.
func (t *softmaxTask) Run(i int, _ []float32) {
	if i < 0 || i >= t.miscGrid.tasks {
		return
	}
	r0, r1, _, _ := t.miscGrid.span(i)
	for r := r0; r < r1; r++ {
		x, y := t.x[r*t.n:(r+1)*t.n], t.y[r*t.n:(r+1)*t.n]
		if len(x) == 0 {
			continue
		}
		// Each pass reads x[j] before writing y[j], so y may be x.
		m := poolRowMax(x)
		var sum float64
		if t.log {
			var buf [256]float32
			for b := 0; b < len(x); b += len(buf) {
				e := buf[:min(len(buf), len(x)-b)]
				exp32Slice(e, x[b:b+len(e)], m)
				sum += softmaxSum(e)
			}
			lse := float32(math.Log(sum))
			for j, v := range x {
				y[j] = v - m - lse
			}
			continue
		}
		exp32Slice(y, x, m)
		sum = softmaxSum(y)
		inv := float32(1 / sum)
		for j := range y {
			y[j] *= inv
		}
	}
}

// softmaxSum returns the sum of x in float64.
func softmaxSum(x []float32) float64 {
	var s0, s1 float64
	i := 0
	for ; i+2 <= len(x); i += 2 {
		s0 += float64(x[i])
		s1 += float64(x[i+1])
	}
	if i < len(x) {
		s0 += float64(x[i])
	}
	return s0 + s1
}

// lrnBlock is the number of positions whose sums of squares LRN slides
// down the channels together.
const lrnBlock = 256

// Bind implements Kernel. Size must be at least 1; Y must not overlap X.
func (k *LRN) Bind(in, out []*ir.Tensor) (Task, error) {
	if err := miscArity(k, in, out, 1, 1); err != nil {
		return nil, err
	}
	err := miscFields(k, miscField{"N", k.N, 0}, miscField{"C", k.C, 0}, miscField{"Inner", k.Inner, 0},
		miscField{"Size", k.Size, 1})
	if err != nil {
		return nil, err
	}
	n, ok := miscProduct(k.N, k.C, k.Inner)
	if !ok {
		return nil, ir.Invalidf("%s kernel: N*C*Inner = %d*%d*%d exceeds %d elements", k.Name(), k.N, k.C, k.Inner, ir.MaxElements)
	}
	x, err := miscF32(k, "input 0 (X)", in[0], n)
	if err != nil {
		return nil, err
	}
	y, err := miscF32(k, "output 0 (Y)", out[0], n)
	if err != nil {
		return nil, err
	}
	if err := miscDisjoint(k, "X", x, y); err != nil {
		return nil, err
	}
	before := (k.Size - 1) / 2
	return &lrnTask{
		x: x, y: y, c: k.C, inner: k.Inner,
		before: before, after: k.Size - 1 - before,
		alpha: float64(k.Alpha) / float64(k.Size), beta: float64(k.Beta), bias: float64(k.Bias),
		miscGrid: newMiscGrid(k.N, k.Inner, max(1, miscChunk/max(k.C, 1))),
	}, nil
}

// lrnTask is a bound LRN: task t covers a block of positions of one or
// more images, across all channels.
type lrnTask struct {
	x, y              []float32
	c, inner          int
	before, after     int // the window of channel c is [c-before, c+after]
	alpha, beta, bias float64
	miscGrid          // images × positions
}

// Run slides each position's sum of squares down the channels: channel
// c+1's window adds channel c+after+1 and drops channel c-before. The sums
// are float64, in which a float32's square is exact, but dropping a large
// square from a sum cancels its leading bits; so each position also keeps
// the peak its sum reached since it was last computed from scratch, and a
// sum that falls below peak/2^16 (or turns NaN when an Inf or NaN leaves)
// is recomputed from its window. Each slide since then has added an error
// of at most 2^-53 of the peak, so at most 2^-37 of the sum.
func (t *lrnTask) Run(i int, _ []float32) {
	if i < 0 || i >= t.miscGrid.tasks {
		return
	}
	n0, n1, p0, p1 := t.miscGrid.span(i)
	var acc, peak [lrnBlock]float64
	for n := n0; n < n1; n++ {
		base := n * t.c * t.inner
		for q0 := p0; q0 < p1; q0 += lrnBlock {
			w := min(lrnBlock, p1-q0)
			s, pk := acc[:w], peak[:w]
			clear(s)
			clear(pk)
			for cc := 0; cc <= min(t.c-1, t.after); cc++ {
				lrnAdd(s, pk, t.x[base+cc*t.inner+q0:][:w])
			}
			for c := 0; c < t.c; c++ {
				off := base + c*t.inner + q0
				t.channel(t.x[off:off+w], t.y[off:off+w], s, pk, base+q0, c)
				if cc := c + t.after + 1; cc < t.c {
					lrnAdd(s, pk, t.x[base+cc*t.inner+q0:][:w])
				}
				if cc := c - t.before; cc >= 0 {
					lrnSub(s, t.x[base+cc*t.inner+q0:][:w])
				}
			}
		}
	}
}

// channel normalizes x into y given the window sums s of channel c and
// their peaks pk; at is the offset of the block's first position in
// channel 0.
func (t *lrnTask) channel(x, y []float32, s, pk []float64, at, c int) {
	y, s, pk = y[:len(x)], s[:len(x)], pk[:len(x)]
	for j, v := range x {
		sum := s[j]
		if !(sum >= pk[j]*0x1p-16) { // cancelled, negative or NaN
			sum = 0
			for cc := max(0, c-t.before); cc <= min(t.c-1, c+t.after); cc++ {
				u := float64(t.x[at+cc*t.inner+j])
				sum += u * u
			}
			s[j], pk[j] = sum, sum
		}
		d := t.bias + t.alpha*sum
		var p float64
		if t.beta == 0.75 && d > 0 {
			p = math.Sqrt(d * math.Sqrt(d))
		} else {
			p = math.Pow(d, t.beta)
		}
		y[j] = float32(float64(v) / p)
	}
}

// lrnAdd adds the square of each x to s, raising the peaks pk.
func lrnAdd(s, pk []float64, x []float32) {
	s, pk = s[:len(x)], pk[:len(x)]
	for j, v := range x {
		u := float64(v)
		s[j] += u * u
		pk[j] = max(pk[j], s[j])
	}
}

// lrnSub subtracts the square of each x from s.
func lrnSub(s []float64, x []float32) {
	s = s[:len(x)]
	for j, v := range x {
		u := float64(v)
		s[j] -= u * u
	}
}
