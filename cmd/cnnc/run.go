package main

import (
	"context"
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
	"github.com/cnnc/cnnc/runtime"
	"github.com/cnnc/cnnc/runtime/reference"
)

var runCommand = &command{
	name:  "run",
	args:  "MODEL --input [NAME=]FILE.pb ... [--output-dir DIR] [--engine compiled|reference] [--time]",
	short: "run a model on input tensors",
	long: `Run loads MODEL, binds its inputs to tensors read from files, runs it and
prints every output: its name, its type, its first values (up to 10) and, for
an f32 output of shape [N,K] (or [N,K,1,...,1]), the index of the largest
value of each row (argmax, the class a classifier predicts).

` + modelHelp + `

` + planHelp + ` Its inputs have the shapes it was compiled for.

By default the model runs compiled: an ONNX or zoo model is compiled for the
shapes of the given inputs, then run once. --engine reference runs it with
the reference interpreter instead (slow and exact; not for .cnnc files).

Each --input NAME=FILE binds the model input NAME to FILE, a serialized ONNX
TensorProto such as the ONNX test data's input_0.pb. "--input FILE" without
NAME= binds FILE to the input its TensorProto is named after or, failing that,
to the model's only input. Every model input must be bound.

With --output-dir DIR, output i (in model-output order) is also written to
DIR/output_i.pb as a TensorProto named after the output; DIR is created if
missing. --time prints the time loading, compiling and running took, and the
engine.`,
	setup: func(fs *flag.FlagSet) func(*env, []string) int {
		var o runOptions
		fs.Var(&o.inputs, "input", "bind model input NAME to the TensorProto in `[NAME=]FILE` (repeatable)")
		fs.StringVar(&o.outDir, "output-dir", "", "write output i to `DIR`/output_i.pb")
		fs.StringVar(&o.engine, "engine", engineCompiled, "run with the `ENGINE` compiled or reference")
		fs.BoolVar(&o.time, "time", false, "print the time loading, compiling and running took")
		fs.StringVar(&o.weights, "weights", "", "take a zoo model's weights from `FILE.onnx`")
		return o.run
	},
}

// The engines run and bench know.
const (
	engineCompiled  = "compiled"
	engineReference = "reference"
)

