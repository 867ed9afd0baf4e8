//go:build amd64.v3 || arm64

package kernels

// gemmNegKernel says kernel3x3 returns the tile as it is: it adds here.
const gemmNegKernel = false

// kernel3x3 is gemmTileGeneric's inner product: one 3×3 tile of A·B over
// depth kc, from a, three rows of an A panel (kc groups of gemmMR values),
// and b, three columns of a B panel (kc groups of gemmNR values):
//
//	acc[i*3+j] = sum over p < kc of a[p*6+i] * b[p*16+j]
//
// This is the version for targets where the Go compiler fuses c += a*b
// into one fused multiply-add (GOAMD64=v3 and arm64): nine accumulators,
// no temporaries, about 1.5 times the speed of gemm_kernel.go's SSE form
// (see there for why the loads of a keep their bounds checks).
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
			c00 += a0 * b0
			c01 += a0 * b1
			c02 += a0 * b2
			a1 := aa[1]
			c10 += a1 * b0
			c11 += a1 * b1
			c12 += a1 * b2
			a2 := aa[2]
			c20 += a2 * b0
			c21 += a2 * b1
			c22 += a2 * b2
		}
		{
			bb := b[(p+1)*gemmNR : (p+1)*gemmNR+3 : (p+1)*gemmNR+3]
			aa := a[(p+1)*gemmMR:]
			b0, b1, b2 := bb[0], bb[1], bb[2]
			a0 := aa[0]
			c00 += a0 * b0
			c01 += a0 * b1
			c02 += a0 * b2
			a1 := aa[1]
			c10 += a1 * b0
			c11 += a1 * b1
			c12 += a1 * b2
			a2 := aa[2]
			c20 += a2 * b0
			c21 += a2 * b1
			c22 += a2 * b2
		}
	}
	if p < kc {
		bb := b[p*gemmNR : p*gemmNR+3 : p*gemmNR+3]
		aa := a[p*gemmMR:]
		b0, b1, b2 := bb[0], bb[1], bb[2]
		a0 := aa[0]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		a1 := aa[1]
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		a2 := aa[2]
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
	}
	acc[0], acc[1], acc[2] = c00, c01, c02
	acc[3], acc[4], acc[5] = c10, c11, c12
	acc[6], acc[7], acc[8] = c20, c21, c22
}
