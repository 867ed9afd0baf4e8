package kernels

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/reference"
)

// wgCase is a Winograd convolution test: geometry, and which optional
// operands and activation it has.
type wgCase struct {
	n, c, m, h, w          int
	padT, padL, padB, padR int
	bias, res              bool
	act                    ir.Activation
}

func (tc wgCase) String() string {
	s := fmt.Sprintf("n%d_c%d_m%d_%dx%d_pad%d.%d.%d.%d", tc.n, tc.c, tc.m, tc.h, tc.w, tc.padT, tc.padL, tc.padB, tc.padR)
	if tc.bias {
		s += "_bias"
	}
	if tc.res {
		s += "_res"
	}
	if tc.act.Kind != ir.ActNone {
		s += "_" + tc.act.Kind.String()
	}
	return s
}

// conv returns the Conv2D of tc with algo.
func (tc wgCase) conv(algo ir.ConvAlgo) *Conv2D {
	return &Conv2D{
		N: tc.n, C: tc.c, H: tc.h, W: tc.w,
		M: tc.m, OH: tc.h + tc.padT + tc.padB - 2, OW: tc.w + tc.padL + tc.padR - 2,
		KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1,
		PadT: tc.padT, PadL: tc.padL, Group: 1,
		Algo: algo, Act: tc.act,
	}
}

// wgData holds random operands for a case: X and Z uniform in [-1, 1], W
// uniform in ±1/sqrt(9C) (He-like, so Y is of order 1), B in ±0.1.
type wgData struct {
	x, w, bias, z []float32
}

func wgRandom(tc wgCase, seed uint64) wgData {
	rng := rand.New(rand.NewPCG(seed, 7))
	uni := func(n int, a float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32((2*rng.Float64() - 1) * a)
		}
		return v
	}
	k := tc.conv(ir.AlgoWinograd2)
	d := wgData{
		x: uni(k.N*k.C*k.H*k.W, 1),
		w: uni(k.M*k.C*9, 1/math.Sqrt(float64(9*k.C))),
	}
	if tc.bias {
		d.bias = uni(k.M, 0.1)
	}
	if tc.res {
		d.z = uni(k.N*k.M*k.OH*k.OW, 1)
	}
	return d
}

// wgDirect returns the direct convolution of k, Act(B + Σ X·W + Z),
// computed in float64 (exact) or float32 (single sums, the error a direct
// float32 kernel has).
func wgDirect(k *Conv2D, d wgData, f32 bool) []float64 {
	y := make([]float64, k.N*k.M*k.OH*k.OW)
	for n := 0; n < k.N; n++ {
		for m := 0; m < k.M; m++ {
			for oh := 0; oh < k.OH; oh++ {
				for ow := 0; ow < k.OW; ow++ {
					var s64 float64
					var s32 float32
					for c := 0; c < k.C; c++ {
						for kh := 0; kh < 3; kh++ {
							ih := oh - k.PadT + kh
							if ih < 0 || ih >= k.H {
								continue
							}
							for kw := 0; kw < 3; kw++ {
								iw := ow - k.PadL + kw
								if iw < 0 || iw >= k.W {
									continue
								}
								xv := d.x[((n*k.C+c)*k.H+ih)*k.W+iw]
								wv := d.w[((m*k.C+c)*3+kh)*3+kw]
								s64 += float64(xv) * float64(wv)
								s32 += xv * wv
							}
						}
					}
					i := ((n*k.M+m)*k.OH+oh)*k.OW + ow
					s := s64
					if f32 {
						s = float64(s32)
					}
					if d.bias != nil {
						s += float64(d.bias[m])
					}
					if d.z != nil {
						s += float64(d.z[i])
					}
					if f32 {
						y[i] = float64(k.Act.Apply(float32(s)))
						continue
					}
					switch k.Act.Kind {
					case ir.ActRelu:
						s = math.Max(s, 0)
					case ir.ActClip:
						s = math.Min(math.Max(s, float64(k.Act.Min)), float64(k.Act.Max))
					}
					y[i] = s
				}
			}
		}
	}
	return y
}

