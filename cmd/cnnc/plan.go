package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/cnnc/cnnc/codegen"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/kernels"
)

// This file lists compiled plans: "cnnc summary PLAN.cnnc", and the
// kernel descriptions and MAC counts bench also uses.

// operandJSON is an operand in the plan summary's JSON.
type operandJSON struct {
	Name   string `json:"name"`
	DType  string `json:"dtype"`
	Shape  []int  `json:"shape"`
	Loc    string `json:"loc"` // "arena", "weights" or "none"
	Offset int64  `json:"offset"`
	Bytes  int64  `json:"bytes"`
}

// stepJSON is one step in the plan summary's JSON.
type stepJSON struct {
	Index int    `json:"index"`
	Node  string `json:"node"`
	Op    string `json:"op"`
	// Kernel is the kernel's name, Desc the name with its key parameters.
	Kernel string `json:"kernel"`
	Desc   string `json:"desc"`
	// MACs counts a conv2d or gemm step's multiply-accumulates; 0 for the
	// other kernels.
	MACs int64 `json:"macs"`
	// Output is the step's first output.
	Output *operandJSON `json:"output"`
}

// memoryJSON is the plan's memory statistics, in bytes.
type memoryJSON struct {
	Arena      int64 `json:"arena"`
	NoSharing  int64 `json:"no_sharing"`
	LowerBound int64 `json:"lower_bound"`
	// ArenaOverLowerBound is Arena/LowerBound, 0 when LowerBound is 0.
	ArenaOverLowerBound float64 `json:"arena_over_lower_bound"`
}

// planJSON is the --json output of summary for a plan file. Its fields
// are stable: scripts read them.
type planJSON struct {
	Name        string        `json:"name"`
	Inputs      []operandJSON `json:"inputs"`
	Outputs     []operandJSON `json:"outputs"`
	Steps       []stepJSON    `json:"steps"`
	TotalMACs   int64         `json:"total_macs"`
	WeightBytes int64         `json:"weight_bytes"`
	Memory      memoryJSON    `json:"memory"`
}

// runPlan summarizes the plan file at path.
func (o *summaryOptions) runPlan(e *env, path string) int {
	m, err := loadPlan(path)
	if err != nil {
		return e.fail(err)
	}
	defer m.Close()
	p := m.Plan()
	if o.json {
		if err := printPlanJSON(e.stdout, p); err != nil {
			return e.fail(err)
		}
		return exitOK
	}
	printPlan(e.stdout, p)
	return exitOK
}

// printPlanJSON writes the plan summary of p as one JSON line.
func printPlanJSON(w io.Writer, p *codegen.Plan) error {
	s := planJSON{
		Name:        p.Name,
		Inputs:      operandsJSON(p.Inputs),
		Outputs:     operandsJSON(p.Outputs),
		Steps:       make([]stepJSON, len(p.Steps)),
		TotalMACs:   planMACs(p),
		WeightBytes: int64(len(p.Weights)),
		Memory: memoryJSON{
			Arena:               p.Memory.Arena,
			NoSharing:           p.Memory.NoSharing,
			LowerBound:          p.Memory.LowerBound,
			ArenaOverLowerBound: ratio(p.Memory.Arena, p.Memory.LowerBound),
		},
	}
	for i := range p.Steps {
		st := &p.Steps[i]
		j := stepJSON{Index: i, Node: st.Node, Op: st.Op, Kernel: kernelName(st.Kernel), Desc: kernelDesc(st), MACs: max(kernelMACs(st.Kernel), 0)}
		if len(st.Out) > 0 {
			o := operandJSONOf(st.Out[0])
			j.Output = &o
		}
		s.Steps[i] = j
	}
	return json.NewEncoder(w).Encode(s)
}

func operandsJSON(ops []codegen.Operand) []operandJSON {
	r := make([]operandJSON, len(ops))
	for i, o := range ops {
		r[i] = operandJSONOf(o)
	}
	return r
}

func operandJSONOf(o codegen.Operand) operandJSON {
	shape := []int(o.Shape.Clone())
	if shape == nil {
		shape = []int{}
	}
	return operandJSON{Name: o.Name, DType: o.DType.String(), Shape: shape, Loc: locName(o.Loc), Offset: o.Offset, Bytes: operandBytes(o)}
}

// operandBytes returns o's size in bytes, or -1 when its shape is unknown.
func operandBytes(o codegen.Operand) int64 {
	if o.Shape.NumElements() < 0 {
		return -1
	}
	return o.Bytes()
}

