package kernels

import "github.com/cnnc/cnnc/ir"

// The packed B of Gemm is what gemmBlock reads, for all N columns at once:
// K-block after K-block (depth gemmKC, the last shorter), each holding
// B's rows of the block as panels of gemmNR columns (the columns past N
// zero), the K-block [p0, p0+kc) at offset p0·Np (Np = N rounded up to
// gemmNR) and its panel r at r·kc·gemmNR within it.

// Tuning of Gemm's task split: pieces of at least fcMinWork multiply-adds,
// about fcTasks of them; batches of rows of X in pieces of fcRows.
const (
	fcMinWork = 1 << 15
	fcTasks   = 8
	fcRows    = 64
)

// gemmCheck checks k's fields: sizes in 1..ir.MaxElements whose matrices
// stay within ir.MaxElements, and a well-formed activation.
func gemmCheck(k *Gemm) error {
	if k.M < 1 || k.N < 1 || k.K < 1 || k.M > ir.MaxElements || k.N > ir.MaxElements || k.K > ir.MaxElements {
		return ir.Invalidf("gemm: sizes M %d, N %d, K %d, want 1..%d", k.M, k.N, k.K, ir.MaxElements)
	}
	if convProduct(k.M, k.K) < 0 || convProduct(k.M, k.N) < 0 || convProduct(gemmRoundUp(k.N, gemmNR), k.K) < 0 {
		return ir.Invalidf("gemm: a matrix of M %d, N %d, K %d has more than %d elements", k.M, k.N, k.K, ir.MaxElements)
	}
	return k.Act.Check()
}

// PackedGemmLen returns the length of k's packed B (see PackGemmB), or 0
// when k's fields are invalid.
func PackedGemmLen(k *Gemm) int {
	if gemmCheck(k) != nil {
		return 0
	}
	return gemmRoundUp(k.N, gemmNR) * k.K
}

// PackGemmB returns B [K, N] (row-major) in the layout Gemm reads: panels
// of columns per block of rows. It fails when k is invalid or b's length
// disagrees with it.
func PackGemmB(k *Gemm, b []float32) ([]float32, error) {
	if err := gemmCheck(k); err != nil {
		return nil, err
	}
	if len(b) != k.K*k.N {
		return nil, ir.Invalidf("gemm: B has %d elements, want %d (%d×%d)", len(b), k.K*k.N, k.K, k.N)
	}
	out := make([]float32, PackedGemmLen(k))
	packGemmInto(k, out, b, false, 1)
	return out, nil
}

// PackGemmBT is PackGemmB for B given transposed, as bt [N, K] row-major
// (the layout of a fully connected layer's weight, torch's Linear and
// Gemm with transB): it packs without making the transposed copy, reading
// each of a panel's columns as one contiguous row of bt.
func PackGemmBT(k *Gemm, bt []float32) ([]float32, error) {
	if err := gemmCheck(k); err != nil {
		return nil, err
	}
	if len(bt) != k.K*k.N {
		return nil, ir.Invalidf("gemm: B has %d elements, want %d (%d×%d)", len(bt), k.K*k.N, k.N, k.K)
	}
	out := make([]float32, PackedGemmLen(k))
	packGemmInto(k, out, bt, true, 1)
	return out, nil
}

// Bind implements Kernel. in is X, the packed B and the optional Bias;
// out is Y.
func (k *Gemm) Bind(in, out []*ir.Tensor) (Task, error) {
	if err := gemmCheck(k); err != nil {
		return nil, err
	}
	if len(in) < 2 || len(in) > 3 || len(out) != 1 {
		return nil, ir.Invalidf("gemm: %d inputs and %d outputs, want 2..3 and 1", len(in), len(out))
	}
	x, err := convOperand("gemm", "X", in[0], k.M*k.K, false)
	if err != nil {
		return nil, err
	}
	b, err := convOperand("gemm", "packed B", in[1], PackedGemmLen(k), false)
	if err != nil {
		return nil, err
	}
	var bias []float32
	if len(in) > 2 {
		if bias, err = convOperand("gemm", "Bias", in[2], k.N, true); err != nil {
			return nil, err
		}
	}
	y, err := convOperand("gemm", "Y", out[0], k.M*k.N, false)
	if err != nil {
		return nil, err
	}
	t := &fcTask{k: *k, x: x, b: b, bias: bias, y: y, np: gemmRoundUp(k.N, gemmNR)}
	t.rowSize, t.rows = convSplit(k.M, (k.M+fcRows-1)/fcRows, 1, gemmMR)
	perCol := k.K * min(k.M, t.rowSize)
	want := max(1, min(fcTasks, k.N*perCol/fcMinWork))
	t.colSize, t.cols = convSplit(k.N, want, 1, gemmNR)
	if k.M > 1 {
		t.scratch = packedALen(t.rowSize, k.K)
	}
	return t, nil
}

// fcTask is a bound Gemm. A piece is a block of rows of X times a block of
// columns of B; a single row (M = 1) is a matrix-vector product streaming
// B once.
type fcTask struct {
	k             Gemm
	x, b, bias, y []float32
	np            int // N rounded up to gemmNR
	rowSize, rows int
	colSize, cols int
	scratch       int
}

// Tasks implements Task.
func (t *fcTask) Tasks() int { return t.rows * t.cols }

// Scratch implements Task.
func (t *fcTask) Scratch() int { return t.scratch }

