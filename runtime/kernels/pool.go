package kernels

import (
	"math"

	"github.com/cnnc/cnnc/ir"
)

// poolWork is about how many window elements one pooling task reads.
const poolWork = 64 << 10

// The pooling loops of an output row's interior, where every window lies
// inside X.
const (
	poolGeneric = iota // any kernel, stride and dilation
	pool3s2            // 3×3, stride 2, no dilation
	pool3s1            // 3×3, stride 1, no dilation
	pool2s2            // 2×2, stride 2, no dilation
)

// Bind implements Kernel. OH must be the output size of H under the
// window and padding, rounded down or (ceil mode) up as
// ir.PoolOutputSize computes it, and likewise OW; average pooling needs DH
// = DW = 1 and max pooling CountIncludePad false. Y must not overlap X.
func (k *Pool2D) Bind(in, out []*ir.Tensor) (Task, error) {
	if err := miscArity(k, in, out, 1, 1); err != nil {
		return nil, err
	}
	nx, ny, err := k.check()
	if err != nil {
		return nil, err
	}
	x, err := miscF32(k, "input 0 (X)", in[0], nx)
	if err != nil {
		return nil, err
	}
	y, err := miscF32(k, "output 0 (Y)", out[0], ny)
	if err != nil {
		return nil, err
	}
	if err := miscDisjoint(k, "X", x, y); err != nil {
		return nil, err
	}
	return k.bind(x, y), nil
}

// check validates k's geometry and returns the element counts of X and Y.
func (k *Pool2D) check() (nx, ny int, err error) {
	err = miscFields(k,
		miscField{"N", k.N, 0}, miscField{"C", k.C, 0}, miscField{"H", k.H, 0}, miscField{"W", k.W, 0},
		miscField{"OH", k.OH, 0}, miscField{"OW", k.OW, 0},
		miscField{"KH", k.KH, 1}, miscField{"KW", k.KW, 1},
		miscField{"SH", k.SH, 1}, miscField{"SW", k.SW, 1},
		miscField{"DH", k.DH, 1}, miscField{"DW", k.DW, 1},
		miscField{"PadT", k.PadT, 0}, miscField{"PadL", k.PadL, 0},
		miscField{"PadB", k.PadB, 0}, miscField{"PadR", k.PadR, 0})
	if err != nil {
		return 0, 0, err
	}
	if k.Max && k.CountIncludePad {
		return 0, 0, ir.Invalidf("%s kernel: CountIncludePad is set for a max pool, want it only for an average", k.Name())
	}
	if !k.Max && (k.DH != 1 || k.DW != 1) {
		return 0, 0, ir.Invalidf("%s kernel: average pool has dilations %d×%d, want 1×1", k.Name(), k.DH, k.DW)
	}
	if err := poolCheckSize(k, "OH", k.OH, "H", k.H, k.KH, k.SH, k.DH, k.PadT, k.PadB); err != nil {
		return 0, 0, err
	}
	if err := poolCheckSize(k, "OW", k.OW, "W", k.W, k.KW, k.SW, k.DW, k.PadL, k.PadR); err != nil {
		return 0, 0, err
	}
	nx, ok := miscProduct(k.N, k.C, k.H, k.W)
	if !ok {
		return 0, 0, ir.Invalidf("%s kernel: X [%d,%d,%d,%d] exceeds %d elements", k.Name(), k.N, k.C, k.H, k.W, ir.MaxElements)
	}
	ny, ok = miscProduct(k.N, k.C, k.OH, k.OW)
	if !ok {
		return 0, 0, ir.Invalidf("%s kernel: Y [%d,%d,%d,%d] exceeds %d elements", k.Name(), k.N, k.C, k.OH, k.OW, ir.MaxElements)
	}
	return nx, ny, nil
}

