// Command lightref writes the expected outputs of the onnx-light-varied
// conformance suite: for each model-zoo graph of ../shared/onnx-light it
// applies conformance.VaryWeights, feeds conformance.VariedInput to ONNX
// Runtime through tools/ort/run.js, and stores the output as
// testdata/onnx-light/<model>_varied_output_0.pb. It also runs ONNX Runtime
// on the unmodified graph with conformance.LightInput (the ONNX backend
// runner's dummy input) and compares that with the output shipped next to
// the model, which checks the input formula.
//
// Usage, from anywhere in the repository (needs `cd tools/ort && npm ci
// --ignore-scripts` once):
//
//	go run ./tools/lightref [-light DIR] [-only NAME[,NAME]] [-threads N]
//
// DIR defaults to $CNNC_ONNX_LIGHT, else ../shared/onnx-light next to the
// repository. The inputs are not stored: the test rebuilds them from the
// formula. The model with varied weights is written to a temporary folder
// (VGG-19 makes a 575 MB file) and removed afterwards.
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/cnnc/cnnc/conformance"
	"github.com/cnnc/cnnc/importer"
	"github.com/cnnc/cnnc/importer/onnxpb"
	"github.com/cnnc/cnnc/ir"
)

func main() {
	lightDir := flag.String("light", "", "folder of the light_*.onnx models (default $CNNC_ONNX_LIGHT or ../shared/onnx-light)")
	only := flag.String("only", "", "comma-separated model names (light_resnet50,...) to do; default all")
	threads := flag.Int("threads", 2, "ONNX Runtime intra-op threads")
	flag.Parse()
	if err := run(*lightDir, *only, *threads); err != nil {
		fmt.Fprintln(os.Stderr, "lightref:", err)
		os.Exit(1)
	}
}

func run(lightDir, only string, threads int) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	if lightDir == "" {
		lightDir = os.Getenv("CNNC_ONNX_LIGHT")
	}
	if lightDir == "" {
		lightDir = filepath.Join(root, "..", "shared", "onnx-light")
	}
	runJS := filepath.Join(root, "tools", "ort", "run.js")
	if _, err := os.Stat(filepath.Join(root, "tools", "ort", "node_modules")); err != nil {
		return fmt.Errorf("ONNX Runtime is not installed: run `cd tools/ort && npm ci --ignore-scripts` (%v)", err)
	}
	models, err := filepath.Glob(filepath.Join(lightDir, "light_*.onnx"))
	if err != nil {
		return err
	}
	if len(models) == 0 {
		return fmt.Errorf("no light_*.onnx in %s", lightDir)
	}
	sort.Strings(models)
	want := map[string]bool{}
	for _, s := range strings.Split(only, ",") {
		if s != "" {
			want[s] = true
		}
	}
	tmp, err := os.MkdirTemp("", "lightref")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, model := range models {
		stem := strings.TrimSuffix(filepath.Base(model), ".onnx")
		if len(want) > 0 && !want[stem] {
			continue
		}
		if err := doModel(root, runJS, tmp, model, stem, threads); err != nil {
			return fmt.Errorf("%s: %w", stem, err)
		}
	}
	return nil
}

func doModel(root, runJS, tmp, model, stem string, threads int) error {
	data, err := os.ReadFile(model)
	if err != nil {
		return err
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		return err
	}
	name, shape, err := conformance.LightDataInput(&m)
	if err != nil {
		return err
	}
	in := filepath.Join(tmp, "input_0.pb")
	if err := importer.WriteTensor(in, name, conformance.LightInput(shape)); err != nil {
		return err
	}

	// The shipped graph: ONNX Runtime against the shipped expected output.
	out, err := ort(runJS, model, filepath.Join(tmp, "orig"), in, threads)
	if err != nil {
		return err
	}
	shipped, _, err := importer.ReadTensor(strings.TrimSuffix(model, ".onnx") + "_output_0.pb")
	if err != nil {
		return err
	}
	fmt.Printf("%s: shipped output %s\n", stem, stats(shipped))
	fmt.Printf("%s: ORT on the shipped graph, max abs diff to shipped output %.3g\n", stem, maxDiff(out, shipped))

	// The varied graph, on the varied input.
	if err := importer.WriteTensor(in, name, conformance.VariedInput(shape)); err != nil {
		return err
	}
	if err := conformance.VaryWeights(&m); err != nil {
		return err
	}
	if data, err = proto.Marshal(&m); err != nil {
		return err
	}
	m.Reset()
	varied := filepath.Join(tmp, "varied.onnx")
	if err := os.WriteFile(varied, data, 0o644); err != nil {
		return err
	}
	data = nil
	outDir := filepath.Join(tmp, "varied")
	if _, err := ort(runJS, varied, outDir, in, threads); err != nil {
		return err
	}
	os.Remove(varied)
	got, err := os.ReadFile(filepath.Join(outDir, "output_0.pb"))
	if err != nil {
		return err
	}
	dst := filepath.Join(root, conformance.VariedOutputPath(stem))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(dst, got, 0o644); err != nil {
		return err
	}
	t, _, err := importer.ReadTensor(dst)
	if err != nil {
		return err
	}
	fmt.Printf("%s: varied output %s -> %s\n", stem, stats(t), conformance.VariedOutputPath(stem))
	return nil
}

// ort runs tools/ort/run.js on one input and returns output 0.
func ort(runJS, model, outDir, in string, threads int) (*ir.Tensor, error) {
	cmd := exec.Command("node", runJS, model, outDir, "--threads", fmt.Sprint(threads), in)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("node %s %s: %w", runJS, model, err)
	}
	t, _, err := importer.ReadTensor(filepath.Join(outDir, "output_0.pb"))
	return t, err
}

// stats summarizes a float tensor: shape, range, spread, and for a
// probability vector the largest entry, to see whether it is degenerate.
func stats(t *ir.Tensor) string {
	lo, hi, sum, sq := math.Inf(1), math.Inf(-1), 0.0, 0.0
	distinct := map[float32]bool{}
	for _, v := range t.F32 {
		x := float64(v)
		lo, hi, sum, sq = math.Min(lo, x), math.Max(hi, x), sum+x, sq+x*x
		distinct[v] = true
	}
	n := float64(len(t.F32))
	mean := sum / n
	std := math.Sqrt(math.Max(0, sq/n-mean*mean))
	return fmt.Sprintf("%v: min %.4g max %.4g mean %.4g std %.4g, %d distinct values", t.Shape, lo, hi, mean, std, len(distinct))
}

// maxDiff returns the largest |a-b| over two float tensors of equal size,
// or +Inf if their shapes differ.
func maxDiff(a, b *ir.Tensor) float64 {
	if !a.Shape.Equal(b.Shape) || a.DType != ir.Float32 || b.DType != ir.Float32 {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a.F32 {
		d = math.Max(d, math.Abs(float64(a.F32[i])-float64(b.F32[i])))
	}
	return d
}

// repoRoot finds the module root above the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
		dir = parent
	}
}
