package kernels

import (
	"math"

	"github.com/cnnc/cnnc/ir"
)

// The SGEMM core, in the GotoBLAS/BLIS arrangement: C = A·B with A packed
// once (the weights) into panels of gemmMR rows, and B packed per K-block
// into panels of gemmNR columns in the caller's scratch, then a
// register-blocked gemmMR×gemmNR micro-kernel over every pair of panels.
//
// Packed A: panel q holds rows q*gemmMR .. q*gemmMR+gemmMR-1 (rows past m
// are zero) as k groups of gemmMR values, a(i, p) at pa[q*gemmMR*k +
// p*gemmMR + i%gemmMR]. A K-block [p0, p0+kc) of a panel
// is therefore the contiguous pa[q*gemmMR*k+p0*gemmMR:][:kc*gemmMR].
//
// Packed B (scratch): for one K-block of depth kc and a column block of nc
// columns, panel r holds columns r*gemmNR .. r*gemmNR+gemmNR-1 (columns
// past nc are zero) as kc groups of gemmNR values.

const (
	// gemmMR and gemmNR are the micro-kernel's tile: rows of A, columns
	// of B. The packed layouts, and so the weights in a plan file, depend
	// on them, not on the instruction set: every level computes 6×16 tiles
	// (AVX2: twelve 8-wide accumulators).
	gemmMR = 6
	gemmNR = 16
	// gemmKC is the depth of a K-block: one A panel block (gemmMR*gemmKC
	// floats, 6 KiB) and one B panel (gemmKC*gemmNR, 16 KiB) stay in L1.
	gemmKC = 256
	// gemmNC is the widest column block packed at once: gemmKC*gemmNC
	// floats of packed B (512 KiB) stay in L2.
	gemmNC = 512
	// gemmFewPanels is the most panels of B a block may have for gemmBlock
	// to run them one at a time against all of A.
	gemmFewPanels = 4
)

// gemmRoundUp returns n rounded up to a multiple of m.
func gemmRoundUp(n, m int) int { return (n + m - 1) / m * m }

// packedALen returns the length of A packed by packA.
func packedALen(m, k int) int { return gemmRoundUp(m, gemmMR) * k }

// packA packs the m×k matrix A, A(i,p) = a[i*rsA + p*csA], into the layout
// gemmPacked reads. dst has at least packedALen(m, k) elements.
func packA(dst, a []float32, m, k, rsA, csA int) {
	for q := 0; q*gemmMR < m; q++ {
		panel := dst[q*gemmMR*k : (q+1)*gemmMR*k]
		rows := min(gemmMR, m-q*gemmMR)
		for i := 0; i < gemmMR; i++ {
			if i >= rows {
				for p := 0; p < k; p++ {
					panel[p*gemmMR+i] = 0
				}
				continue
			}
			row := (q*gemmMR + i) * rsA
			for p := 0; p < k; p++ {
				panel[p*gemmMR+i] = a[row+p*csA]
			}
		}
	}
}

// gemmDepth returns the depth of the K-blocks gemmPacked cuts k into: at
// most gemmKC, and all about the same, so that no short block is left
// over (576 is three blocks of 192, not 256+256+64).
func gemmDepth(k int) int {
	blocks := (k + gemmKC - 1) / gemmKC
	return (k + blocks - 1) / max(blocks, 1)
}

// gemmScratch returns the float32s of scratch gemmPacked needs for n
// columns and depth k.
func gemmScratch(k, n int) int {
	return min(k, gemmKC) * gemmRoundUp(min(n, gemmNC), gemmNR)
}

// epilogue is what gemm adds to A·B before storing C:
//
//	C(i, j) = Act(A·B(i, j) + bias[i] + z[i*ldc + j])
//
// with bias and z omitted when nil. z is laid out like C (same origin and
// row stride).
type epilogue struct {
	bias []float32
	z    []float32
	act  ir.Activation
}

