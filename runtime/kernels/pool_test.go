package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

// poolCase is a pooling configuration: [N, C, H, W] input, kernel,
// strides, dilations and pads [top, left, bottom, right].
type poolCase struct {
	x             [4]int
	k, s, d       [2]int
	pads          [4]int
	max, ceil, ip bool // max pool, ceil mode, CountIncludePad
}

func (c poolCase) String() string {
	kind := "avg"
	if c.max {
		kind = "max"
	}
	return fmt.Sprintf("%s%v/k%v/s%v/d%v/p%v/ceil=%v/pad=%v", kind, c.x, c.k, c.s, c.d, c.pads, c.ceil, c.ip)
}

// poolCases are the pools TestPool2D compares with the reference: every
// fast path at odd and even sizes, and the general loop with asymmetric
// padding, dilation, ceil mode and windows larger than the input.
var poolCases = []poolCase{
	{x: [4]int{1, 3, 13, 11}, k: [2]int{3, 3}, s: [2]int{2, 2}, d: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, max: true},
	{x: [4]int{2, 2, 12, 12}, k: [2]int{3, 3}, s: [2]int{2, 2}, d: [2]int{1, 1}, max: true},
	{x: [4]int{2, 2, 12, 12}, k: [2]int{3, 3}, s: [2]int{2, 2}, d: [2]int{1, 1}, max: true, ceil: true},
	{x: [4]int{1, 2, 14, 15}, k: [2]int{3, 3}, s: [2]int{2, 2}, d: [2]int{1, 1}, pads: [4]int{0, 0, 1, 1}, max: true, ceil: true},
	{x: [4]int{1, 3, 9, 10}, k: [2]int{3, 3}, s: [2]int{1, 1}, d: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, max: true},
	{x: [4]int{1, 3, 9, 10}, k: [2]int{3, 3}, s: [2]int{3, 1}, d: [2]int{1, 1}, max: true},
	{x: [4]int{2, 3, 10, 9}, k: [2]int{2, 2}, s: [2]int{2, 2}, d: [2]int{1, 1}, max: true},
	{x: [4]int{2, 3, 11, 9}, k: [2]int{2, 2}, s: [2]int{2, 2}, d: [2]int{1, 1}, max: true, ceil: true},
	{x: [4]int{1, 2, 11, 13}, k: [2]int{3, 2}, s: [2]int{2, 3}, d: [2]int{2, 3}, pads: [4]int{2, 1, 0, 3}, max: true},
	{x: [4]int{1, 2, 5, 4}, k: [2]int{7, 6}, s: [2]int{1, 2}, d: [2]int{1, 1}, pads: [4]int{3, 3, 3, 3}, max: true},
	{x: [4]int{1, 2, 3, 3}, k: [2]int{2, 2}, s: [2]int{2, 2}, d: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, max: true, ceil: true},
	{x: [4]int{3, 1, 1, 17}, k: [2]int{1, 3}, s: [2]int{1, 2}, d: [2]int{1, 1}, max: true},
	{x: [4]int{1, 1, 300, 300}, k: [2]int{3, 3}, s: [2]int{2, 2}, d: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, max: true},
	{x: [4]int{1, 3, 13, 11}, k: [2]int{3, 3}, s: [2]int{2, 2}, d: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}},
	{x: [4]int{1, 3, 13, 11}, k: [2]int{3, 3}, s: [2]int{2, 2}, d: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, ip: true},
	{x: [4]int{2, 2, 8, 8}, k: [2]int{2, 2}, s: [2]int{2, 2}, d: [2]int{1, 1}},
	{x: [4]int{1, 2, 7, 7}, k: [2]int{7, 7}, s: [2]int{1, 1}, d: [2]int{1, 1}},
	{x: [4]int{1, 2, 10, 11}, k: [2]int{3, 2}, s: [2]int{2, 3}, d: [2]int{1, 1}, pads: [4]int{2, 0, 1, 1}, ceil: true},
	{x: [4]int{1, 2, 10, 11}, k: [2]int{3, 2}, s: [2]int{2, 3}, d: [2]int{1, 1}, pads: [4]int{2, 0, 1, 1}, ceil: true, ip: true},
	{x: [4]int{1, 2, 5, 4}, k: [2]int{7, 6}, s: [2]int{1, 2}, d: [2]int{1, 1}, pads: [4]int{3, 3, 3, 3}, ip: true},
	{x: [4]int{1, 1, 200, 310}, k: [2]int{5, 5}, s: [2]int{1, 1}, d: [2]int{1, 1}, pads: [4]int{2, 2, 2, 2}},
	{x: [4]int{1, 3, 9, 10}, k: [2]int{3, 3}, s: [2]int{1, 1}, d: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}},
	{x: [4]int{1, 3, 9, 10}, k: [2]int{3, 3}, s: [2]int{1, 1}, d: [2]int{1, 1}, pads: [4]int{1, 1, 1, 1}, ip: true},
	{x: [4]int{2, 3, 11, 9}, k: [2]int{2, 2}, s: [2]int{2, 2}, d: [2]int{1, 1}, ceil: true},
	{x: [4]int{1, 2, 14, 15}, k: [2]int{3, 3}, s: [2]int{2, 2}, d: [2]int{1, 1}, pads: [4]int{0, 0, 1, 1}, ceil: true, ip: true},
}

