package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/reference"
)

// Test helpers shared by the tests of the kernels in elementwise.go,
// pool.go, concat.go, softmax.go and reference.go.

// miscOracle runs op on inputs (nil for an omitted optional one) with the
// reference interpreter, as a one-node graph, and returns its outputs.
func miscOracle(t testing.TB, op ir.Op, inputs ...*ir.Tensor) []*ir.Tensor {
	t.Helper()
	n := &ir.Node{Name: "node", Op: op}
	g := &ir.Graph{Name: "oracle", Opset: ir.BuilderOpset}
	feeds := map[string]*ir.Tensor{}
	for i, x := range inputs {
		if x == nil {
			n.Inputs = append(n.Inputs, nil)
			continue
		}
		v := &ir.Value{Name: fmt.Sprint("in", i), Type: x.Type()}
		g.Inputs = append(g.Inputs, v)
		n.Inputs = append(n.Inputs, v)
		feeds[v.Name] = x
	}
	types := make([]ir.Type, len(inputs))
	for i, x := range inputs {
		if x != nil {
			types[i] = x.Type()
		}
	}
	outs, err := op.Infer(types, nil)
	if err != nil {
		t.Fatalf("oracle %s: %v", op.OpType(), err)
	}
	for i := range outs {
		n.Outputs = append(n.Outputs, &ir.Value{Name: fmt.Sprint("out", i)})
	}
	if err := ir.InferNode(n, map[*ir.Value]*ir.Tensor{}); err != nil {
		t.Fatalf("oracle %s: %v", op.OpType(), err)
	}
	g.Nodes = []*ir.Node{n}
	g.Outputs = n.Outputs
	res, err := reference.Run(g, feeds)
	if err != nil {
		t.Fatalf("oracle %s: %v", op.OpType(), err)
	}
	return res
}

// miscGuard is the bit pattern of the guard elements around outputs: a NaN
// no kernel computes.
const miscGuard = 0x7fc0dead

// miscGuarded returns a tensor of shape whose data sits between guard
// elements, and a function that fails t if a guard was overwritten.
func miscGuarded(t testing.TB, shape ...int) (*ir.Tensor, func()) {
	n := ir.Shape(shape).NumElements()
	const g = 7
	buf := make([]float32, n+2*g)
	for i := range buf {
		buf[i] = math.Float32frombits(miscGuard)
	}
	// The view's capacity reaches into the trailing guard, so a stray
	// reslice past its length lands there.
	x := ir.FromFloat32(ir.Shape(shape), buf[g:g+n])
	return x, func() {
		t.Helper()
		for i, v := range buf {
			if (i < g || i >= g+n) && math.Float32bits(v) != miscGuard {
				t.Errorf("guard element %d (of %d around %d outputs) overwritten with %v", i, 2*g, n, v)
				return
			}
		}
	}
}

// miscRandom returns a float32 tensor of shape with elements uniform in
// [-2, 2).
func miscRandom(rng *rand.Rand, shape ...int) *ir.Tensor {
	x := ir.FromFloat32(ir.Shape(shape), make([]float32, ir.Shape(shape).NumElements()))
	for i := range x.F32 {
		x.F32[i] = float32(4*rng.Float64() - 2)
	}
	return x
}

// miscSpecials sprinkles NaN, ±Inf, ±0 and extreme values into x.
func miscSpecials(rng *rand.Rand, x []float32) {
	sp := []float32{
		float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)),
		1e30, -1e30, 1e-30, -1e-30, 88, -88, 100, -100, 1000, -1000,
	}
	for i := range x {
		if rng.IntN(8) == 0 {
			x[i] = sp[rng.IntN(len(sp))]
		}
	}
}

