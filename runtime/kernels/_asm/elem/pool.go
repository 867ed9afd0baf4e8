package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// poolOp is the reduction of a pooling window: the maximum or the sum
// (the mean after a scaling).
type poolOp struct {
	name   string // "Max" or "Avg"
	max    bool
	reduce func(ops ...Op) // (x, y, d): d = y op x
}

var poolOps = []poolOp{{"Max", true, VMAXPS}, {"Avg", false, VADDPS}}

// poolRows generates the interior rows of the three fast pools, max and
// average: 3×3 stride 2, 3×3 stride 1 and 2×2 stride 2. Each computes n
// outputs from 2 or 3 input rows, 8 outputs a turn and the last n%8 with
// masked loads and stores. The maximum can lose a NaN (VMAXPS returns its
// second source when either is NaN), so the max kernels compare the input
// columns with themselves as they go and return whether any was NaN; the
// Go wrapper then recomputes the row in Go.
func poolRows() {
	for _, op := range poolOps {
		pool3x3s2(op)
	}
	for _, op := range poolOps {
		pool3x3s1(op)
	}
	for _, op := range poolOps {
		pool2x2s2(op)
	}
}

// poolText starts a pooling TEXT: the signature (max kernels return the
// NaN flag) and the doc comment, whose reference loop is ref.
func poolText(name string, op poolOp, rows int, cols string, ref ...string) {
	params := "r0, r1, r2, y *float32, n int"
	if rows == 2 {
		params = "r0, r1, y *float32, n int"
	}
	sig := "func(" + params + ")"
	if op.max {
		sig += " bool"
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	doc := []string{fmt.Sprintf("%s is %sGeneric in AVX2 for n >= 0 outputs, the", name, name[:len(name)-4]),
		fmt.Sprintf("rows r0..r%d holding %s columns:", rows-1, cols), ""}
	for _, l := range ref {
		doc = append(doc, "\t"+l)
	}
	if op.max {
		doc = append(doc, "", "It returns true if an input column holds a NaN, which it may",
			"have lost: y is then to be recomputed by the Go loop.")
	}
	Doc(doc...)
}

// colReduce returns op over the rows' vectors at byte offset off, loaded
// plainly (loads of the rows after the first as memory operands).
func colReduce(op poolOp, rows []Register, off int) VecVirtual {
	v := YMM()
	VMOVUPS(Mem{Base: rows[0], Disp: off}, v)
	for _, r := range rows[1:] {
		op.reduce(Mem{Base: r, Disp: off}, v, v)
	}
	return v
}

// colReduceMasked is colReduce with loads through mask m (lanes off it
// read as 0).
func colReduceMasked(op poolOp, rows []Register, off int, m VecVirtual) VecVirtual {
	v := YMM()
	VMASKMOVPS(Mem{Base: rows[0], Disp: off}, m, v)
	for _, r := range rows[1:] {
		t := YMM()
		VMASKMOVPS(Mem{Base: r, Disp: off}, m, t)
		op.reduce(t, v, v)
	}
	return v
}

// nanCheck ors into acc the lanes where any of vs is NaN.
func nanCheck(acc VecVirtual, vs ...VecVirtual) {
	for i := 0; i < len(vs); i += 2 {
		b := vs[i]
		if i+1 < len(vs) {
			b = vs[i+1]
		}
		t := YMM()
		VCMPPS(U8(3), b, vs[i], t) // unordered
		VORPS(t, acc, acc)
	}
}

// loadRows loads the rows' vectors at byte offset off (through mask m if
// it is not nil).
func loadRows(rows []Register, off int, m VecVirtual) []VecVirtual {
	vs := make([]VecVirtual, len(rows))
	for i, r := range rows {
		vs[i] = YMM()
		if m == nil {
			VMOVUPS(Mem{Base: r, Disp: off}, vs[i])
		} else {
			VMASKMOVPS(Mem{Base: r, Disp: off}, m, vs[i])
		}
	}
	return vs
}

// reduceAll returns op over vs (into vs[0]).
func reduceAll(op poolOp, vs []VecVirtual) VecVirtual {
	for _, v := range vs[1:] {
		op.reduce(v, vs[0], vs[0])
	}
	return vs[0]
}

// poolFinish stores r (8 outputs in the lane order 0, 1, 4, 5, 2, 3, 6, 7
// that VSHUFPS and VHADDPS leave) to y, scaled by the constant scale for
// the average, through the mask m if not nil.
func poolFinish(r VecVirtual, y Register, m VecVirtual, cb Register, scale string) {
	if scale != "" {
		VMULPS(constant(cb, scale), r, r)
	}
	VPERMPD(U8(0xd8), r, r)
	if m == nil {
		VMOVUPS(r, Mem{Base: y})
	} else {
		VMASKMOVPS(r, m, Mem{Base: y})
	}
}

// scaleBase returns, for the mean, a register holding elemConstsAVX2's
// address, where its scale is (nil for the maximum).
func scaleBase(op poolOp) Register {
	if op.max {
		return nil
	}
	return constBase()
}

// nanAcc returns, for the maximum, a zeroed register to collect the NaN
// lanes in (nil for the mean).
func nanAcc(op poolOp) VecVirtual {
	if !op.max {
		return nil
	}
	acc := YMM()
	VXORPS(acc, acc, acc)
	return acc
}

// poolReturn ends a pool kernel: VZEROUPPER and, for the maximum, the NaN
// flag from acc.
func poolReturn(op poolOp, acc VecVirtual) {
	if op.max {
		f := GP8()
		VPTEST(acc, acc)
		SETNE(f)
		VZEROUPPER()
		Store(f, ReturnIndex(0))
	} else {
		VZEROUPPER()
	}
	RET()
}

// pool3x3s2: output j is the window of columns 2j, 2j+1, 2j+2. For 8
// outputs from column 0, with M the column reductions of columns 0-15 (two
// vectors) and N those of columns 1-16: the even lanes of op(M, N) are
// op(c[2j], c[2j+1]), the odd lanes of N are c[2j+2]. VSHUFPS picks the
// even and odd lanes of a pair of vectors, VPERMPD puts them in order.
func pool3x3s2(op poolOp) {
	name := "pool" + op.name + "3x3s2AVX2"
	ref := []string{"for j := 0; j < n; j++ {",
		"\tfor i := 2*j; i <= 2*j+2; i++ {",
		"\t\ty[j] = max(y[j], r0[i], r1[i], r2[i]) // -Inf at first",
		"\t}", "}"}
	scale := ""
	if !op.max {
		ref = []string{"for j := 0; j < n; j++ {",
			"\tc0 := r0[2*j] + r1[2*j] + r2[2*j]",
			"\tc1 := r0[2*j+1] + r1[2*j+1] + r2[2*j+1]",
			"\tc2 := r0[2*j+2] + r1[2*j+2] + r2[2*j+2]",
			"\ty[j] = (c0 + c1 + c2) * (1.0 / 9)", "}"}
		scale = "1/9"
	}
	poolText(name, op, 3, "2n+1", ref...)
	rows := []Register{Load(Param("r0"), GP64()), Load(Param("r1"), GP64()), Load(Param("r2"), GP64())}
	y := Load(Param("y"), GP64())
	n := Load(Param("n"), GP64())
	mb := maskBase()
	cb := scaleBase(op)
	acc := nanAcc(op)

	// block computes 8 outputs; masks nil for a full block, else those of
	// the columns 0-7, 8-15, 1-8, 9-16 and of the outputs.
	block := func(ma, mb8, mn0, mn1, my VecVirtual) {
		var m0, m1 VecVirtual
		if op.max {
			a := loadRows(rows, 0, ma)
			b := loadRows(rows, 32, mb8)
			nanCheck(acc, append(append([]VecVirtual{}, a...), b...)...)
			m0, m1 = reduceAll(op, a), reduceAll(op, b)
		} else if ma == nil {
			m0, m1 = colReduce(op, rows, 0), colReduce(op, rows, 32)
		} else {
			m0, m1 = colReduceMasked(op, rows, 0, ma), colReduceMasked(op, rows, 32, mb8)
		}
		var n0, n1 VecVirtual
		if ma == nil {
			n0, n1 = colReduce(op, rows, 4), colReduce(op, rows, 36)
		} else {
			n0, n1 = colReduceMasked(op, rows, 4, mn0), colReduceMasked(op, rows, 36, mn1)
		}
		op.reduce(n0, m0, m0)
		op.reduce(n1, m1, m1)
		e, o := YMM(), YMM()
		VSHUFPS(U8(0x88), m1, m0, e)
		VSHUFPS(U8(0xdd), n1, n0, o)
		op.reduce(o, e, e)
		poolFinish(e, y, my, cb, scale)
	}

	Label("loop")
	CMPQ(n, U8(8))
	JL(LabelRef("tail"))
	block(nil, nil, nil, nil, nil)
	for _, r := range rows {
		ADDQ(U8(64), r)
	}
	ADDQ(U8(32), y)
	SUBQ(U8(8), n)
	JMP(LabelRef("loop"))

	Label("tail")
	TESTQ(n, n)
	JZ(LabelRef("last"))
	// n in [1, 7]: columns 0..2n, masks from t = -2n.
	t := GP64()
	MOVQ(n, t)
	SHLQ(U8(1), t)
	NEGQ(t)
	mk := func(first int) VecVirtual { // the mask of the first first+2n lanes
		m := YMM()
		VMOVUPS(Mem{Base: mb, Index: t, Scale: 4, Disp: 4 * (16 - first)}, m)
		return m
	}
	my := maskFirst(mb, n)
	block(mk(1), mk(-7), mk(0), mk(-8), my)
	JMP(LabelRef("ret"))

	Label("last")
	if op.max {
		// Column 2n, the last window's last, is in no full block's check.
		vs := make([]VecVirtual, 3)
		for i, r := range rows {
			vs[i] = YMM()
			VMOVSS(Mem{Base: r}, vs[i].AsX()) // the upper lanes become 0
		}
		nanCheck(acc, vs...)
	}
	Label("ret")
	poolReturn(op, acc)
}

// pool3x3s1: output j is the window of columns j, j+1, j+2: the column
// reductions at offsets 0, 1 and 2 columns, reduced.
func pool3x3s1(op poolOp) {
	name := "pool" + op.name + "3x3s1AVX2"
	ref := []string{"for j := 0; j < n; j++ {",
		"\tfor i := j; i <= j+2; i++ {",
		"\t\ty[j] = max(y[j], r0[i], r1[i], r2[i]) // -Inf at first",
		"\t}", "}"}
	scale := ""
	if !op.max {
		ref = []string{"for j := 0; j < n; j++ {",
			"\tc0 := r0[j] + r1[j] + r2[j]",
			"\tc1 := r0[j+1] + r1[j+1] + r2[j+1]",
			"\tc2 := r0[j+2] + r1[j+2] + r2[j+2]",
			"\ty[j] = (c0 + c1 + c2) * (1.0 / 9)", "}"}
		scale = "1/9"
	}
	poolText(name, op, 3, "n+2", ref...)
	rows := []Register{Load(Param("r0"), GP64()), Load(Param("r1"), GP64()), Load(Param("r2"), GP64())}
	y := Load(Param("y"), GP64())
	n := Load(Param("n"), GP64())
	mb := maskBase()
	cb := scaleBase(op)
	acc := nanAcc(op)

	block := func(m0, m1, m2, my VecVirtual) {
		var c0, c1, c2 VecVirtual
		switch {
		case op.max:
			a := loadRows(rows, 0, m0)
			c := loadRows(rows, 8, m2)
			// Columns 0-7 and 2-9: every column of the block.
			nanCheck(acc, a[0], c[0], a[1], c[1], a[2], c[2])
			c0, c2 = reduceAll(op, a), reduceAll(op, c)
			if m1 == nil {
				c1 = colReduce(op, rows, 4)
			} else {
				c1 = colReduceMasked(op, rows, 4, m1)
			}
		case m0 == nil:
			c0, c1, c2 = colReduce(op, rows, 0), colReduce(op, rows, 4), colReduce(op, rows, 8)
		default:
			c0, c1, c2 = colReduceMasked(op, rows, 0, m0), colReduceMasked(op, rows, 4, m1), colReduceMasked(op, rows, 8, m2)
		}
		op.reduce(c1, c0, c0)
		op.reduce(c2, c0, c0)
		if scale != "" {
			VMULPS(constant(cb, scale), c0, c0)
		}
		if my == nil {
			VMOVUPS(c0, Mem{Base: y})
		} else {
			VMASKMOVPS(c0, my, Mem{Base: y})
		}
	}

	Label("loop")
	CMPQ(n, U8(8))
	JL(LabelRef("tail"))
	block(nil, nil, nil, nil)
	for _, r := range rows {
		ADDQ(U8(32), r)
	}
	ADDQ(U8(32), y)
	SUBQ(U8(8), n)
	JMP(LabelRef("loop"))

	Label("tail")
	TESTQ(n, n)
	JZ(LabelRef("ret"))
	// n in [1, 7]: columns 0..n+1, masks from t = -n.
	t := GP64()
	MOVQ(n, t)
	NEGQ(t)
	mk := func(first int) VecVirtual { // the mask of the first first+n lanes
		m := YMM()
		VMOVUPS(Mem{Base: mb, Index: t, Scale: 4, Disp: 4 * (16 - first)}, m)
		return m
	}
	block(mk(2), mk(1), mk(0), mk(0))
	Label("ret")
	poolReturn(op, acc)
}

// pool2x2s2: output j is the window of columns 2j, 2j+1 of two rows. The
// maximum reduces the rows first, then pairs of columns (VSHUFPS); the
// mean adds pairs of columns in each row (VHADDPS), then the rows, in the
// order of poolAvg2x2s2Generic.
func pool2x2s2(op poolOp) {
	name := "pool" + op.name + "2x2s2AVX2"
	ref := []string{"for j := 0; j < n; j++ {",
		"\ty[j] = max(r0[2*j], r0[2*j+1], r1[2*j], r1[2*j+1])", "}"}
	scale := ""
	if !op.max {
		ref = []string{"for j := 0; j < n; j++ {",
			"\ty[j] = ((r0[2*j] + r0[2*j+1]) + (r1[2*j] + r1[2*j+1])) * 0.25", "}"}
		scale = "1/4"
	}
	poolText(name, op, 2, "2n", ref...)
	rows := []Register{Load(Param("r0"), GP64()), Load(Param("r1"), GP64())}
	y := Load(Param("y"), GP64())
	n := Load(Param("n"), GP64())
	mb := maskBase()
	cb := scaleBase(op)
	acc := nanAcc(op)

	block := func(ma, mb8, my VecVirtual) {
		a := loadRows(rows, 0, ma)
		b := loadRows(rows, 32, mb8)
		r := YMM()
		if op.max {
			nanCheck(acc, a[0], b[0], a[1], b[1])
			op.reduce(a[1], a[0], a[0])
			op.reduce(b[1], b[0], b[0])
			VSHUFPS(U8(0x88), b[0], a[0], r)
			VSHUFPS(U8(0xdd), b[0], a[0], a[0])
			op.reduce(a[0], r, r)
		} else {
			VHADDPS(b[0], a[0], r)
			VHADDPS(b[1], a[1], a[1])
			VADDPS(a[1], r, r)
		}
		poolFinish(r, y, my, cb, scale)
	}

	Label("loop")
	CMPQ(n, U8(8))
	JL(LabelRef("tail"))
	block(nil, nil, nil)
	for _, r := range rows {
		ADDQ(U8(64), r)
	}
	ADDQ(U8(32), y)
	SUBQ(U8(8), n)
	JMP(LabelRef("loop"))

	Label("tail")
	TESTQ(n, n)
	JZ(LabelRef("ret"))
	// n in [1, 7]: columns 0..2n-1, masks from t = -2n.
	t := GP64()
	MOVQ(n, t)
	SHLQ(U8(1), t)
	NEGQ(t)
	mk := func(first int) VecVirtual {
		m := YMM()
		VMOVUPS(Mem{Base: mb, Index: t, Scale: 4, Disp: 4 * (16 - first)}, m)
		return m
	}
	block(mk(0), mk(-8), maskFirst(mb, n))
	Label("ret")
	poolReturn(op, acc)
}

// rowMax: the maximum of a row, for GlobalMaxPool and Softmax.
func rowMax() {
	TEXT("poolRowMaxAVX2", NOSPLIT, "func(x *float32, n int) float32")
	Pragma("noescape")
	Doc("poolRowMaxAVX2 is poolRowMaxGeneric in AVX2: the maximum of x[0:n], NaN if",
		"one of them is NaN, -Inf for n = 0:",
		"",
		"\tm := float32(math.Inf(-1))",
		"\tfor i := 0; i < n; i++ {",
		"\t\tm = max(m, x[i])",
		"\t}")
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	cb, mb := constBase(), maskBase()
	acc := make([]VecVirtual, 4)
	for i := range acc {
		acc[i] = YMM()
		VMOVUPS(constant(cb, "-inf"), acc[i])
	}
	nan := YMM()
	VXORPS(nan, nan, nan)

	Label("big")
	CMPQ(n, U8(32))
	JL(LabelRef("one"))
	vs := make([]VecVirtual, 4)
	for i := range vs {
		vs[i] = YMM()
		VMOVUPS(Mem{Base: x, Disp: 32 * i}, vs[i])
		VMAXPS(vs[i], acc[i], acc[i])
	}
	nanCheck(nan, vs...)
	ADDQ(U8(128), x)
	SUBQ(U8(32), n)
	JMP(LabelRef("big"))

	Label("one")
	CMPQ(n, U8(8))
	JL(LabelRef("tail"))
	v := YMM()
	VMOVUPS(Mem{Base: x}, v)
	VMAXPS(v, acc[0], acc[0])
	nanCheck(nan, v)
	ADDQ(U8(32), x)
	SUBQ(U8(8), n)
	JMP(LabelRef("one"))

	Label("tail")
	TESTQ(n, n)
	JZ(LabelRef("reduce"))
	m := maskFirst(mb, n)
	v = YMM()
	VMASKMOVPS(Mem{Base: x}, m, v)
	ninf := YMM()
	VMOVUPS(constant(cb, "-inf"), ninf)
	VBLENDVPS(m, v, ninf, v) // -Inf in the lanes past n
	VMAXPS(v, acc[0], acc[0])
	nanCheck(nan, v)

	Label("reduce")
	VMAXPS(acc[1], acc[0], acc[0])
	VMAXPS(acc[3], acc[2], acc[2])
	VMAXPS(acc[2], acc[0], acc[0])
	r := hreduce(acc[0], VMAXPS)
	VPTEST(nan, nan)
	JZ(LabelRef("ret"))
	VMOVSS(constant(cb, "nan"), r)
	Label("ret")
	VZEROUPPER()
	Store(r, ReturnIndex(0))
	RET()
}

// hreduce returns op over the 8 lanes of v, in lane 0 of an XMM register.
func hreduce(v VecVirtual, op func(ops ...Op)) VecVirtual {
	h := XMM()
	VEXTRACTF128(U8(1), v, h)
	op(h, v.AsX(), h)
	t := XMM()
	VMOVHLPS(h, h, t)
	op(t, h, h)
	VMOVSHDUP(h, t)
	op(t, h, h)
	return h
}

// rowSum: the sum of a row, for GlobalAveragePool.
func rowSum() {
	TEXT("poolRowSumAVX2", NOSPLIT, "func(x *float32, n int) float64")
	Pragma("noescape")
	Doc("poolRowSumAVX2 is poolRowSumGeneric in AVX2: the sum of x[0:n], added in",
		"32 float32 lanes within blocks of 256 and in float64 across blocks:",
		"",
		"\tvar s float64",
		"\tfor i := 0; i < n; i++ {",
		"\t\ts += float64(x[i])",
		"\t}",
		"",
		"up to the rounding of the float32 partial sums.")
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	mb := maskBase()
	total := YMM() // 4 float64
	VXORPD(total, total, total)
	b := GP64()

	Label("block")
	TESTQ(n, n)
	JZ(LabelRef("reduce"))
	MOVQ(U32(256), b)
	CMPQ(n, b)
	CMOVQLT(n, b)
	SUBQ(b, n)
	acc := make([]VecVirtual, 4)
	for i := range acc {
		acc[i] = YMM()
		VXORPS(acc[i], acc[i], acc[i])
	}
	Label("big")
	CMPQ(b, U8(32))
	JL(LabelRef("one"))
	for i := range acc {
		VADDPS(Mem{Base: x, Disp: 32 * i}, acc[i], acc[i])
	}
	ADDQ(U8(128), x)
	SUBQ(U8(32), b)
	JMP(LabelRef("big"))
	Label("one")
	CMPQ(b, U8(8))
	JL(LabelRef("tail"))
	VADDPS(Mem{Base: x}, acc[0], acc[0])
	ADDQ(U8(32), x)
	SUBQ(U8(8), b)
	JMP(LabelRef("one"))
	Label("tail")
	TESTQ(b, b)
	JZ(LabelRef("fold"))
	m := maskFirst(mb, b)
	v := YMM()
	VMASKMOVPS(Mem{Base: x}, m, v)
	VADDPS(v, acc[0], acc[0])
	LEAQ(Mem{Base: x, Index: b, Scale: 4}, x)
	Label("fold")
	VADDPS(acc[1], acc[0], acc[0])
	VADDPS(acc[3], acc[2], acc[2])
	VADDPS(acc[2], acc[0], acc[0])
	d := YMM()
	VCVTPS2PD(acc[0].AsX(), d)
	VADDPD(d, total, total)
	h := XMM()
	VEXTRACTF128(U8(1), acc[0], h)
	VCVTPS2PD(h, d)
	VADDPD(d, total, total)
	JMP(LabelRef("block"))

	Label("reduce")
	s := XMM()
	VEXTRACTF128(U8(1), total, s)
	VADDPD(s, total.AsX(), s)
	t := XMM()
	VUNPCKHPD(s, s, t)
	VADDSD(t, s, s)
	VZEROUPPER()
	Store(s, ReturnIndex(0))
	RET()
}
