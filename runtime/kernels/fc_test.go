package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/reference"
)

// fcRun packs b, binds k over guarded Y and runs it.
func fcRun(t *testing.T, k *Gemm, x, b, bias []float32, r *rand.Rand) []float32 {
	t.Helper()
	pb, err := PackGemmB(k, b)
	if err != nil {
		t.Fatalf("%+v: PackGemmB: %v", *k, err)
	}
	if len(pb) != PackedGemmLen(k) {
		t.Fatalf("%+v: packed %d, PackedGemmLen says %d", *k, len(pb), PackedGemmLen(k))
	}
	y, full := gemmGuarded(k.M * k.N)
	in := []*ir.Tensor{f32(x), f32(pb)}
	if bias != nil {
		in = append(in, f32(bias))
	}
	task, err := k.Bind(in, []*ir.Tensor{f32(y)})
	if err != nil {
		t.Fatalf("%+v: Bind: %v", *k, err)
	}
	runTask(task, r)
	gemmCheckGuards(t, fmt.Sprintf("%+v", *k), full, k.M*k.N)
	return y
}

func TestGemmKernel(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	ms := []int{1, 2, 3, 4, 7, 65}
	sizes := gemmEdgeSizes
	if testing.Short() {
		sizes = []int{1, 3, 5, 16, 33, 65}
	}
	forEachISA(t, func(t *testing.T) {
		i := 0
		for _, m := range ms {
			for _, n := range sizes {
				for _, kk := range append(sizes, gemmKC+5) {
					i++
					fcCheck(t, r, &Gemm{M: m, N: n, K: kk, Act: acts[i%len(acts)]}, i%2 == 0)
				}
			}
		}
	})
}

// gemvEdgeSizes are the sizes around the GEMV's edges: a panel (16
// columns), a group of four panels (64), a K-block (gemmKC rows).
var gemvEdgeSizes = []int{1, 5, 6, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 79, 80, 81, 127, 128, 129}

// TestGemv checks the batch-1 product (Gemm with M = 1) at every
// dispatch level, N and K around the panels, the groups of panels and
// the K-blocks.
func TestGemv(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	ks := append(append([]int{}, gemvEdgeSizes...), gemmKC-1, gemmKC, gemmKC+1, 2*gemmKC+3)
	ns := append(append([]int{}, gemvEdgeSizes...), 1000)
	if testing.Short() {
		ks, ns = []int{1, 7, 16, 33, 65, gemmKC + 1}, []int{1, 15, 17, 64, 65, 129}
	}
	forEachISA(t, func(t *testing.T) {
		i := 0
		for _, n := range ns {
			for _, kk := range ks {
				i++
				fcCheck(t, r, &Gemm{M: 1, N: n, K: kk, Act: acts[i%len(acts)]}, i%2 == 0)
			}
		}
	})
}

// fcCheck runs k on random X and B, with a random bias if withBias, and
// compares Y with the product in float64.
func fcCheck(t *testing.T, r *rand.Rand, k *Gemm, withBias bool) {
	t.Helper()
	m, n, kk := k.M, k.N, k.K
	x, b := gemmRandSlice(r, m*kk), gemmRandSlice(r, kk*n)
	var bias []float32
	if withBias {
		bias = gemmRandSlice(r, n)
	}
	y := fcRun(t, k, x, b, bias, r)
	for ii := 0; ii < m; ii++ {
		for j := 0; j < n; j++ {
			var s, sc float64
			if bias != nil {
				s, sc = float64(bias[j]), math.Abs(float64(bias[j]))
			}
			for p := 0; p < kk; p++ {
				v := float64(x[ii*kk+p]) * float64(b[p*n+j])
				s += v
				sc += math.Abs(v)
			}
			if want := gemmRefAct(k.Act, s); !gemmClose(y[ii*n+j], want, sc) {
				t.Fatalf("%+v: Y(%d,%d) = %v, want %v", *k, ii, j, y[ii*n+j], want)
			}
		}
	}
}

// TestGemvBlock checks gemvBlock on its own at every dispatch level: y
// between guards starts from random values, B holds exactly the panels
// the columns need, and a short B panics instead of being read past.
func TestGemvBlock(t *testing.T) {
	r := rand.New(rand.NewSource(10))
	forEachISA(t, func(t *testing.T) {
		for _, n := range gemvEdgeSizes {
			for _, kc := range []int{1, 2, 3, 4, 5, 7, 8, 9, 17, gemmKC} {
				name := fmt.Sprintf("n=%d kc=%d", n, kc)
				x := gemmRandSlice(r, kc)
				b := gemmRandSlice(r, gemmRoundUp(n, gemmNR)*kc)
				y, full := gemmGuarded(n)
				y0 := gemmRandSlice(r, n)
				copy(y, y0)
				gemvBlock(x, b, y)
				gemmCheckGuards(t, name, full, n)
				for j := range y {
					s, sc := float64(y0[j]), math.Abs(float64(y0[j]))
					for p := range x {
						v := float64(x[p]) * float64(b[j/gemmNR*gemmNR*kc+p*gemmNR+j%gemmNR])
						s += v
						sc += math.Abs(v)
					}
					if !gemmClose(y[j], s, sc) {
						t.Fatalf("%s: y[%d] = %v, want %v", name, j, y[j], s)
					}
				}
			}
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Error("gemvBlock read a B one panel short")
				}
			}()
			gemvBlock(make([]float32, 4), make([]float32, 4*gemmNR), make([]float32, gemmNR+1))
		}()
	})
}