// bind returns the task pooling x into y (sizes checked).
func (k *Pool2D) bind(x, y []float32) *pool2DTask {
	t := &pool2DTask{k: *k, x: x, y: y}
	t.ohA, t.ohB = poolInterior(k.OH, k.H, k.KH, k.SH, k.DH, k.PadT)
	t.owA, t.owB = poolInterior(k.OW, k.W, k.KW, k.SW, k.DW, k.PadL)
	t.inv = 1 / float32(k.KH*k.KW)
	if k.DH == 1 && k.DW == 1 {
		switch {
		case k.KH == 3 && k.KW == 3 && k.SW == 2:
			t.fast = pool3s2
		case k.KH == 3 && k.KW == 3 && k.SW == 1:
			t.fast = pool3s1
		case k.KH == 2 && k.KW == 2 && k.SW == 2:
			t.fast = pool2s2
		}
	}
	t.plane = k.Max && t.fast == pool3s1 && k.SH == 1 && k.PadT == 1 && k.PadL == 1 && k.OH == k.H && k.OW == k.W
	t.planeS2 = k.Max && t.fast == pool3s2 && k.SH == 2 && k.PadT <= 1 && k.PadL <= 1 &&
		2*(k.OH-1)-k.PadT < k.H && 2*(k.OW-1)-k.PadL < k.W // every window reaches into X
	// Cost of one output row: its windows' elements inside X.
	rowCost := float64(k.OW) * float64(min(k.KH, k.H)) * float64(min(k.KW, k.W))
	rows := poolWork
	if rowCost > 1 {
		rows = int(max(1, poolWork/rowCost))
	}
	t.miscGrid = newMiscGrid(k.N*k.C, k.OH, rows)
	return t
}

// poolCheckSize checks the output size o (named oName) of one axis of
// size in (named inName) against ir.PoolOutputSize, floor or ceil mode.
func poolCheckSize(k *Pool2D, oName string, o int, inName string, in, kernel, stride, dil, padBegin, padEnd int) error {
	floor := ir.PoolOutputSize(in, kernel, stride, dil, padBegin, padEnd, false)
	ceil := ir.PoolOutputSize(in, kernel, stride, dil, padBegin, padEnd, true)
	if o != floor && o != ceil {
		return ir.Invalidf("%s kernel: %s is %d, want %d (or %d in ceil mode) for %s %d, kernel %d, stride %d, dilation %d and pads %d+%d",
			k.Name(), oName, o, floor, ceil, inName, in, kernel, stride, dil, padBegin, padEnd)
	}
	return nil
}

// poolInterior returns the output positions [a, b) of one axis whose
// windows lie wholly inside the input of size in.
func poolInterior(out, in, kernel, stride, dil, padBegin int) (a, b int) {
	a = min(out, (padBegin+stride-1)/stride)
	if last := in - 1 - (kernel-1)*dil + padBegin; last >= 0 {
		b = min(out, last/stride+1)
	}
	return a, max(a, b)
}

// poolRange returns the kernel positions [lo, hi) of one axis, among k,
// whose input position start + i*d lies in [0, n).
func poolRange(start, n, d, k int) (lo, hi int) {
	if n > start {
		hi = min(k, (n-start+d-1)/d)
	}
	if start < 0 {
		lo = min(hi, (-start+d-1)/d)
	}
	return lo, hi
}

// pool2DTask is a bound Pool2D. Task t covers a block of (n, c) planes,
// or a block of output rows of one plane.
type pool2DTask struct {
	k        Pool2D
	x, y     []float32
	miscGrid         // planes × output rows
	ohA, ohB int     // output rows whose windows lie inside X vertically
	owA, owB int     // output columns likewise horizontally
	fast     int     // the loop of interior rows' interior columns
	inv      float32 // 1/(KH*KW), the average of an interior window
	plane    bool    // a 3×3, stride-1, padding-1 max pool keeping the size: poolMaxPlane
	planeS2  bool    // a 3×3, stride-2 max pool with begin pads of 0 or 1: poolMaxPlaneS2
}

