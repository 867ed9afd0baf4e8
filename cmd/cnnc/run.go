package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cnnc/cnnc/importer"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/reference"
)

var runCommand = &command{
	name:  "run",
	args:  "MODEL --input [NAME=]FILE.pb ... [--output-dir DIR] [--time]",
	short: "run a model on input tensors with the reference interpreter",
	long: `Run loads MODEL, binds its inputs to tensors read from files, runs it with the
reference interpreter (slow and exact) and prints every output: its name, its
type, its first values (up to 10) and, for an f32 output of shape [N,K] (or
[N,K,1,...,1]), the index of the largest value of each row (argmax, the class
a classifier predicts).

` + modelHelp + `

Each --input NAME=FILE binds the graph input NAME to FILE, a serialized ONNX
TensorProto such as the ONNX test data's input_0.pb. "--input FILE" without
NAME= binds FILE to the input its TensorProto is named after or, failing that,
to the model's only input. Every graph input must be bound.

With --output-dir DIR, output i (in graph-output order) is also written to
DIR/output_i.pb as a TensorProto named after the output; DIR is created if
missing.`,
	setup: func(fs *flag.FlagSet) func(*env, []string) int {
		var o runOptions
		fs.Var(&o.inputs, "input", "bind graph input NAME to the TensorProto in `[NAME=]FILE` (repeatable)")
		fs.StringVar(&o.outDir, "output-dir", "", "write output i to `DIR`/output_i.pb")
		fs.BoolVar(&o.time, "time", false, "print the time loading and running took")
		fs.StringVar(&o.weights, "weights", "", "take a zoo model's weights from `FILE.onnx`")
		return o.run
	},
}

