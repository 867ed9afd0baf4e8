package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

func TestSoftmax(t *testing.T) {
	elemISAs(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(19, 20))
		for _, shape := range [][2]int{{1, 1}, {1, 1000}, {3, 7}, {2000, 10}, {5, 40000}, {0, 5}, {4, 0}} {
			for _, log := range []bool{false, true} {
				for _, inPlace := range []bool{false, true} {
					t.Run(fmt.Sprintf("%v/log=%v/inplace=%v", shape, log, inPlace), func(t *testing.T) {
						x := miscRandom(rng, shape[0], shape[1])
						for i := range x.F32 {
							x.F32[i] *= 20
						}
						if len(x.F32) > 40 {
							// Huge values, -Inf and NaN in the first rows.
							x.F32[0], x.F32[1] = 1e30, 3e38
							x.F32[min(shape[1]+2, len(x.F32)-2)] = float32(math.Inf(-1))
							x.F32[len(x.F32)-1] = float32(math.NaN())
						}
						var op ir.Op = &ir.Softmax{Axis: -1}
						if log {
							op = &ir.LogSoftmax{Axis: -1}
						}
						want := miscOracle(t, op, x)[0]
						k := &Softmax{Outer: shape[0], N: shape[1], Log: log}
						for _, w := range miscWorkers {
							y, check := miscGuarded(t, shape[:]...)
							xin := x
							if inPlace {
								copy(y.F32, x.F32)
								xin = y
							}
							tk, err := k.Bind([]*ir.Tensor{xin}, []*ir.Tensor{y})
							if err != nil {
								t.Fatal(err)
							}
							miscRun(t, tk, w, 23)
							check()
							miscCompare(t, y.F32, want.F32, 1e-7, 2e-6)
						}
					})
				}
			}
		}
	})
}

func TestLRN(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	type lrnCase struct {
		shape             []int
		size              int
		alpha, beta, bias float32
	}
	var cases []lrnCase
	for size := 1; size <= 6; size++ {
		cases = append(cases, lrnCase{[]int{2, 7, 3, 5}, size, 1e-4, 0.75, 1})
	}
	cases = append(cases,
		lrnCase{[]int{1, 16, 300}, 5, 2e-2, 0.75, 2},     // more positions than a block
		lrnCase{[]int{3, 5, 17}, 3, 0.5, 0.6, 1.5},       // a general beta
		lrnCase{[]int{1, 9, 1}, 20, 1e-4, 0.75, 1},       // a window wider than the channels
		lrnCase{[]int{1, 96, 55, 55}, 5, 1e-4, 0.75, 2},  // AlexNet's first
		lrnCase{[]int{2, 1, 4}, 5, 1, 0.5, 1},            // one channel
		lrnCase{[]int{2, 0, 4}, 5, 1, 0.5, 1},            // no channels
		lrnCase{[]int{1, 12, 10}, 4, 1e-3, 0.75, 0},      // zero bias: 0/0 where x is 0
		lrnCase{[]int{1, 12, 10}, 5, 1e-3, 0.75, -1e-30}, // negative base: NaN as in math.Pow
		lrnCase{[]int{1, 40, 600}, 7, 1e-1, 0.75, 1e-3},  // long slides
	)
	for _, c := range cases {
		if testing.Short() && len(c.shape) == 4 && c.shape[1] == 96 {
			continue // AlexNet's size: the reference takes a while under -race
		}
		for _, specials := range []bool{false, true} {
			name := fmt.Sprintf("%v/size=%d/a=%v/b=%v/k=%v/specials=%v", c.shape, c.size, c.alpha, c.beta, c.bias, specials)
			t.Run(name, func(t *testing.T) {
				x := miscRandom(rng, c.shape...)
				for i := range x.F32 {
					if i%5 == 0 { // widely spread magnitudes
						x.F32[i] *= 1000
					}
				}
				if specials {
					miscSpecials(rng, x.F32[:min(len(x.F32), 200)])
				}
				want := miscOracle(t, &ir.LRN{Size: c.size, Alpha: c.alpha, Beta: c.beta, Bias: c.bias}, x)[0]
				k := &LRN{N: c.shape[0], C: c.shape[1], Inner: ir.Shape(c.shape[2:]).NumElements(),
					Size: c.size, Alpha: c.alpha, Beta: c.beta, Bias: c.bias}
				for _, w := range miscWorkers {
					y, check := miscGuarded(t, c.shape...)
					tk, err := k.Bind([]*ir.Tensor{x}, []*ir.Tensor{y})
					if err != nil {
						t.Fatal(err)
					}
					miscRun(t, tk, w, 25)
					check()
					miscCompare(t, y.F32, want.F32, 1e-30, 1e-6)
				}
			})
		}
	}
}

