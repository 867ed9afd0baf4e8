package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"strings"
	"sync"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/reference"
)

// convCase is one convolution geometry for the tests; OH and OW follow
// from PadB and PadR.
type convCase struct {
	n, c, h, w, m, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, g int
}

func (cc convCase) String() string {
	return fmt.Sprintf("n%d c%d %dx%d m%d k%dx%d s%dx%d d%dx%d p%d,%d,%d,%d g%d",
		cc.n, cc.c, cc.h, cc.w, cc.m, cc.kh, cc.kw, cc.sh, cc.sw, cc.dh, cc.dw, cc.pt, cc.pl, cc.pb, cc.pr, cc.g)
}

func (cc convCase) kernel(algo ir.ConvAlgo, act ir.Activation) *Conv2D {
	return &Conv2D{
		N: cc.n, C: cc.c, H: cc.h, W: cc.w, M: cc.m,
		OH: ir.ConvOutputSize(cc.h, cc.kh, cc.sh, cc.dh, cc.pt, cc.pb),
		OW: ir.ConvOutputSize(cc.w, cc.kw, cc.sw, cc.dw, cc.pl, cc.pr),
		KH: cc.kh, KW: cc.kw, SH: cc.sh, SW: cc.sw, DH: cc.dh, DW: cc.dw,
		PadT: cc.pt, PadL: cc.pl, Group: cc.g, Algo: algo, Act: act,
	}
}

// convWant is the spec's formula in float64: Act(B + Z + sum of X·W),
// with the scale (sum of magnitudes) of each output for the tolerance.
func convWant(k *Conv2D, x, w, b, z []float32) (want, scale []float64) {
	cg, mg := k.C/k.Group, k.M/k.Group
	want = make([]float64, k.N*k.M*k.OH*k.OW)
	scale = make([]float64, len(want))
	for n := 0; n < k.N; n++ {
		for m := 0; m < k.M; m++ {
			g := m / mg
			for oh := 0; oh < k.OH; oh++ {
				for ow := 0; ow < k.OW; ow++ {
					i := ((n*k.M+m)*k.OH+oh)*k.OW + ow
					var s, sc float64
					if b != nil {
						s, sc = float64(b[m]), math.Abs(float64(b[m]))
					}
					if z != nil {
						s += float64(z[i])
						sc += math.Abs(float64(z[i]))
					}
					for c := 0; c < cg; c++ {
						for kh := 0; kh < k.KH; kh++ {
							ih := oh*k.SH - k.PadT + kh*k.DH
							if ih < 0 || ih >= k.H {
								continue
							}
							for kw := 0; kw < k.KW; kw++ {
								iw := ow*k.SW - k.PadL + kw*k.DW
								if iw < 0 || iw >= k.W {
									continue
								}
								v := float64(x[((n*k.C+g*cg+c)*k.H+ih)*k.W+iw]) * float64(w[((m*cg+c)*k.KH+kh)*k.KW+kw])
								s += v
								sc += math.Abs(v)
							}
						}
					}
					want[i] = gemmRefAct(k.Act, s)
					scale[i] = sc
				}
			}
		}
	}
	return want, scale
}

// runTask runs every piece of task once, in a shuffled order, across two
// goroutines with their own scratch (so that -race sees them): a Staged
// task's first stage, then the rest.
func runTask(task Task, r *rand.Rand) {
	first := 0
	if st, ok := task.(Staged); ok {
		first = st.Stage()
	}
	for _, stage := range [][2]int{{0, first}, {first, task.Tasks()}} {
		order := r.Perm(stage[1] - stage[0])
		var wg sync.WaitGroup
		for w := 0; w < 2; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				scratch := make([]float32, task.Scratch())
				for i := w; i < len(order); i += 2 {
					task.Run(stage[0]+order[i], scratch)
				}
			}(w)
		}
		wg.Wait()
	}
}

