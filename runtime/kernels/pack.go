package kernels

import "github.com/cnnc/cnnc/ir"

// Weights packed at run time: a training step's parameters are inputs,
// so their packing, which an inference plan does once at compile time, is
// a step of its own before each use.

// Bind implements Kernel.
func (k *PackConv) Bind(in, out []*ir.Tensor) (Task, error) {
	if err := convCheck(&k.Conv); err != nil {
		return nil, err
	}
	if len(in) != 1 || len(out) != 1 {
		return nil, ir.Invalidf("packconv: %d inputs and %d outputs, want 1 and 1", len(in), len(out))
	}
	c := &k.Conv
	w, err := convOperand("packconv", "W", in[0], c.M*(c.C/c.Group)*c.KH*c.KW, false)
	if err != nil {
		return nil, err
	}
	pw, err := convOperand("packconv", "packed W", out[0], PackedConvLen(c), false)
	if err != nil {
		return nil, err
	}
	t := &packConvTask{k: c, w: w, pw: pw, flip: k.Flip}
	if t.wg, err = packConvCheck(c, pw, w); err != nil {
		return nil, err
	}
	// Pieces of whole panels of a group's output channels, about
	// packConvPiece filter taps each (Winograd transforms each).
	mg, unit := c.M/c.Group, packConvUnit(c)
	t.per = min(gemmRoundUp(max(1, packConvPiece/(c.C/c.Group*c.KH*c.KW)), unit), gemmRoundUp(mg, unit))
	t.blocks = (mg + t.per - 1) / t.per
	return t, nil
}

// packConvPiece is about the filter taps a piece of PackConv packs:
// enough to amortize the piece.
const packConvPiece = 1 << 14

// packConvTask is a bound PackConv: a piece is a group's block of per
// output channels.
type packConvTask struct {
	k           *Conv2D
	w, pw       []float32
	flip        bool    // w is the forward filter of k's (PackConv.Flip)
	wg          *wgPlan // the Winograd plan, if any
	per, blocks int     // output channels per piece; blocks a group
}

func (t *packConvTask) Tasks() int { return t.k.Group * t.blocks }

// Scratch implements Task: with flip, the piece's rows of the flipped
// filter.
func (t *packConvTask) Scratch() int {
	if !t.flip || t.k.Algo == ir.AlgoOCBlock {
		return 0
	}
	return t.per * (t.k.C / t.k.Group) * t.k.KH * t.k.KW
}

func (t *packConvTask) Run(piece int, scratch []float32) {
	k := t.k
	mg, kk := k.M/k.Group, k.C/k.Group*k.KH*k.KW
	g, b := piece/t.blocks, piece%t.blocks
	r0 := b * t.per
	r1 := min(mg, r0+t.per)
	src := t.w[(g*mg+r0)*kk : (g*mg+r1)*kk]
	if t.flip && k.Algo == ir.AlgoOCBlock {
		packOCFlip(t.pw, t.w, k, g, r0, r1)
		return
	}
	if t.flip {
		src = scratch[:len(src)]
		flipRows(src, t.w, k.Group, k.M, k.C, k.KH*k.KW, g, r0, r1)
	}
	packConvRows(k, t.wg, t.pw, src, g, r0, r1)
}

// packOCFlip packs rows [r0, r1) (r0 on a block of ocBlock) of group g of
// the FlipFilter of w, the forward filter [C, M/group, taps] of k's, into
// their place in dst as packOC lays them out ([block][tap][32]). A
// block's rows for one input channel of the flipped filter are a
// contiguous run of w, which it transposes (reversing the taps) into a
// contiguous run of dst: going through flipRows and packOC, both
// scattering, took twice as long.
func packOCFlip(dst, w []float32, k *Conv2D, g, r0, r1 int) {
	mg, cg, taps := k.M/k.Group, k.C/k.Group, k.KH*k.KW
	kk := cg * taps
	for b0 := r0; b0 < r1; b0 += ocBlock {
		lanes := min(ocBlock, r1-b0)
		blk := dst[g*ocPackedLen(mg, kk)+b0*kk:][:kk*ocBlock]
		if lanes < ocBlock {
			clear(blk) // the lanes past the group's channels
		}
		for j := 0; j < cg; j++ {
			src := w[((g*cg+j)*mg+b0)*taps:][:lanes*taps]
			d := blk[j*taps*ocBlock:][:taps*ocBlock]
			for lane := 0; lane < lanes; lane++ {
				for t, v := range src[lane*taps:][:taps] {
					d[(taps-1-t)*ocBlock+lane] = v
				}
			}
		}
	}
}