// miscRun runs every task of tk: in shuffled order on this goroutine when
// workers is 1, else on that many goroutines, each with its own scratch.
func miscRun(t testing.TB, tk Task, workers int, seed uint64) {
	t.Helper()
	n := tk.Tasks()
	if n < 1 {
		t.Fatalf("Tasks() = %d, want >= 1", n)
	}
	if tk.Scratch() < 0 {
		t.Fatalf("Scratch() = %d, want >= 0", tk.Scratch())
	}
	order := rand.New(rand.NewPCG(seed, 1)).Perm(n)
	if workers <= 1 {
		scratch := make([]float32, tk.Scratch())
		for _, i := range order {
			tk.Run(i, scratch)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			scratch := make([]float32, tk.Scratch())
			for {
				j := int(next.Add(1)) - 1
				if j >= n {
					return
				}
				tk.Run(order[j], scratch)
			}
		}()
	}
	wg.Wait()
}

// miscClose reports whether got is want within atol + rtol*|want|; NaN
// matches only NaN, an infinity only itself.
func miscClose(got, want, atol, rtol float64) bool {
	switch {
	case math.IsNaN(want) || math.IsNaN(got):
		return math.IsNaN(want) && math.IsNaN(got)
	case math.IsInf(want, 0) || math.IsInf(got, 0):
		return got == want
	}
	return math.Abs(got-want) <= atol+rtol*math.Abs(want)
}