// wgRun runs every piece of task on workers goroutines, each with its own
// scratch poisoned with NaN, taking the pieces in a random order: a Staged
// task's first stage, then the rest.
func wgRun(task Task, workers int, rng *rand.Rand) {
	first := 0
	if st, ok := task.(Staged); ok {
		first = st.Stage()
	}
	scratch := make([][]float32, workers)
	for w := range scratch {
		scratch[w] = make([]float32, task.Scratch())
		for i := range scratch[w] {
			scratch[w][i] = float32(math.NaN())
		}
	}
	for _, stage := range [][2]int{{0, first}, {first, task.Tasks()}} {
		order := rng.Perm(stage[1] - stage[0])
		next := make(chan int, len(order))
		for _, t := range order {
			next <- stage[0] + t
		}
		close(next)
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for t := range next {
					task.Run(t, scratch[w])
				}
			}()
		}
		wg.Wait()
	}
}

// wgCompute packs and binds k on d and runs it; y has guard elements after
// the output, which it checks are untouched.
func wgCompute(t *testing.T, k *Conv2D, d wgData, workers int, rng *rand.Rand) []float32 {
	t.Helper()
	pw, err := PackConvWeights(k, d.w)
	if err != nil {
		t.Fatalf("PackConvWeights: %v", err)
	}
	if len(pw) != winogradPackedLen(k) {
		t.Fatalf("PackConvWeights returned %d floats, winogradPackedLen says %d", len(pw), winogradPackedLen(k))
	}
	const guard = 17
	out := k.N * k.M * k.OH * k.OW
	buf := make([]float32, out+guard)
	for i := range buf {
		buf[i] = 12345
	}
	y := buf[:out:out]
	task, err := bindWinograd(k, d.x, pw, d.bias, d.z, y)
	if err != nil {
		t.Fatalf("bindWinograd: %v", err)
	}
	if task.Tasks() < 1 || task.Scratch() < 0 {
		t.Fatalf("Tasks() = %d, Scratch() = %d", task.Tasks(), task.Scratch())
	}
	wgRun(task, workers, rng)
	for i := out; i < len(buf); i++ {
		if buf[i] != 12345 {
			t.Fatalf("guard element Y[%d] overwritten with %v", i, buf[i])
		}
	}
	return y
}

// wgRelErr returns max|got - want| / max|want| (max|got - want| when want
// is all zeros).
func wgRelErr[T float32 | float64](got []T, want []float64) float64 {
	var diff, ref float64
	for i, w := range want {
		diff = math.Max(diff, math.Abs(float64(got[i])-w))
		if math.IsNaN(float64(got[i])) {
			return math.Inf(1)
		}
		ref = math.Max(ref, math.Abs(w))
	}
	if ref == 0 {
		return diff
	}
	return diff / ref
}

var wgAlgos = []ir.ConvAlgo{ir.AlgoWinograd2, ir.AlgoWinograd4}

// TestWinogradAccuracy compares both variants with a float64 direct
// convolution on ResNet-like layers and odd sizes, logs max|diff|/max|ref|
// next to that of a float32 direct convolution, and fails above 2e-6 for
// F(2×2) and 1e-5 for F(4×4) (measured at avx512: up to 9.1e-7 and 9.4e-6,
// the largest at 512 channels on 7x7).
func TestWinogradAccuracy(t *testing.T) {
	relu := ir.Activation{Kind: ir.ActRelu}
	cases := []wgCase{
		{n: 1, c: 64, m: 64, h: 56, w: 56, padT: 1, padL: 1, padB: 1, padR: 1},
		{n: 1, c: 64, m: 64, h: 56, w: 56, padT: 1, padL: 1, padB: 1, padR: 1, bias: true, res: true, act: relu},
		{n: 1, c: 128, m: 128, h: 28, w: 28, padT: 1, padL: 1, padB: 1, padR: 1, bias: true},
		{n: 1, c: 256, m: 256, h: 14, w: 14, padT: 1, padL: 1, padB: 1, padR: 1},
		{n: 1, c: 256, m: 256, h: 14, w: 14, padT: 1, padL: 1, padB: 1, padR: 1, bias: true, res: true, act: relu},
		{n: 1, c: 512, m: 512, h: 7, w: 7, padT: 1, padL: 1, padB: 1, padR: 1},
		{n: 1, c: 512, m: 512, h: 7, w: 7, padT: 1, padL: 1, padB: 1, padR: 1, bias: true, res: true, act: relu},
		{n: 2, c: 3, m: 16, h: 5, w: 7, padT: 0, padL: 0, padB: 0, padR: 0, bias: true},
		{n: 1, c: 17, m: 33, h: 5, w: 7, padT: 1, padL: 1, padB: 1, padR: 1, bias: true, act: relu},
		{n: 1, c: 40, m: 24, h: 5, w: 7, padT: 2, padL: 2, padB: 2, padR: 2, res: true},
		{n: 1, c: 32, m: 32, h: 13, w: 13, padT: 0, padL: 0, padB: 0, padR: 0},
		{n: 3, c: 96, m: 70, h: 13, w: 13, padT: 1, padL: 1, padB: 1, padR: 1, bias: true, res: true, act: relu},
		{n: 1, c: 4, m: 270, h: 6, w: 6, padT: 1, padL: 1, padB: 1, padR: 1, bias: true, res: true},
		{n: 1, c: 64, m: 300, h: 13, w: 13, padT: 2, padL: 2, padB: 2, padR: 2, bias: true,
			act: ir.Activation{Kind: ir.ActClip, Min: -0.5, Max: 0.5}},
	}
	limit := map[ir.ConvAlgo]float64{ir.AlgoWinograd2: 2e-6, ir.AlgoWinograd4: 1e-5}
	rng := rand.New(rand.NewPCG(1, 2))
	for i, tc := range cases {
		if testing.Short() && tc.n*tc.c*tc.m*tc.h*tc.w > 1<<18 {
			continue
		}
		d := wgRandom(tc, uint64(i))
		k := tc.conv(ir.AlgoWinograd2)
		want := wgDirect(k, d, false)
		base := wgRelErr(wgF32(wgDirect(k, d, true)), want)
		for _, algo := range wgAlgos {
			k := tc.conv(algo)
			got := wgCompute(t, k, d, 2, rng)
			e := wgRelErr(got, want)
			t.Logf("%-8v %-45v max|diff|/max|ref| = %.2e (direct float32: %.2e)", algo, tc, e, base)
			if !(e <= limit[algo]) {
				t.Errorf("%v %v: relative error %.3g, want <= %.0e", algo, tc, e, limit[algo])
			}
		}
	}
}

