package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

// directEdgeWidths are output widths around the row kernels' blocks of 8,
// 16 and 32 outputs.
var directEdgeWidths = []int{1, 2, 5, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33, 40}

// TestConvDirectEdges checks AlgoDirect and AlgoDepthwise at every
// dispatch level on output widths around the blocks, channel counts per
// group around the kernels' 1, 2, 4 and 8 channels, strides 1 to 3
// (phase-split bands), dilation and asymmetric padding.
func TestConvDirectEdges(t *testing.T) {
	widths, mgs := directEdgeWidths, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 16, 17}
	if testing.Short() {
		widths, mgs = []int{1, 7, 8, 9, 16, 17, 33}, []int{1, 3, 4, 8, 13}
	}
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(11))
		i := 0
		for _, ow := range widths {
			for _, mg := range mgs {
				i++
				g := 1 + i%3
				cg := 1 + i%4
				s := 1 + i%3
				cc := convCase{n: 1 + i%2, c: g * cg, h: 2 + i%5, m: g * mg, kh: 3, kw: 3, sh: s, sw: s, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, g: g}
				switch i % 4 {
				case 1:
					cc.kh, cc.pt, cc.pb = 1, 0, 0
				case 2:
					cc.dw, cc.pl, cc.pr = 2, 2, 0
				case 3:
					cc.kw, cc.pl, cc.pr = 5, 3, 1
				}
				// W for the width ow: (W + PadL + PadR - reach) / SW + 1 = ow.
				reach := (cc.kw-1)*cc.dw + 1
				cc.w = (ow-1)*s + reach - cc.pl - cc.pr
				if cc.w < 1 {
					continue
				}
				convCheckCase(t, r, cc, ir.AlgoDirect, i%2 == 0, i%3 == 0, acts[i%len(acts)])
				dw := cc
				dw.c, dw.m, dw.g = mg, mg, mg
				convCheckCase(t, r, dw, ir.AlgoDepthwise, i%3 != 0, i%2 == 0, acts[(i+1)%len(acts)])
			}
		}
	})
}

// TestConvDirectEqualWindows checks at every dispatch level that equal
// windows give exactly equal outputs within a channel, whichever row
// kernel computes them (blocks of rows, the rows left over, the last
// columns of a row, the channels left over, depthwise runs): every
// output sums its taps in the same order.
func TestConvDirectEqualWindows(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(16))
		for _, cc := range []convCase{
			{1, 3, 9, 15, 7, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1},     // 7 rows of 13: 4+2+1 channels, blocks of 2 rows and 1
			{1, 6, 9, 40, 6, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 2},     // 3 channels a group, rows of 38
			{1, 9, 9, 9, 9, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 9},      // depthwise 7×7
			{2, 12, 12, 14, 12, 3, 3, 1, 2, 1, 1, 0, 0, 0, 0, 12}, // depthwise strided
		} {
			for _, algo := range []ir.ConvAlgo{ir.AlgoDirect, ir.AlgoDepthwise} {
				k := cc.kernel(algo, ir.Activation{})
				if convCheck(k) != nil {
					continue
				}
				x := make([]float32, k.N*k.C*k.H*k.W)
				v := float32(r.Float64()*1e3 + 1)
				for i := range x {
					x[i] = v
				}
				w := gemmRandSlice(r, k.M*(k.C/k.Group)*k.KH*k.KW)
				y := convRun(t, k, x, w, nil, nil, r)
				for p := 0; p < k.N*k.M; p++ {
					plane := y[p*k.OH*k.OW : (p+1)*k.OH*k.OW]
					for i, o := range plane {
						if o != plane[0] {
							t.Fatalf("%v %v: plane %d: Y[%d] = %v, Y[0] = %v: equal windows, unequal outputs", cc, algo, p, i, o, plane[0])
						}
					}
				}
			}
		}
	})
}