// miscCompare fails t at the first element of got not close to want.
func miscCompare(t testing.TB, got, want []float32, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d elements, want %d", len(got), len(want))
	}
	bad := 0
	for i := range got {
		if !miscClose(float64(got[i]), float64(want[i]), atol, rtol) {
			if bad < 3 {
				t.Errorf("element %d = %v, want %v", i, got[i], want[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d elements differ", bad, len(got))
	}
}

// miscWantErr fails t unless err is an *ir.Error whose message contains
// want.
func miscWantErr(t testing.TB, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", want)
	}
	if _, ok := err.(*ir.Error); !ok {
		t.Errorf("error %q is a %T, want *ir.Error", err, err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}

// miscWorkers is the goroutine counts every kernel test runs its tasks
// with: 1 (shuffled, sequential) and 3 (concurrent).
var miscWorkers = []int{1, 3}

func TestAffine(t *testing.T) {
	elemISAs(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		acts := []ir.Activation{{}, {Kind: ir.ActRelu}, {Kind: ir.ActClip, Min: -0.5, Max: 1.25}}
		shapes := [][]int{{1, 1, 1}, {2, 3, 5}, {3, 7, 13}, {1, 5, 40001}, {2, 3}, {4, 600, 1, 1}}
		for _, shape := range shapes {
			for _, act := range acts {
				for _, inPlace := range []bool{false, true} {
					name := fmt.Sprintf("%v/%v/inplace=%v", shape, act.Kind, inPlace)
					t.Run(name, func(t *testing.T) {
						x := miscRandom(rng, shape...)
						miscSpecials(rng, x.F32[:min(len(x.F32), 50)])
						c := shape[1]
						scale, shift := miscRandom(rng, c), miscRandom(rng, c)
						want := miscOracle(t, &ir.ChannelAffine{Act: act}, x, scale, shift)[0]
						inner := 1
						for _, d := range shape[2:] {
							inner *= d
						}
						k := &Affine{N: shape[0], C: c, Inner: inner, Act: act}
						for _, w := range miscWorkers {
							y, check := miscGuarded(t, shape...)
							xin := x
							if inPlace {
								copy(y.F32, x.F32)
								xin = y
							}
							tk, err := k.Bind([]*ir.Tensor{xin, scale, shift}, []*ir.Tensor{y})
							if err != nil {
								t.Fatal(err)
							}
							miscRun(t, tk, w, 7)
							check()
							miscCompare(t, y.F32, want.F32, 1e-6, 1e-6)
						}
					})
				}
			}
		}
	})
}

// miscBinaryOps pairs each BinaryOp with the IR op it computes.
var miscBinaryOps = []struct {
	op BinaryOp
	ir ir.Op
}{
	{BinAdd, &ir.Add{}}, {BinSub, &ir.Sub{}}, {BinMul, &ir.Mul{}},
	{BinDiv, &ir.Div{}}, {BinMax, &ir.Max{}}, {BinMin, &ir.Min{}},
}

func TestBinary(t *testing.T) {
	elemISAs(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		acts := []ir.Activation{{}, {Kind: ir.ActRelu}, {Kind: ir.ActClip, Min: 0, Max: 6}}
		sizes := []int{0, 1, 17, 16 << 10, 40001}
		if testing.Short() {
			sizes = []int{0, 17, 40001}
		}
		for _, n := range sizes {
			for _, bo := range miscBinaryOps {
				a, b := miscRandom(rng, n), miscRandom(rng, n)
				miscSpecials(rng, a.F32)
				miscSpecials(rng, b.F32)
				plain := miscOracle(t, bo.ir, a, b)[0]
				for _, act := range acts {
					want := make([]float32, n)
					for i, v := range plain.F32 {
						want[i] = act.Apply(v)
					}
					k := &Binary{Op: bo.op, Len: n, Act: act}
					for _, alias := range []string{"", "A", "B"} {
						t.Run(fmt.Sprintf("n=%d/op=%d/%v/alias=%s", n, bo.op, act.Kind, alias), func(t *testing.T) {
							for _, w := range miscWorkers {
								y, check := miscGuarded(t, n)
								ain, bin := a, b
								switch alias {
								case "A":
									copy(y.F32, a.F32)
									ain = y
								case "B":
									copy(y.F32, b.F32)
									bin = y
								}
								tk, err := k.Bind([]*ir.Tensor{ain, bin}, []*ir.Tensor{y})
								if err != nil {
									t.Fatal(err)
								}
								miscRun(t, tk, w, 9)
								check()
								miscCompare(t, y.F32, want, 0, 0)
							}
						})
					}
				}
			}
		}
	})
}

// miscUnaryOps pairs Unary kernels with the IR ops they compute, and the
// relative tolerance of each.
var miscUnaryOps = []struct {
	k    Unary
	ir   ir.Op
	rtol float64
}{
	{Unary{Op: UnRelu}, &ir.Relu{}, 0},
	{Unary{Op: UnClip, Min: -0.5, Max: 1.5}, &ir.Clip{Min: -0.5, Max: 1.5}, 0},
	{Unary{Op: UnClip, Min: float32(math.Inf(-1)), Max: 6}, &ir.Clip{Min: float32(math.Inf(-1)), Max: 6}, 0},
	{Unary{Op: UnLeakyRelu, Alpha: 0.1}, &ir.LeakyRelu{Alpha: 0.1}, 0},
	{Unary{Op: UnSigmoid}, &ir.Sigmoid{}, 4e-7},
	{Unary{Op: UnTanh}, &ir.Tanh{}, 4e-7},
	{Unary{Op: UnExp}, &ir.Exp{}, 4e-7},
	{Unary{Op: UnSqrt}, &ir.Sqrt{}, 0},
}

func TestUnary(t *testing.T) {
	elemISAs(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, n := range []int{0, 1, 33, 40001} {
			for _, u := range miscUnaryOps {
				for _, inPlace := range []bool{false, true} {
					t.Run(fmt.Sprintf("n=%d/op=%d/inplace=%v", n, u.k.Op, inPlace), func(t *testing.T) {
						x := miscRandom(rng, n)
						for i := range x.F32 {
							if i%3 == 0 { // also the overflow range of exp
								x.F32[i] *= 60
							}
						}
						miscSpecials(rng, x.F32)
						want := miscOracle(t, u.ir, x)[0]
						k := u.k
						k.Len = n
						for _, w := range miscWorkers {
							y, check := miscGuarded(t, n)
							xin := x
							if inPlace {
								copy(y.F32, x.F32)
								xin = y
							}
							tk, err := k.Bind([]*ir.Tensor{xin}, []*ir.Tensor{y})
							if err != nil {
								t.Fatal(err)
							}
							miscRun(t, tk, w, 11)
							check()
							// Denormal results carry less relative precision.
							miscCompare(t, y.F32, want.F32, 1e-44, u.rtol)
						}
					})
				}
			}
		}
	})
}

// miscScalar turns a slice function into a scalar one.
func miscScalar(f func(y, x []float32)) func(float32) float32 {
	return func(x float32) float32 {
		y := []float32{x}
		f(y, y)
		return y[0]
	}
}

// TestMath32 holds exp32Slice, sigmoid32Slice and tanh32Slice to float64
// math over a dense sweep, the extremes and the special values.
func TestMath32(t *testing.T) {
	elemISAs(t, func(t *testing.T) {
		var xs []float32
		for x := -110.0; x <= 95; x += 0.00731 {
			xs = append(xs, float32(x))
		}
		for x := -1.0; x <= 1; x += 1.0 / 4096 {
			xs = append(xs, float32(x), float32(x*1e-3), float32(x*1e-30))
		}
		xs = append(xs, 88.72283, 88.72284, -87.33654, -103.97, -103.98, 0, float32(math.Copysign(0, -1)),
			float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), math.MaxFloat32, -math.MaxFloat32,
			math.SmallestNonzeroFloat32)
		fns := []struct {
			name string
			f32  func(float32) float32
			f64  func(float64) float64
		}{
			{"exp", miscScalar(func(y, x []float32) { exp32Slice(y, x, 0) }), math.Exp},
			{"sigmoid", miscScalar(sigmoid32Slice), func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }},
			{"tanh", miscScalar(tanh32Slice), math.Tanh},
		}
		for _, fn := range fns {
			worst := 0.0
			for _, x := range xs {
				got, want := fn.f32(x), float32(fn.f64(float64(x)))
				if !miscClose(float64(got), float64(want), 1e-44, 3e-7) {
					t.Errorf("%s(%v) = %v, want %v", fn.name, x, got, want)
					continue
				}
				if w := math.Abs(float64(want)); w > 1e-37 && !math.IsInf(w, 0) {
					worst = max(worst, math.Abs(float64(got)-float64(want))/w)
				}
			}
			t.Logf("%s: worst relative error %.3g (float32 epsilon %.3g)", fn.name, worst, math.Pow(2, -23))
		}
	})
}

