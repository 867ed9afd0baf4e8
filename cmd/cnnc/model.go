package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/cnnc/cnnc/importer"
	"github.com/cnnc/cnnc/ir"
)

// modelHelp describes the MODEL argument, for the commands' help.
const modelHelp = `MODEL is an ONNX model file (IR versions 3 to 9, opsets 6 to 17).`

// loadModel reads the model a MODEL argument names, with its types
// inferred. Errors name the file.
func loadModel(arg string) (*ir.Graph, error) {
	if name, ok := strings.CutPrefix(arg, "zoo:"); ok {
		return nil, fmt.Errorf("%s: zoo models are not available yet (no zoo model %q)", arg, name)
	}
	g, err := importer.Load(arg)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, err // already names the file
		}
		return nil, fmt.Errorf("%s: %w", arg, err)
	}
	return g, nil
}
