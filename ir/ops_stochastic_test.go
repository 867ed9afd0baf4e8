package ir

import (
	"math"
	"strings"
	"testing"
)

func TestStochasticDepthInfer(t *testing.T) {
	cases := []struct {
		survival float32
		in       []Type
		want     string // output type, or a substring of the error
		err      bool
	}{
		{1, []Type{shF(2, 3, 4, 4)}, "float32[2,3,4,4]", false},
		{0.5, []Type{shF(-1, 8)}, "float32[-1,8]", false},
		{math.SmallestNonzeroFloat32, []Type{shUnknown(Float32)}, "", false},
		{0, []Type{shF(1)}, "not in (0, 1]", true},
		{-0.5, []Type{shF(1)}, "not in (0, 1]", true},
		{1.5, []Type{shF(1)}, "not in (0, 1]", true},
		{float32(math.NaN()), []Type{shF(1)}, "not in (0, 1]", true},
		{0.5, []Type{shT(Int64, 2)}, "", true},
		{0.5, []Type{shF(1), shF(1)}, "got 2 inputs, want 1", true},
	}
	for _, c := range cases {
		op := &StochasticDepth{Survival: c.survival}
		out, err := op.Infer(c.in, make([]*Tensor, len(c.in)))
		if c.err {
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("survival %v, in %v: error %v, want one containing %q", c.survival, c.in, err, c.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("survival %v, in %v: %v", c.survival, c.in, err)
			continue
		}
		if len(out) != 1 || out[0].DType != Float32 || !out[0].Shape.Equal(c.in[0].Shape) || (out[0].Shape == nil) != (c.in[0].Shape == nil) {
			t.Errorf("survival %v, in %v: got %v, want the input's type", c.survival, c.in, out)
		}
	}
	if got := (&StochasticDepth{}).OpType(); got != "StochasticDepth" {
		t.Errorf("OpType %q", got)
	}
}

func TestStochasticDepthLayerBadSurvival(t *testing.T) {
	bd := NewBuilder("sd", 1)
	x := bd.Input("x", 1, 2)
	bd.Output(bd.Apply("drop", StochasticDepthLayer(0), x))
	if _, err := bd.Graph(); err == nil || !strings.Contains(err.Error(), "not in (0, 1]") {
		t.Errorf("survival 0: error %v", err)
	}
}