// convRun packs w, binds k with guarded output and runs it.
func convRun(t *testing.T, k *Conv2D, x, w, b, z []float32, r *rand.Rand) []float32 {
	t.Helper()
	pw, err := PackConvWeights(k, w)
	if err != nil {
		t.Fatalf("%+v: PackConvWeights: %v", *k, err)
	}
	if len(pw) != PackedConvLen(k) {
		t.Fatalf("%+v: packed %d weights, PackedConvLen says %d", *k, len(pw), PackedConvLen(k))
	}
	outLen := k.N * k.M * k.OH * k.OW
	y, full := gemmGuarded(outLen)
	in := []*ir.Tensor{f32(x), f32(pw), nil, nil}
	if b != nil {
		in[2] = f32(b)
	}
	if z != nil {
		in[3] = f32(z)
	}
	task, err := k.Bind(in, []*ir.Tensor{f32(y)})
	if err != nil {
		t.Fatalf("%+v: Bind: %v", *k, err)
	}
	if task.Tasks() < 1 {
		t.Fatalf("%+v: %d tasks", *k, task.Tasks())
	}
	runTask(task, r)
	gemmCheckGuards(t, fmt.Sprintf("%+v", *k), full, outLen)
	return y
}

// f32 wraps data as a 1-D float32 tensor (kernels read only lengths).
func f32(data []float32) *ir.Tensor {
	return &ir.Tensor{DType: ir.Float32, Shape: ir.Shape{len(data)}, F32: data}
}

// convCheckCase runs cc with algo, bias and residual as given and act, and
// compares with convWant.
func convCheckCase(t *testing.T, r *rand.Rand, cc convCase, algo ir.ConvAlgo, withB, withZ bool, act ir.Activation) {
	t.Helper()
	k := cc.kernel(algo, act)
	x := gemmRandSlice(r, k.N*k.C*k.H*k.W)
	w := gemmRandSlice(r, k.M*(k.C/k.Group)*k.KH*k.KW)
	var b, z []float32
	if withB {
		b = gemmRandSlice(r, k.M)
	}
	if withZ {
		z = gemmRandSlice(r, k.N*k.M*k.OH*k.OW)
	}
	y := convRun(t, k, x, w, b, z, r)
	want, scale := convWant(k, x, w, b, z)
	for i := range want {
		if !gemmClose(y[i], want[i], scale[i]) {
			t.Fatalf("%v %v b=%v z=%v act=%v: Y[%d] = %v, want %v", cc, algo, withB, withZ, act.Kind, i, y[i], want[i])
		}
	}
}

var (
	actRelu = ir.Activation{Kind: ir.ActRelu}
	actClip = ir.Activation{Kind: ir.ActClip, Min: -0.3, Max: 0.4}
	acts    = []ir.Activation{{}, actRelu, actClip}
)

