package conformance

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/codegen"
	"github.com/cnnc/cnnc/runtime"
)

// TestGeneratedPackage compiles the tiny LeNet, emits it as a Go package
// (codegen.EmitGo, what cnnc compile --go does) inside the module, adds a
// test that runs the generated Model and Session on the PyTorch reference
// input, and builds and runs that test with the go command: the generated
// package must build and match PyTorch's output.
func TestGeneratedPackage(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	root := repoRoot(t)
	g, ins, wants := loadCase(t, filepath.Join(root, "testdata", "tiny", "lenet"))
	p, err := runtime.CompilePlan(g, runtime.CompileOptions{Batch: ins[0].Shape[0]})
	if err != nil {
		t.Fatal(err)
	}
	parent := filepath.Join(root, "conformance", "testdata")
	if err := os.MkdirAll(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(parent, "tmp_gopkg_")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	if err := codegen.EmitGo(tmp, "lenet", p); err != nil {
		t.Fatal(err)
	}
	test := fmt.Sprintf(`package lenet

import (
	"context"
	"math"
	"testing"
)

var input = %#v

var want = %#v

func check(t *testing.T, got []float32) {
	t.Helper()
	var maxDiff, maxRef float64
	for i, w := range want {
		maxDiff = math.Max(maxDiff, math.Abs(float64(got[i]-w)))
		maxRef = math.Max(maxRef, math.Abs(float64(w)))
	}
	if maxDiff > 1e-4*maxRef {
		t.Errorf("max|diff| %%g, max|ref| %%g", maxDiff, maxRef)
	}
}

func TestGenerated(t *testing.T) {
	m, err := New(Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Run(context.Background(), input)
	if err != nil {
		t.Fatal(err)
	}
	check(t, out)
	s, err := m.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, len(want))
	if err := s.Run(context.Background(), input, dst); err != nil {
		t.Fatal(err)
	}
	check(t, dst)
}
`, ins[0].F32, wants[0].F32)
	if err := os.WriteFile(filepath.Join(tmp, "generated_test.go"), []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goCmd, "test", "-count=1", "./"+filepath.Base(tmp))
	cmd.Dir = parent
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test of the generated package: %v\n%s", err, out)
	}
	t.Logf("%s", strings.TrimSpace(string(out)))
}
