package reference

import (
	"math"

	"github.com/cnnc/cnnc/ir"
)

// trainKernel returns the kernel of a training op (ir/ops_train.go): the
// losses, the forward ops' gradients and the optimizer updates. Sums run
// in float64, in a fixed order.
func trainKernel(op ir.Op) kernel {
	switch op.(type) {
	case *ir.SoftmaxCrossEntropy:
		return softmaxCrossEntropy
	case *ir.SoftmaxCrossEntropyGrad:
		return softmaxCrossEntropyGrad
	case *ir.MSELoss:
		return mseLoss
	case *ir.MSELossGrad:
		return mseLossGrad
	case *ir.ConvGradData:
		return convGradData
	case *ir.ConvGradFilter:
		return convGradFilter
	case *ir.FlipFilter:
		return flipFilter
	case *ir.MaxPoolGrad:
		return maxPoolGrad
	case *ir.AveragePoolGrad:
		return averagePoolGrad
	case *ir.GlobalPoolGrad:
		return globalPoolGrad
	case *ir.ActGrad:
		return actGrad
	case *ir.SGD:
		return sgd
	case *ir.Adam:
		return adam
	case *ir.BatchNormTrain:
		return batchNormTrain
	case *ir.BatchNormGrad:
		return batchNormGrad
	case *ir.LRNGrad:
		return lrnGrad
	case *ir.DropoutTrain:
		return dropoutTrain
	case *ir.StochasticDepthTrain:
		return stochasticDepthTrain
	}
	return nil
}

// channelStats returns, for channel c of X [N, C, inner...], the mean and
// biased variance of its values, in float64 (two passes).
func channelStats(x []float32, n, ch, inner, c int) (mean, variance float64) {
	sum := 0.0
	for i := 0; i < n; i++ {
		for _, v := range x[(i*ch+c)*inner:][:inner] {
			sum += float64(v)
		}
	}
	cnt := float64(n * inner)
	mean = sum / cnt
	sq := 0.0
	for i := 0; i < n; i++ {
		for _, v := range x[(i*ch+c)*inner:][:inner] {
			d := float64(v) - mean
			sq += d * d
		}
	}
	return mean, sq / cnt
}

func batchNormTrain(op ir.Op, in, out []*ir.Tensor) error {
	b := op.(*ir.BatchNormTrain)
	x := in[0]
	n, ch := x.Shape[0], x.Shape[1]
	inner := convProduct(x.Shape[2:])
	cnt := n * inner
	mom := float64(b.Momentum)
	for c := 0; c < ch; c++ {
		mean, variance := channelStats(x.F32, n, ch, inner, c)
		inv := 1 / math.Sqrt(variance+float64(b.Epsilon))
		s, sh := float64(in[1].F32[c])*inv, float64(in[2].F32[c])
		for i := 0; i < n; i++ {
			base := (i*ch + c) * inner
			for j, v := range x.F32[base : base+inner] {
				out[0].F32[base+j] = float32((float64(v)-mean)*s + sh)
			}
		}
		unbiased := variance
		if cnt > 1 {
			unbiased = variance * float64(cnt) / float64(cnt-1)
		}
		out[1].F32[c] = float32(mom*float64(in[3].F32[c]) + (1-mom)*mean)
		out[2].F32[c] = float32(mom*float64(in[4].F32[c]) + (1-mom)*unbiased)
		out[3].F32[c], out[4].F32[c] = float32(mean), float32(inv)
	}
	return nil
}

func batchNormGrad(_ ir.Op, in, out []*ir.Tensor) error {
	x, dy := in[0], in[4]
	n, ch := x.Shape[0], x.Shape[1]
	inner := convProduct(x.Shape[2:])
	cnt := float64(n * inner)
	for c := 0; c < ch; c++ {
		mean, inv, scale := float64(in[2].F32[c]), float64(in[3].F32[c]), float64(in[1].F32[c])
		db, ds := 0.0, 0.0
		for i := 0; i < n; i++ {
			base := (i*ch + c) * inner
			for j := base; j < base+inner; j++ {
				d := float64(dy.F32[j])
				db += d
				ds += d * (float64(x.F32[j]) - mean) * inv
			}
		}
		out[1].F32[c], out[2].F32[c] = float32(ds), float32(db)
		k := scale * inv / cnt
		for i := 0; i < n; i++ {
			base := (i*ch + c) * inner
			for j := base; j < base+inner; j++ {
				xh := (float64(x.F32[j]) - mean) * inv
				out[0].F32[j] = float32(k * (cnt*float64(dy.F32[j]) - db - xh*ds))
			}
		}
	}
	return nil
}

