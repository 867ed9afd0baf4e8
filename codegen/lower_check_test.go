package codegen

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/kernels"
)

// planInvariants checks the invariants of a plan lowered from g and returns the
// violations found:
//   - the memory figures agree with each other and the arena size;
//   - every operand has a known shape and a storable element type, and
//     lies at an aligned offset inside the arena or the weight section;
//   - each step's operands agree with its kernel's parameters (counts and
//     element counts, as the kernel documents them);
//   - only Binary, Unary and Affine write over an input, and then exactly
//     over it;
//   - run in order, every arena operand is read after it was written (a
//     graph input counts as written before step 0), and its bytes still
//     hold the tensor it names, not something written over it since; the
//     graph outputs hold theirs at the end. Values that share memory by
//     design (a Reshape's output and its input) are told apart by g, as
//     are elided concatenations: a Concat's output is also held by its
//     inputs' bytes, end to end.
func planInvariants(p *Plan, g *ir.Graph) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	m := p.Memory
	if p.ArenaSize != m.Arena || m.Arena < m.LowerBound || m.NoSharing < m.LowerBound || m.Arena%operandAlign != 0 {
		fail("arena size %d, memory %+v: want ArenaSize = Arena >= LowerBound <= NoSharing, Arena aligned", p.ArenaSize, m)
	}
	if len(p.Weights)%operandAlign != 0 {
		fail("weight section of %d bytes: want a multiple of %d", len(p.Weights), operandAlign)
	}
	checkOp := func(where string, o Operand, optional bool) {
		if o.Loc == LocNone {
			if !optional {
				fail("%s: operand %q has no location", where, o.Name)
			}
			return
		}
		n := o.Shape.NumElements()
		if !o.Shape.Known() || n < 0 || o.DType.Size() == 0 {
			fail("%s: operand %q has type %v%v, want a known shape and element type", where, o.Name, o.DType, o.Shape)
			return
		}
		limit := p.ArenaSize
		switch o.Loc {
		case LocArena:
		case LocWeights:
			limit = int64(len(p.Weights))
		default:
			fail("%s: operand %q has location %d", where, o.Name, o.Loc)
			return
		}
		if o.Offset < 0 || o.Offset%operandAlign != 0 || o.Offset+o.Bytes() > limit {
			fail("%s: operand %q: %d bytes at offset %d, want an aligned offset inside the %d-byte section %d",
				where, o.Name, o.Bytes(), o.Offset, limit, o.Loc)
		}
	}
	for i, o := range p.Inputs {
		checkOp(fmt.Sprintf("input %d", i), o, false)
		if o.Loc != LocArena {
			fail("input %d %q is in section %d, want the arena", i, o.Name, o.Loc)
		}
	}
	for i, o := range p.Outputs {
		checkOp(fmt.Sprintf("output %d", i), o, false)
	}
	for s, st := range p.Steps {
		where := fmt.Sprintf("step %d (%s %q)", s, st.Op, st.Node)
		for _, o := range st.In {
			checkOp(where, o, true)
		}
		for _, o := range st.Out {
			checkOp(where, o, false)
		}
		if err := checkKernelOperands(st); err != nil {
			fail("%s: %v", where, err)
		}
		inPlace := false
		switch st.Kernel.(type) {
		case *kernels.Binary, *kernels.Unary, *kernels.Affine:
			inPlace = true
		}
		for i, y := range st.Out {
			for _, x := range st.In {
				if overlap(x, y) && (!inPlace || x.Offset != y.Offset || x.Bytes() != y.Bytes()) {
					fail("%s: output %q overlaps input %q", where, y.Name, x.Name)
				}
			}
			for _, y2 := range st.Out[:i] {
				if overlap(y, y2) {
					fail("%s: outputs %q and %q overlap", where, y.Name, y2.Name)
				}
			}
		}
	}
	for i, a := range p.Outputs {
		for _, b := range p.Outputs[:i] {
			if overlap(a, b) {
				fail("graph outputs %q and %q overlap", a.Name, b.Name)
			}
		}
	}
	errs = append(errs, checkDataflow(p, g)...)
	return errs
}

// overlap reports whether two operands share bytes of the same section.
func overlap(a, b Operand) bool {
	if a.Loc != b.Loc || a.Loc != LocArena || a.Bytes() == 0 || b.Bytes() == 0 {
		return false
	}
	return a.Offset < b.Offset+b.Bytes() && b.Offset < a.Offset+a.Bytes()
}