func wgF32(v []float64) []float32 {
	r := make([]float32, len(v))
	for i, x := range v {
		r[i] = float32(x)
	}
	return r
}

// TestWinogradEdges runs small sizes around the tile edges with every
// padding from 0 to 2 on each side, several images and output channels
// that fill no whole filter chunk.
func TestWinogradEdges(t *testing.T) {
	// The transformed products run on the GEMM micro-kernel of each level.
	forEachISA(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		sizes := []int{1, 2, 3, 4, 5, 6, 7, 9, 10}
		if testing.Short() {
			sizes = []int{1, 2, 3, 5, 6, 7, 10}
		}
		i := 0
		for _, h := range sizes {
			for _, w := range sizes {
				for _, pad := range [][4]int{{0, 0, 0, 0}, {1, 1, 1, 1}, {2, 2, 2, 2}, {0, 2, 1, 0}, {2, 0, 0, 1}, {1, 0, 2, 2}} {
					tc := wgCase{n: 2, c: 3, m: 5, h: h, w: w, padT: pad[0], padL: pad[1], padB: pad[2], padR: pad[3],
						bias: i%2 == 0, res: i%3 == 0}
					i++
					if tc.h+tc.padT+tc.padB < 3 || tc.w+tc.padL+tc.padR < 3 {
						continue
					}
					d := wgRandom(tc, uint64(i))
					want := wgDirect(tc.conv(ir.AlgoWinograd2), d, false)
					for _, algo := range wgAlgos {
						got := wgCompute(t, tc.conv(algo), d, 1+i%3, rng)
						if e := wgRelErr(got, want); !(e <= 1e-5) {
							t.Errorf("%v %v: relative error %.3g, want <= 1e-5", algo, tc, e)
						}
					}
				}
			}
		}
	})
}

