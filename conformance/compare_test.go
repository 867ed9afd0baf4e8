package conformance

import (
	"math"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

func TestCompare(t *testing.T) {
	nan := float32(math.NaN())
	f := func(v ...float32) *ir.Tensor { return ir.FromFloat32(ir.Shape{len(v)}, v) }
	tests := []struct {
		got, want *ir.Tensor
		err       string // substring of the error, "" for a match
	}{
		{f(1, 2, 3), f(1, 2, 3), ""},
		{f(1.0009, -2), f(1, -2), ""}, // within rtol
		{f(1e-5), f(0), ""},           // within atol
		{f(nan, 1), f(nan, 1), ""},    // NaN equals NaN
		{f(float32(math.Inf(1))), f(float32(math.Inf(1))), ""},
		{f(1.01, 2), f(1, 2), "1 of 2 elements differ, max abs diff 0.01"},
		{f(0, 1), f(nan, 1), "1 of 2 elements differ"},
		{f(1, 2), f(1, 2, 3), "shape [2], want [3]"},
		{ir.FromInt64(ir.Shape{2}, []int64{1, 2}), f(1, 2), "element type i64, want f32"},
		{ir.FromInt64(ir.Shape{2}, []int64{1, 3}), ir.FromInt64(ir.Shape{2}, []int64{1, 2}), "1 of 2 elements differ"},
	}
	for i, tt := range tests {
		err := compare(tt.got, tt.want)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%d: compare(%v, %v) = %v, want a match", i, tt.got, tt.want, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%d: compare(%v, %v) = %v, want an error with %q", i, tt.got, tt.want, err, tt.err)
		}
	}
}

func TestLightInput(t *testing.T) {
	// numpy: (np.arange(6).reshape(1, 2, 3) / 6).astype(np.float32)
	got := LightInput(ir.Shape{1, 2, -1})
	if !got.Shape.Equal(ir.Shape{1, 2, 1}) {
		t.Fatalf("shape %v, want [1 2 1] (unknown dimensions become 1)", got.Shape)
	}
	got = LightInput(ir.Shape{1, 2, 3})
	want := []float32{0, 1.0 / 6, 2.0 / 6, 3.0 / 6, 4.0 / 6, 5.0 / 6}
	for i := range want {
		if got.F32[i] != float32(float64(i)/6) || got.F32[i] != want[i] {
			t.Errorf("element %d = %v, want %v", i, got.F32[i], want[i])
		}
	}
}
