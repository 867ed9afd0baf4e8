package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"github.com/cnnc/cnnc/importer/onnxpb"
	"github.com/cnnc/cnnc/ir"
)

// defaultModels are the eight full-size torchvision models that
// "tools/refgen/refgen.py full" exports first.
var defaultModels = []string{
	"resnet18", "alexnet", "vgg16", "googlenet",
	"densenet121", "resnet50", "resnext50_32x4d", "wide_resnet50_2",
}

// inputSeed seeds the inputs both engines are fed (as "cnnc bench" does).
const inputSeed = 0x636e6e63 // "cnnc"

// cacheDir returns $CNNC_CACHE, else ~/.cache/cnnc.
func cacheDir() (string, error) {
	if c := os.Getenv("CNNC_CACHE"); c != "" {
		return c, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the reference cache: %w (set CNNC_CACHE)", err)
	}
	return filepath.Join(home, ".cache", "cnnc"), nil
}

// modelPath returns the ONNX file of torchvision model name in the cache.
// When it is missing it runs "refgen.py full --only name" if export is
// set, else fails saying how to make it.
func modelPath(cache, repo, name string, export bool) (string, error) {
	p := filepath.Join(cache, "torchvision", name, "model.onnx")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	script := filepath.Join(repo, "tools", "refgen", "refgen.py")
	if !export {
		return "", fmt.Errorf("%s is missing: make it with\n\t/usr/bin/python3 %s full --only %s\n(or run the bench with --export)", p, script, name)
	}
	fmt.Fprintf(os.Stderr, "bench: exporting %s with refgen.py (PyTorch)\n", name)
	cmd := exec.Command("/usr/bin/python3", script, "full", "--out", filepath.Join(cache, "torchvision"), "--only", name)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("refgen.py full --only %s: %w", name, err)
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("refgen.py full --only %s did not write %s", name, p)
	}
	return p, nil
}

// dynamicBatchCopy returns a copy of the ONNX file src whose graph inputs
// and outputs have a symbolic batch dimension "N" (dimension 0), kept in
// dir as NAME.dynbatch.onnx and remade when older than src. The value_info
// entries (intermediate shapes, which would pin the batch) are dropped;
// nothing else changes, so ONNX Runtime and cnnc then run the same graph
// at any batch. Models whose layers pin the batch themselves (a Reshape to
// a constant shape) still fail, in the engine that runs them.
func dynamicBatchCopy(src, dir, name string) (string, error) {
	dst := filepath.Join(dir, name+".dynbatch.onnx")
	si, err := os.Stat(src)
	if err != nil {
		return "", err
	}
	if di, err := os.Stat(dst); err == nil && !di.ModTime().Before(si.ModTime()) {
		return dst, nil
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		return "", fmt.Errorf("%s: %w", src, err)
	}
	data = nil
	g := m.GetGraph()
	if g == nil {
		return "", fmt.Errorf("%s: no graph", src)
	}
	inits := map[string]bool{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	for _, vi := range append(append([]*onnxpb.ValueInfoProto{}, g.GetInput()...), g.GetOutput()...) {
		if inits[vi.GetName()] {
			continue
		}
		if dims := vi.GetType().GetTensorType().GetShape().GetDim(); len(dims) > 0 {
			dims[0].Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}
		}
	}
	g.ValueInfo = nil
	out, err := proto.Marshal(&m)
	if err != nil {
		return "", fmt.Errorf("%s: %w", src, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, out, 0o644); err != nil {
		return "", err
	}
	return dst, os.Rename(tmp, dst)
}

// seededInput returns a float32 tensor of shape s filled with values in
// [-1, 1) from inputSeed (stream i for input i).
func seededInput(s ir.Shape, i int) (*ir.Tensor, error) {
	t, err := ir.NewTensor(ir.Float32, s)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(inputSeed, uint64(i)))
	for j := range t.F32 {
		t.F32[j] = float32(2*rng.Float64() - 1)
	}
	return t, nil
}

// writeRaw writes t's values as little-endian float32 to path, the input
// file format of the ORT server.
func writeRaw(path string, t *ir.Tensor) error {
	b := make([]byte, 4*len(t.F32))
	for i, v := range t.F32 {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return os.WriteFile(path, b, 0o644)
}
