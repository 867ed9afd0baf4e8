//go:build linux

package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"syscall"
	"testing"
	"unsafe"

	"github.com/cnnc/cnnc/ir"
)

// The over-read tests (TestGuard*). The guard floats around the outputs
// of the other tests catch a kernel that writes out of bounds, but not one
// that reads past an input: the extra lanes never reach a stored output,
// and nothing shows. Here every operand of an assembly routine is placed
// against an inaccessible page instead (guardArena): the slice ends
// exactly at the end of its last readable page, the next page mapped
// PROT_NONE, or in the reversed placement it starts exactly after a
// PROT_NONE page, so that touching even one float past either end faults.
// Each routine is run through the entry point the kernels call (the
// dispatched function variables, or a kernel's Bind and Run) at every
// dispatch level (forEachISA), at sizes around its block edges
// (guardSizes).
//
// A fault becomes a test failure naming the case, the operand whose guard
// page was touched, and how far the routine reaches: the case is run again
// with growing slack between every operand and its guard page until it
// runs clean (guardArena.check, which uses debug.SetPanicOnFault). A fault
// the check cannot catch (one on another goroutine, or one the runtime
// cannot turn into a panic) kills the test binary with SIGSEGV
// ("unexpected fault address"), which is as much a failure: with -v the
// last "=== RUN" line names the test. The tests run the kernels' pieces
// on the test's own goroutine so that check catches every fault.

// guardSizes are the lengths and sizes the over-read tests try: around
// the 6-row and 16-column tiles and the 8- and 32-float vector blocks.
var guardSizes = []int{1, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65}

// guardMaxSlack is the most slack, in 4-byte words, guardArena.check
// tries when measuring an over-read.
const guardMaxSlack = 1024

// guardArena hands out operands placed against an inaccessible page:
// ending right before one, or (before set) starting right after one.
// Mappings are kept for reuse between cases and unmapped in the test's
// cleanup.
type guardArena struct {
	t      testing.TB
	before bool
	slack  int // 4-byte words between an operand and its guard page
	rng    *rand.Rand
	page   int
	live   []guardBuf
	free   map[int][][]byte // unused mappings by number of data pages
}

// guardBuf is one operand's mapping: its data pages and its guard page.
type guardBuf struct {
	name     string
	mem      []byte
	pages    int     // data pages
	lo, hi   uintptr // the operand's bytes
	glo, ghi uintptr // the guard page's
}

// newGuardArena returns an empty arena for t, operands ending at their
// guard pages or (before) starting after them.
func newGuardArena(t testing.TB, before bool) *guardArena {
	a := &guardArena{t: t, before: before, rng: rand.New(rand.NewPCG(41, 42)),
		page: syscall.Getpagesize(), free: map[int][][]byte{}}
	t.Cleanup(a.unmap)
	return a
}

// words returns the address of n 4-byte words (n ≥ 0) placed against a
// guard page, as the arena's placement and slack say, named name in
// failures.
func (a *guardArena) words(name string, n int) unsafe.Pointer {
	a.t.Helper()
	size := 4 * (n + a.slack)
	pages := max(1, (size+a.page-1)/a.page)
	var mem []byte
	if l := a.free[pages]; len(l) > 0 {
		mem, a.free[pages] = l[len(l)-1], l[:len(l)-1]
	} else {
		var err error
		mem, err = syscall.Mmap(-1, 0, (pages+1)*a.page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		if err != nil {
			a.t.Fatalf("mmap %d pages: %v", pages+1, err)
		}
		guard := mem[pages*a.page:]
		if a.before {
			guard = mem[:a.page]
		}
		if err := syscall.Mprotect(guard, syscall.PROT_NONE); err != nil {
			syscall.Munmap(mem)
			a.t.Fatalf("mprotect: %v", err)
		}
	}
	b := guardBuf{name: name, mem: mem, pages: pages}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(mem)))
	var p unsafe.Pointer
	if a.before {
		b.glo, b.ghi = base, base+uintptr(a.page)
		p = unsafe.Pointer(&mem[a.page+4*a.slack])
	} else {
		b.glo, b.ghi = base+uintptr(pages*a.page), base+uintptr((pages+1)*a.page)
		p = unsafe.Pointer(&mem[pages*a.page-size])
	}
	b.lo = uintptr(p)
	b.hi = b.lo + uintptr(4*n)
	a.live = append(a.live, b)
	return p
}

