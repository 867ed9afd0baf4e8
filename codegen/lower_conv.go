package codegen

import (
	"slices"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/kernels"
)

// Lowering of the ops with weights and windows: convolutions, fully
// connected layers and pooling. One spatial axis lowers as two with H = 1;
// the kernels then see [N, C, 1, L] views of the same bytes.

// conv lowers a Conv or FusedConv to kernels.Conv2D with its weights
// packed at compile time, or, when W is computed at run time (a training
// step's parameter), to a kernels.PackConv step packing it into the arena
// before each run's Conv2D; a convolution with more than two spatial
// axes runs the reference kernel.
func (l *lowering) conv(n *ir.Node, c *ir.Conv, act ir.Activation, algo ir.ConvAlgo) error {
	if len(n.Inputs) < 2 || n.Inputs[0] == nil || n.Inputs[1] == nil || len(n.Outputs) != 1 {
		return l.convReference(n)
	}
	x, w := n.Inputs[0], n.Inputs[1]
	for _, v := range []*ir.Value{x, w} {
		if err := checkKnown(v); err != nil {
			return err
		}
	}
	wt, xs, ws := l.constOf(w), x.Type.Shape, w.Type.Shape
	if (wt != nil && wt.DType != ir.Float32) || w.Type.DType != ir.Float32 || (len(xs) != 3 && len(xs) != 4) || len(ws) != len(xs) {
		return l.convReference(n)
	}
	k, win, err := conv2D(c, xs, ws)
	if err != nil {
		return err
	}
	k.Act = act
	if k.Algo, err = convAlgo(k, algo, win); err != nil {
		return err
	}
	var wo operandRef
	if wt != nil {
		pw, err := kernels.PackConvWeights(k, wt.F32)
		if err != nil {
			return ir.Prefix(err, "packing W %q", w.Name)
		}
		wo = l.packed(w.Name, pw)
	} else if f := l.flips[w]; f != nil {
		if wo, err = l.packAtRunTime(n, f.Inputs[0], &kernels.PackConv{Conv: *k, Flip: true}, kernels.PackedConvLen(k)); err != nil {
			return err
		}
	} else if wo, err = l.packAtRunTime(n, w, &kernels.PackConv{Conv: *k}, kernels.PackedConvLen(k)); err != nil {
		return err
	}
	yShape := ir.Shape{k.N, k.M, k.OH, k.OW}
	xo, err := l.operand(x, ir.Shape{k.N, k.C, k.H, k.W})
	if err != nil {
		return err
	}
	bo, err := l.operand(input(n, 2), nil)
	if err != nil {
		return err
	}
	zo, err := l.operand(input(n, 3), yShape)
	if err != nil {
		return err
	}
	yo, err := l.result(n.Outputs[0], yShape)
	if err != nil {
		return err
	}
	l.emit(n, k, []operandRef{xo, wo, bo, zo}, []operandRef{yo})
	return nil
}

// convReference lowers convolution n to the reference kernel, first
// emitting the step of a FlipFilter its filter comes from if packing was
// to do it (packedFlips): the reference reads the filter whole.
func (l *lowering) convReference(n *ir.Node) error {
	if w := input(n, 1); l.flips[w] != nil {
		f := l.flips[w]
		delete(l.flips, w)
		if err := l.flipFilter(f, f.Op.(*ir.FlipFilter)); err != nil {
			return ir.AtNode(err, f.Name, f.Op.OpType())
		}
	}
	return l.reference(n)
}

// conv2D returns the kernels.Conv2D geometry of convolution c on X of
// shape xs (3-D or 4-D) and W of shape ws, with its window.
func conv2D(c *ir.Conv, xs, ws ir.Shape) (*kernels.Conv2D, ir.Window, error) {
	win, err := c.Geometry(xs, ws)
	if err != nil {
		return nil, win, err
	}
	k := &kernels.Conv2D{N: xs[0], C: xs[1], M: ws[0], Group: c.Group}
	if len(xs) == 4 {
		k.H, k.W, k.OH, k.OW = xs[2], xs[3], win.Out[0], win.Out[1]
		k.KH, k.KW, k.SH, k.SW = win.Kernel[0], win.Kernel[1], win.Strides[0], win.Strides[1]
		k.DH, k.DW, k.PadT, k.PadL = win.Dilations[0], win.Dilations[1], win.PadBegin[0], win.PadBegin[1]
	} else {
		k.H, k.W, k.OH, k.OW = 1, xs[2], 1, win.Out[0]
		k.KH, k.KW, k.SH, k.SW = 1, win.Kernel[0], 1, win.Strides[0]
		k.DH, k.DW, k.PadT, k.PadL = 1, win.Dilations[0], 0, win.PadBegin[0]
	}
	return k, win, nil
}