// TestWinogradReference holds a few cases to the reference interpreter's
// FusedConv.
func TestWinogradReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i, tc := range []wgCase{
		{n: 2, c: 8, m: 40, h: 11, w: 9, padT: 1, padL: 1, padB: 1, padR: 1, bias: true, res: true, act: ir.Activation{Kind: ir.ActRelu}},
		{n: 1, c: 5, m: 3, h: 6, w: 13, padT: 2, padL: 0, padB: 1, padR: 2, res: true},
	} {
		d := wgRandom(tc, uint64(100+i))
		k := tc.conv(ir.AlgoWinograd4)
		op := &ir.FusedConv{
			Conv: ir.Conv{Kernel: []int{3, 3}, Pads: []int{tc.padT, tc.padL, tc.padB, tc.padR}, Group: 1},
			Act:  tc.act,
		}
		in := []*ir.Tensor{
			ir.FromFloat32(ir.Shape{k.N, k.C, k.H, k.W}, d.x),
			ir.FromFloat32(ir.Shape{k.M, k.C, 3, 3}, d.w),
			nil, nil,
		}
		if d.bias != nil {
			in[2] = ir.FromFloat32(ir.Shape{k.M}, d.bias)
		}
		if d.z != nil {
			in[3] = ir.FromFloat32(ir.Shape{k.N, k.M, k.OH, k.OW}, d.z)
		}
		y, err := ir.NewTensor(ir.Float32, ir.Shape{k.N, k.M, k.OH, k.OW})
		if err != nil {
			t.Fatal(err)
		}
		if err := reference.Kernel(op)(op, in, []*ir.Tensor{y}); err != nil {
			t.Fatalf("reference: %v", err)
		}
		want := make([]float64, len(y.F32))
		for j, v := range y.F32 {
			want[j] = float64(v)
		}
		for _, algo := range wgAlgos {
			got := wgCompute(t, tc.conv(algo), d, 2, rng)
			if e := wgRelErr(got, want); !(e <= 1e-5) {
				t.Errorf("%v %v: relative error to the reference %.3g, want <= 1e-5", algo, tc, e)
			}
		}
	}
}

// TestWinogradDeterministic checks that the result does not depend on the
// order of the pieces or the number of workers, and that the operands are
// left alone (with Z aliasing Y allowed).
func TestWinogradDeterministic(t *testing.T) {
	tc := wgCase{n: 2, c: 8, m: 270, h: 9, w: 14, padT: 1, padL: 1, padB: 1, padR: 1, bias: true, res: true,
		act: ir.Activation{Kind: ir.ActRelu}}
	d := wgRandom(tc, 9)
	keep := wgData{x: append([]float32(nil), d.x...), w: append([]float32(nil), d.w...),
		bias: append([]float32(nil), d.bias...), z: append([]float32(nil), d.z...)}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, algo := range wgAlgos {
		k := tc.conv(algo)
		first := wgCompute(t, k, d, 1, rng)
		for _, workers := range []int{2, 3, 5} {
			got := wgCompute(t, k, d, workers, rng)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(first[i]) {
					t.Fatalf("%v with %d workers: Y[%d] = %v, with 1 worker %v", algo, workers, i, got[i], first[i])
				}
			}
		}
		for name, pair := range map[string][2][]float32{"X": {d.x, keep.x}, "W": {d.w, keep.w}, "B": {d.bias, keep.bias}, "Z": {d.z, keep.z}} {
			for i := range pair[0] {
				if math.Float32bits(pair[0][i]) != math.Float32bits(pair[1][i]) {
					t.Fatalf("%v changed %s[%d]", algo, name, i)
				}
			}
		}
		// In place: Z is Y.
		pw, _ := PackConvWeights(k, d.w)
		y := append([]float32(nil), d.z...)
		task, err := bindWinograd(k, d.x, pw, d.bias, y, y)
		if err != nil {
			t.Fatal(err)
		}
		wgRun(task, 2, rng)
		for i := range y {
			if math.Float32bits(y[i]) != math.Float32bits(first[i]) {
				t.Fatalf("%v with Z = Y: Y[%d] = %v, want %v", algo, i, y[i], first[i])
			}
		}
	}
}

