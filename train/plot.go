package train

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"strings"
)

// PlotPNG draws the history as a PNG image: the training and test loss
// against the epoch on the left, the accuracies (in %) on the right, the
// training curves in blue and the test curves in orange, with the axes'
// ranges written at their ends.
func PlotPNG(w io.Writer, history []Metrics) error {
	const width, height, pad = 960, 400, 56
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	var trainLoss, testLoss, trainAcc, testAcc []float64
	for _, m := range history {
		trainLoss = append(trainLoss, m.TrainLoss)
		testLoss = append(testLoss, m.TestLoss)
		trainAcc = append(trainAcc, 100*m.TrainAcc)
		testAcc = append(testAcc, 100*m.TestAcc)
	}
	half := width / 2
	panel(img, image.Rect(pad, pad, half-pad/2, height-pad), "LOSS", trainLoss, testLoss)
	panel(img, image.Rect(half+pad/2, pad, width-pad, height-pad), "ACC %", trainAcc, testAcc)
	text(img, pad, height-pad/2, "EPOCH", black)
	text(img, width-pad-96, pad/2-4, "TRAIN", trainColor)
	text(img, width-pad-32, pad/2-4, "TEST", testColor)
	return png.Encode(w, img)
}

var (
	black      = color.RGBA{0, 0, 0, 0xff}
	grey       = color.RGBA{0xc0, 0xc0, 0xc0, 0xff}
	trainColor = color.RGBA{0x1f, 0x77, 0xb4, 0xff}
	testColor  = color.RGBA{0xff, 0x7f, 0x0e, 0xff}
)

// panel draws the axes of r, labelled, and the two series over epochs 1
// to len(a), scaled to their common range.
func panel(img *image.RGBA, r image.Rectangle, label string, a, b []float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range [][]float64{a, b} {
		for _, v := range s {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if lo > hi {
		lo, hi = 0, 1
	}
	if hi-lo < 1e-9 {
		lo, hi = lo-0.5, hi+0.5
	}
	line(img, r.Min.X, r.Max.Y, r.Max.X, r.Max.Y, black)
	line(img, r.Min.X, r.Min.Y, r.Min.X, r.Max.Y, black)
	for i := 1; i < 4; i++ {
		y := r.Min.Y + i*r.Dy()/4
		line(img, r.Min.X+1, y, r.Max.X, y, grey)
	}
	text(img, r.Min.X+4, r.Min.Y-12, label, black)
	text(img, r.Min.X-52, r.Min.Y, number(hi), black)
	text(img, r.Min.X-52, r.Max.Y-6, number(lo), black)
	n := max(len(a), len(b))
	text(img, r.Min.X, r.Max.Y+6, "1", black)
	text(img, r.Max.X-8, r.Max.Y+6, fmt.Sprint(max(n, 1)), black)
	for _, s := range []struct {
		v []float64
		c color.RGBA
	}{{a, trainColor}, {b, testColor}} {
		px, py := -1, -1
		for i, v := range s.v {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				px = -1
				continue
			}
			x := r.Min.X
			if n > 1 {
				x += i * r.Dx() / (n - 1)
			}
			y := r.Max.Y - int((v-lo)/(hi-lo)*float64(r.Dy()))
			if px >= 0 {
				line(img, px, py, x, y, s.c)
				line(img, px, py+1, x, y+1, s.c)
			}
			dot(img, x, y, s.c)
			px, py = x, y
		}
	}
}

// number formats an axis bound in at most 6 characters.
func number(v float64) string {
	s := fmt.Sprintf("%.4g", v)
	if len(s) > 6 {
		s = fmt.Sprintf("%.1e", v)
	}
	return strings.ToUpper(s)
}

// line draws a segment (Bresenham).
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		img.SetRGBA(x0, y0, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		if e2 := 2 * e; e2 >= dy {
			e += dy
			x0 += sx
		} else {
			e += dx
			y0 += sy
		}
	}
}

// dot draws a 3×3 square at (x, y).
func dot(img *image.RGBA, x, y int, c color.RGBA) {
	for i := -1; i <= 1; i++ {
		for j := -1; j <= 1; j++ {
			img.SetRGBA(x+i, y+j, c)
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// glyphs is a 3×5 pixel font of the characters the plot writes: each
// glyph's five rows, three bits each, the high bit on the left.
var glyphs = map[rune][5]uint8{
	'0': {7, 5, 5, 5, 7}, '1': {2, 6, 2, 2, 7}, '2': {7, 1, 7, 4, 7}, '3': {7, 1, 7, 1, 7},
	'4': {5, 5, 7, 1, 1}, '5': {7, 4, 7, 1, 7}, '6': {7, 4, 7, 5, 7}, '7': {7, 1, 1, 1, 1},
	'8': {7, 5, 7, 5, 7}, '9': {7, 5, 7, 1, 7}, '.': {0, 0, 0, 0, 2}, '-': {0, 0, 7, 0, 0},
	'+': {0, 2, 7, 2, 0}, '%': {5, 1, 2, 4, 5}, 'A': {2, 5, 7, 5, 5}, 'C': {7, 4, 4, 4, 7},
	'E': {7, 4, 6, 4, 7}, 'H': {5, 5, 7, 5, 5}, 'I': {7, 2, 2, 2, 7}, 'L': {4, 4, 4, 4, 7},
	'N': {7, 5, 5, 5, 5}, 'O': {7, 5, 5, 5, 7}, 'P': {7, 5, 7, 4, 4}, 'R': {6, 5, 6, 5, 5},
	'S': {7, 4, 7, 1, 7}, 'T': {7, 2, 2, 2, 2},
}

// text writes s at (x, y) (its top left) in the 3×5 font, doubled.
func text(img *image.RGBA, x, y int, s string, c color.RGBA) {
	for _, ch := range s {
		g, ok := glyphs[ch]
		if ok {
			for row, bits := range g {
				for col := 0; col < 3; col++ {
					if bits&(4>>col) != 0 {
						for i := 0; i < 2; i++ {
							for j := 0; j < 2; j++ {
								img.SetRGBA(x+2*col+i, y+2*row+j, c)
							}
						}
					}
				}
			}
		}
		x += 8
	}
}