func TestConvAlgos(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	cases := []convCase{
		// name: n c h w m kh kw sh sw dh dw pt pl pb pr g
		{1, 3, 9, 11, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{2, 4, 8, 7, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2},
		{1, 3, 17, 15, 8, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1}, // stem-like
		{1, 6, 10, 10, 9, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 3}, // dilated, grouped
		{1, 2, 6, 9, 4, 2, 3, 3, 1, 1, 2, 0, 1, 1, 0, 1},   // asymmetric
		{2, 8, 5, 5, 8, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},   // 1x1
		{1, 8, 7, 6, 16, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 4},  // 1x1 grouped
		{1, 4, 7, 7, 4, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1},   // 1x1 strided
		{1, 2, 4, 4, 3, 5, 5, 1, 1, 1, 1, 4, 4, 4, 4, 1},   // windows wholly in padding
		{1, 5, 33, 20, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, // crosses a column block
		{1, 40, 6, 6, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},  // K = 360 crosses a K-block
	}
	forEachISA(t, func(t *testing.T) {
		for ci, cc := range cases {
			for _, algo := range []ir.ConvAlgo{ir.AlgoDirect, ir.AlgoIm2col, ir.AlgoGEMM1x1, ir.AlgoWinograd2, ir.AlgoWinograd4, ir.AlgoOCBlock} {
				k := cc.kernel(algo, ir.Activation{})
				if convCheck(k) != nil || PackedConvLen(k) == 0 {
					continue // gemm1x1 needs a 1x1 kernel, Winograd 3x3 stride 1
				}
				for v := 0; v < 4; v++ {
					convCheckCase(t, r, cc, algo, v&1 != 0, v&2 != 0, acts[(ci+v)%len(acts)])
				}
			}
		}
	})
}

func TestConvDepthwise(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	cases := []convCase{
		{1, 4, 9, 10, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4},
		{2, 3, 9, 10, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 3},
		{1, 3, 8, 8, 3, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 3},
		{1, 2, 2, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2}, // smaller than the kernel
		{1, 2, 7, 7, 2, 3, 3, 1, 1, 1, 1, 3, 3, 3, 3, 2}, // taps wholly outside
		{1, 3, 11, 9, 3, 5, 5, 1, 2, 1, 1, 2, 2, 2, 2, 3},
		{1, 2, 9, 9, 2, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 2}, // dilated: the general path
		{1, 2, 12, 12, 2, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 2},
	}
	forEachISA(t, func(t *testing.T) {
		for ci, cc := range cases {
			for v := 0; v < 4; v++ {
				convCheckCase(t, r, cc, ir.AlgoDepthwise, v&1 != 0, v&2 != 0, acts[(ci+v)%len(acts)])
			}
		}
	})
}

// TestConvRandom checks random geometries on every algorithm that takes
// them.
func TestConvRandom(t *testing.T) {
	iters := 300
	if testing.Short() {
		iters = 60
	}
	forEachISA(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(5))
		for it := 0; it < iters; it++ {
			g := 1 + r.Intn(3)
			cc := convCase{
				n: 1 + r.Intn(2), c: g * (1 + r.Intn(5)), h: 1 + r.Intn(12), w: 1 + r.Intn(12), m: g * (1 + r.Intn(9)),
				kh: 1 + r.Intn(4), kw: 1 + r.Intn(4), sh: 1 + r.Intn(3), sw: 1 + r.Intn(3), dh: 1 + r.Intn(2), dw: 1 + r.Intn(2),
				pt: r.Intn(3), pl: r.Intn(3), pb: r.Intn(3), pr: r.Intn(3), g: g,
			}
			if cc.kernel(ir.AlgoDirect, ir.Activation{}).OH < 1 || cc.kernel(ir.AlgoDirect, ir.Activation{}).OW < 1 {
				continue
			}
			algos := []ir.ConvAlgo{ir.AlgoDirect, ir.AlgoIm2col, ir.AlgoOCBlock}
			if r.Intn(3) == 0 {
				cc.kh, cc.kw, cc.sh, cc.sw, cc.pt, cc.pl, cc.pb, cc.pr = 1, 1, 1, 1, 0, 0, 0, 0
				algos = append(algos, ir.AlgoGEMM1x1)
			}
			if r.Intn(3) == 0 {
				cc.g, cc.m = cc.c, cc.c
				algos = []ir.ConvAlgo{ir.AlgoDepthwise, ir.AlgoDirect, ir.AlgoIm2col, ir.AlgoOCBlock}
			}
			for _, algo := range algos {
				convCheckCase(t, r, cc, algo, r.Intn(2) == 0, r.Intn(2) == 0, acts[r.Intn(len(acts))])
			}
		}
	})
}

// TestConvMatchesReference runs a few fused convolutions through the
// reference interpreter's FusedConv kernel.
func TestConvMatchesReference(t *testing.T) {
	forEachISA(t, func(t *testing.T) { convMatchesReference(t, rand.New(rand.NewSource(6))) })
}

