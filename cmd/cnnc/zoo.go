package main

import (
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/cnnc/cnnc/importer"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/zoo"
)

var zooCommand = &command{
	name:  "zoo",
	args:  "",
	short: "list the built-in models with their parameters and MACs",
	long: `Zoo lists the models of the zoo (use them as zoo:NAME) with their default
input, parameter count and multiply-accumulates at that input. Building
each model draws its weights, so listing takes a few seconds.`,
	setup: func(fs *flag.FlagSet) func(*env, []string) int {
		return func(e *env, pos []string) int {
			if len(pos) != 0 {
				return e.usage("takes no arguments")
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "NAME\tINPUT\tPARAMS\tMACS\t")
			for _, m := range zoo.Models() {
				g, err := m.Build(zoo.Options{})
				if err != nil {
					return e.fail(err)
				}
				c := ir.CostOf(g)
				fmt.Fprintf(tw, "%s\t%v\t%s\t%s\t\n", m.Name, g.Inputs[0].Type.Shape, count(c.Params), count(c.MACs))
			}
			tw.Flush()
			return exitOK
		}
	},
}

var exportCommand = &command{
	name:  "export",
	args:  "MODEL -o FILE.onnx [--weights FILE.onnx]",
	short: "write a model as an ONNX file",
	long: `Export writes MODEL as an ONNX file that ONNX Runtime and PyTorch's tools
load: its graph at its opset (17 for zoo models) with every weight as an
initializer named as torchvision names it.

` + modelHelp,
	setup: func(fs *flag.FlagSet) func(*env, []string) int {
		var out, weights string
		fs.StringVar(&out, "o", "", "write the model to `FILE.onnx`")
		fs.StringVar(&weights, "weights", "", "take a zoo model's weights from `FILE.onnx`")
		return func(e *env, pos []string) int {
			if len(pos) != 1 {
				return e.usage("want one MODEL, got %d arguments", len(pos))
			}
			if out == "" {
				return e.usage("-o FILE.onnx is required")
			}
			g, err := loadModel(pos[0], weights)
			if err != nil {
				return e.fail(err)
			}
			if err := importer.Save(g, out); err != nil {
				return e.fail(fmt.Errorf("%s: %w", out, err))
			}
			return exitOK
		}
	},
}
