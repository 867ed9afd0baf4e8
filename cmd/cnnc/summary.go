package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/cnnc/cnnc/ir"
)

var summaryCommand = &command{
	name:  "summary",
	args:  "MODEL|PLAN.cnnc [--json] [--batch N] [--all]",
	short: "list a model's layers, or a compiled plan's steps",
	long: `Summary prints one row per layer of MODEL: its index among the graph's nodes,
name, op type, output type, parameter count and multiply-accumulates (MACs),
then the totals: parameters
(a weight shared by several layers counts once), MACs and the bytes of all
activations (every layer output, without memory reuse; graph inputs are not
counted).

` + modelHelp + `

Parameters are the elements of a layer's f32 inputs fixed before running:
weights, biases, BatchNormalization's scale and shift (its running
mean and variance are statistics, as torchvision counts them). MACs count the
convolution and matrix-product arithmetic only (Conv, ConvTranspose, Gemm,
MatMul), as torchvision and ptflops report them; biases, pooling,
activations, normalization and element-wise ops count 0.

Graph inputs whose leading (batch) dimension is symbolic get --batch N as that
dimension, so shapes and MACs are concrete; --batch 0 keeps it symbolic, and
costs that depend on it are then shown as "?" and left out of the totals.

Nodes that compute from constants alone (Constant, ConstantOfShape, shape
arithmetic on constants) produce parameters, not activations; they are
hidden unless --all is given.

With --json the summary is one JSON object on one line:
{"layers": [{"name", "op", "output_shape", "params", "macs"}, ...],
 "total_params", "total_macs", "activation_bytes"}
where an unknown dimension or cost is -1 and an unknown rank is null.

For a compiled plan (PLAN.cnnc, from "cnnc compile") summary lists the plan
instead: its inputs and outputs, one row per step (its index, the node it
computes, the op, the kernel with its key parameters such as
"conv2d im2col 3x3/s2 p1 64->128 relu", the output type and the output's
place in the arena: offset and size in bytes), the size of the weight
section, and the memory line

	memory: arena=N no_sharing=N lower_bound=N arena/lower_bound=R

(see "cnnc help compile"). --batch and --all do not apply to a plan. With
--json the plan summary is one JSON object:
{"name", "inputs": [OPERAND...], "outputs": [OPERAND...],
 "steps": [{"index", "node", "op", "kernel", "desc", "macs", "output": OPERAND}...],
 "total_macs", "weight_bytes",
 "memory": {"arena", "no_sharing", "lower_bound", "arena_over_lower_bound"}}
with OPERAND = {"name", "dtype", "shape", "loc" ("arena", "weights" or
"none"), "offset", "bytes"}.`,
	setup: func(fs *flag.FlagSet) func(*env, []string) int {
		var o summaryOptions
		fs.BoolVar(&o.json, "json", false, "print the summary as one JSON object")
		fs.IntVar(&o.batch, "batch", 1, "fix symbolic leading dimensions of graph inputs to `N` (0 keeps them)")
		fs.BoolVar(&o.all, "all", false, "also list nodes that compute from constants alone")
		fs.StringVar(&o.weights, "weights", "", "take a zoo model's weights from `FILE.onnx`")
		return o.run
	},
}

type summaryOptions struct {
	json    bool
	batch   int
	all     bool
	weights string
}

// layerJSON is one row of the --json output.
type layerJSON struct {
	Name        string `json:"name"`
	Op          string `json:"op"`
	OutputShape []int  `json:"output_shape"`
	Params      int64  `json:"params"`
	MACs        int64  `json:"macs"`
}

// summaryJSON is the --json output.
type summaryJSON struct {
	Layers          []layerJSON `json:"layers"`
	TotalParams     int64       `json:"total_params"`
	TotalMACs       int64       `json:"total_macs"`
	ActivationBytes int64       `json:"activation_bytes"`
	// UnknownLayers counts the layers left out of the totals because a
	// shape is unknown.
	UnknownLayers int `json:"unknown_layers,omitempty"`
}

func (o *summaryOptions) run(e *env, pos []string) int {
	if len(pos) != 1 {
		return e.usage("want one MODEL, got %d arguments", len(pos))
	}
	if o.batch < 0 || o.batch > ir.MaxElements {
		return e.usage("--batch %d is out of range", o.batch)
	}
	if isPlanFile(pos[0]) {
		if o.weights != "" {
			return e.usage("--weights applies to zoo:NAME models; %s has its own", pos[0])
		}
		return o.runPlan(e, pos[0])
	}
	g, err := loadModel(pos[0], o.weights)
	if err != nil {
		return e.fail(err)
	}
	if o.batch > 0 && fixBatch(g, o.batch) {
		if err := g.InferTypes(); err != nil {
			return e.fail(fmt.Errorf("%s with --batch %d: %w", pos[0], o.batch, err))
		}
	}
	gc := ir.CostOf(g)
	if o.json {
		return o.printJSON(e, g, gc)
	}
	o.printTable(e.stdout, g, gc)
	return exitOK
}