// written is a range of the arena last written as the tensor root.
type written struct {
	off, end int64
	root     string
}

// checkDataflow replays the plan's reads and writes of the arena (see
// planInvariants).
func checkDataflow(p *Plan, g *ir.Graph) []error {
	var errs []error
	root := map[string]string{}
	find := func(name string) string {
		for i := 0; i < 1000; i++ {
			r, ok := root[name]
			if !ok || r == name {
				return name
			}
			name = r
		}
		return name
	}
	parts := map[string][]*ir.Value{} // a Concat's output: its inputs
	if g != nil {
		for _, n := range g.Nodes {
			if a := aliasOf(n); a != nil {
				root[n.Outputs[0].Name] = a.Name
			}
			if _, ok := n.Op.(*ir.Concat); ok && len(n.Outputs) == 1 && n.Outputs[0] != nil {
				parts[n.Outputs[0].Name] = n.Inputs
			}
		}
	}
	var mem []written
	write := func(o Operand) {
		if o.Loc != LocArena || o.Bytes() == 0 {
			return
		}
		end := o.Offset + o.Bytes()
		mem = slices.DeleteFunc(mem, func(w written) bool { return w.off < end && o.Offset < w.end })
		mem = append(mem, written{o.Offset, end, find(o.Name)})
	}
	// holds reports whether bytes [off, end) hold the value name: as
	// written, or, for a Concat's output, as its inputs end to end.
	var holds func(name string, off, end int64, depth int) bool
	holds = func(name string, off, end int64, depth int) bool {
		for _, w := range mem {
			if w.off == off && w.end == end && w.root == find(name) {
				return true
			}
		}
		in, ok := parts[find(name)]
		if !ok || depth > 100 {
			return false
		}
		at := off
		for _, v := range in {
			if v == nil {
				return false
			}
			n := int64(v.Type.Shape.NumElements()) * int64(v.Type.DType.Size())
			if n > 0 && !holds(v.Name, at, at+n, depth+1) {
				return false
			}
			at += n
		}
		return at == end
	}
	read := func(where string, o Operand) {
		if o.Loc != LocArena || o.Bytes() == 0 {
			return
		}
		end := o.Offset + o.Bytes()
		if !holds(o.Name, o.Offset, end, 0) {
			errs = append(errs, fmt.Errorf("%s reads %q (bytes %d..%d), which does not hold it", where, o.Name, o.Offset, end))
		}
	}
	for _, o := range p.Inputs {
		write(o)
	}
	for s, st := range p.Steps {
		where := fmt.Sprintf("step %d (%s %q)", s, st.Op, st.Node)
		for _, o := range st.In {
			read(where, o)
		}
		for _, o := range st.Out {
			write(o)
		}
	}
	for _, o := range p.Outputs {
		read("the end", o)
	}
	return errs
}

