package kernels

import (
	"math"
	"unsafe"

	"github.com/cnnc/cnnc/ir"
)

// miscChunk is the number of elements an element-wise task covers: small
// enough that a step splits across workers, large enough that scheduling
// costs nothing next to the loop.
const miscChunk = 16 << 10

// Bind implements Kernel. Y may be X itself (in place) but no other
// overlapping slice.
func (k *Affine) Bind(in, out []*ir.Tensor) (Task, error) {
	if err := miscArity(k, in, out, 3, 1); err != nil {
		return nil, err
	}
	if err := miscFields(k, miscField{"N", k.N, 0}, miscField{"C", k.C, 0}, miscField{"Inner", k.Inner, 0}); err != nil {
		return nil, err
	}
	if err := k.Act.Check(); err != nil {
		return nil, ir.Prefix(err, "%s kernel", k.Name())
	}
	n, ok := miscProduct(k.N, k.C, k.Inner)
	if !ok {
		return nil, ir.Invalidf("%s kernel: N*C*Inner = %d*%d*%d exceeds %d elements", k.Name(), k.N, k.C, k.Inner, ir.MaxElements)
	}
	x, err := miscF32(k, "input 0 (X)", in[0], n)
	if err != nil {
		return nil, err
	}
	scale, err := miscF32(k, "input 1 (Scale)", in[1], k.C)
	if err != nil {
		return nil, err
	}
	shift, err := miscF32(k, "input 2 (Shift)", in[2], k.C)
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
	if err := miscDisjoint(k, "Scale", scale, y); err != nil {
		return nil, err
	}
	if err := miscDisjoint(k, "Shift", shift, y); err != nil {
		return nil, err
	}
	return &affineTask{
		x: x, y: y, scale: scale, shift: shift,
		c: k.C, inner: k.Inner, act: k.Act,
		miscGrid: newMiscGrid(k.N*k.C, k.Inner, miscChunk),
	}, nil
}

// affineTask is a bound Affine: task t covers a block of (n, c) rows, or
// a piece of one long row.
type affineTask struct {
	x, y, scale, shift []float32
	c, inner           int
	act                ir.Activation
	miscGrid
}

// Run implements Task.
func (t *affineTask) Run(i int, _ []float32) {
	if i < 0 || i >= t.miscGrid.tasks {
		return
	}
	r0, r1, c0, c1 := t.miscGrid.span(i)
	if c0 == 0 && c1 == t.inner {
		// Whole rows: one call per run of rows whose channels follow
		// each other (up to the last channel).
		for r := r0; r < r1; {
			ch := r % t.c
			k := min(r1-r, t.c-ch)
			x := t.x[r*t.inner : (r+k)*t.inner]
			affineRows(t.y[r*t.inner:(r+k)*t.inner], x, t.scale[ch:ch+k], t.shift[ch:ch+k], t.inner, t.act)
			r += k
		}
		return
	}
	for r := r0; r < r1; r++ {
		ch := r % t.c
		base := r * t.inner
		affineRows(t.y[base+c0:base+c1], t.x[base+c0:base+c1], t.scale[ch:ch+1], t.shift[ch:ch+1], c1-c0, t.act)
	}
}

// setElemGeneric points the kernels of this file and of pool.go at their
// pure-Go versions; setElemISA (elem_amd64.go, elem_other.go) then
// replaces those it has faster versions of.
func setElemGeneric() {
	affineRows = affineRowsGeneric
	activate = activateGeneric
	binary = binaryGeneric
	poolMax3x3s2 = poolMax3x3s2Generic
	poolAvg3x3s2 = poolAvg3x3s2Generic
	poolMax3x3s1 = poolMax3x3s1Generic
	poolMaxPlane = poolMaxPlaneNone
	poolMaxPlaneS2 = poolMaxPlaneS2None
	poolAvg3x3s1 = poolAvg3x3s1Generic
	poolMax2x2s2 = poolMax2x2s2Generic
	poolAvg2x2s2 = poolAvg2x2s2Generic
	poolRowMax = poolRowMaxGeneric
	poolRowSum = poolRowSumGeneric
	stride2Copy = stride2CopyGeneric
}

