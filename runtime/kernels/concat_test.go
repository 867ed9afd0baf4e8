package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

func TestConcat(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	tests := []struct {
		axis   int
		shapes [][]int
	}{
		{1, [][]int{{2, 3, 3, 5}, {2, 4, 3, 5}, {2, 1, 3, 5}}},
		{1, [][]int{{1, 64, 28, 28}, {1, 96, 28, 28}, {1, 17, 28, 28}}}, // one row, cut into chunks mid-input
		{0, [][]int{{3, 7}, {1, 7}}},
		{2, [][]int{{2, 3, 1}, {2, 3, 5}, {2, 3, 2}}},
		{1, [][]int{{5, 3}}},
		{1, [][]int{{300, 100}, {300, 129}}}, // many rows, chunks across rows
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.axis, tc.shapes), func(t *testing.T) {
			xs := make([]*ir.Tensor, len(tc.shapes))
			inner := make([]int, len(tc.shapes))
			for j, s := range tc.shapes {
				xs[j] = miscRandom(rng, s...)
				inner[j] = ir.Shape(s[tc.axis:]).NumElements()
			}
			want := miscOracle(t, &ir.Concat{Axis: tc.axis}, xs...)[0]
			k := &Concat{Outer: ir.Shape(tc.shapes[0][:tc.axis]).NumElements(), Inner: inner}
			for _, w := range miscWorkers {
				y, check := miscGuarded(t, want.Shape...)
				tk, err := k.Bind(xs, []*ir.Tensor{y})
				if err != nil {
					t.Fatal(err)
				}
				miscRun(t, tk, w, 17)
				check()
				miscCompare(t, y.F32, want.F32, 0, 0)
			}
		})
	}
}

// TestConcatEmptyParts checks inputs of no elements, at the start, middle
// and end of a row, against the plain loop.
func TestConcatEmptyParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, inner := range [][]int{{0, 3, 0, 2, 0}, {0, 0}, {1, 0}, {0, 70000, 0, 3}} {
		for _, outer := range []int{0, 1, 4} {
			t.Run(fmt.Sprint(outer, inner), func(t *testing.T) {
				xs := make([]*ir.Tensor, len(inner))
				row := 0
				for j, n := range inner {
					xs[j] = miscRandom(rng, outer*n)
					row += n
				}
				want := make([]float32, 0, outer*row)
				for o := range outer {
					for j, n := range inner {
						want = append(want, xs[j].F32[o*n:(o+1)*n]...)
					}
				}
				k := &Concat{Outer: outer, Inner: inner}
				for _, w := range miscWorkers {
					y, check := miscGuarded(t, outer*row)
					tk, err := k.Bind(xs, []*ir.Tensor{y})
					if err != nil {
						t.Fatal(err)
					}
					miscRun(t, tk, w, 19)
					check()
					miscCompare(t, y.F32, want, 0, 0)
				}
			})
		}
	}
}

func TestCopy(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, n := range []int{0, 1, 31, 64 << 10, 200001} {
		for _, same := range []bool{false, true} {
			x := miscRandom(rng, n)
			want := append([]float32(nil), x.F32...)
			for _, w := range miscWorkers {
				y, check := miscGuarded(t, n)
				xin := x
				if same {
					copy(y.F32, x.F32)
					xin = y
				}
				tk, err := (&Copy{Len: n}).Bind([]*ir.Tensor{xin}, []*ir.Tensor{y})
				if err != nil {
					t.Fatal(err)
				}
				miscRun(t, tk, w, 21)
				check()
				miscCompare(t, y.F32, want, 0, 0)
			}
		}
	}
}

func TestConcatBindErrors(t *testing.T) {
	f := func(n int) *ir.Tensor { return ir.FromFloat32(ir.Shape{n}, make([]float32, n)) }
	buf := make([]float32, 10)
	tests := []struct {
		name    string
		k       Kernel
		in, out []*ir.Tensor
		want    string
	}{
		{"no inner", &Concat{Outer: 1}, nil, []*ir.Tensor{f(0)}, "Inner is empty"},
		{"arity", &Concat{Outer: 1, Inner: []int{2, 3}}, []*ir.Tensor{f(2)}, []*ir.Tensor{f(5)}, "got 1 inputs and 1 outputs, want 2 and 1"},
		{"negative inner", &Concat{Outer: 1, Inner: []int{2, -3}}, []*ir.Tensor{f(2), f(3)}, []*ir.Tensor{f(5)}, "Inner[1] is -3"},
		{"inner sum", &Concat{Outer: 1, Inner: []int{ir.MaxElements, 1}}, []*ir.Tensor{f(2), f(3)}, []*ir.Tensor{f(5)}, "Inner[1] is 1, want 0 to 0"},
		{"outer", &Concat{Outer: -1, Inner: []int{2, 3}}, []*ir.Tensor{f(2), f(3)}, []*ir.Tensor{f(5)}, "Outer is -1"},
		{"overflow", &Concat{Outer: 1 << 20, Inner: []int{1 << 10, 1 << 10}}, []*ir.Tensor{f(2), f(3)}, []*ir.Tensor{f(5)}, "exceeds"},
		{"input len", &Concat{Outer: 2, Inner: []int{2, 3}}, []*ir.Tensor{f(4), f(5)}, []*ir.Tensor{f(10)}, "input 1 has 5 elements, want 6"},
		{"output len", &Concat{Outer: 2, Inner: []int{2, 3}}, []*ir.Tensor{f(4), f(6)}, []*ir.Tensor{f(11)}, "output 0 (Y) has 11 elements, want 10"},
		{"overlap", &Concat{Outer: 1, Inner: []int{2, 3}}, []*ir.Tensor{f(2), ir.FromFloat32(ir.Shape{3}, buf[4:7])}, []*ir.Tensor{ir.FromFloat32(ir.Shape{5}, buf[:5])}, "output Y overlaps input 1"},
		{"copy len", &Copy{Len: 4}, []*ir.Tensor{f(4)}, []*ir.Tensor{f(5)}, "output 0 (Y) has 5 elements, want 4"},
		{"copy overlap", &Copy{Len: 5}, []*ir.Tensor{ir.FromFloat32(ir.Shape{5}, buf[1:6])}, []*ir.Tensor{ir.FromFloat32(ir.Shape{5}, buf[:5])}, "partly overlaps X"},
		{"copy negative", &Copy{Len: -5}, []*ir.Tensor{f(4)}, []*ir.Tensor{f(5)}, "Len is -5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.k.Bind(tc.in, tc.out)
			miscWantErr(t, err, tc.want)
		})
	}
}