// gemmPacked sets C = A·B for m×n C (row stride ldc), A packed by packA
// (m×k), B k×n row-major with row stride ldb.
func gemmPacked(m, n, k int, pa, b []float32, ldb int, c []float32, ldc int, scratch []float32) {
	gemmPackedEpi(m, n, k, pa, b, ldb, c, ldc, scratch, &epilogue{})
}

// gemmPackedEpi is gemmPacked with the epilogue ep applied to C.
func gemmPackedEpi(m, n, k int, pa, b []float32, ldb int, c []float32, ldc int, scratch []float32, ep *epilogue) {
	if m <= 0 || n <= 0 {
		return
	}
	if k <= 0 {
		gemmZeroDepth(m, n, c, ldc, ep)
		return
	}
	kb := gemmDepth(k)
	for j0 := 0; j0 < n; j0 += gemmNC {
		nc := min(gemmNC, n-j0)
		for p0 := 0; p0 < k; p0 += kb {
			kc := min(kb, k-p0)
			pb := scratch[:kc*gemmRoundUp(nc, gemmNR)]
			packB(pb, b[p0*ldb+j0:], kc, nc, ldb)
			gemmBlock(m, nc, k, p0, kc, pa, pb, c[j0:], ldc, ep, j0, p0 == 0, p0+kc == k)
		}
	}
}

// gemmZeroDepth sets C = Act(bias + Z), the product of an empty sum.
func gemmZeroDepth(m, n int, c []float32, ldc int, ep *epilogue) {
	for i := 0; i < m; i++ {
		var bi float32
		if ep.bias != nil {
			bi = ep.bias[i]
		}
		row := c[i*ldc : i*ldc+n]
		for j := range row {
			v := bi
			if ep.z != nil {
				v += ep.z[i*ldc+j]
			}
			row[j] = ep.act.Apply(v)
		}
	}
}

// packB packs the kc×nc block of B at b (row stride ldb) into dst as
// panels of gemmNR columns, zero-padding the last panel.
func packB(dst, b []float32, kc, nc, ldb int) {
	full := nc / gemmNR
	if full > 0 {
		for p := 0; p < kc; p++ {
			packRow(dst[p*gemmNR:], b[p*ldb:], kc*gemmNR, full)
		}
	}
	if rest := nc - full*gemmNR; rest > 0 {
		panel := dst[full*gemmNR*kc : (full+1)*gemmNR*kc]
		for p := 0; p < kc; p++ {
			d := panel[p*gemmNR : p*gemmNR+gemmNR]
			copy(d, b[p*ldb+full*gemmNR:p*ldb+full*gemmNR+rest])
			clear(d[rest:])
		}
	}
}

// packRow is packRowGeneric at the active instruction-set level
// (setPackISA).
var packRow = packRowGeneric

// packRowGeneric copies panels runs of gemmNR floats from src to dst, run
// q from src[q*16:] to dst[q*stride:]: one row of a block of B into its
// place in each of the block's panels (stride kc*16).
func packRowGeneric(dst, src []float32, stride, panels int) {
	for q := 0; q < panels; q++ {
		*(*[gemmNR]float32)(dst[q*stride:]) = *(*[gemmNR]float32)(src[q*gemmNR:])
	}
}

// gemmBlock multiplies the K-block [p0, p0+kc) of packed A (m rows, depth
// k) by the packed B block pb (kc × nc) into C's columns [0, nc). first
// says this is the first K-block (C is overwritten, bias and Z added),
// last that it is the last (the activation is applied). zcol is the
// column of C's origin within Z's row (c and z share the layout, so z is
// indexed from C's full origin).
func gemmBlock(m, nc, k, p0, kc int, pa, pb, c []float32, ldc int, ep *epilogue, zcol int, first, last bool) {
	flags, lo, hi := ep.tileFlags(first, last)
	// row runs A's panel q against B's columns [j, j+n).
	row := func(q, j, n int) {
		i0 := q * gemmMR
		rows := min(gemmMR, m-i0)
		var bias, z []float32
		if flags&tileBias != 0 {
			bias = ep.bias[i0 : i0+rows]
		}
		if flags&tileZ != 0 {
			z = ep.z[i0*ldc+zcol+j:]
		}
		gemmRow(kc, pa[i0*k+p0*gemmMR:][:kc*gemmMR], pb[j*kc:], c[i0*ldc+j:], ldc, z, bias, rows, n, flags, lo, hi)
	}
	if nc > gemmNR*gemmFewPanels {
		for q := 0; q*gemmMR < m; q++ {
			row(q, 0, nc)
		}
		return
	}
	// Few panels of B (narrow outputs): each runs against every panel of
	// A in turn, so that it stays in L1 while A streams from L2.
	for j := 0; j < nc; j += gemmNR {
		for q := 0; q*gemmMR < m; q++ {
			row(q, j, min(gemmNR, nc-j))
		}
	}
}

