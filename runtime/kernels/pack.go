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
	t := &packConvTask{k: c, w: w, pw: pw}
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
	wg          *wgPlan // the Winograd plan, if any
	per, blocks int     // output channels per piece; blocks a group
}

func (t *packConvTask) Tasks() int   { return t.k.Group * t.blocks }
func (t *packConvTask) Scratch() int { return 0 }
func (t *packConvTask) Run(piece int, _ []float32) {
	g, b := piece/t.blocks, piece%t.blocks
	r0 := b * t.per
	packConvRows(t.k, t.wg, t.pw, t.w, g, r0, min(t.k.M/t.k.Group, r0+t.per))
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