func convMatchesReference(t *testing.T, r *rand.Rand) {
	for _, tc := range []struct {
		cc   convCase
		algo ir.ConvAlgo
	}{
		{convCase{1, 8, 12, 12, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, ir.AlgoIm2col},
		{convCase{1, 8, 12, 12, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2}, ir.AlgoIm2col},
		{convCase{2, 16, 5, 5, 8, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1}, ir.AlgoGEMM1x1},
		{convCase{1, 6, 9, 9, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 6}, ir.AlgoDepthwise},
		{convCase{1, 4, 9, 7, 6, 3, 2, 2, 1, 2, 1, 2, 0, 1, 1, 2}, ir.AlgoDirect},
	} {
		k := tc.cc.kernel(tc.algo, actRelu)
		x := gemmRandSlice(r, k.N*k.C*k.H*k.W)
		w := gemmRandSlice(r, k.M*(k.C/k.Group)*k.KH*k.KW)
		b := gemmRandSlice(r, k.M)
		z := gemmRandSlice(r, k.N*k.M*k.OH*k.OW)
		y := convRun(t, k, x, w, b, z, r)

		op := &ir.FusedConv{Act: k.Act, Algo: k.Algo, Conv: ir.Conv{
			Strides: []int{k.SH, k.SW}, Dilations: []int{k.DH, k.DW},
			Pads: []int{k.PadT, k.PadL, tc.cc.pb, tc.cc.pr}, Group: k.Group,
		}}
		ref := &ir.Tensor{DType: ir.Float32, Shape: ir.Shape{k.N, k.M, k.OH, k.OW}, F32: make([]float32, len(y))}
		in := []*ir.Tensor{
			ir.FromFloat32(ir.Shape{k.N, k.C, k.H, k.W}, x),
			ir.FromFloat32(ir.Shape{k.M, k.C / k.Group, k.KH, k.KW}, w),
			ir.FromFloat32(ir.Shape{k.M}, b),
			ir.FromFloat32(ir.Shape{k.N, k.M, k.OH, k.OW}, z),
		}
		if err := reference.Kernel(op)(op, in, []*ir.Tensor{ref}); err != nil {
			t.Fatalf("%v: reference: %v", tc.cc, err)
		}
		for i := range y {
			if math.Abs(float64(y[i]-ref.F32[i])) > 1e-4 {
				t.Fatalf("%v %v: Y[%d] = %v, reference %v", tc.cc, tc.algo, i, y[i], ref.F32[i])
			}
		}
	}
}

func TestConvBindErrors(t *testing.T) {
	good := convCase{1, 4, 6, 6, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2}.kernel(ir.AlgoIm2col, actRelu)
	xLen, yLen := 1*4*6*6, 1*8*6*6
	ok := func() []*ir.Tensor {
		return []*ir.Tensor{f32(make([]float32, xLen)), f32(make([]float32, PackedConvLen(good))), f32(make([]float32, 8)), f32(make([]float32, yLen))}
	}
	y := []*ir.Tensor{f32(make([]float32, yLen))}
	if _, err := good.Bind(ok(), y); err != nil {
		t.Fatalf("good kernel: %v", err)
	}
	edit := func(f func(k *Conv2D)) *Conv2D { k := *good; f(&k); return &k }
	for _, tc := range []struct {
		name    string
		k       *Conv2D
		in, out []*ir.Tensor
		want    string
	}{
		{"zero N", edit(func(k *Conv2D) { k.N = 0 }), nil, nil, "N = 0"},
		{"negative pad", edit(func(k *Conv2D) { k.PadT = -1 }), nil, nil, "pads"},
		{"huge H", edit(func(k *Conv2D) { k.H = ir.MaxElements + 1 }), nil, nil, "H = "},
		{"product overflow", edit(func(k *Conv2D) { k.C, k.H, k.W = 1<<10, 1<<10, 1<<10 }), nil, nil, "more than"},
		{"group", edit(func(k *Conv2D) { k.Group = 3 }), nil, nil, "group 3"},
		{"OH", edit(func(k *Conv2D) { k.OH = 4 }), nil, nil, "output height 4"},
		{"OW", edit(func(k *Conv2D) { k.OW = 2 }), nil, nil, "output width 2"},
		{"act", edit(func(k *Conv2D) { k.Act = ir.Activation{Kind: ir.ActClip, Min: 1, Max: 0} }), nil, nil, "clip"},
		{"auto", edit(func(k *Conv2D) { k.Algo = ir.AlgoAuto }), nil, nil, "algorithm auto"},
		{"bad algo", edit(func(k *Conv2D) { k.Algo = 99 }), nil, nil, "algorithm"},
		{"gemm1x1 3x3", edit(func(k *Conv2D) { k.Algo = ir.AlgoGEMM1x1 }), nil, nil, "gemm1x1 needs"},
		{"depthwise", edit(func(k *Conv2D) { k.Algo = ir.AlgoDepthwise }), nil, nil, "depthwise needs"},
		{"winograd grouped", edit(func(k *Conv2D) { k.Algo = ir.AlgoWinograd4 }), nil, nil, "group"},
		{"X length", good, []*ir.Tensor{f32(make([]float32, xLen-1)), ok()[1]}, y, "X has 143"},
		{"W length", good, []*ir.Tensor{ok()[0], f32(make([]float32, 5))}, y, "packed W has 5"},
		{"B length", good, []*ir.Tensor{ok()[0], ok()[1], f32(make([]float32, 7))}, y, "B has 7"},
		{"Z length", good, []*ir.Tensor{ok()[0], ok()[1], nil, f32(make([]float32, 3))}, y, "Z has 3"},
		{"Y length", good, ok(), []*ir.Tensor{f32(make([]float32, 3))}, "Y has 3"},
		{"no Y", good, ok(), nil, "outputs"},
		{"missing X", good, []*ir.Tensor{nil, ok()[1]}, y, "X is missing"},
		{"int X", good, []*ir.Tensor{{DType: ir.Int64, I64: make([]int64, xLen)}, ok()[1]}, y, "type"},
		{"too many inputs", good, append(ok(), nil), y, "inputs"},
	} {
		in, out := tc.in, tc.out
		if in == nil {
			in, out = ok(), y
		}
		_, err := tc.k.Bind(in, out)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Bind error %v, want one containing %q", tc.name, err, tc.want)
		}
		if tc.in == nil {
			if _, err := PackConvWeights(tc.k, make([]float32, 8*2*9)); err == nil {
				t.Errorf("%s: PackConvWeights accepted the kernel", tc.name)
			}
			if n := PackedConvLen(tc.k); n != 0 {
				t.Errorf("%s: PackedConvLen = %d, want 0", tc.name, n)
			}
		}
	}
	if _, err := PackConvWeights(good, make([]float32, 5)); err == nil || !strings.Contains(err.Error(), "weights have 5") {
		t.Errorf("short weights: %v", err)
	}
}

