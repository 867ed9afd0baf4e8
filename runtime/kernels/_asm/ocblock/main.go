// Command ocblock generates the AVX-512 micro-kernels of the output-channel
// blocked convolution (conv_ocblock.go): 32 output channels (two zmm
// vectors) by p ≤ 14 consecutive output positions of one row, every tap in
// one pass, and an epilogue that transposes the tile in the registers
// to store the NCHW output.
//
//	go run ./ocblock -out ../ocblock_amd64.s -stubs ../ocblock_stub_amd64.go -pkg kernels
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// prefetch is how far ahead of the taps' weights the kernel prefetches,
// in bytes (8 taps).
const prefetch = 8 * 128

// maxP is the widest tile; 2*maxP accumulators leave four zmm registers.
const maxP = 14

// The epilogue flags; gemm.go has the same constants (tileBias ...).
const (
	flagBias = 1 << (iota + 1) // add bias[o]
	flagZ                      // add Z(o, j)
	flagAct                    // clamp to [lo, hi]
)

func main() {
	ConstraintExpr("!noasm")
	for p := 1; p <= maxP; p++ {
		kernel(p, 0)
	}
	for w := 1; 2*w <= maxP; w++ {
		kernel(2*w, w)
	}
	Generate()
}

var zr = []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
	Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}

