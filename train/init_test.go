package train

import (
	"math"
	"reflect"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/zoo"
)

// TestInitialize checks each initializer's statistics on LeNet-BN's
// layers (mean 0, the standard deviation of its formula, within a few
// percent on the 48000 weights of the first fully connected layer and the
// 2400 of the second convolution), the biases and batch norms, and that
// the same seed draws the same weights and another seed others.
func TestInitialize(t *testing.T) {
	g, err := zoo.LeNetBN.Build(zoo.Options{Batch: -1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	before := ir.Weights(g)
	keep := map[string][]float32{}
	for name, w := range before {
		keep[name] = append([]float32(nil), w.F32...)
	}
	for _, tc := range []struct {
		init Init
		// std returns the standard deviation for the fans.
		std func(fanIn, fanOut float64) float64
	}{
		{InitGaussian, func(_, _ float64) float64 { return 0.01 }},
		{InitKaiming, func(in, _ float64) float64 { return math.Sqrt(2 / in) }},
		{InitXavier, func(in, out float64) float64 { return math.Sqrt(6/(in+out)) / math.Sqrt(3) }},
	} {
		h, err := Initialize(g, tc.init, 5)
		if err != nil {
			t.Fatal(err)
		}
		w := ir.Weights(h)
		for _, layer := range []struct {
			name      string
			in, out   float64
			tolerance float64
		}{
			{"9.weight", 400, 120, 0.02}, // Gemm [120, 400], TransB
			{"12.weight", 120, 84, 0.03}, // Gemm [84, 120]
			{"4.weight", 150, 400, 0.06}, // Conv [16, 6, 5, 5]
			{"15.weight", 84, 10, 0.1},   // the head, 840 weights
			{"0.weight", 25, 150, 0.25},  // Conv [6, 1, 5, 5], 150 weights
		} {
			x := w[layer.name].F32
			var sum, sq float64
			for _, v := range x {
				sum += float64(v)
				sq += float64(v) * float64(v)
			}
			n := float64(len(x))
			mean, std := sum/n, math.Sqrt(sq/n-sum*sum/n/n)
			want := tc.std(layer.in, layer.out)
			if math.Abs(mean) > 4*want/math.Sqrt(n) || math.Abs(std/want-1) > layer.tolerance {
				t.Errorf("%v %s: mean %.3g, std %.4g; want 0 and %.4g", tc.init, layer.name, mean, std, want)
			}
		}
		for name, want := range map[string]float32{"0.bias": 0, "9.bias": 0, "1.weight": 1, "1.bias": 0, "1.running_mean": 0, "1.running_var": 1, "13.running_var": 1} {
			for _, v := range w[name].F32 {
				if v != want {
					t.Errorf("%v: %s holds %v, want all %v", tc.init, name, v, want)
					break
				}
			}
		}
		again, _ := Initialize(g, tc.init, 5)
		other, _ := Initialize(g, tc.init, 6)
		if a := ir.Weights(again); !reflect.DeepEqual(a["4.weight"].F32, w["4.weight"].F32) {
			t.Errorf("%v: the same seed drew other weights", tc.init)
		}
		if o := ir.Weights(other); reflect.DeepEqual(o["4.weight"].F32, w["4.weight"].F32) {
			t.Errorf("%v: another seed drew the same weights", tc.init)
		}
	}
	for name, w := range ir.Weights(g) {
		if !reflect.DeepEqual(w.F32, keep[name]) {
			t.Errorf("Initialize changed %s of the graph it was given", name)
		}
	}
	if h, _ := Initialize(g, InitDefault, 5); h != g {
		t.Error("InitDefault did not return the graph as it was")
	}
	for _, name := range []string{"default", "gaussian", "kaiming", "xavier"} {
		if i, err := ParseInit(name); err != nil || i.String() != name {
			t.Errorf("ParseInit(%q) = %v, %v", name, i, err)
		}
	}
	if _, err := ParseInit("he"); err == nil {
		t.Error(`ParseInit("he") found an initializer`)
	}
}
