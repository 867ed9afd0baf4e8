package kernels

import "github.com/cnnc/cnnc/ir"

// The backward convolutions of a training step, on the packed SGEMM.
//
// ConvGradFilter: for each group, dW_g [mg × cg·KH·KW] = Σ over images n
// of dY_n,g [mg × P] · col(X_n,g)ᵀ, P = OH·OW output positions and col
// the im2col matrix (row (c, kh, kw), column p). The images are further
// K-blocks of one product: the first overwrites dW, the others accumulate
// (tileAccum). B's panels are packed straight from X (packColT), never
// building col.
//
// ConvGradData: for each image and group, col = W_gᵀ [cg·KH·KW × mg] ·
// dY_n,g [mg × P], then col2im adds each entry into the dX element it
// came from (zero first).

// Bind implements Kernel. in is dY and W [M, C/Group, KH, KW]; out is dX.
func (k *ConvGradData) Bind(in, out []*ir.Tensor) (Task, error) {
	c := gradConv(&k.Conv)
	if err := convCheck(c); err != nil {
		return nil, err
	}
	if len(in) != 2 || len(out) != 1 {
		return nil, ir.Invalidf("convgraddata: %d inputs and %d outputs, want 2 and 1", len(in), len(out))
	}
	g := newConvGradGeom(c)
	dy, err := convOperand("convgraddata", "dY", in[0], c.N*c.M*g.p, false)
	if err != nil {
		return nil, err
	}
	w, err := convOperand("convgraddata", "W", in[1], c.M*g.kk, false)
	if err != nil {
		return nil, err
	}
	dx, err := convOperand("convgraddata", "dX", out[0], c.N*c.C*c.H*c.W, false)
	if err != nil {
		return nil, err
	}
	return &convGradDataTask{convGradGeom: g, dy: dy, w: w, dx: dx}, nil
}

// Bind implements Kernel. in is X and dY; out is dW [M, C/Group, KH, KW].
func (k *ConvGradFilter) Bind(in, out []*ir.Tensor) (Task, error) {
	c := gradConv(&k.Conv)
	if err := convCheck(c); err != nil {
		return nil, err
	}
	if len(in) != 2 || len(out) != 1 {
		return nil, ir.Invalidf("convgradfilter: %d inputs and %d outputs, want 2 and 1", len(in), len(out))
	}
	g := newConvGradGeom(c)
	x, err := convOperand("convgradfilter", "X", in[0], c.N*c.C*c.H*c.W, false)
	if err != nil {
		return nil, err
	}
	dy, err := convOperand("convgradfilter", "dY", in[1], c.N*c.M*g.p, false)
	if err != nil {
		return nil, err
	}
	dw, err := convOperand("convgradfilter", "dW", out[0], c.M*g.kk, false)
	if err != nil {
		return nil, err
	}
	t := &convGradFilterTask{convGradGeom: g, x: x, dy: dy, dw: dw}
	// Pieces: groups × blocks of whole 16-column panels of dW's columns.
	want := max(1, (convMinTasks+c.Group-1)/c.Group)
	t.colSize, t.cols = convSplit(g.kk, want, 4*gemmNR, gemmNR)
	return t, nil
}

// gradConv returns a copy of c as the backward convolutions check and
// use it: the algorithm and activation, which they ignore, set to ones
// every geometry allows.
func gradConv(c *Conv2D) *Conv2D {
	g := *c
	g.Algo, g.Act = ir.AlgoDirect, ir.Activation{}
	return &g
}

// convGradGeom is the geometry both backward convolutions share.
type convGradGeom struct {
	k      *Conv2D
	cg, mg int
	kk     int // taps of a group: cg·KH·KW
	p      int // output positions: OH·OW
}

func newConvGradGeom(c *Conv2D) convGradGeom {
	cg := c.C / c.Group
	return convGradGeom{k: c, cg: cg, mg: c.M / c.Group, kk: cg * c.KH * c.KW, p: c.OH * c.OW}
}

// packColT packs rows [p0, p0+kc) and columns [j0, j0+nc) of col(X_n,g)ᵀ
// (row p an output position, column j a tap (c, kh, kw) of group g's
// channels) into dst as packB lays a kc×nc block out: panels of gemmNR
// columns, zero-padded.
func (g *convGradGeom) packColT(dst, x []float32, n, grp, p0, kc, j0, nc int) {
	k := g.k
	khw := k.KH * k.KW
	panels := (nc + gemmNR - 1) / gemmNR
	clear(dst[:panels*gemmNR*kc])
	for jj := 0; jj < nc; jj++ {
		j := j0 + jj
		c, kh, kw := j/khw, j%khw/k.KW, j%k.KW
		plane := x[((n*k.C)+grp*g.cg+c)*k.H*k.W:][:k.H*k.W]
		panel := dst[jj/gemmNR*gemmNR*kc+jj%gemmNR:]
		dh, dw := kh*k.DH-k.PadT, kw*k.DW-k.PadL
		lo, hi := convTapSpan(dw, k.SW, k.W, k.OW)
		for p := p0; p < p0+kc; {
			oh, ow := p/k.OW, p%k.OW
			end := min(p0+kc, p+k.OW-ow) // the rest of this output row
			ih := oh*k.SH + dh
			if ih >= 0 && ih < k.H {
				row := plane[ih*k.W:][:k.W]
				for o := max(ow, lo); o < min(ow+end-p, hi); o++ {
					panel[(p+o-ow-p0)*gemmNR] = row[o*k.SW+dw]
				}
			}
			p = end
		}
	}
}

