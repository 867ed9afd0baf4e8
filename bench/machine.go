package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	"github.com/cnnc/cnnc/runtime/kernels"
)

// machine describes where a benchmark ran.
type machine struct {
	CPU  string  // model name from /proc/cpuinfo, else GOARCH
	CPUs int     // logical CPUs Go sees
	MHz  float64 // the first CPU's current clock from /proc/cpuinfo, 0 if unknown
	Go   string  // Go version
	Rev  string  // cnnc's git revision, "" if unknown
	// ISA is the instruction-set level cnnc's kernels run at
	// (kernels.ISA: generic, avx2 or avx512).
	ISA string
	// Peak is the measured single-thread FMA peak at ISA in GFLOP/s
	// (kernels.FMAPeak), 0 when not measured (the pure-Go kernels).
	Peak float64
}

// flopsPerCycle is the nominal single-precision FLOP per cycle of one core
// with two 256-bit FMA units (Zen 4, and Intel since Haswell): 2 units x
// 8 lanes x 2 FLOP.
const flopsPerCycle = 32

// NominalGFLOPs is the nominal FMA peak of one core at the clock
// /proc/cpuinfo reports, in GFLOP/s (0 when the clock is unknown). It is
// computed, not measured, and assumes two 256-bit FMA units; a boosting
// core runs above it (Peak is what one reaches).
func (m machine) NominalGFLOPs() float64 { return flopsPerCycle * m.MHz / 1000 }

// peakTime is how long probeMachine measures the FMA peak.
const peakTime = time.Second

// PercentOfPeak returns gflops as a percentage of the measured peak of
// threads cores, or 0 when either is unknown.
func (m machine) PercentOfPeak(gflops float64, threads int) float64 {
	if m.Peak <= 0 || gflops <= 0 || threads < 1 {
		return 0
	}
	return 100 * gflops / (m.Peak * float64(threads))
}

// probeMachine gathers what it can; missing parts stay empty. It measures
// the FMA peak for peakTime on one thread, so it should run while the
// machine is otherwise idle.
func probeMachine(repo string) machine {
	m := machine{CPU: goruntime.GOARCH, CPUs: goruntime.NumCPU(), Go: goruntime.Version()}
	flops, isa := kernels.FMAPeak(peakTime)
	m.ISA, m.Peak = isa, flops/1e9
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		name, mhz := parseCPUInfo(f)
		f.Close()
		if name != "" {
			m.CPU = name
		}
		m.MHz = mhz
	}
	cmd := exec.Command("git", "rev-parse", "--short", "HEAD")
	cmd.Dir = repo
	if out, err := cmd.Output(); err == nil {
		m.Rev = strings.TrimSpace(string(out))
		cmd = exec.Command("git", "status", "--porcelain", "--untracked-files=no")
		cmd.Dir = repo
		if out, err := cmd.Output(); err == nil && len(strings.TrimSpace(string(out))) > 0 {
			m.Rev += " (with uncommitted changes)"
		}
	}
	return m
}

// parseCPUInfo returns the first "model name" and "cpu MHz" of a
// /proc/cpuinfo listing.
func parseCPUInfo(r io.Reader) (name string, mhz float64) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case k == "model name" && name == "":
			name = v
		case k == "cpu MHz" && mhz == 0:
			if f, err := strconv.ParseFloat(v, 64); err == nil && f > 0 {
				mhz = f
			}
		}
	}
	return name, mhz
}
