package codegen

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/kernels"
)

// lowerChecked lowers g with opts, fails t on an error or a broken
// invariant (planInvariants), and returns the plan.
func lowerChecked(t *testing.T, g *ir.Graph, opts Options) *Plan {
	t.Helper()
	p, err := Lower(g, opts)
	if err != nil {
		t.Fatalf("Lower: %v", err)
	}
	for _, err := range planInvariants(p, g) {
		t.Errorf("NoInPlace=%v: %v", opts.NoInPlace, err)
	}
	return p
}

// summary lists the steps as "node kernel" (or "node reference Op"),
// separated by "; ".
func summary(p *Plan) string {
	var parts []string
	for _, st := range p.Steps {
		s := st.Node + " " + st.Kernel.Name()
		if r, ok := st.Kernel.(*kernels.Reference); ok {
			s += " " + r.Op.OpType()
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// weightF32 returns the float32s of a weight operand.
func weightF32(t *testing.T, p *Plan, o Operand) []float32 {
	t.Helper()
	if o.Loc != LocWeights || o.DType != ir.Float32 {
		t.Fatalf("operand %q is %v in section %d, want f32 weights", o.Name, o.DType, o.Loc)
	}
	b := p.Weights[o.Offset : o.Offset+o.Bytes()]
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// seqF32 makes a float32 tensor of the given shape with elements 1, 2, 3, ...
// scaled by s.
func seqF32(s float32, shape ...int) *ir.Tensor {
	t, err := ir.NewTensor(ir.Float32, ir.Shape(shape))
	if err != nil {
		panic(err)
	}
	for i := range t.F32 {
		t.F32[i] = s * float32(i+1)
	}
	return t
}

// graphOf builds a graph with the builder function, failing t on error.
func graphOf(t *testing.T, build func(b *ir.Builder)) *ir.Graph {
	t.Helper()
	b := ir.NewBuilder("test", 1)
	build(b)
	g, err := b.Graph()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// lowerCase is a small graph and what its plan must be.
type lowerCase struct {
	name  string
	build func(b *ir.Builder)
	// steps is the summary of the plan's steps.
	steps string
	// check, if set, checks more of the plan.
	check func(t *testing.T, p *Plan)
	// patch, if set, edits the built graph.
	patch func(g *ir.Graph)
}

func runLowerCases(t *testing.T, cases []lowerCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := graphOf(t, c.build)
			if c.patch != nil {
				c.patch(g)
			}
			for _, noInPlace := range []bool{false, true} {
				p := lowerChecked(t, g, Options{NoInPlace: noInPlace})
				if got := summary(p); got != c.steps {
					t.Errorf("NoInPlace=%v: steps\n got %s\nwant %s", noInPlace, got, c.steps)
				}
				if c.check != nil && !noInPlace {
					c.check(t, p)
				}
			}
		})
	}
}

func TestLowerElementwise(t *testing.T) { runLowerCases(t, elementwiseCases) }

var elementwiseCases = []lowerCase{
	{
		name: "unary chain in place",
		build: func(b *ir.Builder) {
			x := b.Input("x", 1, 4, 8, 8)
			y := b.Node1("relu", &ir.Relu{}, x)
			y = b.Node1("sig", &ir.Sigmoid{}, y)
			y = b.Node1("leaky", &ir.LeakyRelu{Alpha: 0.5}, y)
			b.Output(b.Node1("tanh", &ir.Tanh{}, y))
		},
		steps: "relu unary; sig unary; leaky unary; tanh unary",
		check: func(t *testing.T, p *Plan) {
			// The input stays; the chain runs in one buffer.
			for i, st := range p.Steps[1:] {
				if st.In[0].Offset != st.Out[0].Offset {
					t.Errorf("step %d: output at %d, input at %d: want in place", i+1, st.Out[0].Offset, st.In[0].Offset)
				}
			}
			if p.Steps[0].In[0].Offset == p.Steps[0].Out[0].Offset {
				t.Errorf("step 0 writes over the graph input")
			}
			if k := p.Steps[2].Kernel.(*kernels.Unary); k.Op != kernels.UnLeakyRelu || k.Alpha != 0.5 || k.Len != 256 {
				t.Errorf("leaky relu kernel %+v", k)
			}
			if p.ArenaSize != 2*1024 || p.Memory.LowerBound != 2*1024 || p.Memory.NoSharing != 5*1024 {
				t.Errorf("memory %+v, want arena 2048 = lower bound, no sharing 5120", p.Memory)
			}
		},
	},
	{
		name: "clip bounds",
		build: func(b *ir.Builder) {
			x := b.Input("x", 2, 3)
			lo, hi := b.Const("lo", ir.FromFloat32(ir.Shape{}, []float32{-1})), b.Const("hi", ir.FromFloat32(ir.Shape{}, []float32{6}))
			y := b.Node1("clip", &ir.Clip{Min: float32(math.Inf(-1)), Max: float32(math.Inf(1))}, x, lo, hi)
			b.Output(b.Node1("clip_attr", &ir.Clip{Min: 0, Max: 2}, y))
		},
		steps: "clip unary; clip_attr unary",
		check: func(t *testing.T, p *Plan) {
			for i, want := range [][2]float32{{-1, 6}, {0, 2}} {
				k := p.Steps[i].Kernel.(*kernels.Unary)
				if k.Op != kernels.UnClip || k.Min != want[0] || k.Max != want[1] || len(p.Steps[i].In) != 1 {
					t.Errorf("step %d: kernel %+v with %d inputs, want clip %v, 1 input", i, k, len(p.Steps[i].In), want)
				}
			}
		},
	},
	{
		name: "clip bound computed",
		build: func(b *ir.Builder) {
			x := b.Input("x", 2, 3)
			lo := b.Input("lo", 1)
			b.Output(b.Node1("clip", &ir.Clip{Min: 0, Max: 1}, x, lo))
		},
		steps: "clip reference Clip",
	},
	{
		name: "binary and broadcast",
		build: func(b *ir.Builder) {
			x := b.Input("x", 1, 4, 2, 2)
			w := b.Const("w", seqF32(1, 1, 4, 2, 2))
			y := b.Node1("mul", &ir.Mul{}, x, w)
			y = b.Node1("add", &ir.Add{}, y, x)
			y = b.Node1("max", &ir.Max{}, y, x)
			y = b.Node1("sum", &ir.Sum{}, x, y)
			z := b.Node1("bcast", &ir.Div{}, y, b.Const("d", seqF32(1, 4, 1, 1)))
			b.Output(b.Node1("sum3", &ir.Sum{}, z, z, x))
		},
		steps: "mul binary; add binary; max binary; sum binary; bcast reference Div; sum3 reference Sum",
		check: func(t *testing.T, p *Plan) {
			ops := []kernels.BinaryOp{kernels.BinMul, kernels.BinAdd, kernels.BinMax, kernels.BinAdd}
			for i, op := range ops {
				if k := p.Steps[i].Kernel.(*kernels.Binary); k.Op != op || k.Len != 16 {
					t.Errorf("step %d: %+v, want op %d over 16", i, k, op)
				}
			}
			if w := weightF32(t, p, p.Steps[0].In[1]); w[15] != 16 {
				t.Errorf("constant operand %v", w)
			}
			// sum(x, y): x lives on, y dies: in place over y, the second.
			if st := p.Steps[3]; st.Out[0].Offset != st.In[1].Offset {
				t.Errorf("sum writes at %d, want over its second input at %d", st.Out[0].Offset, st.In[1].Offset)
			}
		},
	},
	{
		name: "batch norm folds",
		build: func(b *ir.Builder) {
			x := b.Input("x", 2, 3, 4)
			gamma := b.Const("gamma", ir.FromFloat32(ir.Shape{3}, []float32{1, 2, 3}))
			beta := b.Const("beta", ir.FromFloat32(ir.Shape{3}, []float32{0.5, 0, -1}))
			mean := b.Const("mean", ir.FromFloat32(ir.Shape{3}, []float32{1, 0, 2}))
			variance := b.Const("var", ir.FromFloat32(ir.Shape{3}, []float32{3, 0, 8}))
			y := b.Node1("bn", &ir.BatchNormalization{Epsilon: 1}, x, gamma, beta, mean, variance)
			b.Output(b.Node1("aff", &ir.ChannelAffine{Act: ir.Activation{Kind: ir.ActRelu}}, y, gamma, beta))
		},
		steps: "bn affine; aff affine",
		check: func(t *testing.T, p *Plan) {
			k := p.Steps[0].Kernel.(*kernels.Affine)
			if *k != (kernels.Affine{N: 2, C: 3, Inner: 4}) {
				t.Errorf("kernel %+v", k)
			}
			scale, shift := weightF32(t, p, p.Steps[0].In[1]), weightF32(t, p, p.Steps[0].In[2])
			wantScale, wantShift := []float32{0.5, 2, 1}, []float32{0, 0, -3}
			for c := range 3 {
				if math.Abs(float64(scale[c]-wantScale[c])) > 1e-7 || math.Abs(float64(shift[c]-wantShift[c])) > 1e-7 {
					t.Errorf("channel %d: scale %v shift %v, want %v %v", c, scale[c], shift[c], wantScale[c], wantShift[c])
				}
			}
			k2 := p.Steps[1].Kernel.(*kernels.Affine)
			if k2.Act.Kind != ir.ActRelu || p.Steps[1].In[1].Name != "gamma" {
				t.Errorf("channel affine %+v, scale %q", k2, p.Steps[1].In[1].Name)
			}
			if st := p.Steps[1]; st.Out[0].Offset != st.In[0].Offset {
				t.Errorf("affine not in place")
			}
		},
	},
	{
		name: "batch norm with computed statistics",
		build: func(b *ir.Builder) {
			x, mean := b.Input("x", 2, 3, 4), b.Input("mean", 3)
			one := b.Const("one", ir.FromFloat32(ir.Shape{3}, []float32{1, 1, 1}))
			b.Output(b.Node1("bn", &ir.BatchNormalization{Epsilon: 1e-5}, x, one, one, mean, one))
		},
		steps: "bn reference BatchNormalization",
	},
	{
		name: "concat softmax lrn",
		build: func(b *ir.Builder) {
			x := b.Input("x", 2, 3, 4)
			c := b.Const("c", seqF32(1, 2, 1, 4))
			y := b.Node1("cat", &ir.Concat{Axis: 1}, x, c, x)
			s1 := b.Node1("sm_last", &ir.Softmax{Axis: -1}, y)
			s2 := b.Node1("sm_mid", &ir.LogSoftmax{Axis: 1}, y)
			s3 := b.Node1("sm_2d", &ir.Softmax{Axis: 1, Coerce2D: true}, y)
			s4 := b.Node1("lrn", &ir.LRN{Size: 3, Alpha: 1e-4, Beta: 0.75, Bias: 2}, y)
			b.Output(s1, s2, s3, s4)
		},
		steps: "cat concat; sm_last softmax; sm_mid reference LogSoftmax; sm_2d softmax; lrn lrn",
		check: func(t *testing.T, p *Plan) {
			k := p.Steps[0].Kernel.(*kernels.Concat)
			if k.Outer != 2 || len(k.Inner) != 3 || k.Inner[0] != 12 || k.Inner[1] != 4 || k.Inner[2] != 12 {
				t.Errorf("concat %+v, want outer 2, inner [12 4 12]", k)
			}
			if p.Steps[0].In[1].Loc != LocWeights {
				t.Errorf("constant concat input in section %d", p.Steps[0].In[1].Loc)
			}
			if k := p.Steps[1].Kernel.(*kernels.Softmax); *k != (kernels.Softmax{Outer: 14, N: 4}) {
				t.Errorf("softmax %+v", k)
			}
			if k := p.Steps[3].Kernel.(*kernels.Softmax); *k != (kernels.Softmax{Outer: 2, N: 28}) {
				t.Errorf("coerced softmax %+v", k)
			}
			if k := p.Steps[4].Kernel.(*kernels.LRN); *k != (kernels.LRN{N: 2, C: 7, Inner: 4, Size: 3, Alpha: 1e-4, Beta: 0.75, Bias: 2}) {
				t.Errorf("lrn %+v", k)
			}
		},
	},
}

func TestLowerPool(t *testing.T) { runLowerCases(t, poolCases) }

var poolCases = []lowerCase{
	{
		name: "pools",
		build: func(b *ir.Builder) {
			x := b.Input("x", 1, 2, 9, 8)
			y := b.Node1("max", &ir.MaxPool{Kernel: []int{3, 3}, Strides: []int{2, 2}, Pads: []int{1, 0, 1, 1}, CeilMode: true}, x)
			y = b.Node1("avg", &ir.AveragePool{Kernel: []int{2, 2}, Pads: []int{1, 1, 0, 0}, CountIncludePad: true}, y)
			g := b.Node1("gap", &ir.GlobalAveragePool{}, y)
			m := b.Node1("gmp", &ir.GlobalMaxPool{}, y)
			b.Output(g, m)
		},
		steps: "max pool2d; avg pool2d; gap globalpool; gmp globalpool",
		check: func(t *testing.T, p *Plan) {
			want := kernels.Pool2D{N: 1, C: 2, H: 9, W: 8, OH: 5, OW: 4, KH: 3, KW: 3, SH: 2, SW: 2, DH: 1, DW: 1,
				PadT: 1, PadL: 0, PadB: 1, PadR: 1, Max: true}
			if k := p.Steps[0].Kernel.(*kernels.Pool2D); *k != want {
				t.Errorf("max pool\n got %+v\nwant %+v", k, want)
			}
			want = kernels.Pool2D{N: 1, C: 2, H: 5, W: 4, OH: 5, OW: 4, KH: 2, KW: 2, SH: 1, SW: 1, DH: 1, DW: 1,
				PadT: 1, PadL: 1, CountIncludePad: true}
			if k := p.Steps[1].Kernel.(*kernels.Pool2D); *k != want {
				t.Errorf("average pool\n got %+v\nwant %+v", k, want)
			}
			if k := p.Steps[3].Kernel.(*kernels.GlobalPool); *k != (kernels.GlobalPool{Rows: 2, Size: 20, Max: true}) {
				t.Errorf("global max pool %+v", k)
			}
		},
	},
	{
		name: "1-D pool",
		build: func(b *ir.Builder) {
			x := b.Input("x", 1, 2, 10)
			b.Output(b.Node1("max", &ir.MaxPool{Kernel: []int{3}, Strides: []int{2}, Pads: []int{1, 1}}, x))
		},
		steps: "max pool2d",
		check: func(t *testing.T, p *Plan) {
			want := kernels.Pool2D{N: 1, C: 2, H: 1, W: 10, OH: 1, OW: 5, KH: 1, KW: 3, SH: 1, SW: 2, DH: 1, DW: 1,
				PadL: 1, PadR: 1, Max: true}
			if k := p.Steps[0].Kernel.(*kernels.Pool2D); *k != want {
				t.Errorf("got %+v\nwant %+v", k, want)
			}
			if s := p.Steps[0].Out[0].Shape; !s.Equal(ir.Shape{1, 2, 1, 5}) {
				t.Errorf("output viewed as %v, want [1,2,1,5]", s)
			}
			if s := p.Outputs[0].Shape; !s.Equal(ir.Shape{1, 2, 5}) {
				t.Errorf("graph output %v, want [1,2,5]", s)
			}
		},
	},
	{
		name: "max pool indices and 3-D",
		build: func(b *ir.Builder) {
			x := b.Input("x", 1, 2, 4, 4)
			outs := b.Node("max", &ir.MaxPool{Kernel: []int{2, 2}, Indices: true}, 2, x)
			x3 := b.Input("x3", 1, 1, 3, 3, 3)
			b.Output(outs[0], outs[1], b.Node1("avg3", &ir.AveragePool{Kernel: []int{2, 2, 2}}, x3))
		},
		steps: "max reference MaxPool; avg3 reference AveragePool",
	},
}

func TestLowerAliases(t *testing.T) { runLowerCases(t, aliasCases) }

var aliasCases = []lowerCase{
	{
		name: "flatten shares memory",
		build: func(b *ir.Builder) {
			x := b.Input("x", 2, 3, 2, 2)
			y := b.Node1("relu", &ir.Relu{}, x)
			y = b.Node1("flat", &ir.Flatten{Axis: 1}, y)
			y = b.Node1("drop", &ir.Dropout{Ratio: 0.5}, y)
			y = b.Node1("id", &ir.Identity{}, y)
			y = b.Node1("sd", &ir.StochasticDepth{Survival: 0.5}, y)
			b.Output(b.Node1("sig", &ir.Sigmoid{}, y))
		},
		steps: "relu unary; sig unary",
		check: func(t *testing.T, p *Plan) {
			in := p.Steps[1].In[0]
			if in.Name != "sd" || !in.Shape.Equal(ir.Shape{2, 12}) || in.Offset != p.Steps[0].Out[0].Offset {
				t.Errorf("sigmoid reads %+v, want sd [2,12] at relu's offset %d", in, p.Steps[0].Out[0].Offset)
			}
		},
	},
	{
		name: "output aliasing an input is copied",
		build: func(b *ir.Builder) {
			x := b.Input("x", 2, 3)
			b.Output(b.Node1("flat", &ir.Flatten{Axis: 0}, x))
		},
		steps: "flat copy",
		check: func(t *testing.T, p *Plan) {
			if k := p.Steps[0].Kernel.(*kernels.Copy); k.Len != 6 {
				t.Errorf("copy %+v", k)
			}
			if p.Outputs[0].Offset == p.Inputs[0].Offset {
				t.Errorf("output shares the input's memory")
			}
		},
	},
	{
		name: "input is output",
		build: func(b *ir.Builder) {
			x := b.Input("x", 2, 3)
			b.Output(x, b.Node1("relu", &ir.Relu{}, x))
		},
		steps: "relu unary; x copy",
	},
	{
		name: "output twice and its alias",
		build: func(b *ir.Builder) {
			x := b.Input("x", 2, 3)
			y := b.Node1("relu", &ir.Relu{}, x)
			b.Output(y, y, b.Node1("flat", &ir.Flatten{Axis: 0}, y))
		},
		steps: "relu unary; relu copy; flat copy",
		check: func(t *testing.T, p *Plan) {
			if !p.Outputs[2].Shape.Equal(ir.Shape{1, 6}) {
				t.Errorf("third output %v, want [1,6]", p.Outputs[2].Shape)
			}
		},
	},
	{
		name: "int64 output alias copied by reference",
		build: func(b *ir.Builder) {
			x := b.Input("x", 2, 3)
			s := b.Node1("shape", &ir.ShapeOp{End: math.MaxInt}, x)
			b.Output(s, b.Node1("id", &ir.Identity{}, s))
		},
		steps: "shape reference Shape; id reference Identity",
	},
	{
		name: "dropout mask",
		build: func(b *ir.Builder) {
			x := b.Input("x", 2, 3)
			outs := b.Node("drop", &ir.Dropout{Mask: ir.Bool}, 2, x)
			b.Output(outs...)
		},
		steps: "drop reference Dropout",
	},
}

func TestLowerConstants(t *testing.T) { runLowerCases(t, constantCases) }

var constantCases = []lowerCase{
	{
		name: "constant outputs",
		build: func(b *ir.Builder) {
			x := b.Input("x", 2)
			c := b.Node1("c", &ir.Constant{Value: ir.FromInt64(ir.Shape{3}, []int64{1, -2, 1 << 40})})
			w := b.Const("w", seqF32(0.5, 2, 2))
			r := b.Node1("r", &ir.Reshape{}, w, b.Const("shape", ir.FromInt64(ir.Shape{1}, []int64{4})))
			b.Output(c, b.Node1("relu", &ir.Relu{}, x), r)
		},
		steps: "relu unary",
		check: func(t *testing.T, p *Plan) {
			o := p.Outputs[0]
			if o.Loc != LocWeights || o.DType != ir.Int64 || !o.Shape.Equal(ir.Shape{3}) {
				t.Fatalf("output 0 %+v, want i64[3] weights", o)
			}
			b := p.Weights[o.Offset:]
			for i, want := range []int64{1, -2, 1 << 40} {
				if got := int64(binary.LittleEndian.Uint64(b[8*i:])); got != want {
					t.Errorf("element %d: %d, want %d", i, got, want)
				}
			}
			if r := p.Outputs[2]; r.Loc != LocWeights || !r.Shape.Equal(ir.Shape{4}) || weightF32(t, p, r)[3] != 2 {
				t.Errorf("reshaped constant output %+v", r)
			}
			if p.Outputs[1].Loc != LocArena {
				t.Errorf("computed output in section %d", p.Outputs[1].Loc)
			}
		},
	},
	{
		name: "reference operands of any type",
		build: func(b *ir.Builder) {
			x := b.Input("x", 4, 3)
			idx := b.Const("idx", ir.FromInt64(ir.Shape{2}, []int64{3, 0}))
			y := b.Node1("gather", &ir.Gather{Axis: 0}, x, idx)
			y = b.Node1("t", &ir.Transpose{Perm: []int{1, 0}}, y)
			b.Output(b.Node1("cast", &ir.Cast{To: ir.Int32}, y))
		},
		steps: "gather reference Gather; t reference Transpose; cast reference Cast",
		check: func(t *testing.T, p *Plan) {
			idx := p.Steps[0].In[1]
			if idx.Loc != LocWeights || idx.DType != ir.Int64 {
				t.Errorf("indices %+v, want i64 weights", idx)
			}
			if got := binary.LittleEndian.Uint64(p.Weights[idx.Offset:]); got != 3 {
				t.Errorf("first index %d, want 3", got)
			}
			if o := p.Outputs[0]; o.DType != ir.Int32 || !o.Shape.Equal(ir.Shape{3, 2}) {
				t.Errorf("output %+v", o)
			}
		},
	},
	{
		name: "dead nodes dropped",
		build: func(b *ir.Builder) {
			x := b.Input("x", 1, 6)
			s := b.Node1("shape", &ir.ShapeOp{End: math.MaxInt}, x)
			b.Node1("unused", &ir.Relu{}, x)
			b.Output(b.Node1("reshape", &ir.Reshape{}, b.Node1("relu", &ir.Relu{}, x), s))
		},
		// The shape is computed at run time; passes would have folded
		// it and set the type.
		patch: func(g *ir.Graph) { g.Outputs[0].Type.Shape = ir.Shape{1, 6} },
		steps: "relu unary",
	},
}

func TestLowerErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		build func(b *ir.Builder)
		patch func(g *ir.Graph)
		want  string
	}{
		{
			name: "unknown batch",
			build: func(b *ir.Builder) {
				b.Output(b.Node1("relu", &ir.Relu{}, b.Input("x", -1, 3)))
			},
			want: `unsupported: graph input "x": value "x" has shape [?,3]`,
		},
		{
			name: "shape known only at run time",
			build: func(b *ir.Builder) {
				x, s := b.Input("x", 2, 3), b.Input("s", 2)
				b.Output(b.Node1("relu", &ir.Relu{}, b.Node1("r", &ir.Reshape{}, x, b.Node1("cast", &ir.Cast{To: ir.Int64}, s))))
			},
			want: `unsupported: node "r" (Reshape): value "r" has shape [?,?]`,
		},
		{
			name: "constant disagreeing with its type",
			build: func(b *ir.Builder) {
				b.Output(b.Node1("add", &ir.Add{}, b.Input("x", 2, 3), b.Const("c", seqF32(1, 2, 3))))
			},
			patch: func(g *ir.Graph) { g.Nodes[0].Inputs[1].Const = seqF32(1, 3) },
			want:  `invalid model: node "add" (Add): constant "c" is f32[3], its value's type is f32[2,3]`,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := graphOf(t, c.build)
			if c.patch != nil {
				c.patch(g)
			}
			_, err := Lower(g, Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got error %v, want %q", err, c.want)
			}
		})
	}
}

