package kernels

import (
	"math"
	"strconv"

	"github.com/cnnc/cnnc/ir"
)

// The training step's element-wise and pooling kernels: the gradients of
// the pools and activations, the bias gradient (a sum per channel) and
// the SGD update. Each is the reference interpreter's kernel of its ir op
// (runtime/reference/train.go) in float32, split into pieces.

// trainChunk is the elements of an element-wise piece: big enough to
// amortize a piece, small enough for two workers on layer-sized tensors.
const trainChunk = 1 << 14

// Bind implements Kernel. in is X and dY; out is dX.
func (k *PoolGrad) Bind(in, out []*ir.Tensor) (Task, error) {
	p := &k.Pool
	if err := miscArity(k, in, out, 2, 1); err != nil {
		return nil, err
	}
	nx, ny, err := p.check()
	if err != nil {
		return nil, err
	}
	x, err := miscF32(k, "input 0 (X)", in[0], nx)
	if err != nil {
		return nil, err
	}
	dy, err := miscF32(k, "input 1 (dY)", in[1], ny)
	if err != nil {
		return nil, err
	}
	dx, err := miscF32(k, "output 0 (dX)", out[0], nx)
	if err != nil {
		return nil, err
	}
	t := &poolGradTask{k: p, x: x, dy: dy, dx: dx}
	per := max(1, trainChunk/max(1, p.H*p.W))
	t.per, t.tasks = per, (p.N*p.C+per-1)/per
	return t, nil
}

// poolGradTask is a bound PoolGrad: a piece is a block of (n, c) planes.
type poolGradTask struct {
	k          *Pool2D
	x, dy, dx  []float32
	per, tasks int
}

func (t *poolGradTask) Tasks() int   { return max(t.tasks, 1) }
func (t *poolGradTask) Scratch() int { return t.k.W } // a row's column maxima

func (t *poolGradTask) Run(piece int, scratch []float32) {
	k := t.k
	colMax := scratch[:0]
	in, out := k.H*k.W, k.OH*k.OW
	for p := piece * t.per; p < min(k.N*k.C, (piece+1)*t.per); p++ {
		xp, dyp, dxp := t.x[p*in:(p+1)*in], t.dy[p*out:(p+1)*out], t.dx[p*in:(p+1)*in]
		clear(dxp)
		for oh := 0; oh < k.OH; oh++ {
			ih0 := oh*k.SH - k.PadT
			khLo, khHi := poolRange(ih0, k.H, k.DH, k.KH)
			if k.Max && khLo < khHi {
				// Each column's maximum over the window's rows: maxima of
				// independent elements, which the windows' maxima then
				// read (a running argmax waits on each compare, and its
				// branches mispredict on activations).
				colMax = colMax[:k.W]
				copy(colMax, xp[(ih0+khLo*k.DH)*k.W:][:k.W])
				for kh := khLo + 1; kh < khHi; kh++ {
					for w, v := range xp[(ih0+kh*k.DH)*k.W:][:k.W] {
						colMax[w] = max(colMax[w], v)
					}
				}
			}
			for ow := 0; ow < k.OW; ow++ {
				iw0 := ow*k.SW - k.PadL
				kwLo, kwHi := poolRange(iw0, k.W, k.DW, k.KW)
				d := dyp[oh*k.OW+ow]
				if k.Max {
					if khLo < khHi && kwLo < kwHi {
						best := colMax[iw0+kwLo*k.DW]
						for kw := kwLo + 1; kw < kwHi; kw++ {
							best = max(best, colMax[iw0+kw*k.DW])
						}
						dxp[windowArgMax(xp, best, (ih0+khLo*k.DH)*k.W+iw0+kwLo*k.DW, khHi-khLo, kwHi-kwLo, k.DH*k.W, k.DW)] += d
					}
					continue
				}
				count := (khHi - khLo) * (kwHi - kwLo)
				if k.CountIncludePad {
					h := min(ih0+k.KH, k.H+k.PadB) - max(ih0, -k.PadT)
					w := min(iw0+k.KW, k.W+k.PadR) - max(iw0, -k.PadL)
					count = h * w
				}
				if count <= 0 {
					continue
				}
				d /= float32(count)
				for kh := khLo; kh < khHi; kh++ {
					row := dxp[(ih0+kh)*k.W : (ih0+kh+1)*k.W]
					for kw := kwLo; kw < kwHi; kw++ {
						row[iw0+kw] += d
					}
				}
			}
		}
	}
}