func TestElementwiseBindErrors(t *testing.T) {
	f := func(n int) *ir.Tensor { return ir.FromFloat32(ir.Shape{n}, make([]float32, n)) }
	x6 := f(6)
	i64 := ir.FromInt64(ir.Shape{6}, make([]int64, 6))
	buf := make([]float32, 12)
	part := ir.FromFloat32(ir.Shape{6}, buf[3:9])
	first := ir.FromFloat32(ir.Shape{6}, buf[:6])
	tests := []struct {
		name    string
		k       Kernel
		in, out []*ir.Tensor
		want    string
	}{
		{"affine arity", &Affine{N: 1, C: 2, Inner: 3}, []*ir.Tensor{x6, f(2)}, []*ir.Tensor{f(6)}, "got 2 inputs and 1 outputs, want 3 and 1"},
		{"affine nil", &Affine{N: 1, C: 2, Inner: 3}, []*ir.Tensor{x6, nil, f(2)}, []*ir.Tensor{f(6)}, "input 1 is missing"},
		{"affine negative", &Affine{N: -1, C: 2, Inner: 3}, []*ir.Tensor{x6, f(2), f(2)}, []*ir.Tensor{f(6)}, "N is -1"},
		{"affine overflow", &Affine{N: 1 << 20, C: 1 << 20, Inner: 1 << 20}, []*ir.Tensor{x6, f(2), f(2)}, []*ir.Tensor{f(6)}, "exceeds"},
		{"affine scale", &Affine{N: 1, C: 2, Inner: 3}, []*ir.Tensor{x6, f(3), f(2)}, []*ir.Tensor{f(6)}, "input 1 (Scale) has 3 elements, want 2"},
		{"affine y", &Affine{N: 1, C: 2, Inner: 3}, []*ir.Tensor{x6, f(2), f(2)}, []*ir.Tensor{f(5)}, "output 0 (Y) has 5 elements, want 6"},
		{"affine act", &Affine{N: 1, C: 2, Inner: 3, Act: ir.Activation{Kind: ir.ActClip, Min: 2, Max: 1}}, []*ir.Tensor{x6, f(2), f(2)}, []*ir.Tensor{f(6)}, "want min <= max"},
		{"affine act kind", &Affine{N: 1, C: 2, Inner: 3, Act: ir.Activation{Kind: 9}}, []*ir.Tensor{x6, f(2), f(2)}, []*ir.Tensor{f(6)}, "unknown activation kind 9"},
		{"affine overlap", &Affine{N: 1, C: 2, Inner: 3}, []*ir.Tensor{first, f(2), f(2)}, []*ir.Tensor{part}, "partly overlaps X"},
		{"binary op", &Binary{Op: 6, Len: 6}, []*ir.Tensor{x6, x6}, []*ir.Tensor{f(6)}, "unknown operation 6"},
		{"binary dtype", &Binary{Len: 6}, []*ir.Tensor{x6, i64}, []*ir.Tensor{f(6)}, "input 1 (B) has element type i64, want f32"},
		{"binary len", &Binary{Len: 7}, []*ir.Tensor{x6, x6}, []*ir.Tensor{f(6)}, "input 0 (A) has 6 elements, want 7"},
		{"binary shape", &Binary{Len: 6}, []*ir.Tensor{{DType: ir.Float32, Shape: ir.Shape{2, 2}, F32: make([]float32, 6)}, x6}, []*ir.Tensor{f(6)}, "has shape [2,2], want 6 elements"},
		{"binary overlap B", &Binary{Len: 6}, []*ir.Tensor{x6, first}, []*ir.Tensor{part}, "partly overlaps B"},
		{"binary act", &Binary{Len: 6, Act: ir.Activation{Kind: ir.ActRelu, Max: 1}}, []*ir.Tensor{x6, x6}, []*ir.Tensor{f(6)}, "want none"},
		{"unary op", &Unary{Op: 7, Len: 6}, []*ir.Tensor{x6}, []*ir.Tensor{f(6)}, "unknown function 7"},
		{"unary alpha", &Unary{Op: UnRelu, Len: 6, Alpha: 1}, []*ir.Tensor{x6}, []*ir.Tensor{f(6)}, "has Alpha 1, want 0"},
		{"unary bounds", &Unary{Op: UnSigmoid, Len: 6, Max: 1}, []*ir.Tensor{x6}, []*ir.Tensor{f(6)}, "has bounds 0..1"},
		{"unary outputs", &Unary{Op: UnExp, Len: 6}, []*ir.Tensor{x6}, nil, "want 1 and 1"},
		{"unary len", &Unary{Op: UnExp, Len: ir.MaxElements + 1}, []*ir.Tensor{x6}, []*ir.Tensor{f(6)}, "Len is 268435457"},
		{"unary nil out", &Unary{Op: UnExp, Len: 6}, []*ir.Tensor{x6}, []*ir.Tensor{nil}, "output 0 is missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.k.Bind(tc.in, tc.out)
			miscWantErr(t, err, tc.want)
		})
	}
}