// logSoftmaxRow returns the log-softmax of one row of logits, computed as
// (x - max) - log Σ exp(x - max).
func logSoftmaxRow(row []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range row {
		m = math.Max(m, float64(v))
	}
	sum := 0.0
	for _, v := range row {
		sum += math.Exp(float64(v) - m)
	}
	lse := m + math.Log(sum)
	out := make([]float64, len(row))
	for i, v := range row {
		out[i] = float64(v) - lse
	}
	return out
}

// crossEntropyTarget returns sample i's target distribution over k
// classes: one-hot for class labels (i64), else the given row (f32).
func crossEntropyTarget(labels *ir.Tensor, i, k int) ([]float64, error) {
	t := make([]float64, k)
	if labels.DType == ir.Int64 {
		l := labels.I64[i]
		if l < 0 || l >= int64(k) {
			return nil, ir.Invalidf("label %d of sample %d is not a class in [0, %d)", l, i, k)
		}
		t[l] = 1
		return t, nil
	}
	for j, v := range labels.F32[i*k : (i+1)*k] {
		t[j] = float64(v)
	}
	return t, nil
}

func softmaxCrossEntropy(_ ir.Op, in, out []*ir.Tensor) error {
	logits := in[0]
	n, k := logits.Shape[0], logits.Shape[1]
	loss := 0.0
	for i := 0; i < n; i++ {
		t, err := crossEntropyTarget(in[1], i, k)
		if err != nil {
			return err
		}
		for j, ls := range logSoftmaxRow(logits.F32[i*k : (i+1)*k]) {
			if t[j] != 0 {
				loss -= t[j] * ls
			}
		}
	}
	if n > 0 {
		loss /= float64(n)
	}
	out[0].F32[0] = float32(loss)
	return nil
}

func softmaxCrossEntropyGrad(_ ir.Op, in, out []*ir.Tensor) error {
	logits, dLoss := in[0], float64(in[2].F32[0])
	n, k := logits.Shape[0], logits.Shape[1]
	for i := 0; i < n; i++ {
		t, err := crossEntropyTarget(in[1], i, k)
		if err != nil {
			return err
		}
		mass := 0.0
		for _, v := range t {
			mass += v
		}
		ls := logSoftmaxRow(logits.F32[i*k : (i+1)*k])
		d := out[0].F32[i*k : (i+1)*k]
		for j := range d {
			d[j] = float32(dLoss * (math.Exp(ls[j])*mass - t[j]) / float64(n))
		}
	}
	return nil
}

func mseLoss(_ ir.Op, in, out []*ir.Tensor) error {
	p, t := in[0].F32, in[1].F32
	sum := 0.0
	for i := range p {
		d := float64(p[i]) - float64(t[i])
		sum += d * d
	}
	if len(p) > 0 {
		sum /= float64(len(p))
	}
	out[0].F32[0] = float32(sum)
	return nil
}

func mseLossGrad(_ ir.Op, in, out []*ir.Tensor) error {
	p, t, dLoss := in[0].F32, in[1].F32, float64(in[2].F32[0])
	for i := range p {
		out[0].F32[i] = float32(dLoss * 2 * (float64(p[i]) - float64(t[i])) / float64(len(p)))
	}
	return nil
}

// convTaps calls f(p, k, j) for every output position p of g and every
// kernel position k whose input element, at offset j of a spatial plane,
// lies inside X: the pairs the forward convolution multiplies.
func convTaps(g ir.Window, f func(p, k, j int)) {
	eachWindow(g, func(p int, offs []int) {
		for k, j := range offs {
			if j >= 0 {
				f(p, k, j)
			}
		}
	})
}

