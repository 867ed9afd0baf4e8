package passes

import (
	"slices"

	"github.com/cnnc/cnnc/ir"
)

// The gradient rules of the ops with weights: Conv, ConvTranspose, Gemm
// and MatMul.

// gemmRule differentiates Y = α·A'·B' + β·C (A' = A or Aᵀ, B' likewise):
// dA' = α·dY·B'ᵀ, dB' = α·A'ᵀ·dY, each transposed back where A or B is
// stored transposed, and dC = β·dY summed over C's broadcast axes.
func (a *autodiff) gemmRule(n *ir.Node, op *ir.Gemm, dy *ir.Value, want []bool) ([]*ir.Value, error) {
	dx := make([]*ir.Value, len(n.Inputs))
	A, B := n.Inputs[0], n.Inputs[1]
	name := n.Name + ".grad"
	var err error
	if want[0] {
		// dA = α·dY·B'ᵀ, or (TransA) dAᵀ: α·B'·dYᵀ.
		g := &ir.Gemm{Alpha: op.Alpha, Beta: 1}
		l, r := dy, B
		if op.TransA {
			l, r = B, dy
			g.TransA, g.TransB = op.TransB, true
		} else {
			g.TransB = !op.TransB
		}
		if dx[0], err = a.gemm(name+".a", g, l, r); err != nil {
			return nil, err
		}
	}
	if want[1] {
		// dB = α·A'ᵀ·dY, or (TransB) dBᵀ: α·dYᵀ·A'.
		g := &ir.Gemm{Alpha: op.Alpha, Beta: 1}
		l, r := A, dy
		if op.TransB {
			l, r = dy, A
			g.TransA, g.TransB = true, op.TransA
		} else {
			g.TransA = !op.TransA
		}
		if dx[1], err = a.gemm(name+".b", g, l, r); err != nil {
			return nil, err
		}
	}
	if len(n.Inputs) > 2 && n.Inputs[2] != nil && want[2] {
		d := dy
		if op.Beta != 1 {
			if d, err = a.scale(name+".c_scaled", dy, op.Beta); err != nil {
				return nil, err
			}
		}
		if dx[2], err = a.reduceTo(name+".c", d, n.Inputs[2].Type.Shape); err != nil {
			return nil, err
		}
	}
	return dx, nil
}

// gemm appends the Gemm g of l and r, transposing l explicitly when g
// wants it transposed: the runtime's GEMM kernel packs B, any layout, but
// reads A as it is.
func (a *autodiff) gemm(name string, g *ir.Gemm, l, r *ir.Value) (*ir.Value, error) {
	if g.TransA {
		t, err := a.node1(name+".t", &ir.Transpose{Perm: []int{1, 0}}, l)
		if err != nil {
			return nil, err
		}
		l, g.TransA = t, false
	}
	return a.node1(name, g, l, r)
}

// convGradData returns the gradient of convolution op with respect to x.
// For stride 1 it is itself a convolution, of dy with the flipped filter
// (ir.FlipFilter) padded by dilation·(K-1) less the forward pads, which
// the compiler optimizes and runs like any other (Winograd, say); other
// strides, and pads wider than the window, keep the transposed form
// (ir.ConvGradData).
func (a *autodiff) convGradData(name string, op *ir.Conv, x, w, dy *ir.Value) (*ir.Value, error) {
	win, err := op.Geometry(x.Type.Shape, w.Type.Shape)
	if err != nil {
		return nil, err
	}
	n := len(win.Kernel)
	pads := make([]int, 2*n)
	flip := n > 0
	for i := 0; i < n && flip; i++ {
		span := win.Dilations[i] * (win.Kernel[i] - 1)
		pads[i], pads[n+i] = span-win.PadBegin[i], span-win.PadEnd[i]
		flip = win.Strides[i] == 1 && pads[i] >= 0 && pads[n+i] >= 0
	}
	if !flip {
		return a.node1(name, &ir.ConvGradData{Conv: *op, X: x.Type.Shape.Clone()}, dy, w)
	}
	group := max(op.Group, 1)
	wf, err := a.node1(name+".flip", &ir.FlipFilter{Group: group}, w)
	if err != nil {
		return nil, err
	}
	return a.node1(name, &ir.Conv{Dilations: slices.Clone(win.Dilations), Pads: pads, Group: group}, dy, wf)
}

// biasGrad returns the gradient of a convolution's bias from dY [N, M,
// O...]: dY summed over every axis but the channels.
func (a *autodiff) biasGrad(name string, dy *ir.Value) (*ir.Value, error) {
	axes := []int{0}
	for i := 2; i < len(dy.Type.Shape); i++ {
		axes = append(axes, i)
	}
	return a.node1(name, &ir.ReduceSum{Axes: axes}, dy)
}

