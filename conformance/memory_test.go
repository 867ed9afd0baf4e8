package conformance

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cnnc/cnnc/runtime"
)

// memoryDoc is the table TestMemoryPlans writes under -update.
const memoryDoc = "docs/MEMORY.md"

// maxArenaRatio is the bar: arena at most 1.05 x the lower bound.
const maxArenaRatio = 1.05

// TestMemoryPlans compiles the eight full-size torchvision models at batch
// 1 and holds each plan's arena to maxArenaRatio times its lower bound
// (the largest sum of bytes live at one step). The table of figures is
// docs/MEMORY.md: go test ./conformance -run TestMemoryPlans -update.
func TestMemoryPlans(t *testing.T) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Activation memory of the compiled plans\n\n")
	fmt.Fprintf(&b, "The eight full-size torchvision models at batch 1 (1x3x224x224), compiled with the default passes.\n")
	fmt.Fprintf(&b, "Bytes of activation memory: the arena the planner laid out, the total with no sharing, and the\n")
	fmt.Fprintf(&b, "lower bound (the largest sum of bytes live at any one step; no placement can use less).\n")
	fmt.Fprintf(&b, "Regenerate with `go test ./conformance -run TestMemoryPlans -update` (needs the reference cache\n")
	fmt.Fprintf(&b, "of tools/refgen); `cnnc compile -v MODEL` prints the same figures for any model.\n\n")
	fmt.Fprintf(&b, "| model | arena | no sharing | lower bound | arena / lower bound | no sharing / arena |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|\n")
	complete := true
	for _, name := range fullSizeModels {
		dir := filepath.Join(cacheDir(), name)
		if _, err := os.Stat(filepath.Join(dir, "model.onnx")); err != nil {
			t.Logf("%s is not in the cache: run /usr/bin/python3 tools/refgen/refgen.py full", dir)
			complete = false
			continue
		}
		g, err := load(filepath.Join(dir, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		p, err := runtime.CompilePlan(g, runtime.CompileOptions{Batch: 1})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		m := p.Memory
		ratio := float64(m.Arena) / float64(m.LowerBound)
		t.Logf("%s: arena %d, no sharing %d, lower bound %d: %.3f", name, m.Arena, m.NoSharing, m.LowerBound, ratio)
		if ratio > maxArenaRatio {
			t.Errorf("%s: arena %d bytes is %.3f x the lower bound %d, want <= %.2f", name, m.Arena, ratio, m.LowerBound, maxArenaRatio)
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %.3f | %.1f |\n", name, m.Arena, m.NoSharing, m.LowerBound, ratio, float64(m.NoSharing)/float64(m.Arena))
	}
	if !complete {
		if *update {
			t.Fatal("-update needs all eight models in the cache")
		}
		t.Skip("the reference cache lacks models; figures not compared")
	}
	path := filepath.Join(repoRoot(t), memoryDoc)
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	old, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(old, b.Bytes()) {
		t.Errorf("%s is out of date; regenerate with: go test ./conformance -run TestMemoryPlans -update", memoryDoc)
	}
}