// Run implements Task.
func (t *pool2DTask) Run(i int, _ []float32) {
	if i < 0 || i >= t.miscGrid.tasks {
		return
	}
	k := &t.k
	p0, p1, oh0, oh1 := t.miscGrid.span(i)
	inPlane, outPlane := k.H*k.W, k.OH*k.OW
	for p := p0; p < p1; p++ {
		xp := t.x[p*inPlane : (p+1)*inPlane]
		yp := t.y[p*outPlane : (p+1)*outPlane]
		if t.plane && poolMaxPlane(xp, yp, k.H, k.W, oh0, oh1) {
			continue
		}
		if t.planeS2 && poolMaxPlaneS2(xp, yp, k.H, k.W, oh0, oh1, k.OW, k.PadT, k.PadL) {
			continue
		}
		for oh := oh0; oh < oh1; oh++ {
			yrow := yp[oh*k.OW : (oh+1)*k.OW]
			if k.Max && t.fast != poolGeneric {
				t.maxRow(xp, yrow, oh)
				continue
			}
			if oh < t.ohA || oh >= t.ohB {
				t.border(xp, yrow, oh, 0, k.OW)
				continue
			}
			t.border(xp, yrow, oh, 0, t.owA)
			t.border(xp, yrow, oh, t.owB, k.OW)
			t.interior(xp, yrow[t.owA:t.owB], oh*k.SH-k.PadT, t.owA*k.SW-k.PadL)
		}
	}
}

// maxRow computes output row oh of a max pool with a fast path. The
// windows' rows are clipped to X, a row outside replaced by the nearest
// inside the window (which leaves every maximum as it is), so that the
// row kernel computes the columns [owA, owB) of border rows too;
// edgeMax computes the columns outside.
func (t *pool2DTask) maxRow(xp, yrow []float32, oh int) {
	k := &t.k
	ih0 := oh*k.SH - k.PadT
	lo, hi := poolRange(ih0, k.H, 1, k.KH)
	if lo >= hi || k.KH > 3 {
		t.border(xp, yrow, oh, 0, k.OW)
		return
	}
	var rows [3][]float32
	for kh := range k.KH {
		ih := ih0 + min(max(kh, lo), hi-1)
		rows[kh] = xp[ih*k.W : (ih+1)*k.W]
	}
	t.edgeMax(rows[:k.KH], yrow, 0, t.owA)
	t.edgeMax(rows[:k.KH], yrow, t.owB, k.OW)
	t.fastRow(&rows, yrow[t.owA:t.owB], t.owA*k.SW-k.PadL)
}

// edgeMax computes yrow[ow0:ow1] of a max pool, whose windows span the
// rows (those of X inside the windows, any repeated) and columns that may
// lie partly outside X.
func (t *pool2DTask) edgeMax(rows [][]float32, yrow []float32, ow0, ow1 int) {
	k := &t.k
	for ow := ow0; ow < ow1; ow++ {
		iw0 := ow*k.SW - k.PadL
		lo, hi := poolRange(iw0, k.W, 1, k.KW)
		if lo >= hi {
			yrow[ow] = float32(math.Inf(-1))
			continue
		}
		if len(rows) == 3 && hi-lo == 2 { // 3×3 with padding 1: the usual edge
			j := iw0 + lo
			r0, r1, r2 := rows[0][j:j+2], rows[1][j:j+2], rows[2][j:j+2]
			yrow[ow] = max(max(r0[0], r0[1]), max(r1[0], r1[1]), max(r2[0], r2[1]))
			continue
		}
		// Each row's maximum on its own, then theirs: short dependency
		// chains.
		var rm [3]float32
		for i, r := range rows[:min(len(rows), 3)] {
			seg := r[iw0+lo : iw0+hi]
			m := seg[0]
			for _, v := range seg[1:] {
				m = max(m, v)
			}
			rm[i] = m
		}
		m := rm[0]
		for _, v := range rm[1:len(rows)] {
			m = max(m, v)
		}
		yrow[ow] = m
	}
}