// affineRows is affineRowsGeneric or its assembly version (see
// setElemISA).
var affineRows = affineRowsGeneric

// affineRowsGeneric sets y[r*n+i] = act(x[r*n+i]*scale[r] + shift[r]) for
// r < len(scale) and i < n: len(scale) rows of n elements, each with its
// own scale and shift. x and y hold len(scale)*n elements and shift
// len(scale); y may be x.
func affineRowsGeneric(y, x, scale, shift []float32, n int, act ir.Activation) {
	shift = shift[:len(scale)]
	for r, s := range scale {
		b := shift[r]
		xr := x[r*n : (r+1)*n]
		yr := y[r*n : (r+1)*n]
		yr = yr[:len(xr)]
		// Four elements a turn: less loop overhead, and a speed that
		// depends less on where the loop lands in memory.
		j := 0
		switch act.Kind {
		case ir.ActRelu:
			for ; j+4 <= len(xr); j += 4 {
				x4, y4 := xr[j:j+4:j+4], yr[j:j+4:j+4]
				y4[0], y4[1] = max(x4[0]*s+b, 0), max(x4[1]*s+b, 0)
				y4[2], y4[3] = max(x4[2]*s+b, 0), max(x4[3]*s+b, 0)
			}
			for ; j < len(xr); j++ {
				yr[j] = max(xr[j]*s+b, 0)
			}
		case ir.ActClip:
			lo, hi := act.Min, act.Max
			for j, v := range xr {
				yr[j] = min(max(v*s+b, lo), hi)
			}
		default:
			for ; j+4 <= len(xr); j += 4 {
				x4, y4 := xr[j:j+4:j+4], yr[j:j+4:j+4]
				y4[0], y4[1], y4[2], y4[3] = x4[0]*s+b, x4[1]*s+b, x4[2]*s+b, x4[3]*s+b
			}
			for ; j < len(xr); j++ {
				yr[j] = xr[j]*s + b
			}
		}
	}
}

// Bind implements Kernel. Y may be A or B itself (in place) but no other
// slice overlapping either.
func (k *Binary) Bind(in, out []*ir.Tensor) (Task, error) {
	if err := miscArity(k, in, out, 2, 1); err != nil {
		return nil, err
	}
	if k.Op > BinMin {
		return nil, ir.Invalidf("%s kernel: unknown operation %d, want 0 to %d", k.Name(), k.Op, BinMin)
	}
	if err := miscFields(k, miscField{"Len", k.Len, 0}); err != nil {
		return nil, err
	}
	if err := k.Act.Check(); err != nil {
		return nil, ir.Prefix(err, "%s kernel", k.Name())
	}
	a, err := miscF32(k, "input 0 (A)", in[0], k.Len)
	if err != nil {
		return nil, err
	}
	b, err := miscF32(k, "input 1 (B)", in[1], k.Len)
	if err != nil {
		return nil, err
	}
	y, err := miscF32(k, "output 0 (Y)", out[0], k.Len)
	if err != nil {
		return nil, err
	}
	if err := miscInPlace(k, "A", a, y); err != nil {
		return nil, err
	}
	if err := miscInPlace(k, "B", b, y); err != nil {
		return nil, err
	}
	return &binaryTask{a: a, b: b, y: y, op: k.Op, act: k.Act, miscGrid: newMiscGrid(1, k.Len, miscChunk)}, nil
}

// binaryTask is a bound Binary: task t covers one chunk of the elements.
type binaryTask struct {
	a, b, y []float32
	op      BinaryOp
	act     ir.Activation
	miscGrid
}