// convGrad lowers a ConvGradData or ConvGradFilter of a 1-D or 2-D
// convolution c (X of shape xs, W of shape ws) to its kernel, kern making
// it from the geometry; more spatial axes run the reference kernel.
func (l *lowering) convGrad(n *ir.Node, c *ir.Conv, xs, ws ir.Shape, kern func(*kernels.Conv2D) Kernel) error {
	if (len(xs) != 3 && len(xs) != 4) || len(ws) != len(xs) || len(n.Inputs) != 2 || len(n.Outputs) != 1 {
		return l.reference(n)
	}
	k, _, err := conv2D(c, xs, ws)
	if err != nil {
		return err
	}
	return l.emitAll(n, kern(k))
}

// packAtRunTime emits a step of k (kernels.PackConv or PackGemm) packing
// the weights w computed at run time into an arena buffer of size floats,
// and returns that buffer's operand for the step that reads it.
func (l *lowering) packAtRunTime(n *ir.Node, w *ir.Value, k Kernel, size int) (operandRef, error) {
	if size <= 0 {
		return none, ir.Invalidf("weights %q cannot be packed for %s", w.Name, n.Op.OpType())
	}
	wo, err := l.operand(w, nil)
	if err != nil {
		return none, err
	}
	packed := &ir.Value{Name: w.Name + ".packed", Type: ir.Type{DType: ir.Float32, Shape: ir.Shape{size}}}
	po, err := l.result(packed, nil)
	if err != nil {
		return none, err
	}
	l.steps = append(l.steps, Step{Node: n.Name, Op: "pack", Kernel: k, In: []Operand{wo.Operand}, Out: []Operand{po.Operand}})
	l.sbufs = append(l.sbufs, stepBufs{in: []int{wo.buf}, out: []int{po.buf}})
	return po, nil
}

// input returns input i of n, nil when absent.
func input(n *ir.Node, i int) *ir.Value {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return nil
}

// convAlgo resolves the algorithm of convolution k: want, checked to apply,
// or for AlgoAuto depthwise when Group == C == M, else GEMM1x1 for an
// unpadded 1x1 stride-1 kernel, else im2col.
func convAlgo(k *kernels.Conv2D, want ir.ConvAlgo, win ir.Window) (ir.ConvAlgo, error) {
	depthwise := k.Group == k.C && k.C == k.M
	padded := false
	for i := range win.PadBegin {
		padded = padded || win.PadBegin[i] != 0 || win.PadEnd[i] != 0
	}
	oneByOne := k.KH == 1 && k.KW == 1 && k.SH == 1 && k.SW == 1 && !padded
	switch want {
	case ir.AlgoAuto:
		switch {
		case depthwise:
			return ir.AlgoDepthwise, nil
		case oneByOne:
			return ir.AlgoGEMM1x1, nil
		}
		return ir.AlgoIm2col, nil
	case ir.AlgoDepthwise:
		if !depthwise {
			return 0, ir.Invalidf("algorithm %v needs group == C == M, got group %d, C %d, M %d", want, k.Group, k.C, k.M)
		}
	case ir.AlgoGEMM1x1:
		if !oneByOne {
			return 0, ir.Invalidf("algorithm %v needs a 1x1 kernel, unit strides and no padding, got kernel %dx%d, strides %dx%d, pads %v+%v",
				want, k.KH, k.KW, k.SH, k.SW, win.PadBegin, win.PadEnd)
		}
	}
	return want, nil
}