// FuzzConv2DBind binds random field values to operands of the lengths the
// fields imply (or random ones) and runs the task when it binds: nothing
// may panic.
func FuzzConv2DBind(f *testing.F) {
	f.Add(uint64(1), uint8(3))
	f.Add(uint64(99), uint8(2))
	f.Fuzz(func(t *testing.T, seed uint64, algo uint8) {
		r := rand.New(rand.NewSource(int64(seed)))
		field := func() int {
			switch r.Intn(8) {
			case 0:
				return r.Intn(3) - 1
			case 1:
				return ir.MaxElements + r.Intn(3) - 1
			case 2:
				return 1 << r.Intn(40)
			}
			return 1 + r.Intn(6)
		}
		k := &Conv2D{
			N: field(), C: field(), H: field(), W: field(), M: field(), OH: field(), OW: field(),
			KH: field(), KW: field(), SH: field(), SW: field(), DH: field(), DW: field(),
			PadT: field() - 1, PadL: field() - 1, Group: field(), Algo: ir.ConvAlgo(algo % 8),
			Act: ir.Activation{Kind: ir.ActKind(r.Intn(4))},
		}
		if r.Intn(2) == 0 {
			k.OH = ir.ConvOutputSize(k.H, k.KH, k.SH, k.DH, k.PadT, r.Intn(3))
			k.OW = ir.ConvOutputSize(k.W, k.KW, k.SW, k.DW, k.PadL, r.Intn(3))
		}
		size := func(dims ...int) int {
			n := convProduct(dims...)
			if n < 0 || n > 1<<16 || r.Intn(10) == 0 {
				return r.Intn(50)
			}
			return n
		}
		plen := PackedConvLen(k)
		if plen > 1<<20 {
			plen = r.Intn(50)
		}
		in := []*ir.Tensor{
			f32(make([]float32, size(k.N, k.C, k.H, k.W))),
			f32(make([]float32, plen)),
			f32(make([]float32, size(k.M))),
			f32(make([]float32, size(k.N, k.M, k.OH, k.OW))),
		}
		task, err := k.Bind(in[:2+r.Intn(3)], []*ir.Tensor{f32(make([]float32, size(k.N, k.M, k.OH, k.OW)))})
		if err != nil {
			return
		}
		if task.Tasks() > 1<<12 {
			return
		}
		scratch := make([]float32, task.Scratch())
		for i := 0; i < task.Tasks(); i++ {
			task.Run(i, scratch)
		}
	})
}

