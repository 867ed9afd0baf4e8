package train

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestResizeByHand checks the bilinear taps on cases worked by hand: a
// 2×2 image to 4×4 samples the input at -0.25 (clamped to 0), 0.25, 0.75
// and 1.25 (the last pixel repeated), and 4×4 to 2×2 averages pairs.
func TestResizeByHand(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []float32
		h, w, n int
		want    []float32
	}{
		{"up", []float32{0, 1, 2, 3}, 2, 2, 4, []float32{
			0, 0.25, 0.75, 1,
			0.5, 0.75, 1.25, 1.5,
			1.5, 1.75, 2.25, 2.5,
			2, 2.25, 2.75, 3,
		}},
		{"down", []float32{
			0, 1, 2, 3,
			4, 5, 6, 7,
			8, 9, 10, 11,
			12, 13, 14, 15,
		}, 4, 4, 2, []float32{2.5, 4.5, 10.5, 12.5}},
		{"same", []float32{1, 2, 3, 4}, 2, 2, 2, []float32{1, 2, 3, 4}},
		{"wide", []float32{1, 3}, 1, 2, 1, []float32{2}},
	} {
		got := make([]float32, tc.n*tc.n)
		newResizer(1, tc.h, tc.w, tc.n).resize(got, tc.in)
		for i := range got {
			if math.Abs(float64(got[i]-tc.want[i])) > 1e-6 {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}
}

// TestResizeTorch holds the resizer to PyTorch's
// interpolate(mode="bilinear", align_corners=False, antialias=False) on a
// 2×5×7 image resized to 3×3, 11×11 and 16×16 (testdata/resize_torch.json,
// written by testdata/resize_torch.py).
func TestResizeTorch(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "resize_torch.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		In      []float32
		C, H, W int
		Out     map[string][]float32
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Out) != 3 {
		t.Fatalf("%d outputs in the fixture, want 3", len(f.Out))
	}
	for size, want := range f.Out {
		n, _ := strconv.Atoi(size)
		got := make([]float32, f.C*n*n)
		newResizer(f.C, f.H, f.W, n).resize(got, f.In)
		worst := 0.0
		for i := range got {
			worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
		}
		if len(want) != len(got) || worst > 1e-6 {
			t.Errorf("%dx%d: %d values, %d wanted, differing by up to %g", n, n, len(got), len(want), worst)
		}
	}
}

// synthetic returns a data set of n images of c×size×size whose pixels
// are all different (1 + their index in the data set), classes i mod 2,
// black -1.
func synthetic(n, c, size int) *Dataset {
	d := &Dataset{Name: "synthetic", N: n, C: c, H: size, W: size, Classes: 2, Black: -1,
		Images: make([]float32, n*c*size*size), Labels: make([]int64, n)}
	for i := range d.Images {
		d.Images[i] = float32(i + 1)
	}
	for i := range d.Labels {
		d.Labels[i] = int64(i % 2)
	}
	return d
}

// TestCropFlip checks that every augmented image is its original shifted
// by some (dy, dx) within the padding, black where it reads outside, and
// mirrored or not; that all shifts and both mirrorings occur; and that
// the draws depend on the seed, the epoch and the image alone.
func TestCropFlip(t *testing.T) {
	const n, size, pad = 400, 6, 2
	d := synthetic(n, 2, size)
	aug := Augment{CropPad: pad, Flip: true}
	l := newLoader(d, 0, aug, nil, 7, 1)
	seen := map[[3]int]int{}
	out := make([]float32, l.per())
	for j := 0; j < n; j++ {
		l.image(out, j)
		how, ok := explain(out, d.Image(j), d.C, size, pad, d.Black)
		if !ok {
			t.Fatalf("image %d: %v is no shift or flip of %v", j, out, d.Image(j))
		}
		seen[how]++
	}
	if want := (2*pad + 1) * (2*pad + 1) * 2; len(seen) != want {
		t.Errorf("%d of the %d crops and flips occurred in %d images", len(seen), want, n)
	}
	again := make([]float32, l.per())
	other := newLoader(d, 0, aug, nil, 7, 2)
	differ := 0
	for j := 0; j < 50; j++ {
		l.image(out, j)
		newLoader(d, 0, aug, nil, 7, 1).image(again, j)
		if !equal(out, again) {
			t.Fatalf("image %d: another loader with the same seed and epoch augmented it otherwise", j)
		}
		other.image(again, j)
		if !equal(out, again) {
			differ++
		}
	}
	if differ < 40 {
		t.Errorf("only %d of 50 images augmented differently in another epoch", differ)
	}
}

// explain finds the shift and flip that make out from in, reporting them
// as {dy, dx, flip}.
func explain(out, in []float32, c, n, pad int, black float32) ([3]int, bool) {
	for flip := 0; flip < 2; flip++ {
		for oy := -pad; oy <= pad; oy++ {
		shift:
			for ox := -pad; ox <= pad; ox++ {
				for ch := 0; ch < c; ch++ {
					for y := 0; y < n; y++ {
						for x := 0; x < n; x++ {
							sx := x
							if flip == 1 {
								sx = n - 1 - x
							}
							sy, sx := y+oy, sx+ox
							want := black
							if sy >= 0 && sy < n && sx >= 0 && sx < n {
								want = in[ch*n*n+sy*n+sx]
							}
							if out[ch*n*n+y*n+x] != want {
								continue shift
							}
						}
					}
				}
				return [3]int{oy, ox, flip}, true
			}
		}
	}
	return [3]int{}, false
}

