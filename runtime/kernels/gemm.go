package kernels

import "github.com/cnnc/cnnc/ir"

// The SGEMM core, in the GotoBLAS/BLIS arrangement: C = A·B with A packed
// once (the weights) into panels of gemmMR rows, and B packed per K-block
// into panels of gemmNR columns in the caller's scratch, then a
// register-blocked gemmMR×gemmNR micro-kernel over every pair of panels.
//
// Packed A: panel q holds rows q*gemmMR .. q*gemmMR+gemmMR-1 (rows past m
// are zero) as k groups of gemmMR values, a(i, p) at pa[q*gemmMR*k +
// p*gemmMR + i%gemmMR], negated when gemmNegA (see kernel3x3). A K-block [p0, p0+kc) of a panel
// is therefore the contiguous pa[q*gemmMR*k+p0*gemmMR:][:kc*gemmMR].
//
// Packed B (scratch): for one K-block of depth kc and a column block of nc
// columns, panel r holds columns r*gemmNR .. r*gemmNR+gemmNR-1 (columns
// past nc are zero) as kc groups of gemmNR values.

const (
	// gemmMR and gemmNR are the micro-kernel's tile: rows of A, columns
	// of B.
	gemmMR = 3
	gemmNR = 3
	// gemmKC is the depth of a K-block: one A panel block (gemmMR*gemmKC
	// floats) and one B panel (gemmKC*gemmNR) stay in L1.
	gemmKC = 256
	// gemmNC is the widest column block packed at once: gemmKC*gemmNC
	// floats of packed B stay in L2.
	gemmNC = 512
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
				v := a[row+p*csA]
				if gemmNegA {
					v = -v
				}
				panel[p*gemmMR+i] = v
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
	full := nc / gemmNR * gemmNR
	for j := 0; j < full; j += gemmNR {
		panel := dst[j*kc : j*kc+kc*gemmNR]
		for p := 0; p < kc; p++ {
			src := b[p*ldb+j : p*ldb+j+gemmNR : p*ldb+j+gemmNR]
			d := panel[p*gemmNR : p*gemmNR+gemmNR : p*gemmNR+gemmNR]
			d[0], d[1], d[2] = src[0], src[1], src[2]
		}
	}
	if rest := nc - full; rest > 0 {
		panel := dst[full*kc : full*kc+kc*gemmNR]
		for p := 0; p < kc; p++ {
			d := panel[p*gemmNR : p*gemmNR+gemmNR]
			for j := 0; j < gemmNR; j++ {
				if j < rest {
					d[j] = b[p*ldb+full+j]
				} else {
					d[j] = 0
				}
			}
		}
	}
}

// gemmBlock multiplies the K-block [p0, p0+kc) of packed A (m rows, depth
// k) by the packed B block pb (kc × nc) into C's columns [0, nc). first
// says this is the first K-block (C is overwritten, bias and Z added),
// last that it is the last (the activation is applied). zcol is the
// column of C's origin within Z's row (c and z share the layout, so z is
// indexed from C's full origin).
func gemmBlock(m, nc, k, p0, kc int, pa, pb, c []float32, ldc int, ep *epilogue, zcol int, first, last bool) {
	var acc [gemmMR * gemmNR]float32
	for q := 0; q*gemmMR < m; q++ {
		ap := pa[q*gemmMR*k+p0*gemmMR:][:kc*gemmMR]
		rows := min(gemmMR, m-q*gemmMR)
		for j := 0; j < nc; j += gemmNR {
			bp := pb[j*kc:][:kc*gemmNR]
			kernel3x3(kc, ap, bp, &acc)
			cols := min(gemmNR, nc-j)
			storeTile(&acc, rows, cols, c[q*gemmMR*ldc+j:], ldc, ep, q*gemmMR, zcol+j, first, last)
		}
	}
}

// storeTile stores the rows×cols corner of the micro-kernel's tile acc to
// C at c (row stride ldc), whose top-left element is C(i0, ·) and column
// zj of Z's layout.
func storeTile(acc *[gemmMR * gemmNR]float32, rows, cols int, c []float32, ldc int, ep *epilogue, i0, zj int, first, last bool) {
	if rows == gemmMR && cols == gemmNR {
		storeFull(acc, c, ldc, ep, i0, zj, first, last)
		return
	}
	for i := 0; i < rows; i++ {
		t := acc[i*gemmNR : i*gemmNR+cols]
		d := c[i*ldc : i*ldc+cols]
		if first {
			var bi float32
			if ep.bias != nil {
				bi = ep.bias[i0+i]
			}
			if ep.z != nil {
				z := ep.z[(i0+i)*ldc+zj:][:len(d)]
				for j := range d {
					d[j] = t[j] + bi + z[j]
				}
			} else {
				for j := range d {
					d[j] = t[j] + bi
				}
			}
		} else {
			for j := range d {
				d[j] += t[j]
			}
		}
		if last {
			gemmApplyAct(d, ep.act)
		}
	}
}

// storeFull is storeTile for a whole 3×3 tile, in straight-line code: for
// short products (a 7×7 stem's depth is 147) the store is a tenth of the
// tile's time.
func storeFull(acc *[gemmMR * gemmNR]float32, c []float32, ldc int, ep *epilogue, i0, zj int, first, last bool) {
	d0 := c[0:3:3]
	d1 := c[ldc : ldc+3 : ldc+3]
	d2 := c[2*ldc : 2*ldc+3 : 2*ldc+3]
	v := *acc
	if first {
		if b := ep.bias; b != nil {
			b = b[i0 : i0+3 : i0+3]
			v[0], v[1], v[2] = v[0]+b[0], v[1]+b[0], v[2]+b[0]
			v[3], v[4], v[5] = v[3]+b[1], v[4]+b[1], v[5]+b[1]
			v[6], v[7], v[8] = v[6]+b[2], v[7]+b[2], v[8]+b[2]
		}
		if ep.z != nil {
			o := i0*ldc + zj
			z0 := ep.z[o : o+3 : o+3]
			z1 := ep.z[o+ldc : o+ldc+3 : o+ldc+3]
			z2 := ep.z[o+2*ldc : o+2*ldc+3 : o+2*ldc+3]
			v[0], v[1], v[2] = v[0]+z0[0], v[1]+z0[1], v[2]+z0[2]
			v[3], v[4], v[5] = v[3]+z1[0], v[4]+z1[1], v[5]+z1[2]
			v[6], v[7], v[8] = v[6]+z2[0], v[7]+z2[1], v[8]+z2[2]
		}
	} else {
		v[0], v[1], v[2] = v[0]+d0[0], v[1]+d0[1], v[2]+d0[2]
		v[3], v[4], v[5] = v[3]+d1[0], v[4]+d1[1], v[5]+d1[2]
		v[6], v[7], v[8] = v[6]+d2[0], v[7]+d2[1], v[8]+d2[2]
	}
	if last {
		switch ep.act.Kind {
		case ir.ActRelu:
			for i, x := range v {
				if x < 0 {
					v[i] = 0
				}
			}
		case ir.ActClip:
			gemmApplyAct(v[:], ep.act)
		}
	}
	d0[0], d0[1], d0[2] = v[0], v[1], v[2]
	d1[0], d1[1], d1[2] = v[3], v[4], v[5]
	d2[0], d2[1], d2[2] = v[6], v[7], v[8]
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
		lo, hi := act.Min, act.Max
		for j, v := range d {
			if v < lo {
				d[j] = lo
			} else if v > hi {
				d[j] = hi
			}
		}
	}
}
