package reference

import (
	"math"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

// TestDropoutTrain checks the training dropout's mask: about Ratio of the
// elements dropped, the kept ones scaled by 1/(1-Ratio), the same mask for
// the same seed and salt, another for another seed or salt.
func TestDropoutTrain(t *testing.T) {
	const n = 100000
	x := ir.FromFloat32(ir.Shape{n}, make([]float32, n))
	for i := range x.F32 {
		x.F32[i] = 1
	}
	run := func(seed float32, salt uint64) []float32 {
		y, _ := ir.NewTensor(ir.Float32, ir.Shape{n})
		s, _ := ir.NewTensor(ir.Float32, ir.Shape{n})
		if err := dropoutTrain(&ir.DropoutTrain{Ratio: 0.3, Salt: salt}, []*ir.Tensor{x, ir.FromFloat32(ir.Shape{}, []float32{seed})}, []*ir.Tensor{y, s}); err != nil {
			t.Fatal(err)
		}
		for i := range y.F32 {
			if y.F32[i] != s.F32[i] || (s.F32[i] != 0 && math.Abs(float64(s.F32[i])-1/0.7) > 1e-6) {
				t.Fatalf("element %d: y %v, scale %v", i, y.F32[i], s.F32[i])
			}
		}
		return y.F32
	}
	a := run(5, 1)
	dropped := 0
	for _, v := range a {
		if v == 0 {
			dropped++
		}
	}
	if f := float64(dropped) / n; math.Abs(f-0.3) > 0.01 {
		t.Errorf("dropped %.4f of the elements, want 0.3", f)
	}
	same := func(b []float32) int {
		k := 0
		for i := range a {
			if (a[i] == 0) == (b[i] == 0) {
				k++
			}
		}
		return k
	}
	if k := same(run(5, 1)); k != n {
		t.Errorf("the same seed and salt: %d of %d elements agree", k, n)
	}
	for _, b := range [][]float32{run(6, 1), run(5, 2)} {
		// Independent masks agree on 0.7² + 0.3² = 58% of the elements.
		if f := float64(same(b)) / n; math.Abs(f-0.58) > 0.01 {
			t.Errorf("another seed or salt: %.4f of the elements agree, want 0.58", f)
		}
	}
}
