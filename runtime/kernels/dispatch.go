package kernels

import (
	"fmt"
	"os"
)

// isa is an instruction-set level the kernels dispatch on. Every kernel
// with assembly has one implementation per level it supports and falls back
// to the next lower one; isaGeneric, pure Go, is always there.
type isa uint8

// The levels, lowest first.
const (
	isaGeneric isa = iota // pure Go: the noasm build, non-amd64, or a CPU without AVX2+FMA
	isaAVX2               // AVX2 and FMA3 (x86-64-v3)
	isaAVX512             // AVX-512 F, BW, DQ and VL (x86-64-v4)
)

var isaNames = []string{"generic", "avx2", "avx512"}

// String returns the level's name, as CNNC_ISA spells it.
func (l isa) String() string {
	if int(l) < len(isaNames) {
		return isaNames[l]
	}
	return fmt.Sprintf("isa(%d)", l)
}

// cpuISA is the best level this build and CPU support (cpu_amd64.go,
// cpu_other.go); activeISA is the one the kernels run at, chosen once at
// start-up: cpuISA, or lower when the environment variable CNNC_ISA names a
// lower level (generic, avx2), to measure or test a fallback.
var (
	cpuISA    = detectISA()
	activeISA isa
)

func init() { setISA(startISA(os.Getenv("CNNC_ISA"))) }

// startISA returns the level to start at given CNNC_ISA's value env.
func startISA(env string) isa {
	l := cpuISA
	for i, name := range isaNames {
		if env == name && isa(i) < l {
			l = isa(i)
		}
	}
	return l
}

// ISA returns the name of the instruction-set level the kernels run at:
// "generic" (pure Go), "avx2" (AVX2+FMA) or "avx512".
func ISA() string { return activeISA.String() }

// setISA points every dispatched kernel at its implementation for level l
// (or the best one below l). Tests use it to run each path in turn; it is
// not safe to call while kernels run.
func setISA(l isa) {
	activeISA = l
	setGemmISA(l)
	setPackISA(l)
	setGemvISA(l)
	setDirectISA(l)
	setOCBlockISA(l)
	setWinogradISA(l)
	setElemISA(l)
}

// testISAs returns the levels this machine can run, lowest first: every
// dispatch path a test should cover.
func testISAs() []isa {
	var ls []isa
	for l := isaGeneric; l <= cpuISA; l++ {
		ls = append(ls, l)
	}
	return ls
}