type runOptions struct {
	inputs  stringList
	outDir  string
	engine  string
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
	arg := pos[0]
	switch o.engine {
	case engineCompiled, engineReference:
	default:
		return e.usage("--engine %s: want compiled or reference", o.engine)
	}
	plan := isPlanFile(arg)
	if plan && o.engine == engineReference {
		return e.usage("%s is a compiled plan: it runs with --engine compiled only", arg)
	}
	if plan && o.weights != "" {
		return e.usage("--weights applies to zoo:NAME models; %s has its own", arg)
	}

	t0 := time.Now()
	var (
		g      *ir.Graph
		m      *runtime.Model
		inputs []ir.Value
		err    error
	)
	if plan {
		if m, err = loadPlan(arg); err != nil {
			return e.fail(err)
		}
		defer m.Close()
		inputs = m.Inputs()
	} else {
		if g, err = loadModel(arg, o.weights); err != nil {
			return e.fail(err)
		}
		inputs = graphInputs(g)
	}
	feeds, err := bindInputs(inputs, o.inputs)
	if err != nil {
		return e.fail(err)
	}
	t1 := time.Now()

	var (
		outs    []*ir.Tensor
		names   []string
		threads int
		t2      = t1
	)
	if o.engine == engineReference {
		if outs, err = reference.Run(g, feeds); err != nil {
			return e.fail(fmt.Errorf("%s: %w", arg, err))
		}
		for _, v := range g.Outputs {
			names = append(names, v.Name)
		}
	} else {
		ordered := make([]*ir.Tensor, len(inputs))
		for i, v := range inputs {
			ordered[i] = feeds[v.Name]
		}
		if m == nil {
			shapes := map[string]ir.Shape{}
			for name, t := range feeds {
				shapes[name] = t.Shape
			}
			if m, err = runtime.Compile(g, runtime.CompileOptions{InputShapes: shapes}); err != nil {
				return e.fail(fmt.Errorf("%s: %w", arg, err))
			}
			defer m.Close()
			t2 = time.Now()
		}
		s, err := m.NewSession(runtime.SessionOptions{})
		if err != nil {
			return e.fail(fmt.Errorf("%s: %w", arg, err))
		}
		defer s.Close()
		threads = s.Threads()
		if outs, err = s.Run(context.Background(), ordered...); err != nil {
			return e.fail(fmt.Errorf("%s: %w", arg, err))
		}
		p := m.Plan()
		if p == nil || len(p.Outputs) != len(outs) {
			return e.fail(fmt.Errorf("%s: the compiled model has no plan for these inputs", arg))
		}
		for _, op := range p.Outputs {
			names = append(names, op.Name)
		}
	}
	t3 := time.Now()

	if o.outDir != "" {
		if err := writeOutputs(o.outDir, names, outs); err != nil {
			return e.fail(err)
		}
	}
	for i, t := range outs {
		printOutput(e.stdout, names[i], t)
	}
	if o.time {
		r := func(d time.Duration) time.Duration { return d.Round(time.Microsecond) }
		switch {
		case o.engine == engineReference:
			fmt.Fprintf(e.stdout, "time: load %v, run %v (reference interpreter)\n", r(t1.Sub(t0)), r(t3.Sub(t1)))
		case plan:
			fmt.Fprintf(e.stdout, "time: load %v, run %v (compiled plan, %d threads)\n", r(t1.Sub(t0)), r(t3.Sub(t1)), threads)
		default:
			fmt.Fprintf(e.stdout, "time: load %v, compile %v, run %v (compiled, %d threads)\n", r(t1.Sub(t0)), r(t2.Sub(t1)), r(t3.Sub(t2)), threads)
		}
	}
	return exitOK
}

// graphInputs returns the names and types of g's inputs.
func graphInputs(g *ir.Graph) []ir.Value {
	vs := make([]ir.Value, len(g.Inputs))
	for i, v := range g.Inputs {
		vs[i] = ir.Value{Name: v.Name, Type: v.Type}
	}
	return vs
}

// bindInputs reads the tensors that the --input flags name and binds each
// to one of the model inputs, checking it against the input's type.
func bindInputs(inputs []ir.Value, flags []string) (map[string]*ir.Tensor, error) {
	byName := map[string]*ir.Value{}
	for i := range inputs {
		byName[inputs[i].Name] = &inputs[i]
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
			case len(inputs) == 1:
				name = inputs[0].Name
			default:
				return nil, fmt.Errorf("--input %s: the model has %d inputs (%s); say which one as NAME=%s",
					arg, len(inputs), inputList(inputs), file)
			}
		}
		v := byName[name]
		if v == nil {
			return nil, fmt.Errorf("--input %s: the model has no input %q (its inputs: %s)", arg, name, inputList(inputs))
		}
		if prev, dup := from[name]; dup {
			return nil, fmt.Errorf("--input %s: input %q is already bound to %s", arg, name, prev)
		}
		if err := checkFeed(v, t); err != nil {
			return nil, fmt.Errorf("--input %s: %v", arg, err)
		}
		feeds[name], from[name] = t, file
	}
	for _, v := range inputs {
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

// inputList names the model inputs with their types.
func inputList(inputs []ir.Value) string {
	parts := make([]string, len(inputs))
	for i, v := range inputs {
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

// writeOutputs writes outs to dir/output_i.pb, each named after its model
// output, names[i].
func writeOutputs(dir string, names []string, outs []*ir.Tensor) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, t := range outs {
		path := filepath.Join(dir, fmt.Sprintf("output_%d.pb", i))
		if err := importer.WriteTensor(path, names[i], t); err != nil {
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