func TestLowerLog(t *testing.T) {
	g := graphOf(t, func(b *ir.Builder) {
		b.Output(b.Node1("relu", &ir.Relu{}, b.Input("x", 1, 1<<16)))
	})
	var log strings.Builder
	if _, err := Lower(g, Options{Log: &log}); err != nil {
		t.Fatal(err)
	}
	want := "memory: arena 0.50 MiB (1.000 x lower bound 0.50 MiB; 0.50 MiB without sharing), weights 0.00 MiB, 1 steps\n"
	if got := log.String(); got != want {
		t.Errorf("log\n got %q\nwant %q", got, want)
	}
}

func TestLowerConcatViews(t *testing.T) { runLowerCases(t, concatViewCases) }

// concatViewCases are Concats that take no step (their inputs are written
// in place) and ones that must copy.
var concatViewCases = []lowerCase{
	{
		name: "dense block",
		build: func(b *ir.Builder) {
			// x0, then two layers each reading all the maps so far, as
			// DenseNet's blocks do; 16 floats per channel, so every
			// place is aligned.
			x0 := b.Node1("x0", &ir.Relu{}, b.Input("x", 1, 2, 4, 4))
			f1 := b.Node1("f1", &ir.Sigmoid{}, x0)
			c1 := b.Node1("c1", &ir.Concat{Axis: 1}, x0, f1)
			f2 := b.Node1("f2", &ir.Tanh{}, c1)
			c2 := b.Node1("c2", &ir.Concat{Axis: 1}, x0, f1, f2)
			b.Output(b.Node1("out", &ir.Exp{}, c2))
		},
		steps: "x0 unary; f1 unary; f2 unary; out unary",
		check: func(t *testing.T, p *Plan) {
			x0, f1, f2, out := p.Steps[0].Out[0], p.Steps[1].Out[0], p.Steps[2].Out[0], p.Steps[3]
			c2 := out.In[0]
			if c2.Bytes() != 4*8*16 || x0.Offset != c2.Offset || f1.Offset != x0.Offset+128 || f2.Offset != x0.Offset+256 {
				t.Errorf("x0 at %d, f1 %d, f2 %d, c2 at %d (%d bytes): want x0, f1, f2 end to end in c2",
					x0.Offset, f1.Offset, f2.Offset, c2.Offset, c2.Bytes())
			}
			if c1 := p.Steps[2].In[0]; c1.Offset != x0.Offset || c1.Bytes() != 256 {
				t.Errorf("c1 at %d (%d bytes), want the first 256 bytes of c2 at %d", c1.Offset, c1.Bytes(), c2.Offset)
			}
			// c2 dies at out: its whole buffer may be written over.
			if out.Out[0].Offset != c2.Offset {
				t.Errorf("out at %d, want in place over c2 at %d", out.Out[0].Offset, c2.Offset)
			}
		},
	},
	{
		name: "nested",
		build: func(b *ir.Builder) {
			x := b.Input("x", 1, 1, 4, 4)
			a := b.Node1("a", &ir.Relu{}, x)
			c := b.Node1("c", &ir.Sigmoid{}, x)
			d := b.Node1("d", &ir.Tanh{}, x)
			inner := b.Node1("inner", &ir.Concat{Axis: 1}, a, c)
			b.Output(b.Node1("outer", &ir.Concat{Axis: 1}, d, inner))
		},
		steps: "a unary; c unary; d unary",
		check: func(t *testing.T, p *Plan) {
			a, c, d, y := p.Steps[0].Out[0], p.Steps[1].Out[0], p.Steps[2].Out[0], p.Outputs[0]
			if d.Offset != y.Offset || a.Offset != y.Offset+64 || c.Offset != y.Offset+128 {
				t.Errorf("d at %d, a %d, c %d, output at %d: want d, a, c end to end", d.Offset, a.Offset, c.Offset, y.Offset)
			}
		},
	},
	{
		name: "copies",
		build: func(b *ir.Builder) {
			x := b.Input("x", 1, 1, 4, 4)
			a := b.Node1("a", &ir.Relu{}, x)
			// A graph input, a value twice, an unaligned place (12
			// floats), a graph output: each copies.
			b.Output(b.Node1("in", &ir.Concat{Axis: 1}, x, a))
			b.Output(b.Node1("twice", &ir.Concat{Axis: 1}, a, a))
			c := b.Node1("c", &ir.Sigmoid{}, b.Input("z", 1, 3, 2, 2))
			e := b.Node1("e", &ir.Exp{}, b.Input("w", 1, 1, 2, 2))
			b.Output(b.Node1("unaligned", &ir.Concat{Axis: 1}, c, e))
			d := b.Node1("d", &ir.Tanh{}, x)
			b.Output(d, b.Node1("out", &ir.Concat{Axis: 1}, d, a))
		},
		steps: "a unary; in concat; twice concat; c unary; e unary; unaligned concat; d unary; out concat",
	},
	{
		name: "batch 2",
		build: func(b *ir.Builder) {
			x := b.Input("x", 2, 1, 4, 4)
			b.Output(b.Node1("cat", &ir.Concat{Axis: 1}, b.Node1("a", &ir.Relu{}, x), b.Node1("c", &ir.Sigmoid{}, x)))
		},
		steps: "a unary; c unary; cat concat",
	},
}
