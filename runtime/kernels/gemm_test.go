package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

// gemmEdgeSizes are the matrix sizes around the micro-kernel's and the
// blocks' edges.
var gemmEdgeSizes = []int{1, 2, 3, 5, 6, 7, 8, 9, 12, 13, 15, 16, 17, 31, 33, 63, 64, 65}

// gemmRandSlice returns n values uniform in [-1, 1) from r.
func gemmRandSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.Float64()*2 - 1)
	}
	return s
}

// gemmGuard is the number of guard elements on each side of a guarded
// output.
const gemmGuard = 16

// gemmGuarded returns a slice of n elements between guard NaN sentinels
// (returned as the full buffer) that no kernel may touch.
func gemmGuarded(n int) (s, full []float32) {
	full = make([]float32, n+2*gemmGuard)
	for i := range full {
		full[i] = float32(math.NaN())
	}
	return full[gemmGuard : gemmGuard+n : gemmGuard+n], full
}

// gemmCheckGuards fails if any sentinel around the n elements in full was
// overwritten.
func gemmCheckGuards(t *testing.T, name string, full []float32, n int) {
	t.Helper()
	for i := range full {
		if (i < gemmGuard || i >= gemmGuard+n) && !math.IsNaN(float64(full[i])) {
			t.Fatalf("%s: guard element %d (output %d..%d) was written (%v)", name, i, gemmGuard, gemmGuard+n, full[i])
		}
	}
}

// forEachISA runs f once at each instruction-set level this machine can
// run, with the kernels dispatched to it.
func forEachISA(t *testing.T, f func(t *testing.T)) {
	t.Cleanup(func() { setISA(cpuISA) })
	for _, l := range testISAs() {
		setISA(l)
		t.Run(l.String(), f)
	}
}

// gemmClose reports whether got is within a tolerance of want, relative to
// scale (the sum of the magnitudes of the products).
func gemmClose(got float32, want, scale float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(float64(got))
	}
	return math.Abs(float64(got)-want) <= 1e-5*(scale+1)+1e-6
}

// gemmRefAct is ir.Activation.Apply in float64.
func gemmRefAct(a ir.Activation, v float64) float64 { return float64(a.Apply(float32(v))) }

func TestGemmPacked(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	sizes := gemmEdgeSizes
	if testing.Short() {
		sizes = []int{1, 5, 6, 7, 15, 16, 17, 65}
	}
	type cfg struct {
		bias, z bool
		act     ir.Activation
	}
	cfgs := []cfg{
		{},
		{bias: true, act: ir.Activation{Kind: ir.ActRelu}},
		{z: true, act: ir.Activation{Kind: ir.ActClip, Min: -0.5, Max: 0.25}},
		{bias: true, z: true},
	}
	forEachISA(t, func(t *testing.T) {
		n := 0
		for _, m := range sizes {
			for _, nn := range sizes {
				for _, k := range sizes {
					n++
					c := cfgs[n%len(cfgs)]
					testGemmOnce(t, r, m, nn, k, c.bias, c.z, c.act)
				}
			}
		}
		// Deep and wide products cross the K and N blocks.
		for _, s := range [][3]int{{5, gemmNC + 3, gemmKC + 1}, {9, 2*gemmNC + 1, 2*gemmKC + 7}, {2, 7, 3 * gemmKC}} {
			testGemmOnce(t, r, s[0], s[1], s[2], true, true, ir.Activation{Kind: ir.ActRelu})
		}
	})
}

// TestGemmTileNaN checks that the activation keeps a NaN product NaN on
// every path, as ir.Activation.Apply does.
func TestGemmTileNaN(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		a := make([]float32, gemmMR)
		b := make([]float32, gemmNR)
		a[0] = float32(math.NaN())
		for i := range b {
			b[i] = 1
		}
		c := make([]float32, gemmMR*gemmNR)
		gemmRow(1, a, b, c, gemmNR, nil, nil, gemmMR, gemmNR, tileAct, 0, float32(math.Inf(1)))
		for j := 0; j < gemmNR; j++ {
			if !math.IsNaN(float64(c[j])) {
				t.Fatalf("C(0,%d) = %v, want NaN", j, c[j])
			}
			if c[gemmNR+j] != 0 {
				t.Fatalf("C(1,%d) = %v, want 0", j, c[gemmNR+j])
			}
		}
	})
}

// testGemmOnce checks gemmPackedEpi on one random m×n×k product with
// strided A, padded rows of B and C, and guards past C's end.
func testGemmOnce(t *testing.T, r *rand.Rand, m, n, k int, withBias, withZ bool, act ir.Activation) {
	t.Helper()
	name := fmt.Sprintf("m=%d n=%d k=%d bias=%v z=%v act=%v", m, n, k, withBias, withZ, act.Kind)
	// A stored transposed (column-major) to exercise rsA/csA.
	at := gemmRandSlice(r, m*k)
	ldb, ldc := n+3, n+2
	b := gemmRandSlice(r, (k-1)*ldb+n)
	pa := make([]float32, packedALen(m, k))
	packA(pa, at, m, k, 1, m)
	cLen := (m-1)*ldc + n
	c, full := gemmGuarded(cLen)
	for i := range c {
		c[i] = 12345 // overwritten or, between rows, left alone
	}
	var ep epilogue
	ep.act = act
	if withBias {
		ep.bias = gemmRandSlice(r, m)
	}
	if withZ {
		ep.z = gemmRandSlice(r, cLen)
	}
	scratch := make([]float32, gemmScratch(k, n))
	gemmPackedEpi(m, n, k, pa, b, ldb, c, ldc, scratch, &ep)
	gemmCheckGuards(t, name, full, cLen)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var sum, scale float64
			for p := 0; p < k; p++ {
				v := float64(at[p*m+i]) * float64(b[p*ldb+j])
				sum += v
				scale += math.Abs(v)
			}
			if withBias {
				sum += float64(ep.bias[i])
			}
			if withZ {
				sum += float64(ep.z[i*ldc+j])
			}
			want := gemmRefAct(act, sum)
			if got := c[i*ldc+j]; !gemmClose(got, want, scale) {
				t.Fatalf("%s: C(%d,%d) = %v, want %v", name, i, j, got, want)
			}
		}
		for j := n; j < ldc && i < m-1; j++ {
			if c[i*ldc+j] != 12345 {
				t.Fatalf("%s: C(%d,%d) past the row's end was written", name, i, j)
			}
		}
	}
}

func TestGemmPackedWrapper(t *testing.T) {
	// gemmPacked is gemmPackedEpi with the empty epilogue.
	r := rand.New(rand.NewSource(2))
	m, n, k := 6, 10, 7
	a, b := gemmRandSlice(r, m*k), gemmRandSlice(r, k*n)
	pa := make([]float32, packedALen(m, k))
	packA(pa, a, m, k, k, 1)
	c := make([]float32, m*n)
	gemmPacked(m, n, k, pa, b, n, c, n, make([]float32, gemmScratch(k, n)))
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var sum float64
			for p := 0; p < k; p++ {
				sum += float64(a[i*k+p]) * float64(b[p*n+j])
			}
			if !gemmClose(c[i*n+j], sum, 10) {
				t.Fatalf("C(%d,%d) = %v, want %v", i, j, c[i*n+j], sum)
			}
		}
	}
}
