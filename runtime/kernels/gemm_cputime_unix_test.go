//go:build unix

package kernels

import "syscall"

// processCPU returns the CPU time the process has used, in seconds: on a
// loaded machine, a steadier measure of a single-threaded benchmark than
// the wall clock.
func processCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
