package runtime_test

import (
	"context"
	"fmt"
	"log"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime"
	"github.com/cnnc/cnnc/zoo"
)

// Compiling a model and running it: the Model is compiled once and shared
// by every goroutine, each with a Session of its own. A model imported
// from ONNX (importer.Load) compiles the same way.
func ExampleCompile() {
	g, err := zoo.LeNetReLU.Build(zoo.Options{Batch: 1, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	m, err := runtime.Compile(g, runtime.CompileOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	s, err := m.NewSession(runtime.SessionOptions{Threads: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	x, err := ir.NewTensor(ir.Float32, ir.Shape{1, 1, 28, 28}) // an image of zeros
	if err != nil {
		log.Fatal(err)
	}
	out, err := s.Run(context.Background(), x) // valid until the next Run
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(out[0].Shape)
	// Output: [1,10]
}