// locName names an operand's location.
func locName(l codegen.Loc) string {
	switch l {
	case codegen.LocNone:
		return "none"
	case codegen.LocArena:
		return "arena"
	case codegen.LocWeights:
		return "weights"
	}
	return "loc(" + strconv.Itoa(int(l)) + ")"
}

// printPlan writes the plan summary of p as a table.
func printPlan(w io.Writer, p *codegen.Plan) {
	name := p.Name
	if name == "" {
		name = "(unnamed)"
	}
	fmt.Fprintf(w, "plan %q, %d steps\n", name, len(p.Steps))
	for _, o := range p.Inputs {
		fmt.Fprintf(w, "input  %s: %v%v at %s\n", o.Name, o.DType, o.Shape, place(o))
	}
	for _, o := range p.Outputs {
		fmt.Fprintf(w, "output %s: %v%v at %s\n", o.Name, o.DType, o.Shape, place(o))
	}
	fmt.Fprintln(w)

	type row struct{ idx, node, op, kernel, out, offset, size string }
	rows := []row{{"#", "NODE", "OP", "KERNEL", "OUTPUT", "OFFSET", "BYTES"}}
	for i := range p.Steps {
		st := &p.Steps[i]
		r := row{idx: strconv.Itoa(i), node: st.Node, op: st.Op, kernel: kernelDesc(st)}
		if len(st.Out) > 0 {
			o := st.Out[0]
			r.out = fmt.Sprintf("%v%v", o.DType, o.Shape)
			r.offset = strconv.FormatInt(o.Offset, 10)
			if o.Loc != codegen.LocArena {
				r.offset = locName(o.Loc) + "+" + r.offset
			}
			r.size = count(operandBytes(o))
		}
		rows = append(rows, r)
	}
	wo, ws := 0, 0
	for _, r := range rows {
		wo, ws = max(wo, len(r.offset)), max(ws, len(r.size))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%*s\t%*s\n", r.idx, r.node, r.op, r.kernel, r.out, wo, r.offset, ws, r.size)
	}
	tw.Flush()

	fmt.Fprintln(w)
	if macs := planMACs(p); macs >= 0 {
		fmt.Fprintf(w, "MACs: %s (%s, conv2d and gemm steps)\n", count(macs), human(macs, 1000, ""))
	}
	fmt.Fprintf(w, "weights: %s bytes (%s)\n", count(int64(len(p.Weights))), human(int64(len(p.Weights)), 1024, "B"))
	fmt.Fprintf(w, "%s arena/lower_bound=%s\n", memoryLine(p.Memory), formatRatio(p.Memory.Arena, p.Memory.LowerBound))
}

// place formats where an operand lives: "arena+OFFSET (N B)".
func place(o codegen.Operand) string {
	return fmt.Sprintf("%s+%d (%s B)", locName(o.Loc), o.Offset, count(operandBytes(o)))
}

// ratio returns a/b, or 0 when b is not positive.
func ratio(a, b int64) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// formatRatio formats a/b with 3 decimals, or n/a when b is not positive.
func formatRatio(a, b int64) string {
	if b <= 0 {
		return "n/a"
	}
	return strconv.FormatFloat(ratio(a, b), 'f', 3, 64)
}

// kernelName returns k's name, "none" for a missing kernel.
func kernelName(k codegen.Kernel) string {
	if k == nil {
		return "none"
	}
	return k.Name()
}