// Run implements Task.
func (t *fcTask) Run(piece int, scratch []float32) {
	k := &t.k
	rb, cb := piece/t.cols, piece%t.cols
	j0, i0 := cb*t.colSize, rb*t.rowSize
	nc, m := min(t.colSize, k.N-j0), min(t.rowSize, k.M-i0)
	if k.M == 1 {
		t.gemv(j0, nc)
		return
	}
	pa := scratch[:packedALen(m, k.K)]
	packA(pa, t.x[i0*k.K:], m, k.K, k.K, 1)
	ep := epilogue{act: k.Act}
	c := t.y[i0*k.N+j0:]
	for p0 := 0; p0 < k.K; p0 += gemmKC {
		kc := min(gemmKC, k.K-p0)
		pb := t.b[p0*t.np+j0*kc : (p0+kc)*t.np]
		if p0 == 0 && t.bias != nil {
			// The bias is per column here, not per row: start C from it.
			for i := 0; i < m; i++ {
				copy(c[i*k.N:i*k.N+nc], t.bias[j0:j0+nc])
			}
		}
		first := p0 == 0 && t.bias == nil
		gemmBlock(m, nc, k.K, p0, kc, pa, pb, c, k.N, &ep, 0, first, p0+kc == k.K)
	}
}

// gemv computes Y's columns [j0, j0+nc) for a single row of X: for each
// K-block, gemvBlock over the piece's panels.
func (t *fcTask) gemv(j0, nc int) {
	k := &t.k
	y := t.y[j0 : j0+nc]
	if t.bias != nil {
		copy(y, t.bias[j0:j0+nc])
	} else {
		clear(y)
	}
	x := t.x[:k.K]
	cols := gemmRoundUp(nc, gemmNR) // the piece's panels' columns
	for p0 := 0; p0 < k.K; p0 += gemmKC {
		kc := min(gemmKC, k.K-p0)
		blk := t.b[p0*t.np+j0*kc : (p0+kc)*t.np]
		gemvBlock(x[p0:p0+kc], blk[:cols*kc], y)
	}
	gemmApplyAct(y, k.Act)
}

// gemvBlock adds x·B to y for the first len(y) columns of one K-block of
// packed B at the active instruction-set level (setGemvISA);
// gemvBlockGeneric defines it.
var gemvBlock = gemvBlockGeneric

// gemvBlockChecked checks the operands of gemvBlock as gemvBlockGeneric
// states them, so that an assembly version, which does not, stays within
// them.
func gemvBlockChecked(x, b, y []float32) {
	if len(x) < 1 || len(y) < 1 || len(b) < gemmRoundUp(len(y), gemmNR)*len(x) {
		panic("kernels: gemv operands out of range")
	}
}

// gemvBlockGeneric adds x·B to y for the first len(y) columns of one
// K-block of packed B, b (panels of gemmNR columns of kc = len(x) rows
// each, at least (len(y)+15)/16 of them):
//
//	y[j] += sum over p < kc of x[p] * b[j/16*16*kc + p*16 + j%16]
func gemvBlockGeneric(x, b, y []float32) {
	kc := len(x)
	for j := 0; j < len(y); j += gemmNR {
		gemvPanel(x, b[j*kc:][:kc*gemmNR], y[j:min(j+gemmNR, len(y))])
	}
}

// gemvPanel adds x·P to y for one packed panel P (len(x) rows of gemmNR
// columns, of which y takes the first len(y)):
//
//	y[j] += sum over p of x[p] * panel[p*16+j]
//
// Written for the Go compiler: half a panel at a time, two rows a turn,
// so that the eight sums stay in registers; about twice the speed of a
// [16]float32 accumulator (18 against 9 GB/s on the Zen 4, pure Go).
func gemvPanel(x, panel, y []float32) {
	var out [gemmNR]float32
	for h := 0; h < gemmNR; h += 8 {
		var a0, a1, a2, a3, a4, a5, a6, a7 float32
		p := 0
		for ; p+1 < len(x); p += 2 {
			x0, x1 := x[p], x[p+1]
			s := panel[p*gemmNR+h : p*gemmNR+h+gemmNR+8 : p*gemmNR+h+gemmNR+8]
			a0 += x0*s[0] + x1*s[gemmNR]
			a1 += x0*s[1] + x1*s[gemmNR+1]
			a2 += x0*s[2] + x1*s[gemmNR+2]
			a3 += x0*s[3] + x1*s[gemmNR+3]
			a4 += x0*s[4] + x1*s[gemmNR+4]
			a5 += x0*s[5] + x1*s[gemmNR+5]
			a6 += x0*s[6] + x1*s[gemmNR+6]
			a7 += x0*s[7] + x1*s[gemmNR+7]
		}
		if p < len(x) {
			xv := x[p]
			s := panel[p*gemmNR+h : p*gemmNR+h+8 : p*gemmNR+h+8]
			a0 += xv * s[0]
			a1 += xv * s[1]
			a2 += xv * s[2]
			a3 += xv * s[3]
			a4 += xv * s[4]
			a5 += xv * s[5]
			a6 += xv * s[6]
			a7 += xv * s[7]
		}
		out[h], out[h+1], out[h+2], out[h+3] = a0, a1, a2, a3
		out[h+4], out[h+5], out[h+6], out[h+7] = a4, a5, a6, a7
	}
	for j := range y {
		y[j] += out[j]
	}
}