// convTransposeRule differentiates Y = ConvTranspose(X, W) + B through
// the convolution it is the transpose of: a Conv of Y-shaped input to
// X-shaped output with W [C, M/group, K...] as its filter, the same
// strides, dilations and group, and the padding that puts its windows
// where ConvTranspose scattered X's elements. Then dX is that Conv of dY,
// dW its filter gradient with the roles swapped (ConvGradFilter of dY as
// input and X as output gradient), and dB as Conv's. ConvTranspose's
// padding may be negative (an output_shape beyond the full result) and
// output_padding adds elements no window reaches: those ends of dY are
// cropped (a Slice) instead of padded.
func (a *autodiff) convTransposeRule(n *ir.Node, op *ir.ConvTranspose, dy *ir.Value, want []bool) ([]*ir.Value, error) {
	dx := make([]*ir.Value, len(n.Inputs))
	name := n.Name + ".grad"
	x, w := n.Inputs[0], n.Inputs[1]
	win, err := op.Geometry(x.Type.Shape, w.Type.Shape)
	if err != nil {
		return nil, err
	}
	k := len(win.Kernel)
	conv := ir.Conv{Strides: slices.Clone(win.Strides), Dilations: slices.Clone(win.Dilations), Pads: make([]int, 2*k), Group: op.Group}
	crop := &ir.Slice{Starts: make([]int, k), Ends: make([]int, k), Axes: make([]int, k)}
	cropped, full := false, dy
	for i := range k {
		// The windows of input positions 0 and In-1 start at -begin and
		// end at last; a Conv over dY reads exactly them with pads begin
		// and last-(Out-1).
		begin := win.PadBegin[i]
		last := (win.In[i]-1)*win.Strides[i] + (win.Kernel[i]-1)*win.Dilations[i] - begin
		end := last - (win.Out[i] - 1)
		crop.Starts[i], crop.Ends[i], crop.Axes[i] = max(-begin, 0), win.Out[i]-max(-end, 0), i+2
		conv.Pads[i], conv.Pads[k+i] = max(begin, 0), max(end, 0)
		cropped = cropped || begin < 0 || end < 0
	}
	if cropped {
		if dy, err = a.node1(name+".crop", crop, dy); err != nil {
			return nil, err
		}
	}
	if want[0] {
		if dx[0], err = a.node1(name+".x", &conv, dy, w); err != nil {
			return nil, err
		}
	}
	if want[1] {
		if dx[1], err = a.node1(name+".w", &ir.ConvGradFilter{Conv: conv, W: w.Type.Shape.Clone()}, dy, x); err != nil {
			return nil, err
		}
	}
	if len(n.Inputs) > 2 && n.Inputs[2] != nil && want[2] {
		// The bias reads the whole of Y: the uncropped dY.
		if dx[2], err = a.biasGrad(name+".b", full); err != nil {
			return nil, err
		}
	}
	return dx, nil
}

// matMulRule differentiates Y = A·B, numpy's matrix product: dA = dY·Bᵀ
// and dB = Aᵀ·dY, each summed over the batch axes along which its operand
// was broadcast. A 1-D A is the matrix [1, K] and a 1-D B [K, 1], as in
// the product. Plain matrices take Gemm, whose kernel packs B in either
// layout; batches MatMul with an explicit Transpose.
func (a *autodiff) matMulRule(n *ir.Node, dy *ir.Value, want []bool) ([]*ir.Value, error) {
	dx := make([]*ir.Value, 2)
	name := n.Name + ".grad"
	A, B := n.Inputs[0], n.Inputs[1]
	as, bs := A.Type.Shape, B.Type.Shape
	if len(as) == 1 {
		as = ir.Shape{1, as[0]}
	}
	if len(bs) == 1 {
		bs = ir.Shape{bs[0], 1}
	}
	ys, err := ir.MatMulShape(as, bs)
	if err != nil {
		return nil, err
	}
	A2, err := a.reshape(name+".a2", A, as)
	if err != nil {
		return nil, err
	}
	B2, err := a.reshape(name+".b2", B, bs)
	if err != nil {
		return nil, err
	}
	if dy, err = a.reshape(name+".dy", dy, ys); err != nil {
		return nil, err
	}
	// prod returns l·r, transposing l (ta) or r (tb).
	prod := func(name string, l, r *ir.Value, ta, tb bool) (*ir.Value, error) {
		if len(l.Type.Shape) == 2 && len(r.Type.Shape) == 2 {
			return a.gemm(name, &ir.Gemm{Alpha: 1, Beta: 1, TransA: ta, TransB: tb}, l, r)
		}
		var err error
		if ta {
			if l, err = a.transposeLast(name+".ta", l); err != nil {
				return nil, err
			}
		}
		if tb {
			if r, err = a.transposeLast(name+".tb", r); err != nil {
				return nil, err
			}
		}
		return a.node1(name, &ir.MatMul{}, l, r)
	}
	for i, g := range []struct {
		l, r   *ir.Value
		ta, tb bool
		to     ir.Shape
	}{{dy, B2, false, true, as}, {A2, dy, true, false, bs}} {
		if !want[i] {
			continue
		}
		part := name + ".a"
		if i == 1 {
			part = name + ".b"
		}
		d, err := prod(part, g.l, g.r, g.ta, g.tb)
		if err != nil {
			return nil, err
		}
		if d, err = a.reduceTo(part, d, g.to); err != nil {
			return nil, err
		}
		if dx[i], err = a.reshape(part, d, n.Inputs[i].Type.Shape); err != nil {
			return nil, err
		}
	}
	return dx, nil
}

// transposeLast returns v with its last two axes swapped.
func (a *autodiff) transposeLast(name string, v *ir.Value) (*ir.Value, error) {
	perm := make([]int, len(v.Type.Shape))
	for i := range perm {
		perm[i] = i
	}
	r := len(perm)
	perm[r-2], perm[r-1] = r-1, r-2
	return a.node1(name, &ir.Transpose{Perm: perm}, v)
}