// TestConvRunAllocates nothing: Run uses only the worker's scratch.
func TestConvRunAllocatesNothing(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	for _, tc := range []struct {
		cc   convCase
		algo ir.ConvAlgo
	}{
		{convCase{1, 8, 10, 10, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, ir.AlgoIm2col},
		{convCase{1, 8, 10, 10, 16, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2}, ir.AlgoGEMM1x1},
		{convCase{1, 8, 10, 10, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 8}, ir.AlgoDepthwise},
		{convCase{1, 8, 10, 10, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2}, ir.AlgoDirect},
	} {
		k := tc.cc.kernel(tc.algo, actClip)
		pw, err := PackConvWeights(k, gemmRandSlice(r, k.M*(k.C/k.Group)*k.KH*k.KW))
		if err != nil {
			t.Fatal(err)
		}
		in := []*ir.Tensor{f32(gemmRandSlice(r, k.N*k.C*k.H*k.W)), f32(pw), f32(gemmRandSlice(r, k.M)), f32(gemmRandSlice(r, k.N*k.M*k.OH*k.OW))}
		task, err := k.Bind(in, []*ir.Tensor{f32(make([]float32, k.N*k.M*k.OH*k.OW))})
		if err != nil {
			t.Fatal(err)
		}
		scratch := make([]float32, task.Scratch())
		if a := testing.AllocsPerRun(3, func() {
			for i := 0; i < task.Tasks(); i++ {
				task.Run(i, scratch)
			}
		}); a != 0 {
			t.Errorf("%v %v: Run allocates %v times", tc.cc, tc.algo, a)
		}
	}
	for _, m := range []int{1, 5} {
		k := &Gemm{M: m, N: 20, K: 30, Act: actRelu}
		pb, _ := PackGemmB(k, gemmRandSlice(r, 600))
		task, err := k.Bind([]*ir.Tensor{f32(gemmRandSlice(r, m*30)), f32(pb), f32(gemmRandSlice(r, 20))}, []*ir.Tensor{f32(make([]float32, m*20))})
		if err != nil {
			t.Fatal(err)
		}
		scratch := make([]float32, task.Scratch())
		if a := testing.AllocsPerRun(3, func() {
			for i := 0; i < task.Tasks(); i++ {
				task.Run(i, scratch)
			}
		}); a != 0 {
			t.Errorf("gemm M=%d: Run allocates %v times", m, a)
		}
	}
}
