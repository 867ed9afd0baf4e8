package train

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Augment configures the random augmentations of the training images,
// drawn afresh for every image every epoch. They apply after Resize, in
// the order of the fields, and never to the test set. The zero value
// augments nothing.
type Augment struct {
	// CropPad, when > 0, pads each image with CropPad black pixels on
	// every side and crops a window of the image's size at a random
	// place, as torchvision's RandomCrop(size, padding=CropPad) does
	// before normalization: the padding is the normalized value of a
	// black pixel (Dataset.Black). It is less than the image's size.
	CropPad int
	// Flip mirrors each image left to right with probability 1/2
	// (RandomHorizontalFlip).
	Flip bool
	// Lighting, when > 0, is the σ of AlexNet's PCA lighting noise: each
	// image gets Σ α_i λ_i p_i added to every pixel, with p_i and λ_i the
	// eigenvectors and eigenvalues of the training set's C×C covariance
	// of channels and α_i drawn from N(0, Lighting²) per image (AlexNet:
	// 0.1). The covariance is that of the normalized images. On one
	// channel it degenerates to a random brightness offset α·λ, λ the
	// pixels' variance (about 1 once normalized).
	Lighting float32
}

// String describes the augmentations ("crop pad 4, flip"), "none" for
// none.
func (a Augment) String() string {
	s := ""
	add := func(f string, args ...any) {
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf(f, args...)
	}
	if a.CropPad > 0 {
		add("crop pad %d", a.CropPad)
	}
	if a.Flip {
		add("flip")
	}
	if a.Lighting > 0 {
		add("lighting %g", a.Lighting)
	}
	if s == "" {
		return "none"
	}
	return s
}

// on reports whether a augments anything.
func (a Augment) on() bool { return a.CropPad > 0 || a.Flip || a.Lighting > 0 }

// check returns an error for settings out of range on images of size×size.
func (a Augment) check(size int) error {
	switch {
	case a.CropPad < 0 || a.CropPad >= size:
		return fmt.Errorf("train: crop padding %d, want [0, %d) on %dx%d images", a.CropPad, size, size, size)
	case !(a.Lighting >= 0) || math.IsInf(float64(a.Lighting), 0):
		return fmt.Errorf("train: lighting σ %v, want a finite σ >= 0", a.Lighting)
	}
	return nil
}

// pca holds the principal components of a data set's channels: vecs[i]
// is the i-th eigenvector (C floats) and vals[i] its eigenvalue.
type pca struct {
	vals []float64
	vecs [][]float64
}

// channelPCA returns the eigenvectors and eigenvalues of the covariance
// of d's channels over all its pixels.
func channelPCA(d *Dataset) *pca {
	c, hw := d.C, d.H*d.W
	mean := make([]float64, c)
	cov := make([]float64, c*c)
	px := make([]float64, c)
	for i := 0; i < d.N; i++ {
		img := d.Image(i)
		for p := 0; p < hw; p++ {
			for k := range px {
				px[k] = float64(img[k*hw+p])
				mean[k] += px[k]
			}
			for a := 0; a < c; a++ {
				for b := 0; b < c; b++ {
					cov[a*c+b] += px[a] * px[b]
				}
			}
		}
	}
	n := float64(d.N * hw)
	for a := 0; a < c; a++ {
		for b := 0; b < c; b++ {
			cov[a*c+b] = cov[a*c+b]/n - mean[a]/n*mean[b]/n
		}
	}
	vals, vecs := symEigen(cov, c)
	return &pca{vals: vals, vecs: vecs}
}