// oracleOp returns the IR op c stands for.
func (c poolCase) oracleOp() ir.Op {
	pads := []int{c.pads[0], c.pads[1], c.pads[2], c.pads[3]}
	if c.max {
		return &ir.MaxPool{Kernel: c.k[:], Strides: c.s[:], Dilations: c.d[:], Pads: pads, CeilMode: c.ceil}
	}
	return &ir.AveragePool{Kernel: c.k[:], Strides: c.s[:], Pads: pads, CeilMode: c.ceil, CountIncludePad: c.ip}
}

// kernel returns the Pool2D of c for an output of shape y.
func (c poolCase) kernel(y ir.Shape) *Pool2D {
	return &Pool2D{
		N: c.x[0], C: c.x[1], H: c.x[2], W: c.x[3], OH: y[2], OW: y[3],
		KH: c.k[0], KW: c.k[1], SH: c.s[0], SW: c.s[1], DH: c.d[0], DW: c.d[1],
		PadT: c.pads[0], PadL: c.pads[1], PadB: c.pads[2], PadR: c.pads[3],
		Max: c.max, CountIncludePad: c.ip,
	}
}

func TestPool2D(t *testing.T) {
	elemISAs(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		for _, c := range poolCases {
			t.Run(c.String(), func(t *testing.T) {
				x := miscRandom(rng, c.x[:]...)
				if c.max { // NaN and ±Inf in a few windows
					miscSpecials(rng, x.F32[:min(40, len(x.F32))])
				}
				want := miscOracle(t, c.oracleOp(), x)[0]
				k := c.kernel(want.Shape)
				for _, w := range miscWorkers {
					y, check := miscGuarded(t, want.Shape...)
					tk, err := k.Bind([]*ir.Tensor{x}, []*ir.Tensor{y})
					if err != nil {
						t.Fatal(err)
					}
					miscRun(t, tk, w, 13)
					check()
					miscCompare(t, y.F32, want.F32, 1e-6, 1e-6)
				}
			})
		}
	})
}

// TestPool2DFastPaths compares each fast path with the general loop on the
// same pool, down to the bit for the maximum.
func TestPool2DFastPaths(t *testing.T) {
	elemISAs(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		for _, c := range poolCases {
			x := miscRandom(rng, c.x[:]...)
			want := miscOracle(t, c.oracleOp(), x)[0]
			k := c.kernel(want.Shape)
			y1, y2 := miscRandom(rng, want.Shape...), miscRandom(rng, want.Shape...)
			fast, err := k.Bind([]*ir.Tensor{x}, []*ir.Tensor{y1})
			if err != nil {
				t.Fatal(err)
			}
			slow, err := k.Bind([]*ir.Tensor{x}, []*ir.Tensor{y2})
			if err != nil {
				t.Fatal(err)
			}
			slow.(*pool2DTask).fast, slow.(*pool2DTask).plane, slow.(*pool2DTask).planeS2 = poolGeneric, false, false
			miscRun(t, fast, 1, 1)
			miscRun(t, slow, 1, 1)
			for i := range y1.F32 {
				// The means may differ in the last bit: another summation
				// order, a reciprocal for the division.
				if c.max && math.Float32bits(y1.F32[i]) != math.Float32bits(y2.F32[i]) ||
					!miscClose(float64(y1.F32[i]), float64(y2.F32[i]), 1e-6, 1e-6) {
					t.Errorf("%v (fast path %d): element %d = %v, general loop %v", c, fast.(*pool2DTask).fast, i, y1.F32[i], y2.F32[i])
					break
				}
			}
		}
	})
}