// windowArgMax returns the index in x of the first element equal to best,
// the maximum of the window of rows×cols elements from first (rows
// rowStep apart, columns colStep), or of its first NaN when best is one:
// the first maximum, as MaxPool's Indices define it. It scans backwards
// keeping the last match, a conditional move rather than a branch.
func windowArgMax(x []float32, best float32, first, rows, cols, rowStep, colStep int) int {
	at := first
	if best != best {
		for r := rows - 1; r >= 0; r-- {
			for c := cols - 1; c >= 0; c-- {
				if i := first + r*rowStep + c*colStep; x[i] != x[i] {
					at = i
				}
			}
		}
		return at
	}
	for r := rows - 1; r >= 0; r-- {
		row := first + r*rowStep
		for c := cols - 1; c >= 0; c-- {
			if i := row + c*colStep; x[i] == best {
				at = i
			}
		}
	}
	return at
}

// Bind implements Kernel. in is X, Y and dY; out is dX.
func (k *ActGrad) Bind(in, out []*ir.Tensor) (Task, error) {
	if err := miscArity(k, in, out, 3, 1); err != nil {
		return nil, err
	}
	switch k.Op {
	case UnRelu, UnLeakyRelu, UnSigmoid, UnTanh, UnClip:
	default:
		return nil, ir.Invalidf("%s kernel: activation %d has no gradient kernel", k.Name(), k.Op)
	}
	var ops [4][]float32
	for i, name := range []string{"input 0 (X)", "input 1 (Y)", "input 2 (dY)"} {
		var err error
		if ops[i], err = miscF32(k, name, in[i], k.Len); err != nil {
			return nil, err
		}
	}
	dx, err := miscF32(k, "output 0 (dX)", out[0], k.Len)
	if err != nil {
		return nil, err
	}
	return &actGradTask{k: k, x: ops[0], y: ops[1], dy: ops[2], dx: dx}, nil
}

// actGradTask is a bound ActGrad: a piece is a chunk of elements.
type actGradTask struct {
	k            *ActGrad
	x, y, dy, dx []float32
}

func (t *actGradTask) Tasks() int   { return max(1, (t.k.Len+trainChunk-1)/trainChunk) }
func (t *actGradTask) Scratch() int { return 0 }

func (t *actGradTask) Run(piece int, _ []float32) {
	lo, hi := piece*trainChunk, min(t.k.Len, (piece+1)*trainChunk)
	x, y, dy, dx := t.x[lo:hi], t.y[lo:hi], t.dy[lo:hi], t.dx[lo:hi]
	switch k := t.k; k.Op {
	case UnRelu:
		// dY masked by Y > 0 without a branch: a branch on the sign of
		// activations mispredicts half the time (2.4 times slower).
		y, dy := y[:len(dx)], dy[:len(dx)]
		for i := range dx {
			m := uint32(0)
			if y[i] > 0 {
				m = math.MaxUint32
			}
			dx[i] = math.Float32frombits(math.Float32bits(dy[i]) & m)
		}
	case UnLeakyRelu:
		for i := range dx {
			dx[i] = dy[i]
			if !(x[i] > 0) {
				dx[i] = dy[i] * k.Alpha
			}
		}
	case UnSigmoid:
		for i := range dx {
			dx[i] = dy[i] * y[i] * (1 - y[i])
		}
	case UnTanh:
		for i := range dx {
			dx[i] = dy[i] * (1 - y[i]*y[i])
		}
	case UnClip:
		for i := range dx {
			dx[i] = 0
			if x[i] > k.Min && x[i] < k.Max {
				dx[i] = dy[i]
			}
		}
	}
}

// Bind implements Kernel. in is X [Outer, Channels, Inner]; out is Y
// [Channels].
func (k *ChannelSum) Bind(in, out []*ir.Tensor) (Task, error) {
	if err := miscArity(k, in, out, 1, 1); err != nil {
		return nil, err
	}
	if err := miscFields(k, miscField{"Outer", k.Outer, 0}, miscField{"Channels", k.Channels, 1}, miscField{"Inner", k.Inner, 0}); err != nil {
		return nil, err
	}
	n, ok := miscProduct(k.Outer, k.Channels, k.Inner)
	if !ok {
		return nil, ir.Invalidf("%s kernel: X exceeds %d elements", k.Name(), ir.MaxElements)
	}
	x, err := miscF32(k, "input 0 (X)", in[0], n)
	if err != nil {
		return nil, err
	}
	y, err := miscF32(k, "output 0 (Y)", out[0], k.Channels)
	if err != nil {
		return nil, err
	}
	return &channelSumTask{k: k, x: x, y: y}, nil
}