// kernelDesc describes a step's kernel with its key parameters, such as
// "conv2d im2col 3x3/s2 p1 64->128 relu" or "gemm 400->120 relu".
func kernelDesc(st *codegen.Step) string {
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	switch k := st.Kernel.(type) {
	case nil:
		return "none"
	case *kernels.Conv2D:
		add("conv2d %v %dx%d/%s", k.Algo, k.KH, k.KW, pair("s", k.SH, k.SW))
		if k.PadT != 0 || k.PadL != 0 {
			add("%s", pair("p", k.PadT, k.PadL))
		}
		if k.DH != 1 || k.DW != 1 {
			add("%s", pair("d", k.DH, k.DW))
		}
		add("%d->%d", k.C, k.M)
		if k.Group != 1 {
			add("g%d", k.Group)
		}
		if len(st.In) > 3 && st.In[3].Loc != codegen.LocNone {
			add("+residual")
		}
		parts = appendAct(parts, k.Act)
	case *kernels.Gemm:
		add("gemm %d->%d", k.K, k.N)
		parts = appendAct(parts, k.Act)
	case *kernels.Pool2D:
		kind := "avgpool"
		if k.Max {
			kind = "maxpool"
		}
		add("%s %dx%d/%s", kind, k.KH, k.KW, pair("s", k.SH, k.SW))
		if k.PadT != 0 || k.PadL != 0 || k.PadB != 0 || k.PadR != 0 {
			if k.PadT == k.PadB && k.PadL == k.PadR {
				add("%s", pair("p", k.PadT, k.PadL))
			} else {
				add("p%d,%d,%d,%d", k.PadT, k.PadL, k.PadB, k.PadR)
			}
		}
		if k.DH != 1 || k.DW != 1 {
			add("%s", pair("d", k.DH, k.DW))
		}
		if k.CountIncludePad {
			add("count-pad")
		}
	case *kernels.GlobalPool:
		if k.Max {
			add("globalpool max")
		} else {
			add("globalpool avg")
		}
	case *kernels.Affine:
		add("affine")
		parts = appendAct(parts, k.Act)
	case *kernels.Binary:
		add("binary %s", binaryName(k.Op))
		parts = appendAct(parts, k.Act)
	case *kernels.Unary:
		switch k.Op {
		case kernels.UnClip:
			add("unary clip(%g,%g)", k.Min, k.Max)
		case kernels.UnLeakyRelu:
			add("unary leakyrelu(%g)", k.Alpha)
		default:
			add("unary %s", unaryName(k.Op))
		}
	case *kernels.Concat:
		add("concat %d inputs", len(k.Inner))
	case *kernels.Softmax:
		if k.Log {
			add("logsoftmax %d", k.N)
		} else {
			add("softmax %d", k.N)
		}
	case *kernels.LRN:
		add("lrn size %d", k.Size)
	case *kernels.Copy:
		add("copy")
	case *kernels.Reference:
		if k.Op != nil {
			add("reference %s", k.Op.OpType())
		} else {
			add("reference")
		}
	default:
		add("%s", st.Kernel.Name())
	}
	return strings.Join(parts, " ")
}

// pair formats a 2-D parameter: "s2" when both are equal, else "s2x1".
func pair(prefix string, a, b int) string {
	if a == b {
		return prefix + strconv.Itoa(a)
	}
	return fmt.Sprintf("%s%dx%d", prefix, a, b)
}

// appendAct appends the name of a fused activation, if any.
func appendAct(parts []string, a ir.Activation) []string {
	switch a.Kind {
	case ir.ActNone:
		return parts
	case ir.ActClip:
		return append(parts, fmt.Sprintf("clip(%g,%g)", a.Min, a.Max))
	}
	return append(parts, a.Kind.String())
}

var binaryNames = [...]string{kernels.BinAdd: "add", kernels.BinSub: "sub", kernels.BinMul: "mul", kernels.BinDiv: "div", kernels.BinMax: "max", kernels.BinMin: "min"}

func binaryName(op kernels.BinaryOp) string {
	if int(op) < len(binaryNames) {
		return binaryNames[op]
	}
	return "op" + strconv.Itoa(int(op))
}

var unaryNames = [...]string{kernels.UnRelu: "relu", kernels.UnClip: "clip", kernels.UnLeakyRelu: "leakyrelu", kernels.UnSigmoid: "sigmoid", kernels.UnTanh: "tanh", kernels.UnExp: "exp", kernels.UnSqrt: "sqrt"}

func unaryName(op kernels.UnaryOp) string {
	if int(op) < len(unaryNames) {
		return unaryNames[op]
	}
	return "op" + strconv.Itoa(int(op))
}

// kernelMACs returns the multiply-accumulates of a conv2d or gemm kernel
// (the whole batch), 0 for other kernels, and -1 when its parameters are
// out of range (negative, or a product beyond int64).
func kernelMACs(k codegen.Kernel) int64 {
	switch k := k.(type) {
	case *kernels.Conv2D:
		if k.Group <= 0 || k.C%k.Group != 0 {
			return -1
		}
		return product(k.N, k.M, k.OH, k.OW, k.C/k.Group, k.KH, k.KW)
	case *kernels.Gemm:
		return product(k.M, k.N, k.K)
	}
	return 0
}

// product multiplies non-negative factors, returning -1 when one is
// negative or the product overflows int64.
func product(factors ...int) int64 {
	p := int64(1)
	for _, f := range factors {
		if f < 0 {
			return -1
		}
		if f != 0 && p > math.MaxInt64/int64(f) {
			return -1
		}
		p *= int64(f)
	}
	return p
}

// planMACs sums the MACs of p's conv2d and gemm steps (the ops the graph
// summary counts: convolutions and matrix products), or returns -1 when
// one is out of range.
func planMACs(p *codegen.Plan) int64 {
	var total int64
	for i := range p.Steps {
		m := kernelMACs(p.Steps[i].Kernel)
		if m < 0 || total > math.MaxInt64-m {
			return -1
		}
		total += m
	}
	return total
}
