package main

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/cnnc/cnnc/importer"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime"
	"github.com/cnnc/cnnc/zoo"
)

// modelHelp describes the MODEL argument, for the commands' help.
const modelHelp = `MODEL is an ONNX model file (IR versions 3 to 9, opsets 6 to 17), or
zoo:NAME for a model of the zoo ("cnnc zoo" lists them) with weights drawn
from a fixed seed unless --weights gives an ONNX file of the same
architecture (torchvision's export, or one cnnc exported).`

// planHelp describes a .cnnc MODEL argument, for the commands that take
// one.
const planHelp = `MODEL may also be a compiled plan, a .cnnc file that "cnnc compile"
wrote.`

// loadModel reads the model a MODEL argument names, with its types
// inferred; weights, if not empty, is an ONNX file whose weights replace a
// zoo model's. Errors name the file or model.
func loadModel(arg, weights string) (*ir.Graph, error) {
	return loadModelBatch(arg, weights, 0)
}

// loadModelBatch is loadModel building a zoo model for batch size batch
// (when > 0; zoo models otherwise have batch 1). An ONNX file's batch is
// its own: see compileBatch.
func loadModelBatch(arg, weights string, batch int) (*ir.Graph, error) {
	name, isZoo := strings.CutPrefix(arg, "zoo:")
	if !isZoo {
		if weights != "" {
			return nil, fmt.Errorf("--weights applies to zoo:NAME models; %s has its own", arg)
		}
		return loadONNX(arg)
	}
	m, ok := zoo.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%s: no such zoo model (cnnc zoo lists them)", arg)
	}
	g, err := m.Build(zoo.Options{Batch: batch})
	if err != nil {
		return nil, err
	}
	if weights != "" {
		src, err := loadONNX(weights)
		if err != nil {
			return nil, err
		}
		if err := ir.LoadWeights(g, ir.Weights(src)); err != nil {
			return nil, fmt.Errorf("%s with --weights %s: %w", arg, weights, err)
		}
	}
	return g, nil
}

// loadONNX imports an ONNX file, naming it in errors.
func loadONNX(path string) (*ir.Graph, error) {
	g, err := importer.Load(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, err // already names the file
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// isPlanFile reports whether a MODEL argument names a compiled plan (a
// .cnnc file) rather than an ONNX file or a zoo model.
func isPlanFile(arg string) bool {
	return !strings.HasPrefix(arg, "zoo:") && strings.EqualFold(filepath.Ext(arg), ".cnnc")
}

// loadPlan reads a .cnnc file, naming it in errors.
func loadPlan(path string) (*runtime.Model, error) {
	m, err := runtime.Load(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) || strings.Contains(err.Error(), path) {
			return nil, err // already names the file
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// compileBatch returns the batch size to compile g for: batch when > 0,
// else 1 (then fixed reports false: the model left it open). It fails
// when batch disagrees with an input whose batch dimension g fixes.
func compileBatch(g *ir.Graph, batch int) (n int, fixed bool, err error) {
	open, own := false, -1
	for _, v := range g.Inputs {
		s := v.Type.Shape
		if len(s) == 0 {
			continue
		}
		if s[0] < 0 {
			open = true
			continue
		}
		if batch > 0 && s[0] != batch {
			return 0, false, fmt.Errorf("--batch %d: model input %q has a fixed batch size of %d", batch, v.Name, s[0])
		}
		own = s[0]
	}
	switch {
	case batch > 0:
		return batch, true, nil
	case open:
		return 1, false, nil
	case own < 0:
		return 1, true, nil // no input has a batch dimension
	}
	return own, true, nil
}