// channelSumTask is a bound ChannelSum: a piece is one channel, summed in
// float64 in a fixed order.
type channelSumTask struct {
	k    *ChannelSum
	x, y []float32
}

func (t *channelSumTask) Tasks() int   { return t.k.Channels }
func (t *channelSumTask) Scratch() int { return 0 }

func (t *channelSumTask) Run(c int, _ []float32) {
	k := t.k
	var s float64
	for o := 0; o < k.Outer; o++ {
		var r float32 // a row's partial sum, then carried in float64
		for _, v := range t.x[(o*k.Channels+c)*k.Inner:][:k.Inner] {
			r += v
		}
		s += float64(r)
	}
	t.y[c] = float32(s)
}

// Bind implements Kernel. in is W, dW, V (omitted without momentum) and
// LR [1]; out is W' and, with momentum, V'.
func (k *SGD) Bind(in, out []*ir.Tensor) (Task, error) {
	mom := k.Momentum != 0
	nout := 1 + btoi(mom)
	if len(in) != 4 || len(out) != nout {
		return nil, ir.Invalidf("%s kernel: %d inputs and %d outputs, want 4 and %d", k.Name(), len(in), len(out), nout)
	}
	if !(k.Momentum >= 0) || !(k.WeightDecay >= 0) || (k.Nesterov && !mom) {
		return nil, ir.Invalidf("%s kernel: momentum %v, weight decay %v, Nesterov %v", k.Name(), k.Momentum, k.WeightDecay, k.Nesterov)
	}
	t := &sgdTask{k: k}
	var err error
	if t.w, err = miscF32(k, "input 0 (W)", in[0], k.Len); err != nil {
		return nil, err
	}
	if t.dw, err = miscF32(k, "input 1 (dW)", in[1], k.Len); err != nil {
		return nil, err
	}
	if mom {
		if t.v, err = miscF32(k, "input 2 (V)", in[2], k.Len); err != nil {
			return nil, err
		}
		if t.v2, err = miscF32(k, "output 1 (V')", out[1], k.Len); err != nil {
			return nil, err
		}
	} else if in[2] != nil {
		return nil, ir.Invalidf("%s kernel: a velocity without momentum", k.Name())
	}
	if t.lr, err = miscF32(k, "input 3 (LR)", in[3], 1); err != nil {
		return nil, err
	}
	if t.w2, err = miscF32(k, "output 0 (W')", out[0], k.Len); err != nil {
		return nil, err
	}
	return t, nil
}

// sgdTask is a bound SGD: a piece is a chunk of elements.
type sgdTask struct {
	k                    *SGD
	w, dw, v, lr, w2, v2 []float32
}

func (t *sgdTask) Tasks() int   { return max(1, (t.k.Len+trainChunk-1)/trainChunk) }
func (t *sgdTask) Scratch() int { return 0 }

// Run implements Task. Each kind of update has a loop of its own over
// slices of one length: with the tests of momentum and Nesterov and the
// bounds checks inside, the loop ran 2.2 ns an element, compute-bound.
func (t *sgdTask) Run(piece int, _ []float32) {
	k := t.k
	lo, hi := piece*trainChunk, min(k.Len, (piece+1)*trainChunk)
	lr, mom, wd := t.lr[0], k.Momentum, k.WeightDecay
	w, dw, w2 := t.w[lo:hi], t.dw[lo:hi], t.w2[lo:hi]
	dw, w2 = dw[:len(w)], w2[:len(w)]
	switch {
	case mom == 0:
		for i, x := range w {
			w2[i] = x - lr*(dw[i]+wd*x)
		}
	case k.Nesterov:
		v, v2 := t.v[lo:hi][:len(w)], t.v2[lo:hi][:len(w)]
		for i, x := range w {
			d := dw[i] + wd*x
			u := mom*v[i] + d
			v2[i] = u
			w2[i] = x - lr*(d+mom*u)
		}
	default:
		v, v2 := t.v[lo:hi][:len(w)], t.v2[lo:hi][:len(w)]
		for i, x := range w {
			u := mom*v[i] + (dw[i] + wd*x)
			v2[i] = u
			w2[i] = x - lr*u
		}
	}
}