// border computes yrow[ow0:ow1] of output row oh, testing every window
// position against the edges of X.
func (t *pool2DTask) border(xp, yrow []float32, oh, ow0, ow1 int) {
	if ow0 >= ow1 {
		return
	}
	k := &t.k
	ih0 := oh*k.SH - k.PadT
	khLo, khHi := poolRange(ih0, k.H, k.DH, k.KH)
	var padRows int // window rows inside the padded input, for CountIncludePad
	if k.CountIncludePad {
		lo, hi := poolRange(ih0+k.PadT, k.H+k.PadT+k.PadB, 1, k.KH)
		padRows = hi - lo
	}
	for ow := ow0; ow < ow1; ow++ {
		iw0 := ow*k.SW - k.PadL
		kwLo, kwHi := poolRange(iw0, k.W, k.DW, k.KW)
		if k.Max {
			m := float32(math.Inf(-1))
			for kh := khLo; kh < khHi; kh++ {
				row := xp[(ih0+kh*k.DH)*k.W : (ih0+kh*k.DH+1)*k.W]
				for kw := kwLo; kw < kwHi; kw++ {
					m = max(m, row[iw0+kw*k.DW])
				}
			}
			yrow[ow] = m
			continue
		}
		var sum float32
		for kh := khLo; kh < khHi && kwLo < kwHi; kh++ {
			row := xp[(ih0+kh)*k.W : (ih0+kh+1)*k.W]
			for _, v := range row[iw0+kwLo : iw0+kwHi] {
				sum += v
			}
		}
		count := (khHi - khLo) * (kwHi - kwLo)
		if k.CountIncludePad {
			lo, hi := poolRange(iw0+k.PadL, k.W+k.PadL+k.PadR, 1, k.KW)
			count = padRows * (hi - lo)
		}
		if count > 0 {
			sum /= float32(count)
		}
		yrow[ow] = sum
	}
}

// interior computes y, a run of outputs of one row whose windows all lie
// inside X, the first of them at input row ih0 and column iw0.
func (t *pool2DTask) interior(xp, y []float32, ih0, iw0 int) {
	if len(y) == 0 {
		return
	}
	k := &t.k
	w := k.W
	if t.fast != poolGeneric {
		var rows [3][]float32
		for kh := range min(k.KH, 3) {
			rows[kh] = xp[(ih0+kh)*w : (ih0+kh+1)*w]
		}
		t.fastRow(&rows, y, iw0)
		return
	}
	for j := range y {
		iw := iw0 + j*k.SW
		if k.Max {
			m := float32(math.Inf(-1))
			for kh := 0; kh < k.KH; kh++ {
				row := xp[(ih0+kh*k.DH)*w:]
				for kw := 0; kw < k.KW; kw++ {
					m = max(m, row[iw+kw*k.DW])
				}
			}
			y[j] = m
			continue
		}
		var sum float32
		for kh := 0; kh < k.KH; kh++ {
			for _, v := range xp[(ih0+kh)*w+iw:][:k.KW] {
				sum += v
			}
		}
		y[j] = sum * t.inv
	}
}

// fastRow computes y, a run of outputs of one row on t's fast path
// whose windows lie inside X horizontally, the first at input column iw0;
// rows are the windows' KH (2 or 3) input rows.
func (t *pool2DTask) fastRow(rows *[3][]float32, y []float32, iw0 int) {
	if len(y) == 0 {
		return
	}
	switch t.fast {
	case pool3s2:
		n := 2*len(y) + 1
		r0, r1, r2 := rows[0][iw0:][:n], rows[1][iw0:][:n], rows[2][iw0:][:n]
		if t.k.Max {
			poolMax3x3s2(r0, r1, r2, y)
		} else {
			poolAvg3x3s2(r0, r1, r2, y)
		}
	case pool3s1:
		n := len(y) + 2
		r0, r1, r2 := rows[0][iw0:][:n], rows[1][iw0:][:n], rows[2][iw0:][:n]
		if t.k.Max {
			poolMax3x3s1(r0, r1, r2, y)
		} else {
			poolAvg3x3s1(r0, r1, r2, y)
		}
	case pool2s2:
		n := 2 * len(y)
		r0, r1 := rows[0][iw0:][:n], rows[1][iw0:][:n]
		if t.k.Max {
			poolMax2x2s2(r0, r1, y)
		} else {
			poolAvg2x2s2(r0, r1, y)
		}
	}
}

// poolMaxPlane computes rows [oh0, oh1) of a plane of a 3×3, stride-1,
// padding-1 max pool that keeps the plane's h×w size, where the level has
// a kernel for the whole plane (setElemISA), and reports whether it did.
var poolMaxPlane = poolMaxPlaneNone

// poolMaxPlaneNone is poolMaxPlane where the level has no plane kernel:
// it computes nothing and says so.
func poolMaxPlaneNone(x, y []float32, h, w, oh0, oh1 int) bool { return false }