// f32 returns n floats, uniform in [-1, 1), placed against a guard page.
func (a *guardArena) f32(name string, n int) []float32 {
	a.t.Helper()
	s := unsafe.Slice((*float32)(a.words(name, n)), n)
	for i := range s {
		s[i] = float32(a.rng.Float64()*2 - 1)
	}
	return s
}

// i32 returns n int32s, uniform in [0, hi], placed against a guard page.
func (a *guardArena) i32(name string, n int, hi int32) []int32 {
	a.t.Helper()
	s := unsafe.Slice((*int32)(a.words(name, n)), n)
	for i := range s {
		s[i] = a.rng.Int32N(hi + 1)
	}
	return s
}

// release returns the live operands' mappings to the arena for reuse.
func (a *guardArena) release() {
	for _, b := range a.live {
		a.free[b.pages] = append(a.free[b.pages], b.mem)
	}
	a.live = a.live[:0]
}

// unmap releases and unmaps every mapping.
func (a *guardArena) unmap() {
	a.release()
	for _, l := range a.free {
		for _, mem := range l {
			if err := syscall.Munmap(mem); err != nil {
				a.t.Errorf("munmap: %v", err)
			}
		}
	}
	clear(a.free)
}

// where describes the faulting address addr: whose guard page it lies in,
// and how far from that operand's end (or start).
func (a *guardArena) where(addr uintptr) string {
	for _, b := range a.live {
		if addr < b.glo || addr >= b.ghi {
			continue
		}
		if a.before {
			return fmt.Sprintf("touched the guard page before %s at byte %d before its start", b.name, b.lo-addr)
		}
		return fmt.Sprintf("touched the guard page after %s at byte %d past its end", b.name, addr-b.hi+1)
	}
	return fmt.Sprintf("faulted at %#x, in no operand's guard page", addr)
}

// try runs f with fresh operands and reports whether it faulted, and
// where. Any other panic fails the test with its stack.
func (a *guardArena) try(name string, f func(a *guardArena)) (where string, faulted bool) {
	defer a.release()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if e, ok := r.(interface{ Addr() uintptr }); ok {
			where, faulted = a.where(e.Addr()), true
			return
		}
		a.t.Fatalf("%s: panic: %v\n%s", name, r, debug.Stack())
	}()
	f(a)
	return "", false
}

// check runs the case f, which takes its operands from the arena, and
// fails the test if it touches a guard page, measuring the over-read by
// running f again with ever more slack.
func (a *guardArena) check(name string, f func(a *guardArena)) {
	a.t.Helper()
	a.slack = 0
	where, faulted := a.try(name, f)
	if !faulted {
		return
	}
	side := "after"
	if a.before {
		side = "before"
	}
	defer func() { a.slack = 0 }()
	for a.slack = 1; a.slack <= guardMaxSlack; a.slack++ {
		if _, again := a.try(name, f); !again {
			a.t.Errorf("%s: %s; runs clean with %d bytes of slack %s each operand", name, where, 4*a.slack, side)
			return
		}
	}
	a.t.Errorf("%s: %s; still faults with %d bytes of slack %s each operand", name, where, 4*guardMaxSlack, side)
}

// guardEach runs f at each dispatch level, once with operands ending at
// their guard pages ("end") and once with operands starting after them
// ("start"). A case that reads (or writes) past an operand fails the test,
// or where the fault cannot be caught kills the test binary with SIGSEGV.
func guardEach(t *testing.T, f func(t *testing.T, a *guardArena)) {
	forEachISA(t, func(t *testing.T) {
		for _, before := range []bool{false, true} {
			name := "end"
			if before {
				name = "start"
			}
			t.Run(name, func(t *testing.T) { f(t, newGuardArena(t, before)) })
		}
	})
}