// flipRows writes rows [r0, r1) of group g of the FlipFilter W' [m,
// c/group, taps] of w [c, m/group, taps] into dst: W'[g·mg + i, j, t] =
// w[g·cg + j, i, taps-1-t] (mg = m/group, cg = c/group).
//
// It reads w's rows in order (the rows [r0, r1) of each of its channels
// lie together) and scatters into dst. The FlipFilter kernel flips
// through it too.
func flipRows(dst, w []float32, group, m, c, taps, g, r0, r1 int) {
	mg, cg := m/group, c/group
	for j := 0; j < cg; j++ {
		s := w[((g*cg+j)*mg+r0)*taps : ((g*cg+j)*mg+r1)*taps]
		for i := r0; i < r1; i++ {
			d := dst[((i-r0)*cg+j)*taps:][:taps]
			for x, v := range s[(i-r0)*taps:][:taps] {
				d[taps-1-x] = v
			}
		}
	}
}

// Bind implements Kernel.
func (k *PackGemm) Bind(in, out []*ir.Tensor) (Task, error) {
	if err := gemmCheck(&k.Gemm); err != nil {
		return nil, err
	}
	if len(in) != 1 || len(out) != 1 {
		return nil, ir.Invalidf("packgemm: %d inputs and %d outputs, want 1 and 1", len(in), len(out))
	}
	g := &k.Gemm
	b, err := convOperand("packgemm", "B", in[0], g.K*g.N, false)
	if err != nil {
		return nil, err
	}
	pb, err := convOperand("packgemm", "packed B", out[0], PackedGemmLen(g), false)
	if err != nil {
		return nil, err
	}
	return &packGemmTask{k: k, b: b, pb: pb}, nil
}

// packGemmTask is a bound PackGemm: one piece.
type packGemmTask struct {
	k     *PackGemm
	b, pb []float32
}

func (t *packGemmTask) Tasks() int   { return 1 }
func (t *packGemmTask) Scratch() int { return 0 }
func (t *packGemmTask) Run(int, []float32) {
	packGemmInto(&t.k.Gemm, t.pb, t.b, t.k.TransB, t.k.Alpha)
}

// packGemmInto writes PackGemmB(k, alpha·b), or with trans PackGemmBT,
// into dst (PackedGemmLen(k) floats; the padding columns are zeroed).
func packGemmInto(k *Gemm, dst, b []float32, trans bool, alpha float32) {
	np := gemmRoundUp(k.N, gemmNR)
	if !trans && alpha == 1 {
		for p0 := 0; p0 < k.K; p0 += gemmKC {
			kc := min(gemmKC, k.K-p0)
			packB(dst[p0*np:(p0+kc)*np], b[p0*k.N:], kc, k.N, k.N)
		}
		return
	}
	clear(dst)
	for p0 := 0; p0 < k.K; p0 += gemmKC {
		kc := min(gemmKC, k.K-p0)
		blk := dst[p0*np : (p0+kc)*np]
		for j := 0; j < k.N; j++ {
			panel := blk[j/gemmNR*gemmNR*kc:]
			jj := j % gemmNR
			for p := 0; p < kc; p++ {
				v := b[(p0+p)*k.N+j]
				if trans {
					v = b[j*k.K+p0+p]
				}
				panel[p*gemmNR+jj] = alpha * v
			}
		}
	}
}
