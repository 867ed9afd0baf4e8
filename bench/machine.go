package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	goruntime "runtime"
	"strconv"
	"strings"
)

// machine describes where a benchmark ran.
type machine struct {
	CPU  string  // model name from /proc/cpuinfo, else GOARCH
	CPUs int     // logical CPUs Go sees
	MHz  float64 // the first CPU's current clock from /proc/cpuinfo, 0 if unknown
	Go   string  // Go version
	Rev  string  // cnnc's git revision, "" if unknown
}

// flopsPerCycle is the nominal single-precision FLOP per cycle of one core
// with two 256-bit FMA units (Zen 4, and Intel since Haswell): 2 units x
// 8 lanes x 2 FLOP.
const flopsPerCycle = 32

// PeakGFLOPs is the nominal FMA peak of one core at the measured clock,
// in GFLOP/s (0 when the clock is unknown). It is nominal: computed, not
// measured, and assumes two 256-bit FMA units.
func (m machine) PeakGFLOPs() float64 { return flopsPerCycle * m.MHz / 1000 }

// probeMachine gathers what it can; missing parts stay empty.
func probeMachine(repo string) machine {
	m := machine{CPU: goruntime.GOARCH, CPUs: goruntime.NumCPU(), Go: goruntime.Version()}
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
