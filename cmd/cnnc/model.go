package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/cnnc/cnnc/importer"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/zoo"
)

// modelHelp describes the MODEL argument, for the commands' help.
const modelHelp = `MODEL is an ONNX model file (IR versions 3 to 9, opsets 6 to 17), or
zoo:NAME for a model of the zoo ("cnnc zoo" lists them) with weights drawn
from a fixed seed unless --weights gives an ONNX file of the same
architecture (torchvision's export, or one cnnc exported).`

// loadModel reads the model a MODEL argument names, with its types
// inferred; weights, if not empty, is an ONNX file whose weights replace a
// zoo model's. Errors name the file or model.
func loadModel(arg, weights string) (*ir.Graph, error) {
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
	g, err := m.Build(zoo.Options{})
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