func equal(a, b []float32) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

// TestLighting checks AlexNet's PCA lighting: on three channels the
// eigenvectors diagonalize the covariance, and each image gets one offset
// per channel; on one channel the offset is α·λ, with λ the variance, so
// the offsets' standard deviation is σ·λ.
func TestLighting(t *testing.T) {
	cov := []float64{4, 1, 0.5, 1, 3, 0.2, 0.5, 0.2, 1}
	vals, vecs := symEigen(append([]float64(nil), cov...), 3)
	for i, v := range vecs {
		for r := 0; r < 3; r++ {
			av := cov[3*r]*v[0] + cov[3*r+1]*v[1] + cov[3*r+2]*v[2]
			if math.Abs(av-vals[i]*v[r]) > 1e-9 {
				t.Errorf("eigenpair %d: (A·v)[%d] = %v, λ·v = %v", i, r, av, vals[i]*v[r])
			}
		}
	}
	if s := vals[0] + vals[1] + vals[2]; math.Abs(s-8) > 1e-9 {
		t.Errorf("eigenvalues %v sum to %v, want the trace 8", vals, s)
	}

	// One channel with pixels ±2: the variance is 4.
	const n, size, sigma = 2000, 4, 0.1
	d := synthetic(n, 1, size)
	for i := range d.Images {
		d.Images[i] = float32(2 * (i%2*2 - 1))
	}
	p := channelPCA(d)
	if len(p.vals) != 1 || math.Abs(p.vals[0]-4) > 1e-9 || p.vecs[0][0] != 1 {
		t.Fatalf("PCA of one channel of variance 4: %+v", p)
	}
	l := newLoader(d, 0, Augment{Lighting: sigma}, p, 1, 1)
	out := make([]float32, l.per())
	var sum, sq float64
	for j := 0; j < n; j++ {
		l.image(out, j)
		off := float64(out[0] - d.Image(j)[0])
		for k, v := range out {
			if math.Abs(float64(v-d.Image(j)[k])-off) > 1e-5 {
				t.Fatalf("image %d: offsets %v and %v in one image", j, off, v-d.Image(j)[k])
			}
		}
		sum += off
		sq += off * off
	}
	mean, std := sum/n, math.Sqrt(sq/n-sum*sum/n/n)
	if math.Abs(mean) > 0.05 || math.Abs(std-sigma*4) > 0.04 {
		t.Errorf("offsets: mean %.4f, std %.4f; want 0 and σ·λ = %.2f", mean, std, sigma*4)
	}
}

func TestAugmentCheck(t *testing.T) {
	for _, tc := range []struct {
		a  Augment
		ok bool
	}{
		{Augment{}, true},
		{Augment{CropPad: 4, Flip: true, Lighting: 0.1}, true},
		{Augment{CropPad: 28}, false},
		{Augment{CropPad: -1}, false},
		{Augment{Lighting: -0.1}, false},
		{Augment{Lighting: float32(math.NaN())}, false},
	} {
		if err := tc.a.check(28); (err == nil) != tc.ok {
			t.Errorf("%+v: error %v", tc.a, err)
		}
	}
	if s := (Augment{CropPad: 4, Flip: true, Lighting: 0.1}).String(); s != "crop pad 4, flip, lighting 0.1" {
		t.Errorf("String: %q", s)
	}
}

// BenchmarkLoader times assembling a batch of 64 images: 28×28 copied,
// augmented (crop, flip, lighting), and resized to 96 and 224.
func BenchmarkLoader(b *testing.B) {
	d := synthetic(64, 1, 28)
	aug := Augment{CropPad: 4, Flip: true, Lighting: 0.1}
	p := channelPCA(d)
	for _, bc := range []struct {
		name string
		size int
		aug  Augment
	}{
		{"copy28", 0, Augment{}},
		{"augment28", 0, aug},
		{"resize96", 96, Augment{}},
		{"resize224", 224, Augment{}},
		{"resize224+augment", 224, aug},
	} {
		b.Run(bc.name, func(b *testing.B) {
			l := newLoader(d, bc.size, bc.aug, p, 1, 1)
			out := make([]float32, 64*l.per())
			for i := 0; i < b.N; i++ {
				for j := 0; j < 64; j++ {
					l.image(out[j*l.per():(j+1)*l.per()], j)
				}
			}
		})
	}
}

// TestPrefetchAugments checks that the prefetching goroutine hands out
// the loader's images, in the order's order, with their labels.
func TestPrefetchAugments(t *testing.T) {
	d := synthetic(12, 1, 5)
	aug := Augment{CropPad: 1, Flip: true}
	order := []int{3, 1, 4, 10, 5, 9, 2, 6, 11}
	stop := make(chan struct{})
	defer close(stop)
	l := newLoader(d, 8, aug, nil, 2, 3)
	want, per := make([]float32, l.per()), l.per()
	check := newLoader(d, 8, aug, nil, 2, 3)
	k := 0
	for b := range prefetch(l, order, 4, 2, stop) {
		for i := 0; i < 4; i++ {
			j := order[k]
			check.image(want, j)
			if !equal(b.x[i*per:(i+1)*per], want) || b.labels[i] != d.Labels[j] || b.y[i*2+int(d.Labels[j])] != 1 {
				t.Fatalf("image %d of the order (%d): not the loader's", k, j)
			}
			k++
		}
	}
	if k != 8 {
		t.Errorf("%d images in the batches, want 8", k)
	}
}