// miscF32s binds each of a kernel's inputs (kind "input") or outputs ts
// to its slot in dst, checking that it is f32 of sizes[i] elements.
func miscF32s(k Kernel, kind string, ts []*ir.Tensor, dst []*[]float32, sizes ...int) error {
	for i, p := range dst {
		var err error
		if *p, err = miscF32(k, kind+" "+strconv.Itoa(i), ts[i], sizes[i]); err != nil {
			return err
		}
	}
	return nil
}

// Bind implements Kernel. in is W, dW, M, V, LR [1] and Step [1]; out is
// W', M' and V'.
func (k *Adam) Bind(in, out []*ir.Tensor) (Task, error) {
	if err := miscArity(k, in, out, 6, 3); err != nil {
		return nil, err
	}
	if !(k.Beta1 >= 0 && k.Beta1 < 1) || !(k.Beta2 >= 0 && k.Beta2 < 1) || !(k.Eps >= 0) || !(k.WeightDecay >= 0) {
		return nil, ir.Invalidf("%s kernel: beta1 %v, beta2 %v, eps %v, weight decay %v", k.Name(), k.Beta1, k.Beta2, k.Eps, k.WeightDecay)
	}
	t := &adamTask{k: k}
	n := k.Len
	if err := miscF32s(k, "input", in, []*[]float32{&t.w, &t.dw, &t.m, &t.v, &t.lr, &t.step}, n, n, n, n, 1, 1); err != nil {
		return nil, err
	}
	if err := miscF32s(k, "output", out, []*[]float32{&t.w2, &t.m2, &t.v2}, n, n, n); err != nil {
		return nil, err
	}
	return t, nil
}

// adamTask is a bound Adam: a piece is a chunk of elements.
type adamTask struct {
	k           *Adam
	w, dw, m, v []float32
	lr, step    []float32
	w2, m2, v2  []float32
}

func (t *adamTask) Tasks() int   { return max(1, (t.k.Len+trainChunk-1)/trainChunk) }
func (t *adamTask) Scratch() int { return 0 }

// Run implements Task: the reference's update in float32, its bias
// corrections folded into two factors.
func (t *adamTask) Run(piece int, _ []float32) {
	k := t.k
	lo, hi := piece*trainChunk, min(k.Len, (piece+1)*trainChunk)
	lr, step := float64(t.lr[0]), float64(max(t.step[0], 1))
	b1, b2 := k.Beta1, k.Beta2
	// W' = W·decay - a·M' / (sqrt(V')·s + Eps), with a = LR/(1-β1^t) and
	// s = 1/sqrt(1-β2^t).
	a := float32(lr / (1 - math.Pow(float64(b1), step)))
	s := float32(1 / math.Sqrt(1-math.Pow(float64(b2), step)))
	wd, decay := k.WeightDecay, float32(1)
	if k.Decoupled {
		wd, decay = 0, float32(1-lr*float64(k.WeightDecay))
	}
	w, dw, m, v := t.w[lo:hi], t.dw[lo:hi], t.m[lo:hi], t.v[lo:hi]
	w2, m2, v2 := t.w2[lo:hi], t.m2[lo:hi], t.v2[lo:hi]
	dw, m, v, w2, m2, v2 = dw[:len(w)], m[:len(w)], v[:len(w)], w2[:len(w)], m2[:len(w)], v2[:len(w)]
	for i, x := range w {
		g := dw[i] + wd*x
		mi := b1*m[i] + (1-b1)*g
		vi := b2*v[i] + (1-b2)*g*g
		m2[i], v2[i] = mi, vi
		w2[i] = x*decay - a*mi/(float32(math.Sqrt(float64(vi)))*s+k.Eps)
	}
}

