// Command elem generates the AVX2 kernels of the steps other than
// convolution and GEMM: the per-channel affine (batch normalization), the
// activations, the element-wise binary operations, the interior rows of
// 3×3 and 2×2 pooling, the global pooling reductions and exp.
//
//	go run ./elem -out ../elem_amd64.s -stubs ../elem_stub_amd64.go -pkg kernels
//
// Every routine streams its slices in blocks of 8 floats (one YMM
// register) and finishes a block of fewer than 8 with masked loads and
// stores (VMASKMOVPS), so it never touches memory past the slices; the Go
// wrappers in elem_amd64.go check the slices' lengths before calling it.
// The arithmetic follows the pure-Go versions operation by operation (no
// fused multiply-add where Go rounds twice), so that both give the same
// bits, up to the sign of a zero from max and min, and which NaN; only
// poolRowSumAVX2 adds in another order (in 32 lanes, not 4).
package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("!noasm")
	maskTable()
	constTable()

	affine()
	clamp()
	binary()
	poolRows()
	planeMax()
	planeMaxS2()
	stride2Copy()
	rowMax()
	rowSum()
	exp()

	Generate()
}

// mask is elemMaskAVX2: 16 all-ones words, then 16 zero words. The 8
// words at index 16-v are the mask of a vector's first v lanes, for v in
// [-8, 16] (none below 0, all above 8).
var mask Mem

func maskTable() {
	mask = GLOBL("elemMaskAVX2", RODATA|NOPTR)
	for i := 0; i < 32; i++ {
		v := uint32(0)
		if i < 16 {
			v = 0xffffffff
		}
		DATA(4*i, U32(v))
	}
}

// consts holds the constants the kernels use as memory operands, each
// repeated 8 times (one YMM register's worth): the value's index in
// constOrder times 32 bytes into elemConstsAVX2.
var (
	constMem   Mem
	constOrder = []struct {
		name string
		bits uint32
	}{
		{"-inf", math.Float32bits(float32(math.Inf(-1)))},
		{"+inf", math.Float32bits(float32(math.Inf(1)))},
		{"nan", 0x7fc00000},
		{"1/9", math.Float32bits(float32(1.0 / 9))},
		{"1/4", math.Float32bits(0.25)},
		// exp, as exp32SliceGeneric: see exp.go.
		{"log2e", math.Float32bits(float32(1.44269504088896341))},
		{"1/2", math.Float32bits(0.5)},
		{"one", math.Float32bits(1)},
		{"ln2hi", math.Float32bits(0.693359375)},
		{"ln2lo", math.Float32bits(float32(-2.12194440e-4))},
		{"p0", math.Float32bits(float32(5.0000001201e-1))},
		{"p1", math.Float32bits(float32(1.6666665459e-1))},
		{"p2", math.Float32bits(float32(4.1665795894e-2))},
		{"p3", math.Float32bits(float32(8.3334519073e-3))},
		{"p4", math.Float32bits(float32(1.3981999507e-3))},
		{"p5", math.Float32bits(float32(1.9875691500e-4))},
		{"hi", math.Float32bits(89)},
		{"lo", math.Float32bits(-104)},
		{"bias", 127}, // an int32: the exponent bias
	}
)

func constTable() {
	constMem = GLOBL("elemConstsAVX2", RODATA|NOPTR)
	for i, c := range constOrder {
		for j := 0; j < 8; j++ {
			DATA(32*i+4*j, U32(c.bits))
		}
	}
}

// constant returns the address of the named constant's 8 copies, given
// base, a register holding elemConstsAVX2's address.
func constant(base Register, name string) Mem {
	for i, c := range constOrder {
		if c.name == name {
			return Mem{Base: base, Disp: 32 * i}
		}
	}
	panic("no constant " + name)
}

// constBase loads elemConstsAVX2's address into a new register.
func constBase() Register {
	r := GP64()
	LEAQ(constMem, r)
	return r
}

// maskBase loads elemMaskAVX2's address into a new register.
func maskBase() Register {
	r := GP64()
	LEAQ(mask, r)
	return r
}

// maskFirst returns a mask of the first n lanes (n a register in [0, 8]),
// read from the table at mb.
func maskFirst(mb, n Register) VecVirtual {
	t := GP64()
	MOVQ(U32(16), t)
	SUBQ(n, t)
	m := YMM()
	VMOVUPS(Mem{Base: mb, Index: t, Scale: 4}, m)
	return m
}

// stream emits a loop over n elements (n a register, counted down to 0)
// of the arrays at the pointers ins and out (advanced past them): for each
// 8 elements, out = f(the 8 of each input). It goes in blocks of 8*unroll,
// then 8, then a masked block of the last n%8, whose lanes past the end
// read as 0 and are not stored. mb holds elemMaskAVX2's address. Labels
// start with name.
func stream(name string, unroll int, ins []Register, out, n, mb Register, f func(xs []VecVirtual) VecVirtual) {
	advance := func(bytes int) {
		for _, p := range ins {
			ADDQ(U32(bytes), p)
		}
		ADDQ(U32(bytes), out)
	}
	if unroll > 1 {
		Label(name + "_big")
		CMPQ(n, U32(8*unroll))
		JL(LabelRef(name + "_one"))
		for u := 0; u < unroll; u++ {
			xs := make([]VecVirtual, len(ins))
			for i, p := range ins {
				xs[i] = YMM()
				VMOVUPS(Mem{Base: p, Disp: 32 * u}, xs[i])
			}
			VMOVUPS(f(xs), Mem{Base: out, Disp: 32 * u})
		}
		advance(32 * unroll)
		SUBQ(U32(8*unroll), n)
		JMP(LabelRef(name + "_big"))
	}
	Label(name + "_one")
	CMPQ(n, U8(8))
	JL(LabelRef(name + "_tail"))
	xs := make([]VecVirtual, len(ins))
	for i, p := range ins {
		xs[i] = YMM()
		VMOVUPS(Mem{Base: p}, xs[i])
	}
	VMOVUPS(f(xs), Mem{Base: out})
	advance(32)
	SUBQ(U8(8), n)
	JMP(LabelRef(name + "_one"))

	Label(name + "_tail")
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	m := maskFirst(mb, n)
	for i, p := range ins {
		xs[i] = YMM()
		VMASKMOVPS(Mem{Base: p}, m, xs[i])
	}
	VMASKMOVPS(f(xs), m, Mem{Base: out})
	for _, p := range ins {
		LEAQ(Mem{Base: p, Index: n, Scale: 4}, p)
	}
	LEAQ(Mem{Base: out, Index: n, Scale: 4}, out)
	XORQ(n, n)
	Label(name + "_done")
}

// broadcast returns a register holding 8 copies of the float32 parameter
// name.
func broadcast(name string) VecVirtual {
	p, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	r := YMM()
	VBROADCASTSS(p.Addr, r)
	return r
}

// clampTo returns min(max(x, lo), hi) in x, with x the operand returned
// for NaN so that NaN passes through.
func clampTo(x, lo, hi VecVirtual) VecVirtual {
	VMAXPS(x, lo, x)
	VMINPS(x, hi, x)
	return x
}
