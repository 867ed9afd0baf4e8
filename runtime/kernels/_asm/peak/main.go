// Command peak generates the FMA peak probes: loops of independent
// VFMADD231PS that keep every FMA pipe busy, timed by FMAPeak (peak.go) to
// measure the core's single-precision peak, the bar the GEMM is held to.
//
//	go run ./peak -out ../peak_amd64.s -stubs ../peak_stub_amd64.go -pkg kernels
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// accs is the number of independent accumulators: more than the FMA
// latency (4 cycles on Zen 4, Intel since Skylake) times the number of FMA
// pipes (2), so that no FMA waits for the one before on its register.
const accs = 12

// rounds is how many FMAs each accumulator gets per loop iteration: 24
// FMAs a turn make the counter and branch negligible.
const rounds = 2

func main() {
	ConstraintExpr("!noasm")

	ymm := []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11}
	loop("fmaLoopAVX2", "ymm", "AVX2/FMA", 8, ymm, Y12, Y13, func(r VecPhysical) { VXORPS(r, r, r) })

	zmm := []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11}
	loop("fmaLoopAVX512", "zmm", "AVX-512F", 16, zmm, Z12, Z13, func(r VecPhysical) { VPXORD(r, r, r) })

	Generate()
}

// loop emits one probe: name(n int) runs n iterations of rounds×accs
// VFMADD231PS acc, x, y on the accumulators acc (all zero, as are x and y,
// so no value ever becomes denormal or overflows).
func loop(name, regs, isa string, lanes int, acc []VecPhysical, x, y VecPhysical, zero func(VecPhysical)) {
	if len(acc) != accs {
		panic("wrong accumulator count")
	}
	TEXT(name, NOSPLIT, "func(n int)")
	Doc(fmt.Sprintf("%s runs n iterations (none when n ≤ 0) of %d independent", name, rounds*accs),
		fmt.Sprintf("%s FMAs (VFMADD231PS on %d %s accumulators, %d FLOP an", isa, accs, regs, rounds*accs*lanes*2),
		"iteration) and computes nothing that is kept: the reference loop is",
		"",
		"\tvar acc ["+fmt.Sprint(accs)+"]["+fmt.Sprint(lanes)+"]float32",
		"\tfor range n {",
		"\t\tfor j := range "+fmt.Sprint(rounds*accs)+" {",
		"\t\t\tfor l := range "+fmt.Sprint(lanes)+" {",
		"\t\t\t\tacc[j%"+fmt.Sprint(accs)+"][l] += x[l] * y[l] // x, y zero",
		"\t\t\t}",
		"\t\t}",
		"\t}",
		"",
		"FMAPeak times it to measure the core's FMA throughput.")
	n := Load(Param("n"), GP64())
	for _, r := range append(append([]VecPhysical{}, acc...), x, y) {
		zero(r)
	}
	TESTQ(n, n)
	JLE(LabelRef(name + "_done"))
	Label(name + "_loop")
	for range rounds {
		for _, a := range acc {
			VFMADD231PS(y, x, a) // a += x*y
		}
	}
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