// guardRun runs every piece of task in turn on the calling goroutine
// (where a fault can be caught), with scratch placed against a guard page.
func guardRun(a *guardArena, task Task) {
	if st, ok := task.(Staged); ok && st.Shared() > 0 {
		st.UseShared(a.f32("shared", st.Shared()))
	}
	scratch := a.f32("scratch", task.Scratch())
	for p := range task.Tasks() {
		task.Run(p, scratch)
	}
}

// guardFlags are the micro-kernel epilogues the tests cycle through.
var guardFlags = []uint64{0, tileBias, tileZ | tileAct, tileAccum | tileAct, tileBias | tileZ | tileAct}

// TestGuardHarness checks that the arena's guard pages fault and that
// check measures an over-read: a Go loop reading n+3 floats of an n-float
// slice through unsafe must be reported, 12 bytes past its end.
func TestGuardHarness(t *testing.T) {
	for _, before := range []bool{false, true} {
		ft := &guardFakeT{TB: t}
		a := newGuardArena(ft, before)
		a.check("overread", func(a *guardArena) {
			x := a.f32("x", 5)
			p := unsafe.Pointer(unsafe.SliceData(x))
			for i := range 8 {
				if before {
					guardSink += *(*float32)(unsafe.Add(p, 4*(i-3)))
				} else {
					guardSink += *(*float32)(unsafe.Add(p, 4*i))
				}
			}
		})
		want := "overread: touched the guard page after x at byte 1 past its end; runs clean with 12 bytes of slack after each operand"
		if before {
			want = "overread: touched the guard page before x at byte 12 before its start; runs clean with 12 bytes of slack before each operand"
		}
		if ft.msg != want {
			t.Errorf("before %v: check reported %q, want %q", before, ft.msg, want)
		}
		a.check("in bounds", func(a *guardArena) {
			for _, v := range a.f32("x", 1000) {
				guardSink += v
			}
		})
		if ft.errors != 1 {
			t.Errorf("before %v: %d failures reported, want 1", before, ft.errors)
		}
	}
}

// guardSink keeps TestGuardHarness's reads from being optimized away.
var guardSink float32

// guardFakeT records the failures reported to it instead of failing.
type guardFakeT struct {
	testing.TB
	msg    string
	errors int
}

func (f *guardFakeT) Errorf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	f.errors++
}

// TestGuardGemmRow runs the micro-kernel row (gemm.go's gemmRow) with the
// A panel, the B panels (exactly the n columns' panels), C, Z and the bias
// against guard pages.
func TestGuardGemmRow(t *testing.T) {
	guardEach(t, func(t *testing.T, a *guardArena) {
		i := 0
		for _, kc := range guardSizes {
			for _, n := range guardSizes {
				for rows := 1; rows <= gemmMR; rows++ {
					flags, ldc := guardFlags[i%len(guardFlags)], n+i%3
					i++
					name := fmt.Sprintf("gemmRow kc %d, n %d, rows %d, ldc %d, flags %#x", kc, n, rows, ldc, flags)
					a.check(name, func(a *guardArena) {
						last := (rows-1)*ldc + n
						pa := a.f32("A panel", kc*gemmMR)
						pb := a.f32("B panels", gemmRoundUp(n, gemmNR)*kc)
						c := a.f32("C", last)
						var z, bias []float32
						if flags&tileZ != 0 {
							z = a.f32("Z", last)
						}
						if flags&tileBias != 0 {
							bias = a.f32("bias", rows)
						}
						gemmRow(kc, pa, pb, c, ldc, z, bias, rows, n, flags, 0, 1)
					})
				}
			}
		}
	})
}