// TestConvDirectSplits checks the direct convolution's pieces: several
// units a piece, blocks of output rows, bands capped by directMaxBand, and
// the planar form it falls back to when one row's band passes the cap.
func TestConvDirectSplits(t *testing.T) {
	defer func(b int) { directMaxBand = b }(directMaxBand)
	cases := []convCase{
		{1, 64, 5, 5, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 64},   // small depthwise units, several a piece
		{1, 4, 40, 20, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},    // one unit, row blocks
		{2, 6, 33, 17, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 3},    // strided row blocks
		{1, 2, 30, 12, 4, 5, 3, 1, 1, 2, 1, 4, 1, 4, 1, 2},    // dilated rows
		{1, 16, 60, 60, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 16}, // big enough to split rows and units
		{2, 10, 6, 6, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 10},   // depthwise runs across images
		{1, 20, 9, 31, 20, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 20},  // depthwise strided, rows of 16
	}
	dw := []bool{true, false, false, false, false, true, true}
	for _, band := range []int{directMaxBand, 2000, 300, 1} {
		directMaxBand = band
		forEachISA(t, func(t *testing.T) {
			r := rand.New(rand.NewSource(12))
			for i, cc := range cases {
				t.Run(fmt.Sprintf("band%d/%v", band, cc), func(t *testing.T) {
					algo := ir.AlgoDirect
					if cc.g == cc.c && cc.c == cc.m {
						algo = ir.AlgoDepthwise
					}
					k := cc.kernel(algo, actRelu)
					task, err := k.Bind(convOperands(k, r), []*ir.Tensor{f32(make([]float32, k.N*k.M*k.OH*k.OW))})
					if err != nil {
						t.Fatal(err)
					}
					d := task.(*convDirect)
					if d.planar != (band == 1) {
						t.Errorf("planar = %v with directMaxBand %d", d.planar, band)
					}
					if d.dw != (dw[i] && !d.planar) {
						t.Errorf("dw = %v", d.dw)
					}
					if !d.planar && d.band-8*directMaxNV > max(band, d.cg*d.rowStride*((k.KH-1)*k.DH+1)) {
						t.Errorf("band of %d floats with directMaxBand %d", d.band, band)
					}
					convCheckCase(t, r, cc, algo, true, i%2 == 0, acts[i%len(acts)])
				})
			}
		})
	}
}

// convOperands returns random X, packed W and B for k.
func convOperands(k *Conv2D, r *rand.Rand) []*ir.Tensor {
	pw, err := PackConvWeights(k, gemmRandSlice(r, k.M*(k.C/k.Group)*k.KH*k.KW))
	if err != nil {
		panic(err)
	}
	return []*ir.Tensor{f32(gemmRandSlice(r, k.N*k.C*k.H*k.W)), f32(pw), f32(gemmRandSlice(r, k.M))}
}

// directShapes are the row kernels' blocks directKernel is asked for:
// (mb, rb, nv) for mb channels by rb rows by nv vectors; directDwShapes
// those of directDwKernel, (mb, nv).
var (
	directShapes = [][3]int{
		{1, 1, 1}, {1, 1, 2}, {1, 1, 4}, {2, 1, 1}, {2, 1, 2}, {2, 1, 4}, {4, 1, 1}, {4, 1, 2},
		{1, 2, 4}, {1, 4, 2}, {1, 8, 1}, {2, 2, 2}, {2, 4, 1}, {4, 2, 1},
	}
	directDwShapes = [][2]int{{1, 1}, {1, 2}, {2, 1}, {2, 2}, {4, 1}, {4, 2}}
)

// TestDirectRows checks each row kernel on its own against the formula
// at every dispatch level: y and z between guards, x exactly as long as
// the kernel may read, taps in any order, NaN through the clamp.
func TestDirectRows(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(13))
		shapes := slices.Clone(directShapes)
		for _, sh := range directDwShapes {
			shapes = append(shapes, [3]int{sh[0], 0, sh[1]}) // rb 0: per-channel
		}
		for _, sh := range shapes {
			mb, rb, nv := sh[0], sh[1], sh[2]
			for _, ow := range directEdgeWidths {
				if rb == 0 && ow > directDwMaxOW {
					continue
				}
				for _, rows := range []int{max(rb, 1), 3 * max(rb, 1)} {
					for _, ntaps := range []int{1, 2, 9} {
						for fl := uint64(0); fl < 8; fl++ {
							flags := fl << 1 // tileBias, tileZ, tileAct
							testDirectRows(t, r, mb, rb, nv, ow, rows, ntaps, flags)
						}
					}
				}
			}
		}
	})
}