// TestMiscGrid checks that the tasks of a grid cover every element once.
func TestMiscGrid(t *testing.T) {
	for _, tc := range []struct{ rows, cols, target int }{
		{0, 0, 10}, {0, 5, 10}, {5, 0, 10}, {1, 1, 10}, {7, 3, 10}, {3, 25, 10}, {4, 10, 10}, {9, 9, 1}, {2, 100, 7},
	} {
		for _, rowOnly := range []bool{false, true} {
			g := newMiscGrid(tc.rows, tc.cols, tc.target)
			if rowOnly {
				g = newMiscRowGrid(tc.rows, tc.cols, tc.target)
			}
			seen := make([]int, tc.rows*tc.cols)
			for i := 0; i < g.tasks; i++ {
				r0, r1, c0, c1 := g.span(i)
				if rowOnly && (c0 != 0 || c1 != tc.cols) {
					t.Errorf("%+v row grid: task %d has columns [%d, %d), want all", tc, i, c0, c1)
				}
				for r := r0; r < r1; r++ {
					for c := c0; c < c1; c++ {
						seen[r*tc.cols+c]++
					}
				}
			}
			for i, n := range seen {
				if n != 1 {
					t.Errorf("%+v (rowOnly %v): element %d covered %d times, want once", tc, rowOnly, i, n)
					break
				}
			}
		}
	}
}