// Run implements Task.
func (t *binaryTask) Run(i int, _ []float32) {
	if i < 0 || i >= t.miscGrid.tasks {
		return
	}
	_, _, lo, hi := t.miscGrid.span(i)
	binary(t.op, t.y[lo:hi], t.a[lo:hi], t.b[lo:hi], t.act)
}

// binary is binaryGeneric or its assembly version (see setElemISA).
var binary = binaryGeneric

// binaryGeneric sets y[i] = act(a[i] op b[i]) for i < len(a); b and y hold
// at least len(a) elements, and y may be a or b.
func binaryGeneric(op BinaryOp, y, a, b []float32, act ir.Activation) {
	b, y = b[:len(a)], y[:len(a)]
	switch op {
	case BinAdd:
		for j, v := range a {
			y[j] = v + b[j]
		}
	case BinSub:
		for j, v := range a {
			y[j] = v - b[j]
		}
	case BinMul:
		for j, v := range a {
			y[j] = v * b[j]
		}
	case BinDiv:
		for j, v := range a {
			y[j] = v / b[j]
		}
	case BinMax:
		// As math.Max: NaN propagates, except that +Inf wins over it.
		inf := float32(math.Inf(1))
		for j, v := range a {
			w := b[j]
			r := max(v, w)
			if r != r && (v == inf || w == inf) {
				r = inf
			}
			y[j] = r
		}
	case BinMin:
		// As math.Min: NaN propagates, except that -Inf wins over it.
		inf := float32(math.Inf(-1))
		for j, v := range a {
			w := b[j]
			r := min(v, w)
			if r != r && (v == inf || w == inf) {
				r = inf
			}
			y[j] = r
		}
	}
	if act.Kind != ir.ActNone {
		activateGeneric(y, y, act)
	}
}

// activate is activateGeneric or its assembly version (see setElemISA).
var activate = activateGeneric

// activateGeneric sets y[i] = act(x[i]) for i < len(x); y holds at least
// len(x) elements and may be x.
func activateGeneric(y, x []float32, act ir.Activation) {
	y = y[:len(x)]
	switch act.Kind {
	case ir.ActRelu:
		for j, v := range x {
			y[j] = max(v, 0)
		}
	case ir.ActClip:
		lo, hi := act.Min, act.Max
		for j, v := range x {
			y[j] = min(max(v, lo), hi)
		}
	default:
		copy(y, x)
	}
}