// Bind implements Kernel. in is X [N, C, Inner], scale, B, mean and var
// [C]; out is Y, mean', var', μ and invStd.
func (k *BatchNormTrain) Bind(in, out []*ir.Tensor) (Task, error) {
	if err := miscArity(k, in, out, 5, 5); err != nil {
		return nil, err
	}
	if err := miscFields(k, miscField{"N", k.N, 1}, miscField{"C", k.C, 1}, miscField{"Inner", k.Inner, 1}); err != nil {
		return nil, err
	}
	if !(k.Momentum >= 0 && k.Momentum <= 1) || !(k.Epsilon >= 0) {
		return nil, ir.Invalidf("%s kernel: momentum %v and epsilon %v", k.Name(), k.Momentum, k.Epsilon)
	}
	n, ok := miscProduct(k.N, k.C, k.Inner)
	if !ok {
		return nil, ir.Invalidf("%s kernel: X exceeds %d elements", k.Name(), ir.MaxElements)
	}
	t := &bnTrainTask{k: k}
	c := k.C
	if err := miscF32s(k, "input", in, []*[]float32{&t.x, &t.scale, &t.bias, &t.mean, &t.vars}, n, c, c, c, c); err != nil {
		return nil, err
	}
	if err := miscF32s(k, "output", out, []*[]float32{&t.y, &t.mean2, &t.var2, &t.mu, &t.inv}, n, c, c, c, c); err != nil {
		return nil, err
	}
	return t, nil
}

// bnTrainTask is a bound BatchNormTrain: a piece is one channel.
type bnTrainTask struct {
	k                          *BatchNormTrain
	x, scale, bias, mean, vars []float32
	y, mean2, var2, mu, inv    []float32
}

func (t *bnTrainTask) Tasks() int   { return t.k.C }
func (t *bnTrainTask) Scratch() int { return 0 }

func (t *bnTrainTask) Run(c int, _ []float32) {
	k := t.k
	row := func(n int) []float32 { return t.x[(n*k.C+c)*k.Inner:][:k.Inner] }
	var sum float64
	for n := 0; n < k.N; n++ {
		sum += float64(sumF32(row(n)))
	}
	cnt := float64(k.N * k.Inner)
	mean := sum / cnt
	var sq float64
	for n := 0; n < k.N; n++ {
		sq += float64(sumSqDev(row(n), float32(mean)))
	}
	variance := sq / cnt
	inv := 1 / math.Sqrt(variance+float64(k.Epsilon))
	a := float32(float64(t.scale[c]) * inv)
	b := float32(float64(t.bias[c]) - mean*float64(t.scale[c])*inv)
	for n := 0; n < k.N; n++ {
		x := row(n)
		y := t.y[(n*k.C+c)*k.Inner:][:len(x)]
		for i, v := range x {
			y[i] = v*a + b
		}
	}
	unbiased := variance
	if cnt > 1 {
		unbiased = variance * cnt / (cnt - 1)
	}
	mom := float64(k.Momentum)
	t.mean2[c] = float32(mom*float64(t.mean[c]) + (1-mom)*mean)
	t.var2[c] = float32(mom*float64(t.vars[c]) + (1-mom)*unbiased)
	t.mu[c], t.inv[c] = float32(mean), float32(inv)
}

// sumF32 returns the sum of x in float32, over four partial sums: one
// running sum waits on each add's latency (four times slower).
func sumF32(x []float32) float32 {
	var s0, s1, s2, s3 float32
	for ; len(x) >= 4; x = x[4:] {
		s0 += x[0]
		s1 += x[1]
		s2 += x[2]
		s3 += x[3]
	}
	for _, v := range x {
		s0 += v
	}
	return (s0 + s1) + (s2 + s3)
}

