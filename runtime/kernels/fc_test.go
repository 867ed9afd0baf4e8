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
	i := 0
	for _, m := range ms {
		for _, n := range sizes {
			for _, kk := range append(sizes, gemmKC+5) {
				i++
				k := &Gemm{M: m, N: n, K: kk, Act: acts[i%len(acts)]}
				x, b := gemmRandSlice(r, m*kk), gemmRandSlice(r, kk*n)
				var bias []float32
				if i%2 == 0 {
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
		}
	}
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