// eachWindow calls f for every output position p of g, in row-major
// order, with the window's offsets as windowOffsets gives them (valid
// during the call).
func eachWindow(g ir.Window, f func(p int, offs []int)) {
	o, kpos, offs := make([]int, len(g.Out)), make([]int, len(g.Out)), make([]int, convProduct(g.Kernel))
	for p := 0; p < convProduct(g.Out); p++ {
		windowOffsets(g, o, kpos, offs)
		f(p, offs)
		convNext(o, g.Out)
	}
}

// storeF32 rounds the float64 sums acc into dst.
func storeF32(dst []float32, acc []float64) {
	for i, v := range acc {
		dst[i] = float32(v)
	}
}

// convGradData scatters each dY element, times the kernel, back into the
// input positions its window read.
func convGradData(op ir.Op, in, out []*ir.Tensor) error {
	c := op.(*ir.ConvGradData)
	dy, w, dx := in[0], in[1], out[0]
	g, err := c.Conv.Geometry(c.X, w.Shape)
	if err != nil {
		return err
	}
	batch, ch, m := c.X[0], c.X[1], w.Shape[0]
	cg, mg := ch/c.Conv.Group, m/c.Conv.Group
	inSize, outSize, kSize := convProduct(g.In), convProduct(g.Out), convProduct(g.Kernel)
	acc := make([]float64, len(dx.F32))
	convTaps(g, func(p, k, j int) {
		for n := 0; n < batch; n++ {
			for oc := 0; oc < m; oc++ {
				d := float64(dy.F32[(n*m+oc)*outSize+p])
				first := oc / mg * cg
				for ic := 0; ic < cg; ic++ {
					acc[(n*ch+first+ic)*inSize+j] += d * float64(w.F32[(oc*cg+ic)*kSize+k])
				}
			}
		}
	})
	storeF32(dx.F32, acc)
	return nil
}

// flipFilter writes W' [C, M/group, K...]: each group's filter with its
// channel axes swapped and every spatial axis reversed, which reverses the
// flattened spatial index.
func flipFilter(op ir.Op, in, out []*ir.Tensor) error {
	group := op.(*ir.FlipFilter).Group
	w, wf := in[0], out[0]
	m, cg := w.Shape[0], w.Shape[1]
	mg, k := m/group, convProduct(w.Shape[2:])
	for g := 0; g < group; g++ {
		for i := 0; i < mg; i++ {
			for c := 0; c < cg; c++ {
				src := w.F32[((g*mg+i)*cg+c)*k:][:k]
				dst := wf.F32[((g*cg+c)*mg+i)*k:][:k]
				for j, v := range src {
					dst[k-1-j] = v
				}
			}
		}
	}
	return nil
}

// convGradFilter sums, for each weight, dY times the input element the
// weight multiplied, over the batch and the output positions.
func convGradFilter(op ir.Op, in, out []*ir.Tensor) error {
	c := op.(*ir.ConvGradFilter)
	x, dy, dw := in[0], in[1], out[0]
	g, err := c.Conv.Geometry(x.Shape, c.W)
	if err != nil {
		return err
	}
	batch, ch, m := x.Shape[0], x.Shape[1], c.W[0]
	cg, mg := ch/c.Conv.Group, m/c.Conv.Group
	inSize, outSize, kSize := convProduct(g.In), convProduct(g.Out), convProduct(g.Kernel)
	acc := make([]float64, len(dw.F32))
	convTaps(g, func(p, k, j int) {
		for n := 0; n < batch; n++ {
			for oc := 0; oc < m; oc++ {
				d := float64(dy.F32[(n*m+oc)*outSize+p])
				first := oc / mg * cg
				for ic := 0; ic < cg; ic++ {
					acc[(oc*cg+ic)*kSize+k] += d * float64(x.F32[(n*ch+first+ic)*inSize+j])
				}
			}
		}
	})
	storeF32(dw.F32, acc)
	return nil
}