func TestGlobalPool(t *testing.T) {
	elemISAs(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		for _, shape := range [][]int{{1, 1, 1, 1}, {2, 3, 7, 7}, {1, 1000, 7, 7}, {1, 3, 301, 299}, {3, 5, 9}} {
			for _, isMax := range []bool{false, true} {
				t.Run(fmt.Sprintf("%v/max=%v", shape, isMax), func(t *testing.T) {
					x := miscRandom(rng, shape...)
					var op ir.Op = &ir.GlobalAveragePool{}
					if isMax {
						op = &ir.GlobalMaxPool{}
						miscSpecials(rng, x.F32[:min(len(x.F32), 30)])
					}
					want := miscOracle(t, op, x)[0]
					size := x.Shape[2:].NumElements()
					k := &GlobalPool{Rows: shape[0] * shape[1], Size: size, Max: isMax}
					for _, w := range miscWorkers {
						y, check := miscGuarded(t, want.Shape...)
						tk, err := k.Bind([]*ir.Tensor{x}, []*ir.Tensor{y})
						if err != nil {
							t.Fatal(err)
						}
						miscRun(t, tk, w, 15)
						check()
						miscCompare(t, y.F32, want.F32, 1e-6, 1e-6)
					}
				})
			}
		}
	})
}

func TestPoolBindErrors(t *testing.T) {
	f := func(shape ...int) *ir.Tensor {
		return ir.FromFloat32(ir.Shape(shape), make([]float32, ir.Shape(shape).NumElements()))
	}
	good := Pool2D{N: 1, C: 2, H: 6, W: 6, OH: 3, OW: 3, KH: 3, KW: 3, SH: 2, SW: 2, DH: 1, DW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Max: true}
	mod := func(f func(k *Pool2D)) *Pool2D {
		k := good
		f(&k)
		return &k
	}
	x, y := f(1, 2, 6, 6), f(1, 2, 3, 3)
	big := f(1, 2, 6, 6)
	tests := []struct {
		name    string
		k       Kernel
		in, out []*ir.Tensor
		want    string
	}{
		{"arity", &good, []*ir.Tensor{x, x}, []*ir.Tensor{y}, "got 2 inputs and 1 outputs, want 1 and 1"},
		{"stride 0", mod(func(k *Pool2D) { k.SH = 0 }), []*ir.Tensor{x}, []*ir.Tensor{y}, "SH is 0, want 1 to"},
		{"kernel 0", mod(func(k *Pool2D) { k.KW = 0 }), []*ir.Tensor{x}, []*ir.Tensor{y}, "KW is 0, want 1 to"},
		{"dilation 0", mod(func(k *Pool2D) { k.DW = 0 }), []*ir.Tensor{x}, []*ir.Tensor{y}, "DW is 0"},
		{"negative pad", mod(func(k *Pool2D) { k.PadR = -1 }), []*ir.Tensor{x}, []*ir.Tensor{y}, "PadR is -1"},
		{"huge", mod(func(k *Pool2D) { k.H = ir.MaxElements + 1 }), []*ir.Tensor{x}, []*ir.Tensor{y}, "H is 268435457"},
		{"OH", mod(func(k *Pool2D) { k.OH = 5 }), []*ir.Tensor{x}, []*ir.Tensor{y}, "OH is 5, want 3 (or 4 in ceil mode) for H 6, kernel 3, stride 2, dilation 1 and pads 1+1"},
		{"OW", mod(func(k *Pool2D) { k.OW = 2 }), []*ir.Tensor{x}, []*ir.Tensor{y}, "OW is 2, want 3"},
		{"X len", &good, []*ir.Tensor{f(1, 2, 6, 5)}, []*ir.Tensor{y}, "input 0 (X) has 60 elements, want 72"},
		{"Y len", &good, []*ir.Tensor{x}, []*ir.Tensor{f(1, 2, 3, 4)}, "output 0 (Y) has 24 elements, want 18"},
		{"overflow", mod(func(k *Pool2D) {
			k.N, k.C, k.H, k.W = 1<<15, 1<<14, 1, 1
			k.OH, k.OW = 1, 1
			k.KH, k.KW, k.PadT, k.PadL, k.PadB, k.PadR = 1, 1, 0, 0, 0, 0
		}),
			[]*ir.Tensor{x}, []*ir.Tensor{y}, "exceeds"},
		{"avg dilation", mod(func(k *Pool2D) { k.Max = false; k.DH = 2; k.OH = 2 }), []*ir.Tensor{x}, []*ir.Tensor{y}, "average pool has dilations 2×1, want 1×1"},
		{"max count pad", mod(func(k *Pool2D) { k.CountIncludePad = true }), []*ir.Tensor{x}, []*ir.Tensor{y}, "CountIncludePad is set for a max pool"},
		{"alias", &good, []*ir.Tensor{big}, []*ir.Tensor{ir.FromFloat32(ir.Shape{1, 2, 3, 3}, big.F32[:18])}, "overlaps X"},
		{"dtype", &good, []*ir.Tensor{{DType: ir.Int64, Shape: ir.Shape{1, 2, 6, 6}, I64: make([]int64, 72)}}, []*ir.Tensor{y}, "element type i64, want f32"},
		{"global size 0", &GlobalPool{Rows: 2, Size: 0}, []*ir.Tensor{f(0)}, []*ir.Tensor{f(2)}, "Size is 0, want 1 to"},
		{"global X", &GlobalPool{Rows: 2, Size: 3}, []*ir.Tensor{f(5)}, []*ir.Tensor{f(2)}, "input 0 (X) has 5 elements, want 6"},
		{"global Y", &GlobalPool{Rows: 2, Size: 3}, []*ir.Tensor{f(6)}, []*ir.Tensor{f(3)}, "output 0 (Y) has 3 elements, want 2"},
		{"global overflow", &GlobalPool{Rows: 1 << 20, Size: 1 << 20}, []*ir.Tensor{f(6)}, []*ir.Tensor{f(3)}, "exceeds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.k.Bind(tc.in, tc.out)
			miscWantErr(t, err, tc.want)
		})
	}
}