// TestWinogradPlan checks the task split on ResNet, VGG-like and odd
// shapes: every tile and output channel in exactly one piece, blocks a
// multiple of the GEMM tile, enough pieces for two workers where the layer
// allows, and scratch proportional to a block.
func TestWinogradPlan(t *testing.T) {
	nr := gemmScratch(1, 1)
	for _, tc := range []wgCase{
		{n: 1, c: 64, m: 64, h: 56, w: 56}, {n: 1, c: 128, m: 128, h: 28, w: 28}, {n: 1, c: 256, m: 256, h: 14, w: 14},
		{n: 1, c: 512, m: 512, h: 7, w: 7}, {n: 8, c: 512, m: 512, h: 7, w: 7}, {n: 1, c: 3, m: 64, h: 224, w: 224},
		{n: 1, c: 1, m: 1, h: 3, w: 3}, {n: 1, c: 1 << 16, m: 1, h: 3, w: 3}, {n: 3, c: 7, m: 1000, h: 5, w: 9},
	} {
		tc.padT, tc.padL, tc.padB, tc.padR = 1, 1, 1, 1
		for _, algo := range wgAlgos {
			k := tc.conv(algo)
			p, err := newWGPlan(k)
			if err != nil {
				t.Fatalf("%v %v: %v", algo, tc, err)
			}
			name := fmt.Sprintf("%v %v (tiles %d, blocks %d of %d, splits %d of %d chunks of %d rows)",
				algo, tc, p.tiles, p.blocks, p.blockT, p.splits, p.perTask, p.rows)
			// The blocks cover the tiles once, in order, each but the last
			// whole panels, none larger than blockT, sizes within a panel of
			// each other.
			next, smallest := 0, p.tiles
			for blk := 0; blk < p.blocks; blk++ {
				t0, nt := p.block(blk)
				if t0 != next || nt < 1 || nt > p.blockT || (t0+nt < p.tiles && nt%nr != 0) {
					t.Errorf("%s: block %d is tiles [%d, %d), after %d", name, blk, t0, t0+nt, next)
				}
				if t0+nt < p.tiles {
					smallest = min(smallest, nt)
				}
				next = t0 + nt
			}
			switch {
			case next != p.tiles:
				t.Errorf("%s: blocks end at tile %d of %d", name, next, p.tiles)
			case p.blocks > 1 && p.blockT-smallest > nr:
				t.Errorf("%s: blocks of %d to %d tiles, want within a panel", name, smallest, p.blockT)
			case p.perTask < 1 || (p.splits-1)*p.perTask >= p.subs || p.splits*p.perTask < p.subs:
				t.Errorf("%s: splits do not cover the %d filter chunks once", name, p.subs)
			case p.blocks*p.splits < 2 && k.M >= 2*wgMinRows:
				t.Errorf("%s: %d pieces, want at least 2", name, p.blocks*p.splits)
			}
			x := make([]float32, k.N*k.C*k.H*k.W)
			task, err := bindWinograd(k, x, make([]float32, p.packedLen), nil, nil, make([]float32, k.N*k.M*k.OH*k.OW))
			if err != nil {
				t.Fatal(err)
			}
			if limit := (k.C+p.rows)*p.a2*p.panels*16 + 16; task.Scratch() > limit {
				t.Errorf("%s: scratch %d, want <= %d", name, task.Scratch(), limit)
			}
			if testing.Verbose() && k.C <= 512 {
				t.Logf("%s: %d pieces, scratch %d KiB", name, task.Tasks(), task.Scratch()/256)
			}
		}
	}
}

// TestWinogradTransforms checks the 1-D identity behind the matrices in
// float64: Aᵀ[(G g) ⊙ (Bᵀ d)] is the correlation of d with g.
func TestWinogradTransforms(t *testing.T) {
	bt := map[int][][]float64{
		4: {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}},
		6: {{1, -1.5, -2, 1.5, 1, 0}, {0, -1, 0.5, 2.5, 1, 0}, {0, 1, -2.5, 0.5, 1, 0}, {0, -2, -1, 2, 1, 0}, {0, 0.5, -1, -0.5, 1, 0}, {0, 1, -1.5, -2, 1.5, 1}},
	}
	at := map[int][][]float64{
		4: {{1, 1, 1, 0}, {0, 1, -1, -1}},
		6: {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 0.5, -2, 0}, {0, 1, 1, 0.25, 4, 0}, {0, 1, -1, 0.125, -8, 1}},
	}
	g := map[int][][3]float64{4: wgG2[:], 6: wgG4[:]}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, a := range []int{4, 6} {
		for trial := 0; trial < 10; trial++ {
			var f [3]float64
			d := make([]float64, a)
			for i := range f {
				f[i] = rng.NormFloat64()
			}
			for i := range d {
				d[i] = rng.NormFloat64()
			}
			prod := make([]float64, a)
			for i := 0; i < a; i++ {
				var gg, bd float64
				for j := 0; j < 3; j++ {
					gg += g[a][i][j] * f[j]
				}
				for j := 0; j < a; j++ {
					bd += bt[a][i][j] * d[j]
				}
				prod[i] = gg * bd
			}
			for o := 0; o < a-2; o++ {
				var got, want float64
				for i := 0; i < a; i++ {
					got += at[a][o][i] * prod[i]
				}
				for j := 0; j < 3; j++ {
					want += d[o+j] * f[j]
				}
				if math.Abs(got-want) > 1e-12 {
					t.Fatalf("alpha %d: output %d is %v, want %v", a, o, got, want)
				}
			}
		}
	}
}