// Bind implements Kernel. Y may be X itself (in place) but no other
// overlapping slice. Alpha must be 0 unless Op is UnLeakyRelu, Min and Max
// 0 unless Op is UnClip.
func (k *Unary) Bind(in, out []*ir.Tensor) (Task, error) {
	if err := miscArity(k, in, out, 1, 1); err != nil {
		return nil, err
	}
	if k.Op > UnSqrt {
		return nil, ir.Invalidf("%s kernel: unknown function %d, want 0 to %d", k.Name(), k.Op, UnSqrt)
	}
	if err := miscFields(k, miscField{"Len", k.Len, 0}); err != nil {
		return nil, err
	}
	if k.Op != UnLeakyRelu && k.Alpha != 0 {
		return nil, ir.Invalidf("%s kernel: function %d has Alpha %v, want 0 (only leaky relu has one)", k.Name(), k.Op, k.Alpha)
	}
	if k.Op != UnClip && (k.Min != 0 || k.Max != 0) {
		return nil, ir.Invalidf("%s kernel: function %d has bounds %v..%v, want 0..0 (only clip has them)", k.Name(), k.Op, k.Min, k.Max)
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
	return &unaryTask{x: x, y: y, k: *k, miscGrid: newMiscGrid(1, k.Len, miscChunk)}, nil
}

// unaryTask is a bound Unary: task t covers one chunk of the elements.
type unaryTask struct {
	x, y []float32
	k    Unary
	miscGrid
}

// Run implements Task.
func (t *unaryTask) Run(i int, _ []float32) {
	if i < 0 || i >= t.miscGrid.tasks {
		return
	}
	_, _, lo, hi := t.miscGrid.span(i)
	x, y := t.x[lo:hi], t.y[lo:hi]
	y = y[:len(x)]
	switch t.k.Op {
	case UnRelu:
		activate(y, x, ir.Activation{Kind: ir.ActRelu})
	case UnClip:
		activate(y, x, ir.Activation{Kind: ir.ActClip, Min: t.k.Min, Max: t.k.Max})
	case UnLeakyRelu:
		a := t.k.Alpha
		for j, v := range x {
			if !(v >= 0) {
				v *= a
			}
			y[j] = v
		}
	case UnSigmoid:
		sigmoid32Slice(y, x)
	case UnTanh:
		tanh32Slice(y, x)
	case UnExp:
		exp32Slice(y, x, 0)
	case UnSqrt:
		for j, v := range x {
			y[j] = float32(math.Sqrt(float64(v)))
		}
	}
}

// exp32Slice is exp32SliceGeneric or its assembly version (see
// setElemISA). It is a function, not a variable like the other dispatched
// kernels, so that the stack buffers sigmoid32Slice, tanh32Slice and
// Softmax pass it stay on the stack.
func exp32Slice(y, x []float32, shift float32) {
	if !exp32Asm(y, x, shift) {
		exp32SliceGeneric(y, x, shift)
	}
}

// exp32SliceGeneric sets y[i] = e**(x[i]-shift), within 2 ulps for normal
// results (an exponent above about -87.3), denormals below that and 0 below
// about -104, +Inf above ln(MaxFloat32) and NaN for NaN: Cephes' expf, a
// Cody-Waite reduction x = n*ln2 + r, |r| <= ln2/2, and a degree-7
// polynomial for e**r (evaluated by Estrin's scheme, whose short
// dependency chains let iterations overlap), scaled by 2**n in two steps
// so that neither factor overflows. y may be x.
func exp32SliceGeneric(y, x []float32, shift float32) {
	y = y[:len(x)]
	for j, v := range x {
		v -= shift
		switch {
		case v != v:
			y[j] = v
			continue
		case v > 89:
			y[j] = float32(math.Inf(1))
			continue
		case v < -104:
			y[j] = 0
			continue
		}
		fx := v*1.44269504088896341 + 0.5
		n := int32(fx) // toward zero; floor below
		if float32(n) > fx {
			n--
		}
		fn := float32(n)
		r := v - fn*0.693359375 // exact product: 0.693359375 has 9 bits
		r -= fn * -2.12194440e-4
		r2 := r * r
		// e**r = 1 + r + r2*(c0 + c1 r + c2 r2 + c3 r3 + c4 r4 + c5 r5).
		a := 5.0000001201e-1 + 1.6666665459e-1*r
		b := 4.1665795894e-2 + 8.3334519073e-3*r
		c := 1.3981999507e-3 + 1.9875691500e-4*r
		p := a + r2*(b+r2*c)
		p = p*r2 + r + 1
		// n is in [-150, 129]; each half is a normal power of two.
		n1 := n >> 1
		n2 := n - n1
		y[j] = p * math.Float32frombits(uint32(n1+127)<<23) * math.Float32frombits(uint32(n2+127)<<23)
	}
}

// sigmoid32Slice sets y[i] = 1/(1+e**-x[i]) without overflow: with e =
// e**-|x|, it is 1/(1+e) for x >= 0 and e/(1+e) for x < 0, which goes
// smoothly to 0 through the denormals. The numerator is picked by x's sign
// bit, without a branch that random signs would mispredict. y may be x.
func sigmoid32Slice(y, x []float32) {
	var buf [256]float32
	y = y[:len(x)]
	for len(x) > 0 {
		xb, yb := x[:min(len(x), len(buf))], y[:min(len(x), len(buf))]
		x, y = x[len(xb):], y[len(xb):]
		e := buf[:len(xb)]
		for j, v := range xb {
			e[j] = -abs32(v)
		}
		exp32Slice(e, e, 0) // in (0, 1], NaN for NaN
		for j, v := range xb {
			ej := e[j]
			neg := uint32(int32(math.Float32bits(v)) >> 31) // all ones for x < 0 (or -0: then e is 1)
			num := math.Float32frombits(math.Float32bits(ej)&neg | math.Float32bits(1)&^neg)
			yb[j] = num / (1 + ej)
		}
	}
}

// tanh32Slice sets y[i] = tanh(x[i]) within a few ulps: as Cephes'
// tanhf, an odd polynomial below 0.625 and (1 - e**-2|x|)/(1 + e**-2|x|)
// with x's sign above. Both are computed and one picked by a mask, without
// a branch to mispredict. y may be x.
func tanh32Slice(y, x []float32) {
	var buf [256]float32
	y = y[:len(x)]
	for len(x) > 0 {
		xb, yb := x[:min(len(x), len(buf))], y[:min(len(x), len(buf))]
		x, y = x[len(xb):], y[len(xb):]
		e := buf[:len(xb)]
		for j, v := range xb {
			e[j] = -2 * abs32(v)
		}
		exp32Slice(e, e, 0)
		for j, v := range xb {
			z := v * v
			small := ((((-5.70498872745e-3*z+2.06390887954e-2)*z-5.37397155531e-2)*z+1.33314422036e-1)*z-3.33332819422e-1)*z*v + v
			large := (1 - e[j]) / (1 + e[j]) // >= 0, or NaN for NaN
			lb := math.Float32bits(large) | math.Float32bits(v)&(1<<31)
			var m uint32
			if abs32(v) < 0.625 {
				m = ^uint32(0)
			}
			yb[j] = math.Float32frombits(math.Float32bits(small)&m | lb&^m)
		}
	}
}

// abs32 returns |x|.
func abs32(x float32) float32 {
	return math.Float32frombits(math.Float32bits(x) &^ (1 << 31))
}

// The checks shared by the Bind methods of the kernels in this file and
// in pool.go, concat.go and softmax.go.

// miscArity checks the number of operands and that all are present.
func miscArity(k Kernel, in, out []*ir.Tensor, nin, nout int) error {
	if len(in) != nin || len(out) != nout {
		return ir.Invalidf("%s kernel: got %d inputs and %d outputs, want %d and %d", k.Name(), len(in), len(out), nin, nout)
	}
	for i, t := range in {
		if t == nil {
			return ir.Invalidf("%s kernel: input %d is missing", k.Name(), i)
		}
	}
	for i, t := range out {
		if t == nil {
			return ir.Invalidf("%s kernel: output %d is missing", k.Name(), i)
		}
	}
	return nil
}

// miscField is an integer parameter of a kernel, to be checked against
// [min, MaxElements].
type miscField struct {
	name   string
	v, min int
}

// miscFields checks that each field lies in [its min, MaxElements].
func miscFields(k Kernel, fs ...miscField) error {
	for _, f := range fs {
		if f.v < f.min || f.v > ir.MaxElements {
			return ir.Invalidf("%s kernel: %s is %d, want %d to %d", k.Name(), f.name, f.v, f.min, ir.MaxElements)
		}
	}
	return nil
}

// miscProduct returns the product of dims, all in [0, MaxElements], and
// whether it is at most MaxElements.
func miscProduct(dims ...int) (int, bool) {
	n := 1
	for _, d := range dims {
		if d < 0 || d > ir.MaxElements {
			return 0, false
		}
		if d != 0 && n > ir.MaxElements/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// miscF32 returns the data of the operand t, described by what, after
// checking that it is a float32 tensor of want elements whose shape agrees
// with its data.
func miscF32(k Kernel, what string, t *ir.Tensor, want int) ([]float32, error) {
	if t.DType != ir.Float32 {
		return nil, ir.Invalidf("%s kernel: %s has element type %v, want f32", k.Name(), what, t.DType)
	}
	if len(t.F32) != want {
		return nil, ir.Invalidf("%s kernel: %s has %d elements, want %d", k.Name(), what, len(t.F32), want)
	}
	if n := t.Shape.NumElements(); n != want {
		return nil, ir.Invalidf("%s kernel: %s has shape %v, want %d elements", k.Name(), what, t.Shape, want)
	}
	return t.F32, nil
}

// miscOverlap reports whether a and b share memory, and whether they are
// the very same slice (same start, same length).
func miscOverlap(a, b []float32) (overlap, same bool) {
	if len(a) == 0 || len(b) == 0 {
		return false, false
	}
	pa := uintptr(unsafe.Pointer(unsafe.SliceData(a)))
	pb := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	ea, eb := pa+uintptr(len(a))*4, pb+uintptr(len(b))*4
	return pa < eb && pb < ea, pa == pb && len(a) == len(b)
}

// miscInPlace checks that the output y is either the input x itself or
// disjoint from it.
func miscInPlace(k Kernel, what string, x, y []float32) error {
	if overlap, same := miscOverlap(x, y); overlap && !same {
		return ir.Invalidf("%s kernel: output Y partly overlaps %s, want Y to be %s itself or disjoint from it", k.Name(), what, what)
	}
	return nil
}

// miscDisjoint checks that the output y shares no memory with the input
// x.
func miscDisjoint(k Kernel, what string, x, y []float32) error {
	if overlap, _ := miscOverlap(x, y); overlap {
		return ir.Invalidf("%s kernel: output Y overlaps %s, want them disjoint", k.Name(), what)
	}
	return nil
}

// miscGrid splits rows×cols elements into tasks of about target
// elements: whole rows grouped when a row is short, else each row cut in
// colPieces pieces. There is always at least one task.
type miscGrid struct {
	rows, cols, rowsPer, colPieces, tasks int
}

// Tasks returns the number of tasks; a task type embedding miscGrid
// implements Task.Tasks with it.
func (g miscGrid) Tasks() int { return g.tasks }

// Scratch returns 0: the kernels that split work with a miscGrid need no
// scratch space.
func (g miscGrid) Scratch() int { return 0 }

// newMiscGrid returns the split of rows×cols (each at most MaxElements).
func newMiscGrid(rows, cols, target int) miscGrid {
	target = max(target, 1)
	g := miscGrid{rows: rows, cols: cols, rowsPer: 1, colPieces: 1}
	switch {
	case cols >= target:
		g.colPieces = (cols + target - 1) / target
	case cols > 0:
		g.rowsPer = target / cols
	default:
		g.rowsPer = max(rows, 1)
	}
	g.tasks = max(1, (rows+g.rowsPer-1)/g.rowsPer*g.colPieces)
	return g
}

// newMiscRowGrid splits rows of cols elements into tasks of whole rows,
// about target elements each.
func newMiscRowGrid(rows, cols, target int) miscGrid {
	g := miscGrid{rows: rows, cols: cols, rowsPer: max(1, target/max(cols, 1)), colPieces: 1}
	g.tasks = max(1, (rows+g.rowsPer-1)/g.rowsPer)
	return g
}

// span returns the rows [r0, r1) and columns [c0, c1) of task t in [0,
// tasks).
func (g miscGrid) span(t int) (r0, r1, c0, c1 int) {
	rc, cc := t/g.colPieces, t%g.colPieces
	r0 = rc * g.rowsPer
	r1 = min(g.rows, r0+g.rowsPer)
	c0 = cc * g.cols / g.colPieces
	c1 = (cc + 1) * g.cols / g.colPieces
	return r0, max(r0, r1), c0, c1
}