// poolPlain is Pool2D's definition as the obvious loop over every output
// and kernel position.
func poolPlain(k *Pool2D, x []float32) []float32 {
	y := make([]float32, k.N*k.C*k.OH*k.OW)
	for p := range k.N * k.C {
		for oh := range k.OH {
			for ow := range k.OW {
				m, sum, count := math.Inf(-1), 0.0, 0
				for kh := range k.KH {
					for kw := range k.KW {
						ih, iw := oh*k.SH-k.PadT+kh*k.DH, ow*k.SW-k.PadL+kw*k.DW
						if ih >= 0 && ih < k.H && iw >= 0 && iw < k.W {
							v := float64(x[(p*k.H+ih)*k.W+iw])
							if v > m || math.IsNaN(v) {
								m = v
							}
							sum += v
							count++
						} else if k.CountIncludePad && ih < k.H+k.PadB && iw < k.W+k.PadR {
							count++
						}
					}
				}
				r := m
				if !k.Max {
					r = 0
					if count > 0 {
						r = sum / float64(count)
					}
				}
				y[(p*k.OH+oh)*k.OW+ow] = float32(r)
			}
		}
	}
	return y
}

// FuzzPool2DBind checks that no field values make Bind or Run panic or
// write outside the output, and that whatever Bind accepts Run computes
// as the plain loop does. With derive set, OH and OW are made consistent
// (floor or, with dy odd, ceil mode) so that odd geometries reach Run.
func FuzzPool2DBind(f *testing.F) {
	f.Add(1, 2, 6, 6, 3, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true, false, false, 0, 0)
	f.Add(1, 1, 5, 4, 5, 2, 7, 6, 1, 2, 1, 1, 3, 3, 3, 3, false, true, false, 0, 0)
	f.Add(2, 3, 9, 10, 4, 9, 3, 3, 2, 1, 2, 1, 0, 1, 2, 0, true, false, false, 1, -1)
	f.Add(1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, false, false, false, 0, 0)
	f.Add(1, 1, 3, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, false, true, false, 0, 0)
	f.Add(-1, 1, 1<<30, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, false, true, false, 0, 0)
	f.Add(1, 2, 11, 13, 0, 0, 3, 2, 2, 3, 2, 3, 2, 1, 0, 3, true, false, true, 0, 1)
	f.Add(2, 1, 7, 5, 0, 0, 4, 4, 3, 2, 1, 1, 2, 3, 1, 0, false, true, true, 0, 1)
	f.Fuzz(func(t *testing.T, n, c, h, w, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr int, isMax, ip, derive bool, dx, dy int) {
		if derive {
			oh = ir.PoolOutputSize(h, kh, sh, dh, pt, pb, dy%2 != 0)
			ow = ir.PoolOutputSize(w, kw, sw, dw, pl, pr, dy%2 != 0)
			dy = 0
		}
		k := &Pool2D{N: n, C: c, H: h, W: w, OH: oh, OW: ow, KH: kh, KW: kw, SH: sh, SW: sw, DH: dh, DW: dw,
			PadT: pt, PadL: pl, PadB: pb, PadR: pr, Max: isMax, CountIncludePad: ip}
		// Operands of the lengths k implies (off by dx, dy), when small.
		const limit = 1 << 16
		size := func(delta int, dims ...int) int {
			p, ok := miscProduct(dims...)
			if !ok || p > limit {
				return 3
			}
			return max(0, min(limit, p+delta%3))
		}
		nx, ny := size(dx, n, c, h, w), size(dy, n, c, oh, ow)
		x := ir.FromFloat32(ir.Shape{nx}, make([]float32, nx))
		y, check := miscGuarded(t, ny)
		for i := range x.F32 {
			x.F32[i] = float32(i%7) - 3
		}
		tk, err := k.Bind([]*ir.Tensor{x}, []*ir.Tensor{y})
		if err != nil {
			if _, ok := err.(*ir.Error); !ok {
				t.Fatalf("error %v is a %T, want *ir.Error", err, err)
			}
			return
		}
		// Bound the work: each output reads at most min(KH,H)*min(KW,W)
		// elements.
		if float64(ny)*float64(min(kh, h))*float64(min(kw, w)) > 1<<22 {
			return
		}
		miscRun(t, tk, 1, 1)
		tk.Run(-1, nil)
		tk.Run(tk.Tasks(), nil)
		check()
		if float64(ny)*float64(kh)*float64(kw) <= 1<<22 {
			miscCompare(t, y.F32, poolPlain(k, x.F32), 1e-6, 1e-6)
		}
	})
}