// TestGemmMatchesReference runs a fused Gemm through the reference
// interpreter's FusedGemm kernel.
func TestGemmMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(8))
	for _, s := range [][3]int{{1, 1000, 512}, {5, 17, 300}} {
		m, n, kk := s[0], s[1], s[2]
		k := &Gemm{M: m, N: n, K: kk, Act: actRelu}
		x, b, bias := gemmRandSlice(r, m*kk), gemmRandSlice(r, kk*n), gemmRandSlice(r, n)
		y := fcRun(t, k, x, b, bias, r)
		op := &ir.FusedGemm{Gemm: ir.Gemm{Alpha: 1, Beta: 1}, Act: actRelu}
		ref := &ir.Tensor{DType: ir.Float32, Shape: ir.Shape{m, n}, F32: make([]float32, m*n)}
		in := []*ir.Tensor{ir.FromFloat32(ir.Shape{m, kk}, x), ir.FromFloat32(ir.Shape{kk, n}, b), ir.FromFloat32(ir.Shape{n}, bias)}
		if err := reference.Kernel(op)(op, in, []*ir.Tensor{ref}); err != nil {
			t.Fatalf("reference: %v", err)
		}
		for i := range y {
			if math.Abs(float64(y[i]-ref.F32[i])) > 1e-4 {
				t.Fatalf("%v: Y[%d] = %v, reference %v", s, i, y[i], ref.F32[i])
			}
		}
	}
}

func TestGemmBindErrors(t *testing.T) {
	good := &Gemm{M: 2, N: 5, K: 4}
	pl := PackedGemmLen(good)
	ok := []*ir.Tensor{f32(make([]float32, 8)), f32(make([]float32, pl)), f32(make([]float32, 5))}
	y := []*ir.Tensor{f32(make([]float32, 10))}
	if _, err := good.Bind(ok, y); err != nil {
		t.Fatalf("good kernel: %v", err)
	}
	for _, tc := range []struct {
		name    string
		k       *Gemm
		in, out []*ir.Tensor
		want    string
	}{
		{"zero M", &Gemm{M: 0, N: 5, K: 4}, ok, y, "sizes"},
		{"huge", &Gemm{M: 1 << 20, N: 1 << 20, K: 1}, ok, y, "more than"},
		{"act", &Gemm{M: 2, N: 5, K: 4, Act: ir.Activation{Kind: 7}}, ok, y, "activation"},
		{"X", good, []*ir.Tensor{f32(make([]float32, 7)), ok[1]}, y, "X has 7"},
		{"B", good, []*ir.Tensor{ok[0], f32(make([]float32, 3))}, y, "packed B has 3"},
		{"Bias", good, []*ir.Tensor{ok[0], ok[1], f32(make([]float32, 3))}, y, "Bias has 3"},
		{"Y", good, ok, []*ir.Tensor{f32(make([]float32, 3))}, "Y has 3"},
		{"arity", good, ok[:1], y, "inputs"},
	} {
		if _, err := tc.k.Bind(tc.in, tc.out); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Bind error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := PackGemmB(good, make([]float32, 3)); err == nil {
		t.Error("PackGemmB accepted a short B")
	}
	if PackedGemmLen(&Gemm{}) != 0 {
		t.Error("PackedGemmLen of an invalid kernel is not 0")
	}
}

func TestPackGemmBTMatchesPackGemmB(t *testing.T) {
	for _, kn := range [][2]int{{1, 1}, {5, 7}, {17, 3}, {300, 4}, {2 * gemmKC, 10}, {gemmKC + 1, 11}} {
		K, N := kn[0], kn[1]
		k := &Gemm{M: 1, N: N, K: K}
		bt := make([]float32, N*K) // [N, K]
		b := make([]float32, K*N)  // its transpose [K, N]
		for j := 0; j < N; j++ {
			for p := 0; p < K; p++ {
				v := float32(j*1000 + p)
				bt[j*K+p], b[p*N+j] = v, v
			}
		}
		want, err := PackGemmB(k, b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := PackGemmBT(k, bt)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("K=%d N=%d: PackGemmBT differs from PackGemmB of the transpose", K, N)
		}
	}
	if _, err := PackGemmBT(&Gemm{M: 1, N: 2, K: 3}, make([]float32, 5)); err == nil {
		t.Error("PackGemmBT of a short B succeeded")
	}
}

// TestGemvEqualColumns checks at every dispatch level that equal columns
// of B give exactly equal outputs wherever they are (in a group of
// panels, a single panel or the last partial one): every column sums its
// products in the same order. A softmax over huge equal logits (as in the
// onnx-light AlexNet) turns the last-bit differences of another order
// into a different answer.
func TestGemvEqualColumns(t *testing.T) {
	r := rand.New(rand.NewSource(15))
	forEachISA(t, func(t *testing.T) {
		for _, s := range [][2]int{{1000, 600}, {77, 9}, {33, gemmKC + 1}} {
			k := &Gemm{M: 1, N: s[0], K: s[1]}
			col := gemmRandSlice(r, k.K)
			b := make([]float32, k.K*k.N)
			for p := 0; p < k.K; p++ {
				for j := 0; j < k.N; j++ {
					b[p*k.N+j] = col[p] * 1e6
				}
			}
			y := fcRun(t, k, gemmRandSlice(r, k.K), b, nil, r)
			for j := range y {
				if y[j] != y[0] {
					t.Fatalf("%+v: Y(0,%d) = %v, Y(0,0) = %v: equal columns, unequal outputs", *k, j, y[j], y[0])
				}
			}
		}
	})
}