func BenchmarkBinaryAdd1M(b *testing.B) {
	const n = 1 << 20
	rng := rand.New(rand.NewPCG(1, 1))
	a, c, y := miscRandom(rng, n), miscRandom(rng, n), miscRandom(rng, n)
	tk, err := (&Binary{Op: BinAdd, Len: n}).Bind([]*ir.Tensor{a, c}, []*ir.Tensor{y})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(3 * 4 * n)
	elemBench(b, tk)
}

// elemBench runs every piece of tk b.N times on this goroutine and
// reports, beside the wall time, the process's CPU time per run
// ("cpu-ns/op"), steadier on a loaded machine.
func elemBench(b *testing.B, tk Task) {
	cpu := processCPU()
	for b.Loop() {
		for i := range tk.Tasks() {
			tk.Run(i, nil)
		}
	}
	if used := processCPU() - cpu; cpu > 0 && used > 0 {
		b.ReportMetric(used*1e9/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkAffine runs the per-channel affine in place, as DenseNet's
// batch normalizations with ReLU before each convolution, at every plane
// size of the eight benchmark models.
func BenchmarkAffine(b *testing.B) {
	shapes := []struct {
		c, inner int
		name     string
	}{{64, 56 * 56, "64x56x56"}, {128, 56 * 56, "128x56x56"}, {256, 28 * 28, "256x28x28"}, {512, 14 * 14, "512x14x14"}, {1024, 7 * 7, "1024x7x7"}}
	for _, sh := range shapes {
		acts := []ir.Activation{{Kind: ir.ActRelu}}
		if sh.c == 64 {
			acts = []ir.Activation{{}, {Kind: ir.ActRelu}}
		}
		for _, act := range acts {
			b.Run(sh.name+"/"+act.Kind.String(), func(b *testing.B) {
				c, inner := sh.c, sh.inner
				rng := rand.New(rand.NewPCG(1, 1))
				x, s, shift := miscRandom(rng, 1, c, inner), miscRandom(rng, c), miscRandom(rng, c)
				tk, err := (&Affine{N: 1, C: c, Inner: inner, Act: act}).Bind([]*ir.Tensor{x, s, shift}, []*ir.Tensor{x})
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(2 * 4 * c * inner))
				elemBench(b, tk)
			})
		}
	}
}

// BenchmarkBinaryRelu runs ResNet's residual addition with ReLU,
// 256×56×56, in place.
func BenchmarkBinaryRelu(b *testing.B) {
	const n = 256 * 56 * 56
	rng := rand.New(rand.NewPCG(1, 1))
	a, c := miscRandom(rng, n), miscRandom(rng, n)
	tk, err := (&Binary{Op: BinAdd, Len: n, Act: ir.Activation{Kind: ir.ActRelu}}).Bind([]*ir.Tensor{a, c}, []*ir.Tensor{a})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(3 * 4 * n)
	elemBench(b, tk)
}

func BenchmarkUnary(b *testing.B) {
	for _, op := range []UnaryOp{UnRelu, UnSigmoid, UnTanh, UnExp} {
		b.Run(fmt.Sprint("op=", op), func(b *testing.B) {
			const n = 1 << 16
			rng := rand.New(rand.NewPCG(1, 1))
			x := miscRandom(rng, n)
			tk, err := (&Unary{Op: op, Len: n}).Bind([]*ir.Tensor{x}, []*ir.Tensor{miscRandom(rng, n)})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(4 * n)
			elemBench(b, tk)
		})
	}
}

// elemLens are the lengths the dispatched kernels are tried at: around
// the edges of a vector (8) and of the unrolled blocks (32).
var elemLens = []int{0, 1, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65}

// elemGuard is how many guard elements elemBuf puts on either side.
const elemGuard = 16

// elemBuf returns a slice of n elements (capacity n) between elemGuard
// guard elements of value g on either side, and the whole buffer.
func elemBuf(n int, g float32) (x, buf []float32) {
	buf = make([]float32, n+2*elemGuard)
	for i := range buf {
		buf[i] = g
	}
	return buf[elemGuard : elemGuard+n : elemGuard+n], buf
}

// elemCheckGuards fails t if a guard element of buf (from elemBuf with g)
// changed.
func elemCheckGuards(t *testing.T, buf []float32, g float32) {
	t.Helper()
	n := len(buf) - 2*elemGuard
	for i, v := range buf {
		if (i < elemGuard || i >= elemGuard+n) && math.Float32bits(v) != math.Float32bits(g) {
			t.Errorf("guard element %d (of %d around %d) overwritten with %v", i, 2*elemGuard, n, v)
			return
		}
	}
}

// elemFill sets x to values uniform in [-2, 2) and, with specials, a few
// NaN, ±Inf, ±0 and extremes.
func elemFill(rng *rand.Rand, x []float32, specials bool) {
	for i := range x {
		x[i] = float32(4*rng.Float64() - 2)
	}
	if specials {
		miscSpecials(rng, x)
	}
}

// elemSame reports whether got is want within ulps units in the last
// place: NaN matches any NaN, and 0 matches -0.
func elemSame(got, want float32, ulps int) bool {
	if got != got || want != want {
		return got != got && want != want
	}
	if got == want {
		return true
	}
	if (got < 0) != (want < 0) {
		return false
	}
	d := int64(math.Float32bits(got)&^(1<<31)) - int64(math.Float32bits(want)&^(1<<31))
	return d <= int64(ulps) && -d <= int64(ulps)
}

// elemCompare fails t at the first elements of got that are not want
// within ulps.
func elemCompare(t *testing.T, got, want []float32, ulps int) {
	t.Helper()
	bad := 0
	for i := range want {
		if !elemSame(got[i], want[i], ulps) {
			if bad < 3 {
				t.Errorf("element %d of %d = %v, want %v", i, len(want), got[i], want[i])
			}
			bad++
		}
	}
}

// elemISAs runs f once per instruction-set level this machine has, each
// as a subtest, and restores the level afterwards.
func elemISAs(t *testing.T, f func(t *testing.T)) {
	t.Cleanup(func() { setISA(cpuISA) })
	for _, l := range testISAs() {
		setISA(l)
		t.Run(l.String(), f)
	}
}

// elemActs are the activations the dispatched kernels are tried with.
var elemActs = []ir.Activation{{}, {Kind: ir.ActRelu}, {Kind: ir.ActClip, Min: -0.5, Max: 1.25}}

// TestAffineRowsEdges holds affineRows, at every level, to its reference
// loop, with the product rounded before the addition as Go does it, at
// lengths around the vector edges, for 1 and 3 rows, in place and not,
// with guards around the output.
func TestAffineRowsEdges(t *testing.T) {
	elemISAs(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(31, 32))
		for _, rows := range []int{1, 3} {
			for _, n := range elemLens {
				for _, act := range elemActs {
					for _, inPlace := range []bool{false, true} {
						x, _ := elemBuf(rows*n, float32(math.NaN()))
						elemFill(rng, x, true)
						scale, shift := make([]float32, rows), make([]float32, rows)
						elemFill(rng, scale, false)
						elemFill(rng, shift, false)
						want := make([]float32, rows*n)
						for i, v := range x {
							r := i / n
							want[i] = act.Apply(float32(v*scale[r]) + shift[r])
						}
						y, buf := elemBuf(rows*n, math.Float32frombits(miscGuard))
						xin := x
						if inPlace {
							copy(y, x)
							xin = y
						}
						affineRows(y, xin, scale, shift, n, act)
						elemCheckGuards(t, buf, math.Float32frombits(miscGuard))
						// One ulp: GOAMD64=v3 may fuse the generic loop's v*s+b.
						elemCompare(t, y, want, 1)
						if t.Failed() {
							t.Fatalf("rows %d, n %d, %v, in place %v", rows, n, act.Kind, inPlace)
						}
					}
				}
			}
		}
	})
}