func BenchmarkPool2D(b *testing.B) {
	cases := []struct {
		name string
		k    Pool2D
	}{
		{"max64x112x112k3s2", Pool2D{N: 1, C: 64, H: 112, W: 112, OH: 56, OW: 56, KH: 3, KW: 3, SH: 2, SW: 2, DH: 1, DW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Max: true}},
		{"max64x112x112k2s2", Pool2D{N: 1, C: 64, H: 112, W: 112, OH: 56, OW: 56, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1, Max: true}},
		{"avg64x112x112k3s2", Pool2D{N: 1, C: 64, H: 112, W: 112, OH: 56, OW: 56, KH: 3, KW: 3, SH: 2, SW: 2, DH: 1, DW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
		// AlexNet's first pool, GoogLeNet's inception branch, VGG's
		// first and last pools, DenseNet's transitions.
		{"max64x55x55k3s2", Pool2D{N: 1, C: 64, H: 55, W: 55, OH: 27, OW: 27, KH: 3, KW: 3, SH: 2, SW: 2, DH: 1, DW: 1, Max: true}},
		{"max192x28x28k3s1", Pool2D{N: 1, C: 192, H: 28, W: 28, OH: 28, OW: 28, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Max: true}},
		{"max832x7x7k3s1", Pool2D{N: 1, C: 832, H: 7, W: 7, OH: 7, OW: 7, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Max: true}},
		{"max64x224x224k2s2", Pool2D{N: 1, C: 64, H: 224, W: 224, OH: 112, OW: 112, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1, Max: true}},
		{"max512x14x14k2s2", Pool2D{N: 1, C: 512, H: 14, W: 14, OH: 7, OW: 7, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1, Max: true}},
		{"avg128x56x56k2s2", Pool2D{N: 1, C: 128, H: 56, W: 56, OH: 28, OW: 28, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1}},
		{"avg512x14x14k2s2", Pool2D{N: 1, C: 512, H: 14, W: 14, OH: 7, OW: 7, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			k := c.k
			x := miscRandom(rng, k.N, k.C, k.H, k.W)
			y := miscRandom(rng, k.N, k.C, k.OH, k.OW)
			tk, err := k.Bind([]*ir.Tensor{x}, []*ir.Tensor{y})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(4 * len(x.F32)))
			elemBench(b, tk)
		})
	}
}

// poolRowFunc is one of the interior-row pooling kernels, with its
// reference loop: rows input rows of cols(n) columns, n outputs.
type poolRowFunc struct {
	name string
	max  bool
	rows int
	cols func(n int) int
	f    func(rs [][]float32, y []float32) // calls the dispatched kernel
	ref  func(rs [][]float32, j int) float32
}

// poolRowFuncs are the six interior-row kernels.
var poolRowFuncs = []poolRowFunc{
	{"max3x3s2", true, 3, func(n int) int { return 2*n + 1 },
		func(rs [][]float32, y []float32) { poolMax3x3s2(rs[0], rs[1], rs[2], y) },
		func(rs [][]float32, j int) float32 { return poolRefMax(rs, 2*j, 3) }},
	{"avg3x3s2", false, 3, func(n int) int { return 2*n + 1 },
		func(rs [][]float32, y []float32) { poolAvg3x3s2(rs[0], rs[1], rs[2], y) },
		func(rs [][]float32, j int) float32 { return poolRefSum3(rs, 2*j) * (1.0 / 9) }},
	{"max3x3s1", true, 3, func(n int) int { return n + 2 },
		func(rs [][]float32, y []float32) { poolMax3x3s1(rs[0], rs[1], rs[2], y) },
		func(rs [][]float32, j int) float32 { return poolRefMax(rs, j, 3) }},
	{"avg3x3s1", false, 3, func(n int) int { return n + 2 },
		func(rs [][]float32, y []float32) { poolAvg3x3s1(rs[0], rs[1], rs[2], y) },
		func(rs [][]float32, j int) float32 { return poolRefSum3(rs, j) * (1.0 / 9) }},
	{"max2x2s2", true, 2, func(n int) int { return 2 * n },
		func(rs [][]float32, y []float32) { poolMax2x2s2(rs[0], rs[1], y) },
		func(rs [][]float32, j int) float32 { return poolRefMax(rs, 2*j, 2) }},
	{"avg2x2s2", false, 2, func(n int) int { return 2 * n },
		func(rs [][]float32, y []float32) { poolAvg2x2s2(rs[0], rs[1], y) },
		func(rs [][]float32, j int) float32 {
			r0, r1 := rs[0], rs[1]
			return ((r0[2*j] + r0[2*j+1]) + (r1[2*j] + r1[2*j+1])) * 0.25
		}},
}

// poolRefMax returns the maximum of rows rs at columns [i, i+k), NaN if
// one is NaN.
func poolRefMax(rs [][]float32, i, k int) float32 {
	m := float32(math.Inf(-1))
	for _, r := range rs {
		for _, v := range r[i : i+k] {
			if v > m || v != v {
				m = v
			}
			if m != m {
				return m
			}
		}
	}
	return m
}

// poolRefSum3 returns c0 + c1 + c2 with c the column sums of the three
// rows rs from column i, in the generic kernels' order.
func poolRefSum3(rs [][]float32, i int) float32 {
	c := func(i int) float32 { return rs[0][i] + rs[1][i] + rs[2][i] }
	return c(i) + c(i+1) + c(i+2)
}

// TestPoolRowsEdges holds each interior-row pooling kernel, at every
// level, to its reference loop for output counts around the vector edges.
// The input rows are exactly as long as the outputs need and sit between
// guards that would show in an output if read: 1e30 for the maximum (a
// NaN would only send the row to the Go loop), NaN for the mean. The
// maximum is also tried with NaN and infinities in the rows.
func TestPoolRowsEdges(t *testing.T) {
	elemISAs(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(41, 42))
		for _, pf := range poolRowFuncs {
			for _, n := range elemLens {
				for _, specials := range []bool{false, true} {
					if specials && !pf.max {
						continue
					}
					g := float32(math.NaN())
					if pf.max {
						g = 1e30
					}
					rs := make([][]float32, pf.rows)
					for i := range rs {
						rs[i], _ = elemBuf(pf.cols(n), g)
						elemFill(rng, rs[i], false)
						if specials {
							// Few enough that most rows keep none.
							for j := range rs[i] {
								if rng.IntN(40) == 0 {
									rs[i][j] = []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}[rng.IntN(3)]
								}
							}
						}
					}
					want := make([]float32, n)
					for j := range want {
						want[j] = pf.ref(rs, j)
					}
					y, buf := elemBuf(n, math.Float32frombits(miscGuard))
					pf.f(rs, y)
					elemCheckGuards(t, buf, math.Float32frombits(miscGuard))
					elemCompare(t, y, want, 0)
					if t.Failed() {
						t.Fatalf("%s, n %d, specials %v", pf.name, n, specials)
					}
				}
			}
		}
	})
}