// poolMaxPlaneS2 computes rows [oh0, oh1) of a plane of ow columns of a
// 3×3, stride-2 max pool with begin pads padT, padL of 0 or 1 over an h×w
// plane, where the level has a kernel for it (setElemISA), and reports
// whether it did.
var poolMaxPlaneS2 = poolMaxPlaneS2None

// poolMaxPlaneS2None is poolMaxPlaneS2 where the level has no plane
// kernel: it computes nothing and says so.
func poolMaxPlaneS2None(x, y []float32, h, w, oh0, oh1, ow, padT, padL int) bool { return false }

// poolMax3x3s2 is poolMax3x3s2Generic or its assembly version (see setElemISA).
var poolMax3x3s2 = poolMax3x3s2Generic

// poolMax3x3s2Generic sets y[j] to the maximum of r0, r1 and r2 at columns 2j,
// 2j+1 and 2j+2 (the rows hold 2*len(y)+1 columns). A window's last column
// is the next window's first, so each column's maximum is taken once.
func poolMax3x3s2Generic(r0, r1, r2, y []float32) {
	r1, r2 = r1[:len(r0)], r2[:len(r0)]
	c := max(r0[0], r1[0], r2[0])
	j := 0
	for i := 1; i+1 < len(r0) && j < len(y); i += 2 {
		c1 := max(r0[i], r1[i], r2[i])
		c2 := max(r0[i+1], r1[i+1], r2[i+1])
		y[j] = max(c, c1, c2)
		c = c2
		j++
	}
}

// poolMax3x3s1 is poolMax3x3s1Generic or its assembly version (see setElemISA).
var poolMax3x3s1 = poolMax3x3s1Generic

// poolMax3x3s1Generic sets y[j] to the maximum of r0, r1 and r2 at columns j,
// j+1 and j+2 (the rows hold len(y)+2 columns), each column's maximum taken
// once.
func poolMax3x3s1Generic(r0, r1, r2, y []float32) {
	r1, r2 = r1[:len(r0)], r2[:len(r0)]
	a := max(r0[0], r1[0], r2[0])
	b := max(r0[1], r1[1], r2[1])
	for i := 2; i < len(r0) && i-2 < len(y); i++ {
		c := max(r0[i], r1[i], r2[i])
		y[i-2] = max(a, b, c)
		a, b = b, c
	}
}

// poolMax2x2s2 is poolMax2x2s2Generic or its assembly version (see setElemISA).
var poolMax2x2s2 = poolMax2x2s2Generic

// poolMax2x2s2Generic sets y[j] to the maximum of r0 and r1 at columns 2j and
// 2j+1 (the rows hold 2*len(y) columns).
func poolMax2x2s2Generic(r0, r1, y []float32) {
	r1 = r1[:len(r0)]
	j := 0
	for i := 0; i+1 < len(r0) && j < len(y); i += 2 {
		y[j] = max(max(r0[i], r0[i+1]), max(r1[i], r1[i+1]))
		j++
	}
}

// poolAvg3x3s2 is poolAvg3x3s2Generic or its assembly version (see setElemISA).
var poolAvg3x3s2 = poolAvg3x3s2Generic

// poolAvg3x3s2Generic is poolMax3x3s2Generic with the mean instead of the
// maximum.
func poolAvg3x3s2Generic(r0, r1, r2, y []float32) {
	r1, r2 = r1[:len(r0)], r2[:len(r0)]
	c := r0[0] + r1[0] + r2[0]
	j := 0
	for i := 1; i+1 < len(r0) && j < len(y); i += 2 {
		c1 := r0[i] + r1[i] + r2[i]
		c2 := r0[i+1] + r1[i+1] + r2[i+1]
		y[j] = (c + c1 + c2) * (1.0 / 9)
		c = c2
		j++
	}
}

// poolAvg3x3s1 is poolAvg3x3s1Generic or its assembly version (see setElemISA).
var poolAvg3x3s1 = poolAvg3x3s1Generic

// poolAvg3x3s1Generic is poolMax3x3s1Generic with the mean instead of the
// maximum.
func poolAvg3x3s1Generic(r0, r1, r2, y []float32) {
	r1, r2 = r1[:len(r0)], r2[:len(r0)]
	a := r0[0] + r1[0] + r2[0]
	b := r0[1] + r1[1] + r2[1]
	for i := 2; i < len(r0) && i-2 < len(y); i++ {
		c := r0[i] + r1[i] + r2[i]
		y[i-2] = (a + b + c) * (1.0 / 9)
		a, b = b, c
	}
}