// TestGuardGemmPacked runs the whole GEMM (gemmPackedEpi: packB with
// packRow, then gemmRow) with packed A, B, C, Z, the bias and the scratch
// against guard pages.
func TestGuardGemmPacked(t *testing.T) {
	guardEach(t, func(t *testing.T, a *guardArena) {
		for _, m := range []int{1, 5, 6, 7, 13} {
			for _, n := range append(guardSizes, gemmNC+17) {
				for _, k := range []int{1, 7, 17, 65, gemmKC + 1} {
					name := fmt.Sprintf("gemmPacked m %d, n %d, k %d", m, n, k)
					a.check(name, func(a *guardArena) {
						ep := &epilogue{act: ir.Activation{Kind: ir.ActRelu}}
						pa := a.f32("packed A", packedALen(m, k))
						b := a.f32("B", k*n)
						c := a.f32("C", m*n)
						if k%2 == 1 {
							ep.z = a.f32("Z", m*n)
							ep.bias = a.f32("bias", m)
						}
						scratch := a.f32("scratch", gemmScratch(k, n))
						gemmPackedEpi(m, n, k, pa, b, n, c, n, scratch, ep)
					})
				}
			}
		}
	})
}

// TestGuardPackRow runs packRow (gemm.go) with its source row and its
// destination panels against guard pages.
func TestGuardPackRow(t *testing.T) {
	guardEach(t, func(t *testing.T, a *guardArena) {
		for _, panels := range guardSizes {
			for _, kc := range []int{1, 3, 16} {
				stride := kc * gemmNR
				a.check(fmt.Sprintf("packRow panels %d, stride %d", panels, stride), func(a *guardArena) {
					src := a.f32("src", panels*gemmNR)
					dst := a.f32("dst", (panels-1)*stride+gemmNR)
					packRow(dst, src, stride, panels)
				})
			}
		}
	})
}

// TestGuardConvRow runs the implicit convolution's micro-kernel row
// (convRow) on its own, with x ending right after the last float the
// offsets reach (the largest offset plus the n columns rounded up to whole
// 16-float tiles, which convRow reads in full), or starting at the
// smallest offset 0, and the offset table, A, C, Z and the bias against
// guard pages.
func TestGuardConvRow(t *testing.T) {
	guardEach(t, func(t *testing.T, a *guardArena) {
		i := 0
		for _, kc := range guardSizes {
			for _, n := range guardSizes {
				rows := 1 + i%gemmMR
				flags, ldc := guardFlags[i%len(guardFlags)], n+i%3
				maxOff := (i * 37) % 300
				i++
				name := fmt.Sprintf("convRow kc %d, n %d, rows %d, ldc %d, max offset %d, flags %#x", kc, n, rows, ldc, maxOff, flags)
				a.check(name, func(a *guardArena) {
					last := (rows-1)*ldc + n
					pa := a.f32("A panel", kc*gemmMR)
					offs := a.i32("offsets", kc, int32(maxOff))
					offs[a.rng.IntN(kc)] = int32(maxOff)
					offs[a.rng.IntN(kc)] = 0
					x := a.f32("x", maxOff+gemmRoundUp(n, gemmNR))
					c := a.f32("C", last)
					var z, bias []float32
					if flags&tileZ != 0 {
						z = a.f32("Z", last)
					}
					if flags&tileBias != 0 {
						bias = a.f32("bias", rows)
					}
					convRow(kc, pa, offs, x, maxOff, c, ldc, z, bias, rows, n, flags, -0.5, 0.5)
				})
			}
		}
	})
}