// TestPool2DEdges runs the pools of the eight benchmark models (3×3 stride
// 2 with and without padding, 3×3 stride 1 padded, 2×2 stride 2, max and
// average) over widths and heights around the vector edges at every
// level, against the plain loop.
func TestPool2DEdges(t *testing.T) {
	elemISAs(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(43, 44))
		type geom struct{ k, s, p int }
		geoms := []geom{{3, 2, 1}, {3, 2, 0}, {3, 1, 1}, {2, 2, 0}}
		sizes := []int{1, 2, 3, 5, 7, 9, 15, 16, 17, 18, 19, 31, 33, 34, 35, 63, 65, 66, 67, 130, 131, 257, 270}
		for _, gm := range geoms {
			for _, isMax := range []bool{true, false} {
				for i, w := range sizes {
					for _, h := range []int{3, 6, 17} {
						if w < gm.k-2*gm.p || h < gm.k-2*gm.p {
							continue
						}
						ceil := i%2 == 1 // ceil mode: the last windows may overhang
						k := &Pool2D{N: 1, C: 2, H: h, W: w, KH: gm.k, KW: gm.k, SH: gm.s, SW: gm.s, DH: 1, DW: 1,
							PadT: gm.p, PadL: gm.p, PadB: gm.p, PadR: gm.p, Max: isMax}
						k.OH = ir.PoolOutputSize(h, gm.k, gm.s, 1, gm.p, gm.p, ceil)
						k.OW = ir.PoolOutputSize(w, gm.k, gm.s, 1, gm.p, gm.p, ceil)
						// A ceil-mode output's window overhangs by at most its pad.
						k.PadB = max(k.PadB, (k.OH-1)*gm.s+gm.k-h-gm.p)
						k.PadR = max(k.PadR, (k.OW-1)*gm.s+gm.k-w-gm.p)
						x := miscRandom(rng, 1, 2, h, w)
						y, check := miscGuarded(t, 1, 2, k.OH, k.OW)
						tk, err := k.Bind([]*ir.Tensor{x}, []*ir.Tensor{y})
						if err != nil {
							t.Fatal(err)
						}
						pt := tk.(*pool2DTask)
						if isMax && gm.k == 3 && (gm.s == 2) != pt.planeS2 || isMax && gm.k == 3 && gm.s == 1 && gm.p == 1 && !pt.plane {
							t.Fatalf("%+v: plane kernels %v, %v", *k, pt.plane, pt.planeS2)
						}
						miscRun(t, tk, 1, 3)
						check()
						miscCompare(t, y.F32, poolPlain(k, x.F32), 1e-6, 1e-6)
						if t.Failed() {
							t.Fatalf("%+v", *k)
						}
					}
				}
			}
		}
	})
}

