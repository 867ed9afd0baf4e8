//go:build !(amd64.v3 || arm64)

package kernels

// gemmNegKernel says kernel3x3 returns the tile negated, for its
// subtractions.
const gemmNegKernel = true

// kernel3x3 is gemmTileGeneric's inner product: one 3×3 tile of A·B over
// depth kc, from a, three rows of an A panel (kc groups of gemmMR values),
// and b, three columns of a B panel (kc groups of gemmNR values), negated:
//
//	acc[i*3+j] = 0 - sum over p < kc of a[p*6+i] * b[p*16+j]
//
// Written for the Go compiler (amd64,
// scalar SSE), which it must be coaxed into compiling well:
//
//   - The nine sums stay in registers: nine accumulators, three values of
//     B, one of A and two temporaries fit the fifteen usable XMM registers.
//   - Each row's load of a keeps its bounds check on purpose (aa[i] against
//     len(aa), one fused compare-and-branch). A check ends
//     a basic block, and the scheduler orders a block's values with
//     in-block uses first, which would otherwise hoist all nine products
//     above the additions that feed the loop's phis and spill them.
//   - The accumulators subtract the products: SUBSS,
//     unlike the commutative ADDSS, keeps the accumulator as the operand
//     it overwrites, so each sum keeps its register around the loop
//     instead of rotating through the product's and costing moves.
//
// Measured on the 2-core AMD EPYC (Zen 4), in CPU time on a loaded
// machine, this runs at about 10 GFLOP/s per core where the plain c += a*b
// form with a 4×4 tile spills and runs at 3-4, the same with SUBSS at 5,
// and 4×2, 5×2, 2×4, 3×4 and 4×3 tiles at 5-8. Where the compiler fuses
// x*y+z into one FMA instruction (GOAMD64=v3, arm64), gemm_kernel_fma.go
// replaces this file.
func kernel3x3(kc int, a, b []float32, acc *[9]float32) {
	var c00, c01, c02, c10, c11, c12, c20, c21, c22 float32
	a = a[:(kc-1)*gemmMR+3]
	b = b[:(kc-1)*gemmNR+3]
	p := 0
	for ; p+2 <= kc; p += 2 { // two steps a turn: half the loop overhead
		{
			bb := b[p*gemmNR : p*gemmNR+3 : p*gemmNR+3]
			aa := a[p*gemmMR:]
			b0, b1, b2 := bb[0], bb[1], bb[2]
			a0 := aa[0]
			c00 -= a0 * b0
			c01 -= a0 * b1
			c02 -= a0 * b2
			a1 := aa[1]
			c10 -= a1 * b0
			c11 -= a1 * b1
			c12 -= a1 * b2
			a2 := aa[2]
			c20 -= a2 * b0
			c21 -= a2 * b1
			c22 -= a2 * b2
		}
		{
			bb := b[(p+1)*gemmNR : (p+1)*gemmNR+3 : (p+1)*gemmNR+3]
			aa := a[(p+1)*gemmMR:]
			b0, b1, b2 := bb[0], bb[1], bb[2]
			a0 := aa[0]
			c00 -= a0 * b0
			c01 -= a0 * b1
			c02 -= a0 * b2
			a1 := aa[1]
			c10 -= a1 * b0
			c11 -= a1 * b1
			c12 -= a1 * b2
			a2 := aa[2]
			c20 -= a2 * b0
			c21 -= a2 * b1
			c22 -= a2 * b2
		}
	}
	if p < kc {
		bb := b[p*gemmNR : p*gemmNR+3 : p*gemmNR+3]
		aa := a[p*gemmMR:]
		b0, b1, b2 := bb[0], bb[1], bb[2]
		a0 := aa[0]
		c00 -= a0 * b0
		c01 -= a0 * b1
		c02 -= a0 * b2
		a1 := aa[1]
		c10 -= a1 * b0
		c11 -= a1 * b1
		c12 -= a1 * b2
		a2 := aa[2]
		c20 -= a2 * b0
		c21 -= a2 * b1
		c22 -= a2 * b2
	}
	acc[0], acc[1], acc[2] = c00, c01, c02
	acc[3], acc[4], acc[5] = c10, c11, c12
	acc[6], acc[7], acc[8] = c20, c21, c22
}
