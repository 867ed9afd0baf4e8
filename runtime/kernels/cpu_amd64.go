//go:build amd64 && !noasm

package kernels

import "golang.org/x/sys/cpu"

// detectISA returns the best level the CPU has (the OS's saving of the
// vector registers is part of x/sys/cpu's feature bits).
func detectISA() isa {
	x := &cpu.X86
	switch {
	case x.HasAVX512F && x.HasAVX512BW && x.HasAVX512DQ && x.HasAVX512VL && x.HasAVX2 && x.HasFMA:
		return isaAVX512
	case x.HasAVX2 && x.HasFMA:
		return isaAVX2
	}
	return isaGeneric
}