// TestPoolRowReduceEdges holds poolRowMax and poolRowSum at every level to
// their definitions, at lengths around the vector and block edges (the
// sum goes by blocks of 256).
func TestPoolRowReduceEdges(t *testing.T) {
	elemISAs(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(45, 46))
		lens := append(elemLens, 127, 128, 129, 255, 256, 257, 511, 513, 1000)
		for _, n := range lens {
			for _, variant := range []string{"plain", "negative", "nan", "-inf"} {
				x, _ := elemBuf(n, 1e30) // a guard read would win the maximum
				elemFill(rng, x, false)
				switch variant {
				case "negative":
					for i := range x {
						x[i] = -abs32(x[i]) - 1
					}
				case "nan":
					if n > 0 {
						x[rng.IntN(n)] = float32(math.NaN())
					}
				case "-inf":
					for i := range x {
						x[i] = float32(math.Inf(-1))
					}
				}
				wantMax := float32(math.Inf(-1))
				var wantSum float64
				for _, v := range x {
					if v > wantMax || v != v {
						wantMax = v
					}
					wantSum += float64(v)
				}
				if got := poolRowMax(x); !elemSame(got, wantMax, 0) {
					t.Errorf("n %d, %s: poolRowMax = %v, want %v", n, variant, got, wantMax)
				}
				if variant == "nan" || variant == "-inf" {
					continue
				}
				if got := poolRowSum(x); !miscClose(got, wantSum, 1e-5, 1e-6) {
					t.Errorf("n %d, %s: poolRowSum = %v, want %v", n, variant, got, wantSum)
				}
			}
		}
	})
}