// convTapSpan returns the output columns [lo, hi) whose input column
// o·sw + d lies in [0, w).
func convTapSpan(d, sw, w, ow int) (lo, hi int) {
	lo, hi = 0, ow
	if d < 0 {
		lo = (-d + sw - 1) / sw
	}
	if d >= w {
		return ow, ow
	}
	hi = min(ow, (w-1-d)/sw+1)
	return min(lo, hi), hi
}

// convGradFilterTask is a bound ConvGradFilter. A piece is a group's block
// of dW columns, summed over every image.
type convGradFilterTask struct {
	convGradGeom
	x, dy, dw     []float32
	colSize, cols int
}

func (t *convGradFilterTask) Tasks() int { return t.k.Group * t.cols }

// Scratch implements Task: dY_n,g packed as A, and one K-block of B.
func (t *convGradFilterTask) Scratch() int {
	return packedALen(t.mg, t.p) + gemmScratch(t.p, t.colSize)
}

func (t *convGradFilterTask) Run(piece int, scratch []float32) {
	k := t.k
	grp, cb := piece/t.cols, piece%t.cols
	j0 := cb * t.colSize
	nc := min(t.colSize, t.kk-j0)
	pa := scratch[:packedALen(t.mg, t.p)]
	pb := scratch[len(pa):]
	c := t.dw[grp*t.mg*t.kk+j0:]
	kb := gemmDepth(t.p)
	ep := &epilogue{}
	for n := 0; n < k.N; n++ {
		packA(pa, t.dy[(n*k.M+grp*t.mg)*t.p:], t.mg, t.p, t.p, 1)
		for p0 := 0; p0 < t.p; p0 += kb {
			kc := min(kb, t.p-p0)
			for c0 := 0; c0 < nc; c0 += gemmNC {
				cc := min(gemmNC, nc-c0)
				b := pb[:kc*gemmRoundUp(cc, gemmNR)]
				t.packColT(b, t.x, n, grp, p0, kc, j0+c0, cc)
				gemmBlock(t.mg, cc, t.p, p0, kc, pa, b, c[c0:], t.kk, ep, 0, n == 0 && p0 == 0, false)
			}
		}
	}
}

// convGradDataTask is a bound ConvGradData. A piece is one image and
// group: its dX planes are the piece's alone.
type convGradDataTask struct {
	convGradGeom
	dy, w, dx []float32
}

func (t *convGradDataTask) Tasks() int { return t.k.N * t.k.Group }

// Scratch implements Task: W_gᵀ packed as A, col, and B's packing.
func (t *convGradDataTask) Scratch() int {
	return packedALen(t.kk, t.mg) + t.kk*t.p + gemmScratch(t.mg, t.p)
}

func (t *convGradDataTask) Run(piece int, scratch []float32) {
	k := t.k
	n, grp := piece/k.Group, piece%k.Group
	pa := scratch[:packedALen(t.kk, t.mg)]
	col := scratch[len(pa):][:t.kk*t.p]
	rest := scratch[len(pa)+len(col):]
	// A(i, q) = W[grp·mg + q, i]: W_gᵀ.
	packA(pa, t.w[grp*t.mg*t.kk:], t.kk, t.mg, 1, t.kk)
	gemmPacked(t.kk, t.p, t.mg, pa, t.dy[(n*k.M+grp*t.mg)*t.p:], t.p, col, t.p, rest)
	// col2im: each entry back into the input element its tap read.
	dx := t.dx[(n*k.C+grp*t.cg)*k.H*k.W:][:t.cg*k.H*k.W]
	clear(dx)
	khw := k.KH * k.KW
	for j := 0; j < t.kk; j++ {
		c, kh, kw := j/khw, j%khw/k.KW, j%k.KW
		plane := dx[c*k.H*k.W:][:k.H*k.W]
		dh, dw := kh*k.DH-k.PadT, kw*k.DW-k.PadL
		lo, hi := convTapSpan(dw, k.SW, k.W, k.OW)
		src := col[j*t.p:][:t.p]
		for oh := 0; oh < k.OH; oh++ {
			ih := oh*k.SH + dh
			if ih < 0 || ih >= k.H {
				continue
			}
			row := plane[ih*k.W:][:k.W]
			s := src[oh*k.OW:][:k.OW]
			for o := lo; o < hi; o++ {
				row[o*k.SW+dw] += s[o]
			}
		}
	}
}