// checkKernelOperands checks a step's operands against its kernel's
// parameters.
func checkKernelOperands(st Step) error {
	type want struct {
		name string
		n    int // elements; -1: any
		opt  bool
	}
	var in, out []want
	f32 := true
	switch k := st.Kernel.(type) {
	case *kernels.Conv2D:
		pw := -1
		if n := kernels.PackedConvLen(k); n > 0 {
			pw = n
		}
		in = []want{{"X", k.N * k.C * k.H * k.W, false}, {"W", pw, false}, {"B", k.M, true}, {"Z", k.N * k.M * k.OH * k.OW, true}}
		out = []want{{"Y", k.N * k.M * k.OH * k.OW, false}}
	case *kernels.Gemm:
		pb := -1
		if n := kernels.PackedGemmLen(k); n > 0 {
			pb = n
		}
		in = []want{{"X", k.M * k.K, false}, {"B", pb, false}, {"Bias", k.N, true}}
		out = []want{{"Y", k.M * k.N, false}}
	case *kernels.Pool2D:
		in = []want{{"X", k.N * k.C * k.H * k.W, false}}
		out = []want{{"Y", k.N * k.C * k.OH * k.OW, false}}
	case *kernels.GlobalPool:
		in = []want{{"X", k.Rows * k.Size, false}}
		out = []want{{"Y", k.Rows, false}}
	case *kernels.Affine:
		in = []want{{"X", k.N * k.C * k.Inner, false}, {"Scale", k.C, false}, {"Shift", k.C, false}}
		out = []want{{"Y", k.N * k.C * k.Inner, false}}
	case *kernels.Binary:
		in = []want{{"A", k.Len, false}, {"B", k.Len, false}}
		out = []want{{"Y", k.Len, false}}
	case *kernels.Unary:
		in = []want{{"X", k.Len, false}}
		out = []want{{"Y", k.Len, false}}
	case *kernels.Copy:
		in = []want{{"X", k.Len, false}}
		out = []want{{"Y", k.Len, false}}
	case *kernels.Concat:
		sum := 0
		for _, n := range k.Inner {
			in = append(in, want{"X", k.Outer * n, false})
			sum += n
		}
		out = []want{{"Y", k.Outer * sum, false}}
	case *kernels.Softmax:
		in = []want{{"X", k.Outer * k.N, false}}
		out = []want{{"Y", k.Outer * k.N, false}}
	case *kernels.LRN:
		in = []want{{"X", k.N * k.C * k.Inner, false}}
		out = []want{{"Y", k.N * k.C * k.Inner, false}}
	case *kernels.PackConv:
		c := &k.Conv
		in = []want{{"W", c.M * c.C / c.Group * c.KH * c.KW, false}}
		out = []want{{"packed W", kernels.PackedConvLen(c), false}}
	case *kernels.PackGemm:
		in = []want{{"B", k.Gemm.K * k.Gemm.N, false}}
		out = []want{{"packed B", kernels.PackedGemmLen(&k.Gemm), false}}
	case *kernels.ConvGradData:
		c := &k.Conv
		in = []want{{"dY", c.N * c.M * c.OH * c.OW, false}, {"W", c.M * c.C / c.Group * c.KH * c.KW, false}}
		out = []want{{"dX", c.N * c.C * c.H * c.W, false}}
	case *kernels.ConvGradFilter:
		c := &k.Conv
		in = []want{{"X", c.N * c.C * c.H * c.W, false}, {"dY", c.N * c.M * c.OH * c.OW, false}}
		out = []want{{"dW", c.M * c.C / c.Group * c.KH * c.KW, false}}
	case *kernels.PoolGrad:
		p := &k.Pool
		in = []want{{"X", p.N * p.C * p.H * p.W, false}, {"dY", p.N * p.C * p.OH * p.OW, false}}
		out = []want{{"dX", p.N * p.C * p.H * p.W, false}}
	case *kernels.ActGrad:
		in = []want{{"X", k.Len, false}, {"Y", k.Len, false}, {"dY", k.Len, false}}
		out = []want{{"dX", k.Len, false}}
	case *kernels.ChannelSum:
		in = []want{{"X", k.Outer * k.Channels * k.Inner, false}}
		out = []want{{"Y", k.Channels, false}}
	case *kernels.SGD:
		in = []want{{"W", k.Len, false}, {"dW", k.Len, false}, {"V", k.Len, k.Momentum == 0}, {"LR", 1, false}}
		out = []want{{"W'", k.Len, false}}
		if k.Momentum != 0 {
			out = append(out, want{"V'", k.Len, false})
		}
	case *kernels.BatchNormTrain:
		n := k.N * k.C * k.Inner
		in = []want{{"X", n, false}, {"scale", k.C, false}, {"B", k.C, false}, {"mean", k.C, false}, {"var", k.C, false}}
		out = []want{{"Y", n, false}, {"mean'", k.C, false}, {"var'", k.C, false}, {"mu", k.C, false}, {"invStd", k.C, false}}
	case *kernels.BatchNormGrad:
		n := k.N * k.C * k.Inner
		in = []want{{"X", n, false}, {"scale", k.C, false}, {"mu", k.C, false}, {"invStd", k.C, false}, {"dY", n, false}}
		out = []want{{"dX", n, false}, {"dScale", k.C, false}, {"dB", k.C, false}}
	case *kernels.Reference:
		return checkReferenceOperands(k, st)
	default:
		return fmt.Errorf("unknown kernel %T", st.Kernel)
	}
	check := func(what string, ops []Operand, ws []want) error {
		if len(ops) != len(ws) {
			return fmt.Errorf("kernel %s has %d %ss, want %d", st.Kernel.Name(), len(ops), what, len(ws))
		}
		for i, w := range ws {
			o := ops[i]
			if o.Loc == LocNone {
				if !w.opt {
					return fmt.Errorf("kernel %s: %s %s is missing", st.Kernel.Name(), what, w.name)
				}
				continue
			}
			if n := o.Shape.NumElements(); w.n >= 0 && n != w.n {
				return fmt.Errorf("kernel %s: %s %s %q has shape %v (%d elements), want %d elements",
					st.Kernel.Name(), what, w.name, o.Name, o.Shape, n, w.n)
			}
			if f32 && o.DType != ir.Float32 {
				return fmt.Errorf("kernel %s: %s %s %q has element type %v, want f32", st.Kernel.Name(), what, w.name, o.Name, o.DType)
			}
		}
		return nil
	}
	if err := check("input", st.In, in); err != nil {
		return err
	}
	return check("output", st.Out, out)
}

