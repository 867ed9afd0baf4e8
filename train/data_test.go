package train

import (
	"math"
	"strings"
	"testing"
)

func TestFromIDX(t *testing.T) {
	images := &IDX{Dims: []int{2, 1, 3}, Data: []byte{0, 255, 51, 102, 0, 255}}
	labels := &IDX{Dims: []int{2}, Data: []byte{3, 0}}
	d, err := FromIDX("toy", images, labels, 4, 0.5, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	if d.N != 2 || d.C != 1 || d.H != 1 || d.W != 3 || d.Labels[0] != 3 || d.Labels[1] != 0 {
		t.Fatalf("got %d×%d×%d×%d labels %v", d.N, d.C, d.H, d.W, d.Labels)
	}
	want := []float32{-2, 2, -1.2, -0.4, -2, 2}
	for i, v := range d.Images {
		if math.Abs(float64(v-want[i])) > 1e-6 {
			t.Errorf("pixel %d: %v, want %v", i, v, want[i])
		}
	}
	for _, tc := range []struct {
		images, labels *IDX
		want           string
	}{
		{&IDX{Dims: []int{6}, Data: make([]byte, 6)}, labels, "want N×H×W"},
		{images, &IDX{Dims: []int{3}, Data: make([]byte, 3)}, "labels have dimensions [3] for 2 images"},
		{images, &IDX{Dims: []int{2}, Data: []byte{1, 4}}, "label 4 of image 1 is not a class"},
	} {
		if _, err := FromIDX("toy", tc.images, tc.labels, 4, 0.5, 0.25); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one containing %q", err, tc.want)
		}
	}
}

// TestMNIST loads MNIST from the Go module that ships it: 60000 and 10000
// images of 28x28, every class present, normalized near mean 0 and std 1.
func TestMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 55 MB of MNIST")
	}
	trainSet, testSet, err := MNIST.Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		d *Dataset
		n int
	}{{trainSet, 60000}, {testSet, 10000}} {
		d := c.d
		if d.N != c.n || d.C != 1 || d.H != 28 || d.W != 28 || d.Classes != 10 {
			t.Fatalf("%s: %d×%d×%d×%d, %d classes", d.Name, d.N, d.C, d.H, d.W, d.Classes)
		}
		var count [10]int
		for _, l := range d.Labels {
			count[l]++
		}
		for k, n := range count {
			if n < d.N/20 {
				t.Errorf("%s: class %d has %d images", d.Name, k, n)
			}
		}
	}
	sum, sq := 0.0, 0.0
	for _, v := range trainSet.Images {
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	n := float64(len(trainSet.Images))
	mean, std := sum/n, math.Sqrt(sq/n-sum*sum/n/n)
	if math.Abs(mean) > 0.01 || math.Abs(std-1) > 0.01 {
		t.Errorf("normalized training pixels: mean %.4f, std %.4f; want 0 and 1", mean, std)
	}
}
