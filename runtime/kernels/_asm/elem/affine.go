package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// affine: rows of n elements, each with its own scale and shift.
func affine() {
	TEXT("affineAVX2", NOSPLIT, "func(x, y, scale, shift *float32, rows, n int, lo, hi float32)")
	Pragma("noescape")
	Doc("affineAVX2 is affineRowsGeneric in AVX2 over rows rows of n floats, with",
		"the activation as the bounds lo, hi (±Inf for none, 0, +Inf for ReLU):",
		"",
		"\tfor r := 0; r < rows; r++ {",
		"\t\tfor i := 0; i < n; i++ {",
		"\t\t\ty[r*n+i] = min(max(x[r*n+i]*scale[r]+shift[r], lo), hi)",
		"\t\t}",
		"\t}",
		"",
		"with x*s rounded before +b, and NaN passing through. y may be x.")
	x := Load(Param("x"), GP64())
	y := Load(Param("y"), GP64())
	scale := Load(Param("scale"), GP64())
	shift := Load(Param("shift"), GP64())
	rows := Load(Param("rows"), GP64())
	n := Load(Param("n"), GP64())
	lo, hi := broadcast("lo"), broadcast("hi")
	mb := maskBase()
	m := GP64()

	Label("row")
	TESTQ(rows, rows)
	JZ(LabelRef("done"))
	s, b := YMM(), YMM()
	VBROADCASTSS(Mem{Base: scale}, s)
	VBROADCASTSS(Mem{Base: shift}, b)
	MOVQ(n, m)
	stream("affine", 4, []Register{x}, y, m, mb, func(xs []VecVirtual) VecVirtual {
		v := xs[0]
		VMULPS(s, v, v)
		VADDPS(b, v, v)
		return clampTo(v, lo, hi)
	})
	ADDQ(U8(4), scale)
	ADDQ(U8(4), shift)
	DECQ(rows)
	JMP(LabelRef("row"))

	Label("done")
	VZEROUPPER()
	RET()
}

// clamp: the activations ReLU and Clip on their own.
func clamp() {
	TEXT("clampAVX2", NOSPLIT, "func(x, y *float32, n int, lo, hi float32)")
	Pragma("noescape")
	Doc("clampAVX2 is activateGeneric in AVX2, with the activation as the bounds",
		"lo, hi (0, +Inf for ReLU):",
		"",
		"\tfor i := 0; i < n; i++ {",
		"\t\ty[i] = min(max(x[i], lo), hi)",
		"\t}",
		"",
		"with NaN passing through. y may be x.")
	x := Load(Param("x"), GP64())
	y := Load(Param("y"), GP64())
	n := Load(Param("n"), GP64())
	lo, hi := broadcast("lo"), broadcast("hi")
	mb := maskBase()
	stream("clamp", 4, []Register{x}, y, n, mb, func(xs []VecVirtual) VecVirtual {
		return clampTo(xs[0], lo, hi)
	})
	VZEROUPPER()
	RET()
}

// binary: the element-wise arithmetic with its activation.
func binary() {
	ops := []struct {
		name, sym string
		op        func(ops ...Op) // (x, y, d): d = y op x, Go's operand order
	}{
		{"Add", "+", VADDPS},
		{"Sub", "-", VSUBPS},
		{"Mul", "*", VMULPS},
		{"Div", "/", VDIVPS},
	}
	for _, o := range ops {
		name := "bin" + o.name + "AVX2"
		TEXT(name, NOSPLIT, "func(a, b, y *float32, n int, lo, hi float32)")
		Pragma("noescape")
		Doc(name+" is binaryGeneric's Bin"+o.name+" in AVX2, with the activation as",
			"the bounds lo, hi (±Inf for none, 0, +Inf for ReLU):",
			"",
			"\tfor i := 0; i < n; i++ {",
			"\t\ty[i] = min(max(a[i]"+o.sym+"b[i], lo), hi)",
			"\t}",
			"",
			"with NaN passing through. y may be a or b.")
		a := Load(Param("a"), GP64())
		b := Load(Param("b"), GP64())
		y := Load(Param("y"), GP64())
		n := Load(Param("n"), GP64())
		lo, hi := broadcast("lo"), broadcast("hi")
		mb := maskBase()
		stream("bin", 4, []Register{a, b}, y, n, mb, func(xs []VecVirtual) VecVirtual {
			o.op(xs[1], xs[0], xs[0])
			return clampTo(xs[0], lo, hi)
		})
		VZEROUPPER()
		RET()
	}
}