// sumSqDev returns Σ (x - m)², as sumF32 sums.
func sumSqDev(x []float32, m float32) float32 {
	var s0, s1, s2, s3 float32
	for ; len(x) >= 4; x = x[4:] {
		d0, d1, d2, d3 := x[0]-m, x[1]-m, x[2]-m, x[3]-m
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for _, v := range x {
		s0 += (v - m) * (v - m)
	}
	return (s0 + s1) + (s2 + s3)
}

// sumDevDot returns Σ dy and Σ dy·(x - m), as sumF32 sums.
func sumDevDot(dy, x []float32, m float32) (sum, dot float32) {
	x = x[:len(dy)]
	var s0, s1, d0, d1 float32
	for ; len(dy) >= 2; dy, x = dy[2:], x[2:] {
		s0 += dy[0]
		s1 += dy[1]
		d0 += dy[0] * (x[0] - m)
		d1 += dy[1] * (x[1] - m)
	}
	if len(dy) == 1 {
		s0 += dy[0]
		d0 += dy[0] * (x[0] - m)
	}
	return s0 + s1, d0 + d1
}

// Bind implements Kernel. in is X, scale, μ, invStd and dY; out is dX,
// dScale and dB.
func (k *BatchNormGrad) Bind(in, out []*ir.Tensor) (Task, error) {
	if err := miscArity(k, in, out, 5, 3); err != nil {
		return nil, err
	}
	if err := miscFields(k, miscField{"N", k.N, 1}, miscField{"C", k.C, 1}, miscField{"Inner", k.Inner, 1}); err != nil {
		return nil, err
	}
	n, ok := miscProduct(k.N, k.C, k.Inner)
	if !ok {
		return nil, ir.Invalidf("%s kernel: X exceeds %d elements", k.Name(), ir.MaxElements)
	}
	t := &bnGradTask{k: k}
	c := k.C
	if err := miscF32s(k, "input", in, []*[]float32{&t.x, &t.scale, &t.mu, &t.inv, &t.dy}, n, c, c, c, n); err != nil {
		return nil, err
	}
	if err := miscF32s(k, "output", out, []*[]float32{&t.dx, &t.dscale, &t.db}, n, c, c); err != nil {
		return nil, err
	}
	return t, nil
}

// bnGradTask is a bound BatchNormGrad: a piece is one channel.
type bnGradTask struct {
	k                     *BatchNormGrad
	x, scale, mu, inv, dy []float32
	dx, dscale, db        []float32
}

func (t *bnGradTask) Tasks() int   { return t.k.C }
func (t *bnGradTask) Scratch() int { return 0 }

func (t *bnGradTask) Run(c int, _ []float32) {
	k := t.k
	mu, inv := t.mu[c], t.inv[c]
	var db, ds float64
	for n := 0; n < k.N; n++ {
		off := (n*k.C + c) * k.Inner
		sb, ss := sumDevDot(t.dy[off:][:k.Inner], t.x[off:][:k.Inner], mu)
		db += float64(sb)
		ds += float64(ss) * float64(inv)
	}
	t.db[c], t.dscale[c] = float32(db), float32(ds)
	cnt := float64(k.N * k.Inner)
	scale := float64(t.scale[c]) * float64(inv) / cnt
	// dX = scale·invStd/cnt · (cnt·dY - dB - x̂·dScale)
	a := float32(scale * cnt)
	b := float32(-scale * db)
	e := float32(-scale * ds * float64(inv))
	for n := 0; n < k.N; n++ {
		off := (n*k.C + c) * k.Inner
		dy := t.dy[off:][:k.Inner]
		x, dx := t.x[off:][:len(dy)], t.dx[off:][:len(dy)]
		for i, d := range dy {
			dx[i] = a*d + b + e*(x[i]-mu)
		}
	}
}

// Bind implements Kernel. in is W; out is W'.
func (k *FlipFilter) Bind(in, out []*ir.Tensor) (Task, error) {
	if err := miscArity(k, in, out, 1, 1); err != nil {
		return nil, err
	}
	if k.Group < 1 || k.M < 1 || k.C < 1 || k.K < 1 || k.M%k.Group != 0 || k.C%k.Group != 0 {
		return nil, ir.Invalidf("flipfilter: M %d, C %d, group %d, K %d: want positive sizes the group divides", k.M, k.C, k.Group, k.K)
	}
	n := k.M * k.C / k.Group * k.K
	w, err := miscF32(k, "input 0 (W)", in[0], n)
	if err != nil {
		return nil, err
	}
	wf, err := miscF32(k, "output 0 (W')", out[0], n)
	if err != nil {
		return nil, err
	}
	per := max(1, trainChunk/(k.M/k.Group*k.K))
	return &flipFilterTask{k: k, w: w, wf: wf, per: per, tasks: (k.C + per - 1) / per}, nil
}

// flipFilterTask is a bound FlipFilter: a piece is a block of W' rows
// (input channels of the forward filter).
type flipFilterTask struct {
	k          *FlipFilter
	w, wf      []float32
	per, tasks int
}

func (t *flipFilterTask) Tasks() int   { return t.tasks }
func (t *flipFilterTask) Scratch() int { return 0 }

func (t *flipFilterTask) Run(piece int, _ []float32) {
	k := t.k
	cg, mg := k.C/k.Group, k.M/k.Group
	for row := piece * t.per; row < min(k.C, (piece+1)*t.per); {
		g, r0 := row/cg, row%cg // W''s rows are the forward filter's input channels
		r1 := min(cg, r0+min(k.C, (piece+1)*t.per)-row)
		flipRows(t.wf[row*mg*k.K:], t.w, k.Group, k.C, k.M, k.K, g, r0, r1)
		row += r1 - r0
	}
}