// TestDirectShapes checks that directShapes lists every block
// convDirect.Run asks directKernel for.
func TestDirectShapes(t *testing.T) {
	for rem := 1; rem <= 9; rem++ {
		for _, ow := range directEdgeWidths {
			mb := directMB(rem)
			nv := directNV(mb, ow)
			for _, rb := range []int{1, directMaxAccs / (mb * nv)} {
				if !slices.Contains(directShapes, [3]int{mb, rb, nv}) {
					t.Errorf("%d channels left, rows of %d: block %dx%dx%d is not in directShapes", rem, ow, mb, rb, nv)
				}
			}
			if ow <= directDwMaxOW && !slices.Contains(directDwShapes, [2]int{mb, nv}) {
				t.Errorf("%d channels left, rows of %d: block %dx%d is not in directDwShapes", rem, ow, mb, nv)
			}
		}
	}
}

// testDirectRows checks directKernel(mb, rb, nv) or, rb 0,
// directDwKernel(mb, nv) once.
func testDirectRows(t *testing.T, r *rand.Rand, mb, rb, nv, ow, rows, ntaps int, flags uint64) {
	t.Helper()
	name := fmt.Sprintf("mb=%d rb=%d nv=%d ow=%d rows=%d ntaps=%d flags=%b", mb, rb, nv, ow, rows, ntaps, flags)
	f, xm := directDwKernel(mb, nv), 0
	if rb > 0 {
		f = directKernel(mb, rb, nv)
	} else {
		xm = 50 + r.Intn(10)
	}
	off := make([]int32, ntaps)
	for i := range off {
		off[i] = int32(r.Intn(40))
	}
	taps := newDirectTaps(off)
	xrow := ow + r.Intn(5)
	x := gemmRandSlice(r, (mb-1)*xm+(rows-1)*xrow+taps.max+gemmRoundUp(ow, 8*nv))
	w := gemmRandSlice(r, mb*ntaps)
	if flags&tileAct != 0 {
		w[0] = float32(math.NaN()) // channel 0 is NaN throughout
	}
	ys := rows*ow + r.Intn(3)
	n := (mb-1)*ys + rows*ow
	y, yFull := gemmGuarded(n)
	for i := range y {
		y[i] = 12345 // between channels' rows: left alone
	}
	var z, zFull, bias []float32
	if flags&tileZ != 0 {
		z, zFull = gemmGuarded(n)
		copy(z, gemmRandSlice(r, n))
	}
	if flags&tileBias != 0 {
		bias = gemmRandSlice(r, mb)
	}
	lo, hi := float32(-0.5), float32(0.75)
	f(&taps, w, x, xrow, xm, y, z, ys, ow, rows, bias, flags, lo, hi)
	gemmCheckGuards(t, name, yFull, n)
	if z != nil {
		gemmCheckGuards(t, name+" (z)", zFull, n)
	}
	for m := 0; m < mb; m++ {
		for rr := 0; rr < rows; rr++ {
			for j := 0; j < ow; j++ {
				i := m*ys + rr*ow + j
				var s, sc float64
				for tt, o := range off {
					v := float64(w[m*ntaps+tt]) * float64(x[m*xm+rr*xrow+int(o)+j])
					s += v
					sc += math.Abs(v)
				}
				if bias != nil {
					s += float64(bias[m])
					sc += math.Abs(float64(bias[m]))
				}
				if z != nil {
					s += float64(z[i])
					sc += math.Abs(float64(z[i]))
				}
				if flags&tileAct != 0 && !math.IsNaN(s) {
					s = math.Min(math.Max(s, float64(lo)), float64(hi))
				}
				if !gemmClose(y[i], s, sc) {
					t.Fatalf("%s: y(%d, %d, %d) = %v, want %v", name, m, rr, j, y[i], s)
				}
			}
			if m < mb-1 {
				for i := (m+1)*ys - (ys - rows*ow); i < (m+1)*ys; i++ {
					if y[i] != 12345 {
						t.Fatalf("%s: y[%d] between channels was written", name, i)
					}
				}
			}
		}
	}
	// One float short of what the kernel may read panics instead.
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("%s: the kernel took an x one float short", name)
			}
		}()
		f(&taps, w, x[:len(x)-1], xrow, xm, y, z, ys, ow, rows, bias, flags, lo, hi)
	}()
}