// kernel emits the micro-kernel for tiles of p positions: consecutive
// ones of a row from x, or, with split > 0, two rows of split positions,
// the first from x and the second from x2.
func kernel(p, split int) {
	name := fmt.Sprintf("convOCRow%dAVX512", p)
	if split == 0 {
		TEXT(name, NOSPLIT, "func(k int, a *float32, offs *int32, x, y *float32, ohw int, z, bias *float32, ocs int, flags uint64, lo, hi float32)")
		Doc(fmt.Sprintf("%s is convOCRowGeneric for a tile of %d positions in AVX-512.", name, p))
	} else {
		name = fmt.Sprintf("convOCRows%dAVX512", split)
		TEXT(name, NOSPLIT, "func(k int, a *float32, offs *int32, x, x2, y *float32, ohw int, z, bias *float32, ocs int, flags uint64, lo, hi float32)")
		Doc(fmt.Sprintf("%s is convOCRowGeneric for a tile of two output rows of %d positions in", name, split),
			"AVX-512: the taps of the first read x, those of the second x2.")
	}
	l := func(label string) string { return name + "_" + label }
	acc := func(j, b int) VecPhysical { return zr[2*j+b] }
	for j := 0; j < p; j++ {
		VPXORD(acc(j, 0), acc(j, 0), acc(j, 0))
		VPXORD(acc(j, 1), acc(j, 1), acc(j, 1))
	}
	k := Load(Param("k"), GP64())
	a := Load(Param("a"), GP64())
	offs := Load(Param("offs"), GP64())
	x := Load(Param("x"), GP64())
	x2 := x
	if split > 0 {
		x2 = Load(Param("x2"), GP64())
	}
	off := GP64()
	Label(l("loop"))
	MOVLQSX(Mem{Base: offs}, off)
	VMOVUPS(Mem{Base: a}, Z28)
	VMOVUPS(Mem{Base: a, Disp: 64}, Z29)
	// The weights stream once per tile, from L2 or memory: fetch them
	// a few taps ahead.
	PREFETCHT0(Mem{Base: a, Disp: prefetch})
	PREFETCHT0(Mem{Base: a, Disp: prefetch + 64})
	// Each tap's input lines for the tile to the right, the next one a
	// row tile runs: the band is too large for the caches and its rows,
	// one per channel, too many for the hardware's stream prefetchers
	// (a 64-channel 224x224 layer runs 1.3 times as fast). Two-row tiles
	// are on small maps, in L2.
	if split == 0 {
		PREFETCHT0(Mem{Base: x, Index: off, Scale: 4, Disp: 4 * p})
		PREFETCHT0(Mem{Base: x, Index: off, Scale: 4, Disp: 4*p + 60})
	}
	for j := 0; j < p; j++ {
		b := Z30
		if j%2 == 1 {
			b = Z31
		}
		src := Mem{Base: x, Index: off, Scale: 4, Disp: 4 * j}
		if split > 0 && j >= split {
			src = Mem{Base: x2, Index: off, Scale: 4, Disp: 4 * (j - split)}
		}
		VBROADCASTSS(src, b)
		VFMADD231PS(Z28, b, acc(j, 0))
		VFMADD231PS(Z29, b, acc(j, 1))
	}
	ADDQ(U8(128), a)
	ADDQ(U8(4), offs)
	DECQ(k)
	JNZ(LabelRef(l("loop")))

	// Bias, per channel, before the tile leaves the registers.
	flags := Load(Param("flags"), GP64())
	TESTQ(U32(flagBias), flags)
	JZ(LabelRef(l("nobias")))
	bias := Load(Param("bias"), GP64())
	// The bias holds ocs floats: load them through the channel masks
	// K1 (0-15) and K2 (16-31).
	ocs := Load(Param("ocs"), GP64())
	m := GP64()
	MOVQ(U32(1), m)
	SHLXQ(ocs, m, m)
	DECQ(m) // (1 << ocs) - 1; ocs ≤ 32
	KMOVD(m.As32(), K1)
	SHRQ(U8(16), m)
	KMOVW(m.As32(), K2)
	VMOVUPS_Z(Mem{Base: bias}, K1, Z28)
	VMOVUPS_Z(Mem{Base: bias, Disp: 64}, K2, Z29)
	for j := 0; j < p; j++ {
		VADDPS(Z28, acc(j, 0), acc(j, 0))
		VADDPS(Z29, acc(j, 1), acc(j, 1))
	}
	Label(l("nobias"))

	// Each 16-channel half of the tile is transposed in the registers
	// (transpose16), so that register o holds channel o's outputs at
	// lanes j < p, and stored to its row of Y through the lane mask K4,
	// after Z and the activation (masked loads and stores do not touch
	// the lanes past p).
	pm := GP32()
	MOVL(U32(1<<p-1), pm)
	KMOVW(pm, K4)
	n := Load(Param("ocs"), GP64())
	y := Load(Param("y"), GP64())
	z := Load(Param("z"), GP64())
	ldy := Load(Param("ohw"), GP64())
	SHLQ(U8(2), ldy) // bytes
	done := l("done")
	for b := 0; b < 2; b++ {
		var rows [16]VecPhysical
		for j := range rows {
			rows[j] = Z28 // rows 14 and 15 are never stored
			if j == 15 {
				rows[j] = Z29
			}
			if j < maxP {
				rows[j] = acc(j, b) // rows j ≥ p are unused accumulators
			}
		}
		cols := transpose16(rows, Z30)
		VBROADCASTSS(param("lo"), Z30)
		VBROADCASTSS(param("hi"), Z31)
		for o := 0; o < 16; o++ {
			CMPQ(n, U8(16*b+o))
			JLE(LabelRef(done))
			c := cols[o]
			noz, noact := l(fmt.Sprintf("noz%d", 16*b+o)), l(fmt.Sprintf("noact%d", 16*b+o))
			TESTQ(U32(flagZ), flags)
			JZ(LabelRef(noz))
			VADDPS(Mem{Base: z}, c, K4, c)
			if split == 0 {
				PREFETCHT0(Mem{Base: z, Disp: 4 * p})
				PREFETCHT0(Mem{Base: z, Disp: 8*p - 4})
			}
			ADDQ(ldy, z)
			Label(noz)
			TESTQ(U32(flagAct), flags)
			JZ(LabelRef(noact))
			// max(lo, x) then min(hi, x) with x the second source, so
			// that a NaN stays NaN.
			VMAXPS(c, Z30, c)
			VMINPS(c, Z31, c)
			Label(noact)
			VMOVUPS(c, K4, Mem{Base: y})
			// As for the input: the next tile's lines of this row of Y
			// (and of Z above), so that its stores find them.
			if split == 0 {
				PREFETCHT0(Mem{Base: y, Disp: 4 * p})
				PREFETCHT0(Mem{Base: y, Disp: 8*p - 4})
			}
			ADDQ(ldy, y)
		}
	}
	Label(done)
	VZEROUPPER()
	RET()
}