// symEigen returns the eigenvalues of the symmetric n×n matrix a
// (row-major, overwritten) and their unit eigenvectors, by cyclic Jacobi
// rotations: exact enough for the few channels of an image.
func symEigen(a []float64, n int) ([]float64, [][]float64) {
	v := make([]float64, n*n) // columns are the eigenvectors
	for i := 0; i < n; i++ {
		v[i*n+i] = 1
	}
	for sweep := 0; sweep < 100; sweep++ {
		off := 0.0
		for p := 0; p < n; p++ {
			for q := p + 1; q < n; q++ {
				off += a[p*n+q] * a[p*n+q]
			}
		}
		if off < 1e-30 {
			break
		}
		for p := 0; p < n; p++ {
			for q := p + 1; q < n; q++ {
				if a[p*n+q] == 0 {
					continue
				}
				// The rotation by θ that zeroes a[p][q].
				theta := (a[q*n+q] - a[p*n+p]) / (2 * a[p*n+q])
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				cs := 1 / math.Sqrt(t*t+1)
				sn := t * cs
				for k := 0; k < n; k++ { // columns p and q of a·J
					akp, akq := a[k*n+p], a[k*n+q]
					a[k*n+p], a[k*n+q] = cs*akp-sn*akq, sn*akp+cs*akq
				}
				for k := 0; k < n; k++ { // rows p and q of Jᵀ·a
					apk, aqk := a[p*n+k], a[q*n+k]
					a[p*n+k], a[q*n+k] = cs*apk-sn*aqk, sn*apk+cs*aqk
				}
				for k := 0; k < n; k++ {
					vkp, vkq := v[k*n+p], v[k*n+q]
					v[k*n+p], v[k*n+q] = cs*vkp-sn*vkq, sn*vkp+cs*vkq
				}
			}
		}
	}
	vals := make([]float64, n)
	vecs := make([][]float64, n)
	for i := 0; i < n; i++ {
		vals[i] = a[i*n+i]
		vecs[i] = make([]float64, n)
		for k := 0; k < n; k++ {
			vecs[i][k] = v[k*n+i]
		}
	}
	return vals, vecs
}

// tap is one output pixel's two source pixels along an axis and their
// weights.
type tap struct {
	i0, i1 int
	w0, w1 float32
}

// bilinearTaps returns the taps resizing an axis of in pixels to out, as
// PyTorch's interpolate(mode="bilinear", align_corners=False) computes
// them (torchvision's Resize with antialias=False): output pixel o
// samples the input at (o + 0.5)·in/out - 0.5, clamped to >= 0, from its
// floor and the next pixel (the last one repeated at the edge).
func bilinearTaps(in, out int) []tap {
	scale := float32(in) / float32(out)
	taps := make([]tap, out)
	for o := range taps {
		src := max(scale*(float32(o)+0.5)-0.5, 0)
		i0 := int(src)
		l1 := src - float32(i0)
		taps[o] = tap{i0: i0, i1: min(i0+1, in-1), w0: 1 - l1, w1: l1}
	}
	return taps
}

// resizer resizes images of C planes of H×W to n×n bilinearly, rows
// first: each input row to n columns, then each output row from two of
// those (PyTorch's order of the sums).
type resizer struct {
	c, h, w, n int
	rows, cols []tap
	tmp        []float32 // H×n: the input rows resized
}

func newResizer(c, h, w, n int) *resizer {
	return &resizer{c: c, h: h, w: w, n: n, rows: bilinearTaps(h, n), cols: bilinearTaps(w, n), tmp: make([]float32, h*n)}
}

// resize writes src (C×H×W) resized to dst (C×n×n).
func (r *resizer) resize(dst, src []float32) {
	n := r.n
	for c := 0; c < r.c; c++ {
		plane := src[c*r.h*r.w : (c+1)*r.h*r.w]
		for y := 0; y < r.h; y++ {
			in, out := plane[y*r.w:(y+1)*r.w], r.tmp[y*n:(y+1)*n]
			for x, t := range r.cols {
				out[x] = t.w0*in[t.i0] + t.w1*in[t.i1]
			}
		}
		out := dst[c*n*n : (c+1)*n*n]
		for y, t := range r.rows {
			a, b, o := r.tmp[t.i0*n:(t.i0+1)*n], r.tmp[t.i1*n:(t.i1+1)*n], out[y*n:(y+1)*n]
			for x := range o {
				o[x] = a[x]*t.w0 + b[x]*t.w1
			}
		}
	}
}