// maxPoolGrad routes each dY element to its window's first maximum, the
// element MaxPool's Indices name.
func maxPoolGrad(op ir.Op, in, out []*ir.Tensor) error {
	mp := op.(*ir.MaxPoolGrad).Pool
	x, dy, dx := in[0], in[1], out[0]
	g, err := mp.Geometry(x.Shape)
	if err != nil {
		return err
	}
	planes := x.Shape[0] * x.Shape[1]
	inSize, outSize := convProduct(g.In), convProduct(g.Out)
	acc := make([]float64, len(dx.F32))
	eachWindow(g, func(p int, offs []int) {
		for nc := 0; nc < planes; nc++ {
			best, at := math.Inf(-1), -1
			for _, j := range offs {
				if j < 0 {
					continue
				}
				v := float64(x.F32[nc*inSize+j])
				if at < 0 || v > best || (math.IsNaN(v) && !math.IsNaN(best)) {
					best, at = v, j
				}
			}
			if at >= 0 {
				acc[nc*inSize+at] += float64(dy.F32[nc*outSize+p])
			}
		}
	})
	storeF32(dx.F32, acc)
	return nil
}

// averagePoolGrad spreads each dY element over its window's elements
// inside X, divided by the count the forward pool divided by.
func averagePoolGrad(op ir.Op, in, out []*ir.Tensor) error {
	ap := op.(*ir.AveragePoolGrad).Pool
	x, dy, dx := in[0], in[1], out[0]
	g, err := ap.Geometry(x.Shape)
	if err != nil {
		return err
	}
	planes := x.Shape[0] * x.Shape[1]
	inSize, outSize := convProduct(g.In), convProduct(g.Out)
	acc := make([]float64, len(dx.F32))
	eachWindow(g, func(p int, offs []int) {
		count := 0
		for _, j := range offs {
			if j >= 0 || (j == inPadding && ap.CountIncludePad) {
				count++
			}
		}
		if count == 0 {
			return
		}
		for nc := 0; nc < planes; nc++ {
			d := float64(dy.F32[nc*outSize+p]) / float64(count)
			for _, j := range offs {
				if j >= 0 {
					acc[nc*inSize+j] += d
				}
			}
		}
	})
	storeF32(dx.F32, acc)
	return nil
}

// globalPoolGrad spreads each plane's dY over the plane (average) or
// routes it to the plane's first maximum.
func globalPoolGrad(op ir.Op, in, out []*ir.Tensor) error {
	isMax := op.(*ir.GlobalPoolGrad).Max
	x, dy, dx := in[0], in[1], out[0]
	size := convProduct(x.Shape[2:])
	for nc, d := range dy.F32 {
		plane, dp := x.F32[nc*size:(nc+1)*size], dx.F32[nc*size:(nc+1)*size]
		if !isMax {
			for i := range dp {
				dp[i] = float32(float64(d) / float64(size))
			}
			continue
		}
		clear(dp)
		at := 0
		for i, v := range plane {
			if v > plane[at] || (v != v && plane[at] == plane[at]) {
				at = i
			}
		}
		if size > 0 {
			dp[at] = d
		}
	}
	return nil
}

// actGrad multiplies dY by the activation's derivative at each element.
func actGrad(op ir.Op, in, out []*ir.Tensor) error {
	x, y, dy, dx := in[0].F32, in[1].F32, in[2].F32, out[0].F32
	switch f := op.(*ir.ActGrad).Op.(type) {
	case *ir.Relu:
		for i := range dx {
			dx[i] = 0
			if y[i] > 0 {
				dx[i] = dy[i]
			}
		}
	case *ir.LeakyRelu:
		for i := range dx {
			dx[i] = dy[i]
			if !(x[i] > 0) {
				dx[i] = float32(float64(dy[i]) * float64(f.Alpha))
			}
		}
	case *ir.Sigmoid:
		for i := range dx {
			s := float64(y[i])
			dx[i] = float32(float64(dy[i]) * s * (1 - s))
		}
	case *ir.Tanh:
		for i := range dx {
			t := float64(y[i])
			dx[i] = float32(float64(dy[i]) * (1 - t*t))
		}
	case *ir.Clip:
		for i := range dx {
			dx[i] = 0
			if x[i] > f.Min && x[i] < f.Max {
				dx[i] = dy[i]
			}
		}
	default:
		return ir.Unsupportedf("gradient of %s", f.OpType())
	}
	return nil
}