// gemm lowers a Gemm or FusedGemm to kernels.Gemm: Alpha and TransB fold
// into the packed B, Beta*C into a bias when C is a constant of shape [N],
// [1, N] or one element. A B computed at run time (a training step's) is
// packed by a kernels.PackGemm step before each run's Gemm, and a C
// computed at run time of shape [N] with Beta 1 is the bias as it is.
// Other forms (TransA, other C, C varying along M) run the reference
// kernel.
func (l *lowering) gemm(n *ir.Node, gm *ir.Gemm, act ir.Activation) error {
	a, b := input(n, 0), input(n, 1)
	bt := l.constOf(b)
	if a == nil || b == nil || gm.TransA || b.Type.DType != ir.Float32 || len(n.Outputs) != 1 {
		return l.reference(n)
	}
	if bt == nil {
		return l.gemmRunTime(n, gm, act)
	}
	if bt.DType != ir.Float32 {
		return l.reference(n)
	}
	for _, v := range []*ir.Value{a, b, n.Outputs[0]} {
		if err := checkKnown(v); err != nil {
			return err
		}
	}
	ys := n.Outputs[0].Type.Shape
	m, nn, kk := ys[0], ys[1], a.Type.Shape[1]
	var bias []float32
	biasName := ""
	if c := input(n, 2); c != nil && gm.Beta != 0 {
		ct := l.constOf(c)
		if ct == nil || ct.DType != ir.Float32 {
			return l.reference(n)
		}
		cs := ct.Shape
		perColumn := len(ct.F32) == nn && (len(cs) == 1 || (len(cs) == 2 && cs[0] == 1))
		if len(ct.F32) != 1 && !perColumn {
			return l.reference(n)
		}
		bias, biasName = make([]float32, nn), c.Name
		for j := range bias {
			cj := ct.F32[0]
			if perColumn {
				cj = ct.F32[j]
			}
			bias[j] = float32(float64(gm.Beta) * float64(cj))
		}
	}
	if len(bt.F32) != kk*nn {
		return ir.Invalidf("B %q has %d elements, want K*N = %d*%d", b.Name, len(bt.F32), kk, nn)
	}
	bkn := bt.F32 // [K, N], or [N, K] with TransB
	if gm.Alpha != 1 {
		bkn = slices.Clone(bkn)
		for i, v := range bkn {
			bkn[i] = float32(float64(gm.Alpha) * float64(v))
		}
	}
	return l.emitGemm(n, a, b.Name, bkn, gm.TransB, biasName, bias, &kernels.Gemm{M: m, N: nn, K: kk, Act: act})
}

// gemmRunTime lowers a Gemm whose B is computed at run time: a PackGemm
// step, then the Gemm with the optional runtime or constant bias C [N]
// (Beta 1).
func (l *lowering) gemmRunTime(n *ir.Node, gm *ir.Gemm, act ir.Activation) error {
	a, b, c := input(n, 0), input(n, 1), input(n, 2)
	for _, v := range []*ir.Value{a, b, n.Outputs[0]} {
		if err := checkKnown(v); err != nil {
			return err
		}
	}
	ys := n.Outputs[0].Type.Shape
	k := &kernels.Gemm{M: ys[0], N: ys[1], K: a.Type.Shape[1], Act: act}
	if c != nil && gm.Beta != 0 && (gm.Beta != 1 || c.Type.Shape.NumElements() != k.N || len(c.Type.Shape) != 1) {
		return l.reference(n)
	}
	pb, err := l.packAtRunTime(n, b, &kernels.PackGemm{Gemm: *k, Alpha: gm.Alpha, TransB: gm.TransB}, kernels.PackedGemmLen(k))
	if err != nil {
		return err
	}
	xo, err := l.operand(a, nil)
	if err != nil {
		return err
	}
	bo := none
	if c != nil && gm.Beta != 0 {
		if bo, err = l.operand(c, nil); err != nil {
			return err
		}
	}
	yo, err := l.result(n.Outputs[0], nil)
	if err != nil {
		return err
	}
	l.emit(n, k, []operandRef{xo, pb, bo}, []operandRef{yo})
	return nil
}

// matmul lowers a MatMul of a 2-D A by a constant 2-D B to kernels.Gemm,
// and any other MatMul to the reference kernel.
func (l *lowering) matmul(n *ir.Node) error {
	a, b := input(n, 0), input(n, 1)
	bt := l.constOf(b)
	if a == nil || bt == nil || bt.DType != ir.Float32 || len(n.Outputs) != 1 ||
		len(a.Type.Shape) != 2 || len(bt.Shape) != 2 {
		return l.reference(n)
	}
	if err := checkKnown(a); err != nil {
		return err
	}
	m, kk, nn := a.Type.Shape[0], a.Type.Shape[1], bt.Shape[1]
	if bt.Shape[0] != kk || len(bt.F32) != kk*nn {
		return ir.Invalidf("B %q has shape %v, want [%d, N]", b.Name, bt.Shape, kk)
	}
	return l.emitGemm(n, a, b.Name, bt.F32, false, "", nil, &kernels.Gemm{M: m, N: nn, K: kk})
}