// TestBinaryEdges holds binary to its reference loop at every level, as
// TestAffineRowsEdges.
func TestBinaryEdges(t *testing.T) {
	elemISAs(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(33, 34))
		for _, op := range []BinaryOp{BinAdd, BinSub, BinMul, BinDiv, BinMax, BinMin} {
			for _, n := range elemLens {
				for _, act := range elemActs {
					for _, alias := range []string{"", "a", "b"} {
						a, _ := elemBuf(n, float32(math.NaN()))
						b, _ := elemBuf(n, float32(math.NaN()))
						elemFill(rng, a, true)
						elemFill(rng, b, true)
						want := make([]float32, n)
						for i := range want {
							var v float32
							switch op {
							case BinAdd:
								v = a[i] + b[i]
							case BinSub:
								v = a[i] - b[i]
							case BinMul:
								v = a[i] * b[i]
							case BinDiv:
								v = a[i] / b[i]
							case BinMax:
								v = float32(math.Max(float64(a[i]), float64(b[i])))
							case BinMin:
								v = float32(math.Min(float64(a[i]), float64(b[i])))
							}
							want[i] = act.Apply(v)
						}
						y, buf := elemBuf(n, math.Float32frombits(miscGuard))
						ain, bin := a, b
						switch alias {
						case "a":
							copy(y, a)
							ain = y
						case "b":
							copy(y, b)
							bin = y
						}
						binary(op, y, ain, bin, act)
						elemCheckGuards(t, buf, math.Float32frombits(miscGuard))
						elemCompare(t, y, want, 0)
						if t.Failed() {
							t.Fatalf("op %d, n %d, %v, alias %q", op, n, act.Kind, alias)
						}
					}
				}
			}
		}
	})
}

