package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// torchResult is what bench/torch_bench.py prints: one JSON object.
type torchResult struct {
	MedianMs float64 `json:"median_ms"`
	MinMs    float64 `json:"min_ms"`
	Runs     int     `json:"runs"`
}

// torchTime times torchvision model name in PyTorch with bench/torch_bench.py.
func torchTime(repo, name string, batch, threads, runs, warmup int) (stats, error) {
	cmd := exec.Command("/usr/bin/python3", filepath.Join(repo, "bench", "torch_bench.py"),
		"--model", name, "--batch", strconv.Itoa(batch), "--threads", strconv.Itoa(threads),
		"--runs", strconv.Itoa(runs), "--warmup", strconv.Itoa(warmup))
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
			lines := strings.Split(strings.TrimSpace(string(ee.Stderr)), "\n")
			return stats{}, fmt.Errorf("%s", lines[len(lines)-1])
		}
		return stats{}, err
	}
	return parseTorch(out)
}

// parseTorch reads torch_bench.py's output.
func parseTorch(out []byte) (stats, error) {
	var r torchResult
	if err := json.Unmarshal(out, &r); err != nil {
		return stats{}, fmt.Errorf("torch_bench.py printed %q: %w", out, err)
	}
	if r.Runs < 1 || r.MedianMs <= 0 || r.MinMs <= 0 || r.MinMs > r.MedianMs {
		return stats{}, fmt.Errorf("torch_bench.py printed %q: want runs >= 1 and 0 < min_ms <= median_ms", out)
	}
	return stats{Median: fromMs(r.MedianMs), Min: fromMs(r.MinMs), N: r.Runs}, nil
}