// emitGemm packs B [K, N] (or, with transB, B given transposed as [N, K])
// for k and emits the Gemm step reading a, with the optional bias.
func (l *lowering) emitGemm(n *ir.Node, a *ir.Value, bName string, b []float32, transB bool, biasName string, bias []float32, k *kernels.Gemm) error {
	pack := kernels.PackGemmB
	if transB {
		pack = kernels.PackGemmBT
	}
	pb, err := pack(k, b)
	if err != nil {
		return ir.Prefix(err, "packing B %q", bName)
	}
	xo, err := l.operand(a, nil)
	if err != nil {
		return err
	}
	bo := none
	if bias != nil {
		bo = l.packed(biasName, bias)
	}
	yo, err := l.result(n.Outputs[0], nil)
	if err != nil {
		return err
	}
	l.emit(n, k, []operandRef{xo, l.packed(bName, pb), bo}, []operandRef{yo})
	return nil
}

// maxPool lowers a MaxPool without the Indices output to kernels.Pool2D.
func (l *lowering) maxPool(n *ir.Node, p *ir.MaxPool) error {
	x := input(n, 0)
	if x == nil || p.Indices || len(n.Outputs) != 1 {
		return l.reference(n)
	}
	win, err := p.Geometry(x.Type.Shape)
	if err != nil {
		return err
	}
	return l.pool(n, win, &kernels.Pool2D{Max: true})
}

// avgPool lowers an AveragePool to kernels.Pool2D.
func (l *lowering) avgPool(n *ir.Node, p *ir.AveragePool) error {
	x := input(n, 0)
	if x == nil || len(n.Outputs) != 1 {
		return l.reference(n)
	}
	win, err := p.Geometry(x.Type.Shape)
	if err != nil {
		return err
	}
	return l.pool(n, win, &kernels.Pool2D{CountIncludePad: p.CountIncludePad})
}

// pool fills in k's geometry from the window of n's pooling and emits it:
// two spatial axes, or one as H = 1; more run the reference kernel.
func (l *lowering) pool(n *ir.Node, win ir.Window, k *kernels.Pool2D) error {
	x := n.Inputs[0]
	if err := checkKnown(x); err != nil {
		return err
	}
	if !poolGeom(k, x.Type.Shape, win) {
		return l.reference(n)
	}
	xo, err := l.operand(x, ir.Shape{k.N, k.C, k.H, k.W})
	if err != nil {
		return err
	}
	yo, err := l.result(n.Outputs[0], ir.Shape{k.N, k.C, k.OH, k.OW})
	if err != nil {
		return err
	}
	l.emit(n, k, []operandRef{xo}, []operandRef{yo})
	return nil
}

// poolGeom fills in k's geometry for X of shape xs and the window win:
// two spatial axes, or one as H = 1; false for more.
func poolGeom(k *kernels.Pool2D, xs ir.Shape, win ir.Window) bool {
	switch len(xs) {
	case 4:
		k.H, k.W, k.OH, k.OW = xs[2], xs[3], win.Out[0], win.Out[1]
		k.KH, k.KW, k.SH, k.SW = win.Kernel[0], win.Kernel[1], win.Strides[0], win.Strides[1]
		k.DH, k.DW = win.Dilations[0], win.Dilations[1]
		k.PadT, k.PadL, k.PadB, k.PadR = win.PadBegin[0], win.PadBegin[1], win.PadEnd[0], win.PadEnd[1]
	case 3:
		k.H, k.W, k.OH, k.OW = 1, xs[2], 1, win.Out[0]
		k.KH, k.KW, k.SH, k.SW = 1, win.Kernel[0], 1, win.Strides[0]
		k.DH, k.DW = 1, win.Dilations[0]
		k.PadL, k.PadR = win.PadBegin[0], win.PadEnd[0]
	default:
		return false
	}
	k.N, k.C = xs[0], xs[1]
	return true
}

// globalPool lowers GlobalAveragePool and GlobalMaxPool to
// kernels.GlobalPool over the N*C planes.
func (l *lowering) globalPool(n *ir.Node, isMax bool) error {
	x := input(n, 0)
	if x == nil || len(n.Outputs) != 1 {
		return l.reference(n)
	}
	if err := checkKnown(x); err != nil {
		return err
	}
	xs := x.Type.Shape
	if len(xs) < 3 {
		return l.reference(n)
	}
	k := &kernels.GlobalPool{Rows: xs[0] * xs[1], Size: numElements(xs[2:]), Max: isMax}
	return l.emitOneToOne(n, x, k, false)
}