// TestActivateEdges holds activate to its reference loop at every level.
func TestActivateEdges(t *testing.T) {
	elemISAs(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(35, 36))
		acts := append(elemActs, ir.Activation{Kind: ir.ActClip, Min: float32(math.Inf(-1)), Max: 6})
		for _, n := range elemLens {
			for _, act := range acts {
				for _, inPlace := range []bool{false, true} {
					x, _ := elemBuf(n, float32(math.NaN()))
					elemFill(rng, x, true)
					want := make([]float32, n)
					for i, v := range x {
						want[i] = act.Apply(v)
					}
					y, buf := elemBuf(n, math.Float32frombits(miscGuard))
					xin := x
					if inPlace {
						copy(y, x)
						xin = y
					}
					activate(y, xin, act)
					elemCheckGuards(t, buf, math.Float32frombits(miscGuard))
					elemCompare(t, y, want, 0)
					if t.Failed() {
						t.Fatalf("n %d, %v, in place %v", n, act.Kind, inPlace)
					}
				}
			}
		}
	})
}

// TestExp32Edges holds exp32Slice at every level to exp32SliceGeneric,
// the float32 algorithm both follow, with a shift, on the whole float32
// range and the special values.
func TestExp32Edges(t *testing.T) {
	elemISAs(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(37, 38))
		for _, n := range append(elemLens, 1000) {
			for _, inPlace := range []bool{false, true} {
				x, _ := elemBuf(n, float32(math.NaN()))
				elemFill(rng, x, true)
				for i := range x {
					if i%3 == 0 {
						x[i] *= 60 // the overflow and underflow ranges
					}
				}
				const shift = 1.5
				want := make([]float32, n)
				exp32SliceGeneric(want, x, shift)
				y, buf := elemBuf(n, math.Float32frombits(miscGuard))
				xin := x
				if inPlace {
					copy(y, x)
					xin = y
				}
				exp32Slice(y, xin, shift)
				elemCheckGuards(t, buf, math.Float32frombits(miscGuard))
				// Two ulps: GOAMD64=v3 may fuse the generic loop's
				// products and sums.
				elemCompare(t, y, want, 2)
				if t.Failed() {
					t.Fatalf("n %d, in place %v", n, inPlace)
				}
			}
		}
	})
}