// TestDirectFill checks the band's fill routines at every dispatch level
// against their formulas, around the vector moves' blocks of 8 (copies)
// and 16 floats in (splits), over one and several planes, with guards
// around the destinations; and the scalar gather of other strides.
func TestDirectFill(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(14))
		for _, n := range []int{1, 2, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33} {
			for _, shape := range [][2]int{{1, 1}, {1, 3}, {3, 2}} {
				planes, rows := shape[0], shape[1]
				ds, xs := n+r.Intn(3), n+r.Intn(3)
				dp, xp := rows*ds+r.Intn(5), rows*xs+r.Intn(5)
				x := gemmRandSlice(r, (planes-1)*xp+(rows-1)*xs+n)
				dn := (planes-1)*dp + (rows-1)*ds + n
				d, full := gemmGuarded(dn)
				directCopyRows(d, x, planes, rows, n, ds, xs, dp, xp)
				name := fmt.Sprintf("copy n %d planes %d rows %d", n, planes, rows)
				gemmCheckGuards(t, name, full, dn)
				for p := 0; p < planes; p++ {
					for rr := 0; rr < rows; rr++ {
						for i := 0; i < n; i++ {
							if got, want := d[p*dp+rr*ds+i], x[p*xp+rr*xs+i]; got != want {
								t.Fatalf("%s: d(%d, %d, %d) = %v, want %v", name, p, rr, i, got, want)
							}
						}
					}
				}
				for _, n1 := range []int{n, n - 1} {
					ds, xs := n+r.Intn(3), n+n1+r.Intn(3)
					dp, xp := rows*ds+r.Intn(5), rows*xs+r.Intn(5)
					x := gemmRandSlice(r, (planes-1)*xp+(rows-1)*xs+n+n1)
					dn0, dn1 := (planes-1)*dp+(rows-1)*ds+n, (planes-1)*dp+(rows-1)*ds+n1
					d0, full0 := gemmGuarded(dn0)
					d1, full1 := gemmGuarded(dn1)
					directSplitRows(d0, d1, x, planes, rows, n, n1, ds, xs, dp, xp)
					name := fmt.Sprintf("split n0 %d n1 %d planes %d rows %d", n, n1, planes, rows)
					gemmCheckGuards(t, name+" (d0)", full0, dn0)
					gemmCheckGuards(t, name+" (d1)", full1, dn1)
					for p := 0; p < planes; p++ {
						for rr := 0; rr < rows; rr++ {
							for i := 0; i < n; i++ {
								o, xo := p*dp+rr*ds+i, p*xp+rr*xs+2*i
								if d0[o] != x[xo] || i < n1 && d1[o] != x[xo+1] {
									t.Fatalf("%s: plane %d, row %d, float %d split wrong", name, p, rr, i)
								}
							}
						}
					}
				}
			}
			for _, stride := range []int{2, 3} {
				x := gemmRandSlice(r, (n-1)*stride+1)
				d, full := gemmGuarded(n)
				directGather(d, x, stride)
				gemmCheckGuards(t, fmt.Sprintf("gather stride %d n %d", stride, n), full, n)
				for i := range d {
					if d[i] != x[i*stride] {
						t.Fatalf("gather stride %d n %d: d[%d] = %v, want %v", stride, n, i, d[i], x[i*stride])
					}
				}
			}
		}
		for _, f := range []func(){
			func() { directCopyRows(make([]float32, 20), make([]float32, 19), 1, 2, 10, 10, 10, 0, 0) },
			func() { directCopyRows(make([]float32, 40), make([]float32, 39), 2, 2, 10, 10, 10, 20, 20) },
			func() {
				directSplitRows(make([]float32, 8), make([]float32, 8), make([]float32, 15), 1, 1, 8, 8, 8, 16, 0, 0)
			},
			func() {
				directSplitRows(make([]float32, 8), make([]float32, 8), make([]float32, 16), 1, 1, 8, 6, 8, 16, 0, 0)
			},
			func() {
				directSplitRows(make([]float32, 16), make([]float32, 15), make([]float32, 32), 2, 1, 8, 8, 8, 16, 8, 16)
			},
		} {
			func() {
				defer func() {
					if recover() == nil {
						t.Error("a fill routine took operands out of range")
					}
				}()
				f()
			}()
		}
	})
}