// TestWinogradErrors checks that kernels Winograd cannot compute and
// operands of the wrong length are refused with an *ir.Error.
func TestWinogradErrors(t *testing.T) {
	good := wgCase{n: 1, c: 4, m: 6, h: 8, w: 8, padT: 1, padL: 1, padB: 1, padR: 1}.conv(ir.AlgoWinograd4)
	bad := []struct {
		name string
		edit func(k *Conv2D)
	}{
		{"kernel 5x5", func(k *Conv2D) { k.KH, k.KW = 5, 5 }},
		{"kernel 3x1", func(k *Conv2D) { k.KW = 1 }},
		{"stride 2", func(k *Conv2D) { k.SH = 2 }},
		{"dilation 2", func(k *Conv2D) { k.DW = 2 }},
		{"group 2", func(k *Conv2D) { k.Group = 2 }},
		{"algo im2col", func(k *Conv2D) { k.Algo = ir.AlgoIm2col }},
		{"zero channels", func(k *Conv2D) { k.C = 0 }},
		{"negative height", func(k *Conv2D) { k.OH = -3 }},
		{"huge", func(k *Conv2D) { k.N, k.C, k.H, k.W = 1<<24, 1<<24, 1<<24, 1<<24 }},
		{"huge pad", func(k *Conv2D) { k.PadT = 1 << 40 }},
		{"bad act", func(k *Conv2D) { k.Act = ir.Activation{Kind: ir.ActClip, Min: 1, Max: 0} }},
	}
	w := make([]float32, good.M*good.C*9)
	for _, b := range bad {
		k := *good
		b.edit(&k)
		if n := winogradPackedLen(&k); n != 0 {
			t.Errorf("%s: winogradPackedLen = %d, want 0", b.name, n)
		}
		if err := winogradCheck(&k); !wgIsIRError(err) {
			t.Errorf("%s: winogradCheck error %v, want an *ir.Error", b.name, err)
		}
		if err := packConvInto(&k, nil, w); !wgIsIRError(err) {
			t.Errorf("%s: packConvInto error %v, want an *ir.Error", b.name, err)
		}
		if _, err := bindWinograd(&k, nil, nil, nil, nil, nil); !wgIsIRError(err) {
			t.Errorf("%s: bindWinograd error %v, want an *ir.Error", b.name, err)
		}
	}
	if _, err := PackConvWeights(good, w[1:]); !wgIsIRError(err) {
		t.Errorf("short weights: error %v, want an *ir.Error", err)
	}
	pw, err := PackConvWeights(good, w)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, good.N*good.C*good.H*good.W)
	y := make([]float32, good.N*good.M*good.OH*good.OW)
	ops := []struct {
		name              string
		x, pw, bias, z, y []float32
	}{
		{"short X", x[1:], pw, nil, nil, y},
		{"short pw", x, pw[1:], nil, nil, y},
		{"long bias", x, pw, make([]float32, good.M+1), nil, y},
		{"short Z", x, pw, nil, y[1:], y},
		{"short Y", x, pw, nil, nil, y[1:]},
	}
	for _, o := range ops {
		if _, err := bindWinograd(good, o.x, o.pw, o.bias, o.z, o.y); !wgIsIRError(err) {
			t.Errorf("%s: error %v, want an *ir.Error", o.name, err)
		}
	}
	if _, err := bindWinograd(good, x, pw, make([]float32, good.M), y, y); err != nil {
		t.Errorf("good operands: %v", err)
	}
}

func wgIsIRError(err error) bool {
	var e *ir.Error
	return errors.As(err, &e)
}

// The filter transform matrices G (α×3) as written, in float64: the
// factored transforms of winograd.go (wgG2x, wgG4x) are held to them.
var (
	wgG2 = [4][3]float64{
		{1, 0, 0},
		{1.0 / 2, 1.0 / 2, 1.0 / 2},
		{1.0 / 2, -1.0 / 2, 1.0 / 2},
		{0, 0, 1},
	}
	wgG4 = [6][3]float64{
		{1, 0, 0},
		{1.0 / 3, 1.0 / 3, 1.0 / 3},
		{-1.0 / 3, 1.0 / 3, -1.0 / 3},
		{-16.0 / 15, -8.0 / 15, -4.0 / 15},
		{1.0 / 15, -2.0 / 15, 4.0 / 15},
		{0, 0, 1},
	}
)