// BenchmarkGlobalPool runs the global average and maximum of ResNet-50's
// last feature map, 2048×7×7.
func BenchmarkGlobalPool(b *testing.B) {
	for _, isMax := range []bool{false, true} {
		b.Run(fmt.Sprintf("2048x7x7/max=%v", isMax), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			x := miscRandom(rng, 2048, 49)
			tk, err := (&GlobalPool{Rows: 2048, Size: 49, Max: isMax}).Bind([]*ir.Tensor{x}, []*ir.Tensor{miscRandom(rng, 2048)})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(4 * len(x.F32)))
			elemBench(b, tk)
		})
	}
}

// TestElemNoAllocs checks that Run of the element-wise, pooling and
// softmax kernels allocates nothing, at every level.
func TestElemNoAllocs(t *testing.T) {
	elemISAs(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(47, 48))
		x, y := miscRandom(rng, 2, 3, 9, 9), miscRandom(rng, 2, 3, 9, 9)
		c3 := miscRandom(rng, 3)
		relu := ir.Activation{Kind: ir.ActRelu}
		pool := func(kk, s, p int, isMax bool) *Pool2D {
			o := ir.PoolOutputSize(9, kk, s, 1, p, p, false)
			return &Pool2D{N: 2, C: 3, H: 9, W: 9, OH: o, OW: o, KH: kk, KW: kk, SH: s, SW: s, DH: 1, DW: 1,
				PadT: p, PadL: p, PadB: p, PadR: p, Max: isMax}
		}
		cases := []struct {
			k       Kernel
			in, out []*ir.Tensor
		}{
			{&Affine{N: 2, C: 3, Inner: 81, Act: relu}, []*ir.Tensor{x, c3, c3}, []*ir.Tensor{y}},
			{&Binary{Op: BinAdd, Len: 486, Act: relu}, []*ir.Tensor{x, x}, []*ir.Tensor{y}},
			{&Unary{Op: UnRelu, Len: 486}, []*ir.Tensor{x}, []*ir.Tensor{y}},
			{&Unary{Op: UnSigmoid, Len: 486}, []*ir.Tensor{x}, []*ir.Tensor{y}},
			{&Unary{Op: UnTanh, Len: 486}, []*ir.Tensor{x}, []*ir.Tensor{y}},
			{&Unary{Op: UnExp, Len: 486}, []*ir.Tensor{x}, []*ir.Tensor{y}},
			{&Softmax{Outer: 6, N: 81}, []*ir.Tensor{x}, []*ir.Tensor{y}},
			{&Softmax{Outer: 6, N: 81, Log: true}, []*ir.Tensor{x}, []*ir.Tensor{y}},
			{&GlobalPool{Rows: 6, Size: 81, Max: true}, []*ir.Tensor{x}, []*ir.Tensor{miscRandom(rng, 6)}},
			{&GlobalPool{Rows: 6, Size: 81}, []*ir.Tensor{x}, []*ir.Tensor{miscRandom(rng, 6)}},
		}
		for _, p := range []*Pool2D{pool(3, 2, 1, true), pool(3, 1, 1, true), pool(2, 2, 0, true), pool(2, 2, 0, false), pool(3, 2, 0, false)} {
			cases = append(cases, struct {
				k       Kernel
				in, out []*ir.Tensor
			}{p, []*ir.Tensor{x}, []*ir.Tensor{miscRandom(rng, 2, 3, p.OH, p.OW)}})
		}
		for _, c := range cases {
			tk, err := c.k.Bind(c.in, c.out)
			if err != nil {
				t.Fatal(err)
			}
			scratch := make([]float32, tk.Scratch())
			allocs := testing.AllocsPerRun(5, func() {
				for i := range tk.Tasks() {
					tk.Run(i, scratch)
				}
			})
			if allocs != 0 {
				t.Errorf("%s %+v: Run allocates %v times, want 0", c.k.Name(), c.k, allocs)
			}
		}
	})
}