type runOptions struct {
	inputs  stringList
	outDir  string
	time    bool
	weights string
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

func (o *runOptions) run(e *env, pos []string) int {
	if len(pos) != 1 {
		return e.usage("want one MODEL, got %d arguments", len(pos))
	}
	t0 := time.Now()
	g, err := loadModel(pos[0], o.weights)
	if err != nil {
		return e.fail(err)
	}
	feeds, err := bindInputs(g, o.inputs)
	if err != nil {
		return e.fail(err)
	}
	t1 := time.Now()
	outs, err := reference.Run(g, feeds)
	if err != nil {
		return e.fail(fmt.Errorf("%s: %w", pos[0], err))
	}
	t2 := time.Now()
	if o.outDir != "" {
		if err := writeOutputs(o.outDir, g, outs); err != nil {
			return e.fail(err)
		}
	}
	for i, t := range outs {
		printOutput(e.stdout, g.Outputs[i].Name, t)
	}
	if o.time {
		fmt.Fprintf(e.stdout, "time: load %v, run %v (reference interpreter)\n",
			t1.Sub(t0).Round(time.Microsecond), t2.Sub(t1).Round(time.Microsecond))
	}
	return exitOK
}

// bindInputs reads the tensors that the --input flags name and binds each
// to a graph input of g, checking it against the input's type.
func bindInputs(g *ir.Graph, flags []string) (map[string]*ir.Tensor, error) {
	byName := map[string]*ir.Value{}
	for _, v := range g.Inputs {
		byName[v.Name] = v
	}
	feeds := map[string]*ir.Tensor{}
	from := map[string]string{} // input name -> file it was read from
	for _, arg := range flags {
		name, file, explicit := splitBinding(arg, byName)
		t, stored, err := importer.ReadTensor(file)
		if err != nil {
			return nil, fmt.Errorf("--input %s: %w", arg, err)
		}
		if !explicit {
			switch {
			case byName[stored] != nil:
				name = stored
			case len(g.Inputs) == 1:
				name = g.Inputs[0].Name
			default:
				return nil, fmt.Errorf("--input %s: the model has %d inputs (%s); say which one as NAME=%s",
					arg, len(g.Inputs), inputList(g), file)
			}
		}
		v := byName[name]
		if v == nil {
			return nil, fmt.Errorf("--input %s: the model has no input %q (its inputs: %s)", arg, name, inputList(g))
		}
		if prev, dup := from[name]; dup {
			return nil, fmt.Errorf("--input %s: input %q is already bound to %s", arg, name, prev)
		}
		if err := checkFeed(v, t); err != nil {
			return nil, fmt.Errorf("--input %s: %v", arg, err)
		}
		feeds[name], from[name] = t, file
	}
	for _, v := range g.Inputs {
		if feeds[v.Name] == nil {
			return nil, fmt.Errorf("model input %q (%v) is not given; pass --input %s=FILE.pb", v.Name, v.Type, v.Name)
		}
	}
	return feeds, nil
}

// splitBinding splits a --input value into the input name and the file.
// explicit is false for a bare FILE. A value is NAME=FILE when the text
// before its first "=" names a graph input, or when it does not but the
// whole value is not an existing file (so that a mistyped name is
// reported as such rather than as a missing file).
func splitBinding(arg string, inputs map[string]*ir.Value) (name, file string, explicit bool) {
	name, file, ok := strings.Cut(arg, "=")
	if !ok {
		return "", arg, false
	}
	if inputs[name] == nil {
		if _, err := os.Stat(arg); err == nil {
			return "", arg, false
		}
	}
	return name, file, true
}

// inputList names the graph inputs of g with their types.
func inputList(g *ir.Graph) string {
	parts := make([]string, len(g.Inputs))
	for i, v := range g.Inputs {
		parts[i] = fmt.Sprintf("%s %v", v.Name, v.Type)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// checkFeed checks a tensor against the graph input it is bound to.
func checkFeed(v *ir.Value, t *ir.Tensor) error {
	if t.DType != v.Type.DType {
		return fmt.Errorf("input %q wants element type %v, the file holds %v", v.Name, v.Type.DType, t.DType)
	}
	s := v.Type.Shape
	if s == nil {
		return nil
	}
	ok := len(s) == len(t.Shape)
	for i := 0; ok && i < len(s); i++ {
		ok = s[i] < 0 || s[i] == t.Shape[i]
	}
	if !ok {
		return fmt.Errorf("input %q wants shape %v, the file holds %v", v.Name, s, t.Shape)
	}
	return nil
}

// writeOutputs writes outs to dir/output_i.pb, each named after its graph
// output.
func writeOutputs(dir string, g *ir.Graph, outs []*ir.Tensor) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, t := range outs {
		path := filepath.Join(dir, fmt.Sprintf("output_%d.pb", i))
		if err := importer.WriteTensor(path, g.Outputs[i].Name, t); err != nil {
			return err
		}
	}
	return nil
}

// maxShown is how many values of an output run prints.
const maxShown = 10

// printOutput prints an output's name, type and first values and, for
// classifier scores (f32 [N,K] or [N,K,1,...,1]), the argmax of each row.
func printOutput(w io.Writer, name string, t *ir.Tensor) {
	fmt.Fprintf(w, "%s: %v\n", name, t.Type())
	n := t.Len()
	vals := make([]string, 0, maxShown)
	for i := 0; i < n && i < maxShown; i++ {
		vals = append(vals, formatValue(t, i))
	}
	more := ""
	if n > maxShown {
		more = fmt.Sprintf(" (first %d of %d)", maxShown, n)
	}
	fmt.Fprintf(w, "  values: [%s]%s\n", strings.Join(vals, " "), more)
	rows, k := classifierShape(t)
	switch {
	case rows == 1:
		best := argmax(t.F32)
		fmt.Fprintf(w, "  argmax: %d (%s)\n", best, formatValue(t, best))
	case rows > 1:
		best := make([]string, 0, maxShown)
		for r := 0; r < rows && r < maxShown; r++ {
			best = append(best, strconv.Itoa(argmax(t.F32[r*k:(r+1)*k])))
		}
		more := ""
		if rows > maxShown {
			more = fmt.Sprintf(" (first %d of %d rows)", maxShown, rows)
		}
		fmt.Fprintf(w, "  argmax per row: [%s]%s\n", strings.Join(best, " "), more)
	}
}

// classifierShape reports whether t looks like a classifier's scores: f32
// of shape [N,K] or [N,K,1,...,1] with K > 0. It returns N and K, or 0, 0.
func classifierShape(t *ir.Tensor) (rows, k int) {
	s := t.Shape
	if t.DType != ir.Float32 || len(s) < 2 || s[1] == 0 || t.Len() == 0 {
		return 0, 0
	}
	for _, d := range s[2:] {
		if d != 1 {
			return 0, 0
		}
	}
	return s[0], s[1]
}

// argmax returns the index of the first largest element of x (NaNs are
// never largest unless all are).
func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] || (x[best] != x[best] && v == v) {
			best = i
		}
	}
	return best
}

// formatValue formats element i of t: floats with 6 significant digits.
func formatValue(t *ir.Tensor, i int) string {
	switch t.DType {
	case ir.Float32:
		return strconv.FormatFloat(float64(t.F32[i]), 'g', 6, 32)
	case ir.Bool:
		return strconv.FormatBool(t.Bool[i])
	}
	return strconv.FormatFloat(t.Float64At(i), 'f', -1, 64)
}
