package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// cell is one (model, batch, threads) measurement. An engine whose stats
// have N == 0 did not run; Note says why.
type cell struct {
	Model          string
	Batch, Threads int
	MACs           int64 // multiply-accumulates of one run (the whole batch); < 0 if unknown
	Cnnc, ORT      stats
	Torch          stats
	Note           string
}

// Ratio is cnnc's median over ORT's (below 1: cnnc is faster), 0 when
// either did not run.
func (c cell) Ratio() float64 {
	if c.Cnnc.N == 0 || c.ORT.N == 0 || c.ORT.Median <= 0 {
		return 0
	}
	return float64(c.Cnnc.Median) / float64(c.ORT.Median)
}

// report is one run of the harness.
type report struct {
	Date         time.Time
	Machine      machine
	ORTVersion   string
	TorchVersion string // "" when PyTorch was not timed
	Runs, Warmup int
	Elapsed      time.Duration
	Command      string
	ORTSpin      bool          // ORT's threads spin-wait between runs
	Settle       time.Duration // the pause after each timed run
	Algos        string        // how cnnc picked convolution algorithms (--algos)
	Cells        []cell
}

// writeMarkdown writes the report as a Markdown header and table.
func (r *report) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "Run on %s (total %s): `%s`\n\n", r.Date.Format("2006-01-02 15:04 MST"), r.Elapsed.Round(time.Second), r.Command)
	fmt.Fprintf(&b, "- CPU: %s, %d logical CPUs", m.CPU, m.CPUs)
	if m.Peak > 0 {
		fmt.Fprintf(&b, "; measured FMA peak %.1f GFLOP/s per core (kernels.FMAPeak at %s: the best of %s of single-thread FMA bursts)", m.Peak, m.ISA, peakTime)
	} else {
		fmt.Fprintf(&b, "; FMA peak not measured (cnnc's kernels run at %s, pure Go)", m.ISA)
	}
	if m.MHz > 0 {
		fmt.Fprintf(&b, "; nominal peak %.0f GFLOP/s per core at the %.0f MHz of /proc/cpuinfo (32 FLOP/cycle: 2 x 256-bit FMA; computed, not measured; a boosting core runs faster)", m.NominalGFLOPs(), m.MHz)
	}
	b.WriteString("\n")
	rev := m.Rev
	if rev == "" {
		rev = "unknown"
	}
	fmt.Fprintf(&b, "- cnnc %s, %s, kernels at %s, %s; ONNX Runtime %s (onnxruntime-node)", rev, m.Go, m.ISA, algosText(r.Algos), r.ORTVersion)
	if r.TorchVersion != "" {
		fmt.Fprintf(&b, "; PyTorch %s", r.TorchVersion)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "- ORT: intraOpNumThreads = threads, interOpNumThreads = 1, sequential, graphOptimizationLevel all, %s; cnnc: one Session with Threads = threads\n", spinText(r.ORTSpin))
	fmt.Fprintf(&b, "- %d timed %s per engine per row after %d warm-up %s, cnnc and ORT alternating, a pause of %v after each timed run; times are medians in ms with the minimum in parentheses; ratio = cnnc median / ORT median (below 1: cnnc is faster); GFLOP/s = 2 x MACs / median; %% peak = cnnc GFLOP/s / (measured peak x threads)\n\n", r.Runs, plural(r.Runs, "run"), r.Warmup, plural(r.Warmup, "run"), r.Settle)

	torch := r.TorchVersion != ""
	head := []string{"model", "batch", "threads", "cnnc ms", "ORT ms", "cnnc/ORT", "cnnc GFLOP/s", "cnnc % peak", "ORT GFLOP/s"}
	if torch {
		head = append(head, "PyTorch ms")
	}
	head = append(head, "note")
	row(&b, head)
	aligns := make([]string, len(head))
	for i := range aligns {
		aligns[i] = "---:"
	}
	aligns[0], aligns[len(aligns)-1] = "---", "---"
	row(&b, aligns)
	for _, c := range r.Cells {
		f := []string{c.Model, fmt.Sprint(c.Batch), fmt.Sprint(c.Threads),
			fmtStats(c.Cnnc), fmtStats(c.ORT), fmtRatio(c.Ratio()),
			fmtGFLOPs(c.MACs, c.Cnnc), fmtPercent(m, c), fmtGFLOPs(c.MACs, c.ORT)}
		if torch {
			f = append(f, fmtStats(c.Torch))
		}
		f = append(f, c.Note)
		row(&b, f)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// row writes one Markdown table row, escaping the cells' pipes.
func row(b *strings.Builder, cells []string) {
	b.WriteString("|")
	for _, c := range cells {
		b.WriteString(" " + strings.ReplaceAll(c, "|", `\|`) + " |")
	}
	b.WriteString("\n")
}

func fmtStats(s stats) string {
	if s.N == 0 {
		return "—"
	}
	return fmt.Sprintf("%s (%s)", fmtMs(s.Median), fmtMs(s.Min))
}

// fmtMs prints milliseconds with three significant digits or more.
func fmtMs(d time.Duration) string {
	v := ms(d)
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func fmtRatio(r float64) string {
	if r <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", r)
}

func fmtGFLOPs(macs int64, s stats) string {
	if s.N == 0 || macs < 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f", gflops(macs, s.Median))
}

// fmtPercent prints cnnc's GFLOP/s in cell c as a percentage of m's
// measured peak times the cell's threads.
func fmtPercent(m machine, c cell) string {
	if c.Cnnc.N == 0 || c.MACs < 0 {
		return "—"
	}
	p := m.PercentOfPeak(gflops(c.MACs, c.Cnnc.Median), c.Threads)
	if p <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", p)
}

// algosText says how cnnc picked its convolution algorithms.
func algosText(algos string) string {
	switch algos {
	case "tuned":
		return "convolution algorithms timed on this machine at each row's thread count (--algos tuned, as cnnc compile --tune)"
	case "nowinograd":
		return "convolution algorithms from the static cost model, Winograd excluded (--algos nowinograd)"
	}
	return "convolution algorithms from the static cost model (--algos model)"
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func spinText(spin bool) string {
	if spin {
		return "intra-op threads spin-waiting between runs (ORT's default)"
	}
	return "intra-op spinning off (session.intra_op.allow_spinning = 0, so that idle ORT threads do not take cores from the cnnc runs in between)"
}
