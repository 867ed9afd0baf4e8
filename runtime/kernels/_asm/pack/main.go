// Command pack generates packRowAVX2, the inner loop of packing a row of B
// into the GEMM's 16-column panels.
//
//	go run ./pack -out ../pack_amd64.s -stubs ../pack_stub_amd64.go -pkg kernels
package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("!noasm")

	TEXT("packRowAVX2", NOSPLIT, "func(dst, src *float32, stride, panels int)")
	Doc("packRowAVX2 copies panels (≥ 1) runs of 16 floats from src to dst, run q",
		"from src[q*16:] to dst[q*stride:]:",
		"",
		"\tfor q := 0; q < panels; q++ {",
		"\t\tcopy(dst[q*stride:q*stride+16], src[q*16:q*16+16])",
		"\t}",
		"",
		"packRowGeneric is the same in Go.")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	stride := Load(Param("stride"), GP64())
	SHLQ(U8(2), stride)
	n := Load(Param("panels"), GP64())
	Label("loop")
	VMOVUPS(Mem{Base: src}, Y0)
	VMOVUPS(Mem{Base: src, Disp: 32}, Y1)
	VMOVUPS(Y0, Mem{Base: dst})
	VMOVUPS(Y1, Mem{Base: dst, Disp: 32})
	ADDQ(U8(64), src)
	ADDQ(stride, dst)
	DECQ(n)
	JNZ(LabelRef("loop"))
	VZEROUPPER()
	RET()
	Generate()
}