// poolAvg2x2s2 is poolAvg2x2s2Generic or its assembly version (see setElemISA).
var poolAvg2x2s2 = poolAvg2x2s2Generic

// poolAvg2x2s2Generic is poolMax2x2s2Generic with the mean instead of the
// maximum.
func poolAvg2x2s2Generic(r0, r1, y []float32) {
	r1 = r1[:len(r0)]
	j := 0
	for i := 0; i+1 < len(r0) && j < len(y); i += 2 {
		y[j] = ((r0[i] + r0[i+1]) + (r1[i] + r1[i+1])) * 0.25
		j++
	}
}

// Bind implements Kernel. Size must be at least 1: the mean of nothing is
// undefined.
func (k *GlobalPool) Bind(in, out []*ir.Tensor) (Task, error) {
	if err := miscArity(k, in, out, 1, 1); err != nil {
		return nil, err
	}
	if err := miscFields(k, miscField{"Rows", k.Rows, 0}, miscField{"Size", k.Size, 1}); err != nil {
		return nil, err
	}
	n, ok := miscProduct(k.Rows, k.Size)
	if !ok {
		return nil, ir.Invalidf("%s kernel: Rows*Size = %d*%d exceeds %d elements", k.Name(), k.Rows, k.Size, ir.MaxElements)
	}
	x, err := miscF32(k, "input 0 (X)", in[0], n)
	if err != nil {
		return nil, err
	}
	y, err := miscF32(k, "output 0 (Y)", out[0], k.Rows)
	if err != nil {
		return nil, err
	}
	if err := miscDisjoint(k, "X", x, y); err != nil {
		return nil, err
	}
	g := newMiscRowGrid(k.Rows, k.Size, miscChunk)
	return &globalPoolTask{x: x, y: y, size: k.Size, max: k.Max, miscGrid: g}, nil
}

// globalPoolTask is a bound GlobalPool: task t covers a block of rows.
type globalPoolTask struct {
	x, y []float32
	size int
	max  bool
	miscGrid
}

// Run implements Task.
func (t *globalPoolTask) Run(i int, _ []float32) {
	if i < 0 || i >= t.miscGrid.tasks {
		return
	}
	r0, r1, _, _ := t.miscGrid.span(i)
	for r := r0; r < r1; r++ {
		row := t.x[r*t.size : (r+1)*t.size]
		if t.max {
			t.y[r] = poolRowMax(row)
		} else {
			t.y[r] = float32(poolRowSum(row) / float64(t.size))
		}
	}
}

// poolRowMax is poolRowMaxGeneric or its assembly version (see setElemISA).
var poolRowMax = poolRowMaxGeneric

// poolRowMaxGeneric returns the maximum of x, NaN if x holds one, -Inf if
// empty.
func poolRowMaxGeneric(x []float32) float32 {
	inf := float32(math.Inf(-1))
	m0, m1, m2, m3 := inf, inf, inf, inf
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		m0, m1, m2, m3 = max(m0, v[0]), max(m1, v[1]), max(m2, v[2]), max(m3, v[3])
	}
	for ; i < len(x); i++ {
		m0 = max(m0, x[i])
	}
	return max(m0, m1, m2, m3)
}

// poolRowSum is poolRowSumGeneric or its assembly version (see setElemISA).
var poolRowSum = poolRowSumGeneric

// poolRowSumGeneric returns the sum of x, accumulated in four float32 lanes per
// block of 256 and in float64 across blocks, so that long rows keep their
// precision.
func poolRowSumGeneric(x []float32) float64 {
	var total float64
	for len(x) > 0 {
		b := x[:min(len(x), 256)]
		x = x[len(b):]
		var s0, s1, s2, s3 float32
		i := 0
		for ; i+4 <= len(b); i += 4 {
			v := b[i : i+4 : i+4]
			s0, s1, s2, s3 = s0+v[0], s1+v[1], s2+v[2], s3+v[3]
		}
		for ; i < len(b); i++ {
			s0 += b[i]
		}
		total += float64(s0+s1) + float64(s2+s3)
	}
	return total
}