// checkReferenceOperands checks that a reference step's outputs have the
// types its op infers from its inputs' types (where the op can tell without
// the inputs' values).
func checkReferenceOperands(k *kernels.Reference, st Step) error {
	if k.Op == nil {
		return fmt.Errorf("reference kernel without an op")
	}
	types := make([]ir.Type, len(st.In))
	for i, o := range st.In {
		if o.Loc != LocNone {
			types[i] = ir.Type{DType: o.DType, Shape: o.Shape}
		}
	}
	outs, err := k.Op.Infer(types, make([]*ir.Tensor, len(types)))
	if err != nil {
		return fmt.Errorf("reference %s: %v", k.Op.OpType(), err)
	}
	if len(outs) != len(st.Out) {
		return fmt.Errorf("reference %s has %d outputs, its op %d", k.Op.OpType(), len(st.Out), len(outs))
	}
	for i, t := range outs {
		o := st.Out[i]
		if t.DType != o.DType || (t.Shape.Known() && !t.Shape.Equal(o.Shape)) {
			return fmt.Errorf("reference %s: output %q is %v%v, the op infers %v", k.Op.OpType(), o.Name, o.DType, o.Shape, t)
		}
	}
	return nil
}

func TestPlanInvariantsCatch(t *testing.T) {
	g := graphOf(t, func(b *ir.Builder) {
		x := b.Input("x", 1, 2, 4, 4)
		a := b.Node1("relu", &ir.Relu{}, x)
		y := b.Node1("conv", &ir.Conv{Group: 1}, a, b.Const("w", seqF32(1, 2, 2, 1, 1)))
		y = b.Node1("sig", &ir.Sigmoid{}, y)
		b.Output(b.Node1("add", &ir.Add{}, a, y))
	})
	for _, c := range []struct {
		name    string
		corrupt func(p *Plan)
		want    string
	}{
		{"nothing", func(p *Plan) {}, ""},
		{"conv over its input", func(p *Plan) { p.Steps[1].Out[0].Offset = p.Steps[1].In[0].Offset }, "overlaps input"},
		{"misaligned", func(p *Plan) { p.Steps[0].Out[0].Offset += 4 }, "want an aligned offset"},
		{"past the weights", func(p *Plan) { p.Steps[1].In[1].Offset = int64(len(p.Weights)) }, "inside the"},
		{"kernel length", func(p *Plan) { p.Steps[2].Kernel.(*kernels.Unary).Len = 3 }, "want 3 elements"},
		{"missing step", func(p *Plan) { p.Steps = p.Steps[1:] }, "does not hold it"},
		{"clobbered", func(p *Plan) { p.Steps[2].Out[0].Offset = p.Steps[0].Out[0].Offset }, `reads "relu"`},
		{"memory figures", func(p *Plan) { p.Memory.LowerBound = p.Memory.Arena + 64 }, "want ArenaSize = Arena >= LowerBound"},
		{"missing operand", func(p *Plan) { p.Steps[1].In[0].Loc = LocNone }, "X is missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := Lower(g, Options{})
			if err != nil {
				t.Fatal(err)
			}
			c.corrupt(p)
			errs := planInvariants(p, g)
			found := false
			for _, err := range errs {
				found = found || strings.Contains(err.Error(), c.want)
			}
			switch {
			case c.name == "nothing" && len(errs) > 0:
				t.Errorf("a sound plan: %v", errs)
			case c.name != "nothing" && !found:
				t.Errorf("got %v, want an error containing %q", errs, c.want)
			}
		})
	}
}