// param returns the address of the named parameter.
func param(name string) Mem {
	a, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return a.Addr
}

// transpose16 transposes the 16×16 matrix whose row j is rows[j] (lane o
// its column o) in place and returns the
// registers that hold its columns: lane j of cols[o] is lane o of the
// input row j. It uses the temporary t0. Each of its four stages combines
// pairs of registers, one result into the temporary first: unpacking single floats, then pairs of
// floats, within 128-bit lanes; then two shuffles of 128-bit lanes.
func transpose16(rows [16]VecPhysical, t0 VecPhysical) [16]VecPhysical {
	r := rows
	// pair sets (a, b) to (f(a, b), g(a, b)) through t0.
	pair := func(a, b VecPhysical, f, g func(x, y, dst VecPhysical)) {
		f(a, b, t0)
		g(a, b, b)
		VMOVAPS(t0, a)
	}
	unpck := func(lo, hi func(ops ...Op)) (func(x, y, dst VecPhysical), func(x, y, dst VecPhysical)) {
		return func(x, y, d VecPhysical) { lo(y, x, d) }, func(x, y, d VecPhysical) { hi(y, x, d) }
	}
	shuf := func(imm0, imm1 uint8) (func(x, y, dst VecPhysical), func(x, y, dst VecPhysical)) {
		return func(x, y, d VecPhysical) { VSHUFF32X4(U8(imm0), y, x, d) }, func(x, y, d VecPhysical) { VSHUFF32X4(U8(imm1), y, x, d) }
	}
	// Stage 1: s[2i] = (r[2i](4L), r[2i+1](4L), r[2i](4L+1), r[2i+1](4L+1))
	// in 128-bit lane L, s[2i+1] the same of 4L+2 and 4L+3.
	lo, hi := unpck(VUNPCKLPS, VUNPCKHPS)
	for i := 0; i < 8; i++ {
		pair(r[2*i], r[2*i+1], lo, hi)
	}
	// Stage 2: u[4i+e] = rows 4i..4i+3 at column 4L+e in lane L.
	lo, hi = unpck(VUNPCKLPD, VUNPCKHPD)
	var u [16]VecPhysical
	for i := 0; i < 4; i++ {
		pair(r[4*i], r[4*i+2], lo, hi)
		pair(r[4*i+1], r[4*i+3], lo, hi)
		u[4*i], u[4*i+1], u[4*i+2], u[4*i+3] = r[4*i], r[4*i+2], r[4*i+1], r[4*i+3]
	}
	// Stages 3 and 4: for each e, the 4×4 transpose of the 128-bit lanes
	// of a[G] = u[4G+e]: column 4L+e is lane L of each a[G], in order.
	var cols [16]VecPhysical
	for e := 0; e < 4; e++ {
		a := [4]VecPhysical{u[e], u[4+e], u[8+e], u[12+e]}
		f, g := shuf(0x44, 0xee)
		pair(a[0], a[1], f, g) // a0 = (a0.0, a0.1, a1.0, a1.1), a1 = (a0.2, a0.3, a1.2, a1.3)
		pair(a[2], a[3], f, g)
		f, g = shuf(0x88, 0xdd)
		pair(a[0], a[2], f, g) // columns e, 4+e
		pair(a[1], a[3], f, g) // columns 8+e, 12+e
		cols[e], cols[4+e], cols[8+e], cols[12+e] = a[0], a[2], a[1], a[3]
	}
	return cols
}