// fixBatch sets the unknown leading dimension of every graph input of g to
// n and reports whether it changed any. Types must then be re-inferred.
func fixBatch(g *ir.Graph, n int) bool {
	changed := false
	for _, v := range g.Inputs {
		if len(v.Type.Shape) > 0 && v.Type.Shape[0] < 0 {
			v.Type.Shape = v.Type.Shape.Clone()
			v.Type.Shape[0] = n
			if len(v.DimNames) > 0 {
				v.DimNames = append([]string{""}, v.DimNames[1:]...)
			}
			changed = true
		}
	}
	return changed
}

func (o *summaryOptions) printJSON(e *env, g *ir.Graph, gc *ir.GraphCost) int {
	s := summaryJSON{
		Layers:          []layerJSON{},
		TotalParams:     gc.Params,
		TotalMACs:       gc.MACs,
		ActivationBytes: gc.ActivationBytes,
		UnknownLayers:   gc.Unknown,
	}
	for i, n := range g.Nodes {
		if gc.Static[i] && !o.all {
			continue
		}
		l := layerJSON{Name: n.Name, Op: n.Op.OpType(), Params: gc.Nodes[i].Params, MACs: gc.Nodes[i].MACs}
		if len(n.Outputs) > 0 && n.Outputs[0].Type.Shape != nil {
			l.OutputShape = append([]int{}, n.Outputs[0].Type.Shape...)
			for j, d := range l.OutputShape {
				if d < 0 {
					l.OutputShape[j] = -1
				}
			}
		}
		s.Layers = append(s.Layers, l)
	}
	// One compact line, for jq and scripts.
	if err := json.NewEncoder(e.stdout).Encode(s); err != nil {
		return e.fail(err)
	}
	return exitOK
}

func (o *summaryOptions) printTable(w io.Writer, g *ir.Graph, gc *ir.GraphCost) {
	name := g.Name
	if name == "" {
		name = "(unnamed)"
	}
	fmt.Fprintf(w, "graph %q, opset %d\n", name, g.Opset)
	for _, v := range g.Inputs {
		fmt.Fprintf(w, "input  %s: %v\n", v.Name, v.Type)
	}
	for _, v := range g.Outputs {
		fmt.Fprintf(w, "output %s: %v\n", v.Name, v.Type)
	}
	fmt.Fprintln(w)

	// Numbers are right-aligned by hand: tabwriter's AlignRight would
	// apply to every column.
	type row struct{ idx, name, op, out, params, macs string }
	rows := []row{{"#", "NAME", "OP", "OUTPUT", "PARAMS", "MACS"}}
	for i, n := range g.Nodes {
		if gc.Static[i] && !o.all {
			continue
		}
		var outs []string
		for _, v := range n.Outputs {
			outs = append(outs, v.Type.String())
		}
		c := gc.Nodes[i]
		rows = append(rows, row{strconv.Itoa(i), n.Name, n.Op.OpType(), strings.Join(outs, " "), count(c.Params), count(c.MACs)})
	}
	wp, wm := 0, 0
	for _, r := range rows {
		wp, wm = max(wp, len(r.params)), max(wm, len(r.macs))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%*s\t%*s\n", r.idx, r.name, r.op, r.out, wp, r.params, wm, r.macs)
	}
	tw.Flush()

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	totals := [][2]string{
		{"parameters", fmt.Sprintf("%s (%s, %s as f32)", count(gc.Params), human(gc.Params, 1000, ""), human(4*gc.Params, 1024, "B"))},
		{"MACs", fmt.Sprintf("%s (%s)", count(gc.MACs), human(gc.MACs, 1000, ""))},
		{"activations", fmt.Sprintf("%s bytes (%s)", count(gc.ActivationBytes), human(gc.ActivationBytes, 1024, "B"))},
	}
	for _, t := range totals {
		fmt.Fprintf(tw, "total %s:\t%s\n", t[0], t[1])
	}
	tw.Flush()
	if gc.Unknown > 0 {
		fmt.Fprintf(w, "note: %d nodes have unknown shapes (shown as ?) and are left out of the totals\n", gc.Unknown)
	}
}

// count formats n with thousands separators, or "?" when negative
// (unknown).
func count(n int64) string {
	if n < 0 {
		return "?"
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// human formats n with a decimal (base 1000: k, M, G) or binary (base
// 1024: Ki, Mi, Gi) prefix and the unit.
func human(n int64, base float64, unit string) string {
	prefixes := []string{"", "k", "M", "G", "T", "P"}
	if base == 1024 {
		prefixes = []string{"", "Ki", "Mi", "Gi", "Ti", "Pi"}
	}
	x, i := float64(n), 0
	for x >= base && i < len(prefixes)-1 {
		x /= base
		i++
	}
	sep := ""
	if unit != "" || prefixes[i] != "" {
		sep = " "
	}
	if i == 0 {
		return fmt.Sprintf("%d%s%s", n, sep, unit)
	}
	return fmt.Sprintf("%.3g%s%s%s", x, sep, prefixes[i], unit)
}