// sgd applies one torch.optim.SGD step.
func sgd(op ir.Op, in, out []*ir.Tensor) error {
	s := op.(*ir.SGD)
	w, dw, lr := in[0].F32, in[1].F32, float64(in[3].F32[0])
	mom, wd := float64(s.Momentum), float64(s.WeightDecay)
	for i := range w {
		d := float64(dw[i]) + wd*float64(w[i])
		if mom != 0 {
			v := mom*float64(in[2].F32[i]) + d
			out[1].F32[i] = float32(v)
			if s.Nesterov {
				d += mom * v
			} else {
				d = v
			}
		}
		out[0].F32[i] = float32(float64(w[i]) - lr*d)
	}
	return nil
}

// adam applies one torch.optim.Adam (or AdamW) step.
func adam(op ir.Op, in, out []*ir.Tensor) error {
	a := op.(*ir.Adam)
	w, dw, m, v := in[0].F32, in[1].F32, in[2].F32, in[3].F32
	lr, step := float64(in[4].F32[0]), float64(in[5].F32[0])
	if !(step >= 1) {
		return ir.Invalidf("Adam step %v, want >= 1", step)
	}
	b1, b2, eps, wd := float64(a.Beta1), float64(a.Beta2), float64(a.Eps), float64(a.WeightDecay)
	c1, c2 := 1-math.Pow(b1, step), 1-math.Pow(b2, step)
	for i := range w {
		wi, g := float64(w[i]), float64(dw[i])
		if a.Decoupled {
			wi *= 1 - lr*wd
		} else {
			g += wd * wi
		}
		mi := b1*float64(m[i]) + (1-b1)*g
		vi := b2*float64(v[i]) + (1-b2)*g*g
		out[1].F32[i], out[2].F32[i] = float32(mi), float32(vi)
		out[0].F32[i] = float32(wi - lr*(mi/c1)/(math.Sqrt(vi/c2)+eps))
	}
	return nil
}

// lrnGrad differentiates LRN: each element's own term, minus what it
// contributed to the denominators of the channels whose windows hold it.
func lrnGrad(op ir.Op, in, out []*ir.Tensor) error {
	l := op.(*ir.LRNGrad).LRN
	x, dy, dx := in[0], in[1], out[0]
	batch, ch := x.Shape[0], x.Shape[1]
	size := convProduct(x.Shape[2:])
	before := (l.Size - 1) / 2
	after := l.Size - 1 - before
	alpha, beta, bias := float64(l.Alpha)/float64(l.Size), float64(l.Beta), float64(l.Bias)
	d := make([]float64, ch)
	for n := 0; n < batch; n++ {
		for p := 0; p < size; p++ {
			at := func(c int) int { return (n*ch+c)*size + p }
			for c := 0; c < ch; c++ {
				sum := 0.0
				for cc := max(0, c-before); cc <= min(ch-1, c+after); cc++ {
					v := float64(x.F32[at(cc)])
					sum += v * v
				}
				d[c] = bias + alpha*sum
			}
			for j := 0; j < ch; j++ {
				g := float64(dy.F32[at(j)]) * math.Pow(d[j], -beta)
				s := 0.0
				// The channels c whose window [c-before, c+after] holds j.
				for c := max(0, j-after); c <= min(ch-1, j+before); c++ {
					s += float64(dy.F32[at(c)]) * float64(x.F32[at(c)]) * math.Pow(d[c], -beta-1)
				}
				dx.F32[at(j)] = float32(g - 2*alpha*beta*float64(x.F32[at(j)])*s)
			}
		}
	}
	return nil
}

func dropoutTrain(op ir.Op, in, out []*ir.Tensor) error {
	d := op.(*ir.DropoutTrain)
	seed := in[1].F32[0]
	keep := float32(1 / (1 - float64(d.Ratio)))
	for i, v := range in[0].F32 {
		s := float32(0)
		if ir.TrainDraw(seed, d.Salt, i) >= float64(d.Ratio) {
			s = keep
		}
		out[0].F32[i], out[1].F32[i] = v*s, s
	}
	return nil
}

func stochasticDepthTrain(op ir.Op, in, out []*ir.Tensor) error {
	d := op.(*ir.StochasticDepthTrain)
	s := float32(0)
	if ir.TrainDraw(in[1].F32[0], d.Salt, 0) < float64(d.Survival) {
		s = float32(1 / float64(d.Survival))
	}
	for i, v := range in[0].F32 {
		out[0].F32[i] = v * s
	}
	out[1].F32[0] = s
	return nil
}