// guardConvCases are the convolutions the Conv2D tests bind: output
// widths around the 8- and 16-wide blocks, strides 1 to 4, dilation,
// kernels reaching X's last column (no padding) and groups.
var guardConvCases = []convCase{
	// n, c, h, w, m, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, g
	{1, 1, 3, 15, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
	{1, 2, 4, 16, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
	{1, 3, 3, 17, 6, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1},
	{1, 1, 5, 33, 7, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1},
	{1, 2, 3, 31, 13, 1, 3, 1, 1, 1, 1, 0, 1, 0, 1, 1},
	{1, 2, 3, 32, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
	{1, 3, 3, 63, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
	{2, 2, 3, 66, 6, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1},
	{1, 2, 4, 65, 7, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},
	{1, 2, 5, 35, 6, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 1},    // stride 2, OW 17
	{1, 3, 7, 67, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},    // stride 2, OW 34
	{1, 2, 5, 51, 3, 3, 3, 3, 3, 1, 1, 0, 0, 0, 0, 1},    // stride 3, OW 17
	{1, 1, 11, 71, 4, 11, 11, 4, 4, 1, 1, 0, 0, 0, 0, 1}, // stride 4, OW 16
	{1, 2, 6, 36, 6, 3, 3, 1, 1, 2, 2, 0, 0, 0, 0, 1},    // dilated, OW 32
	{1, 4, 3, 17, 8, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 2},    // groups, OW 15
	{1, 4, 4, 18, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4},    // depthwise-like, OW 18
}

// guardConv binds the convolution cc with algo (checking it binds as
// want's type) and runs it with X, the packed W, B, Z, Y and the scratch
// against guard pages.
func guardConv(t *testing.T, a *guardArena, cc convCase, algo ir.ConvAlgo, i int, want func(Task) bool) {
	acts := []ir.Activation{{}, {Kind: ir.ActRelu}, {Kind: ir.ActClip, Min: -0.3, Max: 0.4}}
	k := cc.kernel(algo, acts[i%len(acts)])
	a.check(fmt.Sprintf("Conv2D %v %v", algo, cc), func(a *guardArena) {
		in := []*ir.Tensor{
			f32(a.f32("X", k.N*k.C*k.H*k.W)),
			f32(a.f32("packed W", PackedConvLen(k))), nil, nil,
		}
		if i%2 == 0 {
			in[2] = f32(a.f32("B", k.M))
		}
		if i%3 != 1 {
			in[3] = f32(a.f32("Z", k.N*k.M*k.OH*k.OW))
		}
		task, err := k.Bind(in, []*ir.Tensor{f32(a.f32("Y", k.N*k.M*k.OH*k.OW))})
		if err != nil {
			t.Fatalf("%v: %v", cc, err)
		}
		if !want(task) {
			t.Fatalf("%v %v: bound as %T, not the kernel under test", algo, cc, task)
		}
		guardRun(a, task)
	})
}

// TestGuardConvImplicit runs AlgoIm2col convolutions with output rows of
// 12 or more, which bind to the implicit convolution (convRow reading the
// band in the scratch, which ends at its guard page).
func TestGuardConvImplicit(t *testing.T) {
	guardEach(t, func(t *testing.T, a *guardArena) {
		for i, cc := range guardConvCases {
			guardConv(t, a, cc, ir.AlgoIm2col, i, func(task Task) bool {
				_, ok := task.(*convImplicit)
				return ok
			})
		}
	})
}

// TestGuardConvOCBlock runs AlgoOCBlock convolutions: the guard cases,
// rows of 7 or fewer (two-row tiles), channel counts around the 32-channel
// blocks, and 1x1 layers that read X in place, each with X, the shared
// band or the scratch band, the weights, B, Z and Y against guard pages.
func TestGuardConvOCBlock(t *testing.T) {
	cases := append([]convCase{
		// n, c, h, w, m, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, g
		{1, 3, 7, 7, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{1, 2, 5, 3, 31, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{2, 4, 6, 14, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1},
		{1, 5, 7, 7, 17, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1},
		{1, 6, 9, 29, 40, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2},
		{1, 4, 9, 9, 16, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1},
	}, guardConvCases...)
	guardEach(t, func(t *testing.T, a *guardArena) {
		for i, cc := range cases {
			guardConv(t, a, cc, ir.AlgoOCBlock, i, func(task Task) bool {
				_, ok := task.(*convOCBlock)
				return ok
			})
		}
	})
}

// TestGuardConvDirect runs AlgoDirect and AlgoDepthwise convolutions
// (conv_direct.go's row kernels over the band in the scratch, and the
// stride-2 gather reading X).
func TestGuardConvDirect(t *testing.T) {
	guardEach(t, func(t *testing.T, a *guardArena) {
		for i, cc := range guardConvCases {
			isDirect := func(task Task) bool {
				d, ok := task.(*convDirect)
				return ok && !d.planar
			}
			guardConv(t, a, cc, ir.AlgoDirect, i, isDirect)
			dw := cc
			dw.c, dw.m, dw.g = 3, 3, 3
			guardConv(t, a, dw, ir.AlgoDepthwise, i, isDirect)
		}
	})
}

// TestGuardGemv runs gemvBlock (fc.go) with x, exactly the n columns'
// panels of B, and y against guard pages, and Gemm kernels (M = 1, the
// matrix-vector product, and M = 7) with X, the packed B, the bias and Y
// against guard pages.
func TestGuardGemv(t *testing.T) {
	guardEach(t, func(t *testing.T, a *guardArena) {
		for _, kc := range append(guardSizes, gemmKC) {
			for _, n := range guardSizes {
				a.check(fmt.Sprintf("gemvBlock kc %d, n %d", kc, n), func(a *guardArena) {
					x := a.f32("x", kc)
					b := a.f32("B panels", gemmRoundUp(n, gemmNR)*kc)
					gemvBlock(x, b, a.f32("y", n))
				})
			}
		}
		for i, n := range guardSizes {
			for _, m := range []int{1, 7} {
				for _, kk := range []int{1, 17, 65, gemmKC + 3} {
					k := &Gemm{M: m, N: n, K: kk, Act: ir.Activation{Kind: ir.ActRelu}}
					a.check(fmt.Sprintf("Gemm M %d, N %d, K %d", m, n, kk), func(a *guardArena) {
						in := []*ir.Tensor{f32(a.f32("X", m*kk)), f32(a.f32("packed B", PackedGemmLen(k)))}
						if i%2 == 0 {
							in = append(in, f32(a.f32("bias", n)))
						}
						task, err := k.Bind(in, []*ir.Tensor{f32(a.f32("Y", m*n))})
						if err != nil {
							t.Fatalf("%+v: %v", *k, err)
						}
						guardRun(a, task)
					})
				}
			}
		}
	})
}

// guardActs are the activations of the element-wise tests.
var guardActs = []ir.Activation{{}, {Kind: ir.ActRelu}, {Kind: ir.ActClip, Min: -0.5, Max: 0.75}}

// TestGuardElementwise runs the element-wise kernels (elementwise.go's
// affineRows, activate, binary and exp32Slice) with every operand against
// a guard page, in place and not.
func TestGuardElementwise(t *testing.T) {
	guardEach(t, func(t *testing.T, a *guardArena) {
		for _, n := range guardSizes {
			for _, inPlace := range []bool{false, true} {
				for _, rows := range []int{1, 3} {
					for _, act := range guardActs {
						a.check(fmt.Sprintf("affineRows rows %d, n %d, %v, in place %v", rows, n, act.Kind, inPlace), func(a *guardArena) {
							x := a.f32("x", rows*n)
							y := x
							if !inPlace {
								y = a.f32("y", rows*n)
							}
							affineRows(y, x, a.f32("scale", rows), a.f32("shift", rows), n, act)
						})
					}
				}
				for _, act := range guardActs[1:] {
					a.check(fmt.Sprintf("activate n %d, %v, in place %v", n, act.Kind, inPlace), func(a *guardArena) {
						x := a.f32("x", n)
						y := x
						if !inPlace {
							y = a.f32("y", n)
						}
						activate(y, x, act)
					})
				}
				a.check(fmt.Sprintf("exp32Slice n %d, in place %v", n, inPlace), func(a *guardArena) {
					x := a.f32("x", n)
					y := x
					if !inPlace {
						y = a.f32("y", n)
					}
					exp32Slice(y, x, 0.25)
				})
			}
			for op := BinAdd; op <= BinMin; op++ {
				for alias := range 3 { // y apart, y = a, y = b
					act := guardActs[(int(op)+alias)%len(guardActs)]
					a.check(fmt.Sprintf("binary op %d, n %d, %v, alias %d", op, n, act.Kind, alias), func(a *guardArena) {
						x0, x1 := a.f32("a", n), a.f32("b", n)
						var y []float32
						switch alias {
						case 0:
							y = a.f32("y", n)
						case 1:
							y = x0
						case 2:
							y = x1
						}
						binary(op, y, x0, x1, act)
					})
				}
			}
		}
	})
}

// TestGuardPool runs the pooling row kernels (pool.go's poolMax3x3s2 and
// the like, poolRowMax and poolRowSum) with their rows and outputs against
// guard pages, and Pool2D and GlobalPool kernels with X and Y against
// guard pages.
func TestGuardPool(t *testing.T) {
	guardEach(t, func(t *testing.T, a *guardArena) {
		rows3 := []struct {
			name string
			f    func(r0, r1, r2, y []float32)
			cols func(n int) int
		}{
			{"poolMax3x3s2", poolMax3x3s2, func(n int) int { return 2*n + 1 }},
			{"poolAvg3x3s2", poolAvg3x3s2, func(n int) int { return 2*n + 1 }},
			{"poolMax3x3s1", poolMax3x3s1, func(n int) int { return n + 2 }},
			{"poolAvg3x3s1", poolAvg3x3s1, func(n int) int { return n + 2 }},
		}
		rows2 := []struct {
			name string
			f    func(r0, r1, y []float32)
		}{{"poolMax2x2s2", poolMax2x2s2}, {"poolAvg2x2s2", poolAvg2x2s2}}
		for _, n := range guardSizes {
			for _, k := range rows3 {
				a.check(fmt.Sprintf("%s n %d", k.name, n), func(a *guardArena) {
					c := k.cols(n)
					k.f(a.f32("r0", c), a.f32("r1", c), a.f32("r2", c), a.f32("y", n))
				})
			}
			for _, k := range rows2 {
				a.check(fmt.Sprintf("%s n %d", k.name, n), func(a *guardArena) {
					k.f(a.f32("r0", 2*n), a.f32("r1", 2*n), a.f32("y", n))
				})
			}
		}
		for _, n := range append(guardSizes, 127, 128, 129, 255, 256, 257, 511, 512, 513) {
			a.check(fmt.Sprintf("poolRowMax n %d", n), func(a *guardArena) { poolRowMax(a.f32("x", n)) })
			a.check(fmt.Sprintf("poolRowSum n %d", n), func(a *guardArena) { poolRowSum(a.f32("x", n)) })
		}
		for _, w := range guardSizes {
			for _, s := range []struct{ kern, stride, pad int }{{3, 2, 0}, {3, 2, 1}, {3, 1, 0}, {3, 1, 1}, {2, 2, 0}} {
				if w < s.kern {
					continue
				}
				for _, isMax := range []bool{true, false} {
					k := &Pool2D{N: 1, C: 2, H: 3, W: w, KH: s.kern, KW: s.kern, SH: s.stride, SW: s.stride, DH: 1, DW: 1,
						PadT: s.pad, PadL: s.pad, PadB: s.pad, PadR: s.pad, Max: isMax}
					k.OH = ir.PoolOutputSize(k.H, k.KH, k.SH, 1, k.PadT, k.PadB, false)
					k.OW = ir.PoolOutputSize(k.W, k.KW, k.SW, 1, k.PadL, k.PadR, false)
					a.check(fmt.Sprintf("Pool2D %+v", *k), func(a *guardArena) {
						task, err := k.Bind([]*ir.Tensor{f32(a.f32("X", k.N*k.C*k.H*k.W))}, []*ir.Tensor{f32(a.f32("Y", k.N*k.C*k.OH*k.OW))})
						if err != nil {
							t.Fatalf("%+v: %v", *k, err)
						}
						guardRun(a, task)
					})
				}
			}
			for _, isMax := range []bool{true, false} {
				k := &GlobalPool{Rows: 3, Size: w, Max: isMax}
				a.check(fmt.Sprintf("GlobalPool %+v", *k), func(a *guardArena) {
					task, err := k.Bind([]*ir.Tensor{f32(a.f32("X", k.Rows*k.Size))}, []*ir.Tensor{f32(a.f32("Y", k.Rows))})
					if err != nil {
						t.Fatalf("%+v: %v", *k, err)
					}
					guardRun(a, task)
				})
			}
		}
	})
}

// TestGuardConvWinograd runs both Winograd variants on 3x3 stride-1 cases
// with and without padding, segments that cross 16-tile panels, partial
// tiles at the right and bottom edges and more than one K-block, with X,
// the packed W, B, Z, Y and the scratch (V, then M) against guard pages.
func TestGuardConvWinograd(t *testing.T) {
	cases := []convCase{
		// n, c, h, w, m, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, g
		{1, 3, 7, 7, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{2, 4, 9, 30, 7, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1},
		{1, 2, 13, 11, 3, 3, 3, 1, 1, 1, 1, 2, 0, 1, 2, 1},
		{1, 5, 6, 70, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{1, 520, 5, 5, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{3, 2, 3, 3, 70, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1},
	}
	guardEach(t, func(t *testing.T, a *guardArena) {
		for i, cc := range cases {
			for _, algo := range []ir.ConvAlgo{ir.AlgoWinograd2, ir.AlgoWinograd4} {
				guardConv(t, a, cc, algo, i, func(task Task) bool {
					_, ok := task.(*wgTask)
					return ok
				})
			}
		}
	})
}

// TestGuardConvGrad runs ConvGradFilter's packing routines (convGradRuns,
// convGradPackDY) with src ending right after the last float they read and
// dst exactly their output, against guard pages, and ConvGradFilter on
// layers whose runs reach X's ends.
func TestGuardConvGrad(t *testing.T) {
	guardEach(t, func(t *testing.T, a *guardArena) {
		for _, n := range guardSizes {
			for _, stride := range []int{1, 2} {
				maxOff := (n * 37) % 300
				a.check(fmt.Sprintf("convGradRuns n %d, stride %d, max offset %d", n, stride, maxOff), func(a *guardArena) {
					o := a.i32("offsets", gemmNR, int32(maxOff))
					o[a.rng.IntN(gemmNR)], o[a.rng.IntN(gemmNR)] = int32(maxOff), 0
					offs := (*[gemmNR]int32)(o)
					src := a.f32("src", maxOff+stride*(n-1)+1)
					dst := a.f32("dst", n*gemmNR)
					convGradRuns(dst, src, offs, maxOff, n, stride)
				})
			}
			a.check(fmt.Sprintf("convGradPackDY n %d", n), func(a *guardArena) {
				ld := n + n%3
				src := a.f32("src", (gemmMR-1)*ld+n)
				dst := a.f32("dst", n*gemmMR)
				convGradPackDY(dst, src, ld, n)
			})
		}
		for _, cc := range []convCase{
			{2, 3, 9, 10, 7, 1, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1},
			{2, 2, 9, 20, 7, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 1},
			{3, 5, 1, 50, 7, 1, 4, 1, 1, 1, 1, 0, 1, 0, 2, 1},
		} {
			k := cc.kernel(ir.AlgoAuto, ir.Activation{})
			a.check(fmt.Sprintf("ConvGradFilter %v", cc), func(a *guardArena) {
				x := ir.FromFloat32(ir.Shape{k.N, k.C, k.H, k.W}, a.f32("X", k.N*k.C*k.H*k.W))
				dy := ir.FromFloat32(ir.Shape{k.N, k.M, k.OH, k.OW}, a.f32("dY", k.N*k.M*k.OH*k.OW))
				dw := ir.FromFloat32(ir.Shape{k.M, k.C, k.KH, k.KW}, a.f32("dW", k.M*k.C*k.KH*k.KW))
				task, err := (&ConvGradFilter{Conv: *k}).Bind([]*ir.Tensor{x, dy}, []*ir.Tensor{dw})
				if err != nil {
					t.Fatal(err)
				}
				guardRun(a, task)
			})
		}
	})
}
