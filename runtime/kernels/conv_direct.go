package kernels

// convDirect is a bound AlgoDirect or AlgoDepthwise convolution, computed
// output plane by output plane: each plane Y[n, m] starts as the bias plus
// the residual, then every tap (c, kh, kw) of the window adds W[m, c, kh,
// kw] times the shifted input rows it reaches, and the activation ends it.
// Depthwise convolutions with 3×3 undilated kernels add a whole kernel row
// per pass instead. A piece is a run of consecutive planes.
type convDirect struct {
	k                Conv2D
	x, w, bias, z, y []float32
	cg, mg           int
	per, planes      int // planes per piece; planes in all (N·M)
	fast3x3          bool
}

func newConvDirect(k *Conv2D, x, w, bias, z, y []float32) *convDirect {
	t := &convDirect{k: *k, x: x, w: w, bias: bias, z: z, y: y}
	t.cg, t.mg = k.C/k.Group, k.M/k.Group
	t.planes = k.N * k.M
	work := max(1, t.cg*k.KH*k.KW*k.OH*k.OW) // multiply-adds per plane
	t.per = max(1, min(convMinDirectWork/work, (t.planes+convMinTasks-1)/convMinTasks))
	return t
}

func newConvDepthwise(k *Conv2D, x, w, bias, z, y []float32) *convDirect {
	t := newConvDirect(k, x, w, bias, z, y)
	t.fast3x3 = k.KH == 3 && k.KW == 3 && k.DH == 1 && k.DW == 1
	return t
}

// Tasks implements Task.
func (t *convDirect) Tasks() int { return (t.planes + t.per - 1) / t.per }

// Scratch implements Task.
func (t *convDirect) Scratch() int { return 0 }

// Run implements Task.
func (t *convDirect) Run(piece int, _ []float32) {
	k := &t.k
	ohw, hw := k.OH*k.OW, k.H*k.W
	for pl := piece * t.per; pl < min(t.planes, (piece+1)*t.per); pl++ {
		n, m := pl/k.M, pl%k.M
		yp := t.y[pl*ohw : (pl+1)*ohw]
		var b float32
		if t.bias != nil {
			b = t.bias[m]
		}
		if t.z != nil {
			zp := t.z[pl*ohw : (pl+1)*ohw]
			for i := range yp {
				yp[i] = b + zp[i]
			}
		} else {
			for i := range yp {
				yp[i] = b
			}
		}
		first := n*k.C + m/t.mg*t.cg // first input channel of m's group
		for c := 0; c < t.cg; c++ {
			xp := t.x[(first+c)*hw : (first+c+1)*hw]
			wk := t.w[(m*t.cg+c)*k.KH*k.KW:][:k.KH*k.KW]
			if t.fast3x3 {
				t.plane3x3(yp, xp, wk)
			} else {
				t.plane(yp, xp, wk)
			}
		}
		gemmApplyAct(yp, k.Act)
	}
}

// convTapRange returns the output columns [lo, hi) whose input column ow*SW +
// base lies in [0, W).
func convTapRange(base, sw, w, ow int) (lo, hi int) {
	if base < 0 {
		lo = (-base + sw - 1) / sw
	}
	if base < w {
		hi = min(ow, (w-1-base)/sw+1)
	}
	return min(lo, ow), hi
}

// plane adds to the output plane yp the window sums of one input plane xp
// with the kernel wk (KH×KW), one tap at a time.
func (t *convDirect) plane(yp, xp, wk []float32) {
	k := &t.k
	for kh := 0; kh < k.KH; kh++ {
		for kw := 0; kw < k.KW; kw++ {
			wv := wk[kh*k.KW+kw]
			base := kw*k.DW - k.PadL
			lo, hi := convTapRange(base, k.SW, k.W, k.OW)
			if lo >= hi {
				continue
			}
			for oh := 0; oh < k.OH; oh++ {
				ih := oh*k.SH - k.PadT + kh*k.DH
				if ih < 0 || ih >= k.H {
					continue
				}
				xr := xp[ih*k.W : (ih+1)*k.W]
				yr := yp[oh*k.OW : (oh+1)*k.OW]
				convTap(yr[lo:hi], xr[lo*k.SW+base:], wv, k.SW)
			}
		}
	}
}

// convTap is y[i] += w * x[i*stride] for i < len(y).
func convTap(y, x []float32, w float32, stride int) {
	if stride == 1 {
		x = x[:len(y)]
		for i := range y {
			y[i] += w * x[i]
		}
		return
	}
	for i := range y {
		y[i] += w * x[i*stride]
	}
}

// plane3x3 is plane for a 3×3 undilated kernel: each output row takes
// whole kernel rows at once where all three taps are inside X, tap by tap
// at the borders.
func (t *convDirect) plane3x3(yp, xp, wk []float32) {
	k := &t.k
	wk = wk[:9]
	base := -k.PadL
	// Columns where all three taps are in range.
	lo, _ := convTapRange(base, k.SW, k.W, k.OW)
	_, hi := convTapRange(base+2, k.SW, k.W, k.OW)
	for oh := 0; oh < k.OH; oh++ {
		yr := yp[oh*k.OW : (oh+1)*k.OW]
		for kh := 0; kh < 3; kh++ {
			ih := oh*k.SH - k.PadT + kh
			if ih < 0 || ih >= k.H {
				continue
			}
			xr := xp[ih*k.W : (ih+1)*k.W]
			w0, w1, w2 := wk[kh*3], wk[kh*3+1], wk[kh*3+2]
			if lo >= hi {
				for kw := 0; kw < 3; kw++ {
					l, h := convTapRange(base+kw, k.SW, k.W, k.OW)
					if l < h {
						convTap(yr[l:h], xr[l*k.SW+base+kw:], wk[kh*3+kw], k.SW)
					}
				}
				continue
			}
			// Borders, tap by tap.
			for kw := 0; kw < 3; kw++ {
				l, h := convTapRange(base+kw, k.SW, k.W, k.OW)
				if l < lo {
					convTap(yr[l:lo], xr[l*k.SW+base+kw:], wk[kh*3+kw], k.SW)
				}
				if hi < h {
					convTap(yr[hi:h], xr[hi*k.SW+base+kw:], wk[kh*3+kw], k.SW)
				}
			}
			// Interior, the whole kernel row.
			ys := yr[lo:hi]
			if k.SW == 1 {
				xs := xr[lo+base : hi+base+2]
				for i := range ys {
					s := xs[i : i+3 : i+3]
					ys[i] += w0*s[0] + w1*s[1] + w2*s[2]
				}
			} else {
				iw := lo*k.SW + base
				for i := range ys {
					s := xr[iw : iw+3 : iw+3]
					ys[i] += w0*s[0] + w1*s[1] + w2*s[2]
					iw += k.SW
				}
			}
		}
	}
}