// tileFlags returns the micro-kernel's epilogue flags and clamp bounds for
// a K-block that is the first and/or the last of its product.
func (ep *epilogue) tileFlags(first, last bool) (flags uint64, lo, hi float32) {
	if !first {
		flags |= tileAccum
	} else {
		if ep.bias != nil {
			flags |= tileBias
		}
		if ep.z != nil {
			flags |= tileZ
		}
	}
	if last {
		switch ep.act.Kind {
		case ir.ActRelu:
			flags |= tileAct
			lo, hi = 0, float32(math.Inf(1))
		case ir.ActClip:
			flags |= tileAct
			lo, hi = ep.act.Min, ep.act.Max
		}
	}
	return flags, lo, hi
}

// The epilogue flags of a micro-kernel tile (gemmTileGeneric).
const (
	tileAccum = 1 << iota // add C's old value: a K-block after the first
	tileBias              // add bias[i] to row i
	tileZ                 // add Z(i, j)
	tileAct               // clamp to [lo, hi] (ReLU: lo 0, hi +Inf)
)

// gemmRow is the micro-kernel, run along a row of tiles, at the active
// instruction-set level (setGemmISA); gemmRowGeneric defines it.
var gemmRow = gemmRowGeneric

// gemmRowGeneric runs gemmTileGeneric along a row of tiles: for tile t of
// the n columns, on the A panel a and the B panel b[t*kc*16:], into C's
// columns from 16t (c[16t:], z[16t:]), min(16, n-16t) of them.
func gemmRowGeneric(kc int, a, b, c []float32, ldc int, z, bias []float32, rows, n int, flags uint64, lo, hi float32) {
	for j := 0; j < n; j += gemmNR {
		var zt []float32
		if flags&tileZ != 0 {
			zt = z[j:]
		}
		gemmTileGeneric(kc, a, b[j*kc:], c[j:], ldc, zt, bias, rows, min(gemmNR, n-j), flags, lo, hi)
	}
}

// convRow is the implicit convolution's micro-kernel at the active
// instruction-set level (setGemmISA); convRowGeneric defines it.
var convRow = convRowGeneric

// convRowGeneric is gemmRowGeneric with the B vectors read in place: the
// t-th tile's vector at step p is x[offs[p]+16t:][:16], so that
//
//	T(i, j) = sum over p < kc of a[p*6+i] * x[offs[p] + 16t + j]
//
// with the epilogue of gemmRowGeneric over the n columns. maxOff bounds
// offs (the assembly relies on it; here it is unused). It gathers each
// tile's B panel on the stack and runs gemmTileGeneric on it.
func convRowGeneric(kc int, a []float32, offs []int32, x []float32, maxOff int, c []float32, ldc int, z, bias []float32, rows, n int, flags uint64, lo, hi float32) {
	var panel [gemmKC * gemmNR]float32
	for j := 0; j < n; j += gemmNR {
		for p, o := range offs[:kc] {
			*(*[gemmNR]float32)(panel[p*gemmNR:]) = *(*[gemmNR]float32)(x[int(o)+j:])
		}
		var zt []float32
		if flags&tileZ != 0 {
			zt = z[j:]
		}
		gemmTileGeneric(kc, a, panel[:kc*gemmNR], c[j:], ldc, zt, bias, rows, min(gemmNR, n-j), flags, lo, hi)
	}
}