// loader writes images of a data set into batches: resized when the
// configuration says so, and, for the training set, augmented. Its random
// draws for an image depend only on the seed, the epoch and the image's
// index in the data set, so that a resumed run (whose checkpoint holds the
// seed's shuffling state and the position in the epoch) draws the same
// augmentations again: a checkpoint needs nothing more for them. A loader
// belongs to one goroutine.
type loader struct {
	d          *Dataset
	h, w       int // the output images' height and width
	rs         *resizer
	aug        Augment
	pca        *pca
	seed       uint64
	epoch      int
	src        *rand.PCG
	rng        *rand.Rand
	tmp, shift []float32
}

// newLoader returns a loader of d's images at size×size (as they are
// when size is 0), augmented by aug from seed in the given epoch.
func newLoader(d *Dataset, size int, aug Augment, p *pca, seed uint64, epoch int) *loader {
	l := &loader{d: d, h: d.H, w: d.W, aug: aug, pca: p, seed: seed, epoch: epoch}
	if size > 0 && (size != d.H || size != d.W) {
		l.h, l.w = size, size
		l.rs = newResizer(d.C, d.H, d.W, size)
	}
	if aug.on() {
		l.src = rand.NewPCG(0, 0)
		l.rng = rand.New(l.src)
		l.tmp = make([]float32, l.per())
		l.shift = make([]float32, d.C)
	}
	return l
}

// per returns the floats of an output image.
func (l *loader) per() int { return l.d.C * l.h * l.w }

// image writes image j of the data set, resized and augmented, to dst.
func (l *loader) image(dst []float32, j int) {
	if l.rs != nil {
		l.rs.resize(dst, l.d.Image(j))
	} else {
		copy(dst, l.d.Image(j))
	}
	if l.rng == nil {
		return
	}
	l.src.Seed(splitmix(l.seed^0x6175676d656e74), splitmix(uint64(l.epoch)<<32|uint64(uint32(j))))
	h, w, pad := l.h, l.w, l.aug.CropPad
	// The crop's offset in the padded image is (dy, dx) in [0, 2·pad]²,
	// so output pixel (y, x) reads the image at (y+oy, x+ox).
	oy, ox := 0, 0
	if pad > 0 {
		oy, ox = l.rng.IntN(2*pad+1)-pad, l.rng.IntN(2*pad+1)-pad
	}
	flip := l.aug.Flip && l.rng.IntN(2) == 1
	if oy != 0 || ox != 0 || flip {
		copy(l.tmp, dst)
		for c := 0; c < l.d.C; c++ {
			in, out := l.tmp[c*h*w:(c+1)*h*w], dst[c*h*w:(c+1)*h*w]
			for y := 0; y < h; y++ {
				sy := y + oy
				row := out[y*w : (y+1)*w]
				if sy < 0 || sy >= h {
					for x := range row {
						row[x] = l.d.Black
					}
					continue
				}
				// Columns [lo, hi) read inside the image, the rest is black.
				src := in[sy*w : (sy+1)*w]
				lo, hi := max(0, -ox), min(w, w-ox)
				if flip { // flipped after the crop: x reads w-1-x+ox
					lo, hi = max(0, ox), min(w, w+ox)
					for x := lo; x < hi; x++ {
						row[x] = src[w-1-x+ox]
					}
				} else {
					copy(row[lo:hi], src[lo+ox:hi+ox])
				}
				for x := range row[:lo] {
					row[x] = l.d.Black
				}
				for x := hi; x < w; x++ {
					row[x] = l.d.Black
				}
			}
		}
	}
	if l.aug.Lighting > 0 && l.pca != nil {
		clear(l.shift)
		for i, lambda := range l.pca.vals {
			alpha := l.rng.NormFloat64() * float64(l.aug.Lighting)
			for c, p := range l.pca.vecs[i] {
				l.shift[c] += float32(alpha * lambda * p)
			}
		}
		for c, s := range l.shift {
			plane := dst[c*h*w : (c+1)*h*w]
			for k := range plane {
				plane[k] += s
			}
		}
	}
}

// splitmix is SplitMix64's finalizer: it spreads nearby seeds (epochs,
// image indices) over the generator's whole state.
func splitmix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