func TestSoftmaxBindErrors(t *testing.T) {
	f := func(n int) *ir.Tensor { return ir.FromFloat32(ir.Shape{n}, make([]float32, n)) }
	buf := make([]float32, 10)
	tests := []struct {
		name    string
		k       Kernel
		in, out []*ir.Tensor
		want    string
	}{
		{"softmax arity", &Softmax{Outer: 2, N: 3}, []*ir.Tensor{f(6)}, nil, "want 1 and 1"},
		{"softmax N", &Softmax{Outer: 2, N: -3}, []*ir.Tensor{f(6)}, []*ir.Tensor{f(6)}, "N is -3"},
		{"softmax len", &Softmax{Outer: 2, N: 3}, []*ir.Tensor{f(6)}, []*ir.Tensor{f(7)}, "output 0 (Y) has 7 elements, want 6"},
		{"softmax overflow", &Softmax{Outer: 1 << 20, N: 1 << 20}, []*ir.Tensor{f(6)}, []*ir.Tensor{f(6)}, "exceeds"},
		{"softmax overlap", &Softmax{Outer: 1, N: 5}, []*ir.Tensor{ir.FromFloat32(ir.Shape{5}, buf[1:6])}, []*ir.Tensor{ir.FromFloat32(ir.Shape{5}, buf[:5])}, "partly overlaps X"},
		{"lrn size", &LRN{N: 1, C: 2, Inner: 3, Size: 0}, []*ir.Tensor{f(6)}, []*ir.Tensor{f(6)}, "Size is 0, want 1 to"},
		{"lrn len", &LRN{N: 1, C: 2, Inner: 3, Size: 3}, []*ir.Tensor{f(5)}, []*ir.Tensor{f(6)}, "input 0 (X) has 5 elements, want 6"},
		{"lrn in place", &LRN{N: 1, C: 2, Inner: 3, Size: 3}, []*ir.Tensor{ir.FromFloat32(ir.Shape{6}, buf[:6])}, []*ir.Tensor{ir.FromFloat32(ir.Shape{6}, buf[:6])}, "output Y overlaps X"},
		{"lrn overflow", &LRN{N: 1 << 10, C: 1 << 10, Inner: 1 << 10, Size: 3}, []*ir.Tensor{f(6)}, []*ir.Tensor{f(6)}, "exceeds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.k.Bind(tc.in, tc.out)
			miscWantErr(t, err, tc.want)
		})
	}
}

func BenchmarkSoftmax1000(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := miscRandom(rng, 1, 1000)
	tk, err := (&Softmax{Outer: 1, N: 1000}).Bind([]*ir.Tensor{x}, []*ir.Tensor{miscRandom(rng, 1, 1000)})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		tk.Run(0, nil)
	}
}

func BenchmarkLRN(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	k := &LRN{N: 1, C: 96, Inner: 55 * 55, Size: 5, Alpha: 1e-4, Beta: 0.75, Bias: 2}
	x, y := miscRandom(rng, 1, 96, 55*55), miscRandom(rng, 1, 96, 55*55)
	tk, err := k.Bind([]*ir.Tensor{x}, []*ir.Tensor{y})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(4 * int64(len(x.F32)))
	for b.Loop() {
		for i := range tk.Tasks() {
			tk.Run(i, nil)
		}
	}
}