// gemmRowChecked checks the operands of a row of tiles but B's as
// gemmRowGeneric states them, so that an assembly row, which does not,
// stays within them; the checks cost a few compares per row.
func gemmRowChecked(kc int, a, c []float32, ldc int, z, bias []float32, rows, n int, flags uint64) {
	last := (rows-1)*ldc + n
	if kc < 1 || rows < 1 || rows > gemmMR || n < 1 || ldc < n || len(a) < kc*gemmMR || len(c) < last ||
		(flags&tileZ != 0 && len(z) < last) || (flags&tileBias != 0 && len(bias) < rows) {
		panic("kernels: gemm row operands out of range")
	}
}

// gemmTileGeneric is the micro-kernel in Go. With T the 6×16 tile
//
//	T(i, j) = sum over p < kc of a[p*6+i] * b[p*16+j]
//
// (a and b the packed A and B panels), it sets, for i < rows and j < cols,
//
//	C(i, j) = f(T(i, j) + C(i, j))                    with tileAccum
//	C(i, j) = f(T(i, j) + bias[i] + Z(i, j))          otherwise
//
// where C(i, j) = c[i*ldc+j], Z(i, j) = z[i*ldc+j], bias and Z are added
// only under tileBias and tileZ, and f clamps to [lo, hi] under tileAct
// (NaN stays NaN) and is the identity otherwise. kc ≥ 1, 1 ≤ rows ≤ 6, 1 ≤
// cols ≤ 16.
func gemmTileGeneric(kc int, a, b, c []float32, ldc int, z, bias []float32, rows, cols int, flags uint64, lo, hi float32) {
	var t [gemmMR * gemmNR]float32
	var acc [9]float32
	for i0 := 0; i0 < rows; i0 += 3 {
		// Column groups 0, 3, ..., 12 and 13 (whose first two columns
		// 12's group has already done): five 3×3 products and a sixth for
		// column 15.
		for j0 := 0; j0 < cols; j0 += 3 {
			j0 = min(j0, gemmNR-3)
			kernel3x3(kc, a[i0:], b[j0:], &acc)
			for i := 0; i < 3; i++ {
				r := t[(i0+i)*gemmNR+j0 : (i0+i)*gemmNR+j0+3]
				if gemmNegKernel {
					r[0], r[1], r[2] = -acc[i*3], -acc[i*3+1], -acc[i*3+2]
				} else {
					r[0], r[1], r[2] = acc[i*3], acc[i*3+1], acc[i*3+2]
				}
			}
		}
	}
	for i := 0; i < rows; i++ {
		tr := t[i*gemmNR : i*gemmNR+cols]
		d := c[i*ldc : i*ldc+cols]
		switch {
		case flags&tileAccum != 0:
			for j := range d {
				d[j] += tr[j]
			}
		default:
			var bi float32
			if flags&tileBias != 0 {
				bi = bias[i]
			}
			if flags&tileZ != 0 {
				zr := z[i*ldc : i*ldc+cols]
				for j := range d {
					d[j] = tr[j] + bi + zr[j]
				}
			} else {
				for j := range d {
					d[j] = tr[j] + bi
				}
			}
		}
		if flags&tileAct != 0 {
			clamp(d, lo, hi)
		}
	}
}

// gemmApplyAct applies act to every element of d in place.
func gemmApplyAct(d []float32, act ir.Activation) {
	switch act.Kind {
	case ir.ActRelu:
		for j, v := range d {
			if v < 0 {
				d[j] = 0
			}
		}
	case ir.ActClip:
		clamp(d, act.Min, act.Max)
	}
}

// clamp limits every element of d to [lo, hi] in place (NaN stays NaN).
func clamp(d []float32, lo, hi float32) {
	for j, v := range d {
		if v < lo {
			d[j] = lo
		} else if v > hi {
			d[j] = hi
		}
	}
}
