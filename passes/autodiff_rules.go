package passes

import (
	"slices"

	"github.com/cnnc/cnnc/ir"
)

// rule returns the gradients of node n's inputs from those of its outputs,
// dys (nil where an output gets none): an entry per input, nil where want
// is false or the input gets nothing. Each is built from IR ops, so that a
// training step is a graph the compiler optimizes like any other.
func (a *autodiff) rule(n *ir.Node, dys []*ir.Value, want []bool) ([]*ir.Value, error) {
	dx := make([]*ir.Value, len(n.Inputs))
	dy := dys[0]
	if dy == nil {
		return dx, nil // only a second output (MaxPool's Indices) is read
	}
	name := n.Name + ".grad"
	var err error
	switch op := n.Op.(type) {
	case *ir.Conv:
		x, w := n.Inputs[0], n.Inputs[1]
		if want[0] {
			if dx[0], err = a.convGradData(name+".x", op, x, w, dy); err != nil {
				return nil, err
			}
		}
		if want[1] {
			if dx[1], err = a.node1(name+".w", &ir.ConvGradFilter{Conv: *op, W: w.Type.Shape.Clone()}, x, dy); err != nil {
				return nil, err
			}
		}
		if len(n.Inputs) > 2 && want[2] {
			axes := []int{0}
			for i := 2; i < len(dy.Type.Shape); i++ {
				axes = append(axes, i)
			}
			if dx[2], err = a.node1(name+".b", &ir.ReduceSum{Axes: axes}, dy); err != nil {
				return nil, err
			}
		}
	case *ir.Gemm:
		return a.gemmRule(n, op, dy, want)
	case *ir.BatchNormTrain:
		g, err := a.node(name, &ir.BatchNormGrad{}, 3, n.Inputs[0], n.Inputs[1], n.Outputs[3], n.Outputs[4], dy)
		if err != nil {
			return nil, err
		}
		for i := range 3 {
			if want[i] {
				dx[i] = g[i]
			}
		}
	case *ir.Relu, *ir.Sigmoid, *ir.Tanh:
		// These derivatives read Y alone (Relu's: Y > 0, as PyTorch's
		// threshold_backward), so X need not outlive the forward node,
		// which leaves the convolution before it free to fuse it.
		y := n.Outputs[0]
		dx[0], err = a.node1(name, &ir.ActGrad{Op: op}, y, y, dy)
	case *ir.LeakyRelu, *ir.Clip:
		dx[0], err = a.node1(name, &ir.ActGrad{Op: op}, n.Inputs[0], n.Outputs[0], dy)
	case *ir.MaxPool:
		p := *op
		p.Indices = false
		dx[0], err = a.node1(name, &ir.MaxPoolGrad{Pool: p}, n.Inputs[0], dy)
	case *ir.AveragePool:
		dx[0], err = a.node1(name, &ir.AveragePoolGrad{Pool: *op}, n.Inputs[0], dy)
	case *ir.GlobalAveragePool:
		dx[0], err = a.node1(name, &ir.GlobalPoolGrad{}, n.Inputs[0], dy)
	case *ir.GlobalMaxPool:
		dx[0], err = a.node1(name, &ir.GlobalPoolGrad{Max: true}, n.Inputs[0], dy)
	case *ir.Flatten, *ir.Reshape, *ir.Squeeze, *ir.Unsqueeze:
		dx[0], err = a.reshape(name, dy, n.Inputs[0].Type.Shape)
	case *ir.Identity:
		dx[0] = dy
	case *ir.LRN:
		dx[0], err = a.node1(name, &ir.LRNGrad{LRN: *op}, n.Inputs[0], dy)
	case *ir.Pad:
		dx[0], err = a.padRule(name, n, op, dy)
	case *ir.Dropout: // ratio 0: the identity (others became DropoutTrain)
		dx[0] = dy
	case *ir.DropoutTrain, *ir.StochasticDepthTrain:
		dx[0], err = a.node1(name, &ir.Mul{}, dy, n.Outputs[1])
	case *ir.Add, *ir.Sum:
		for i, v := range n.Inputs {
			if want[i] {
				if dx[i], err = a.reduceTo(name, dy, v.Type.Shape); err != nil {
					return nil, err
				}
			}
		}
	case *ir.Sub:
		if want[0] {
			if dx[0], err = a.reduceTo(name, dy, n.Inputs[0].Type.Shape); err != nil {
				return nil, err
			}
		}
		if want[1] {
			minus := a.constant(name+".minus_one", ir.FromFloat32(ir.Shape{}, []float32{-1}))
			neg, err := a.node1(name+".neg", &ir.Mul{}, dy, minus)
			if err != nil {
				return nil, err
			}
			if dx[1], err = a.reduceTo(name, neg, n.Inputs[1].Type.Shape); err != nil {
				return nil, err
			}
		}
	case *ir.Mul:
		for i := range 2 {
			if !want[i] {
				continue
			}
			prod, err := a.node1(name, &ir.Mul{}, dy, n.Inputs[1-i])
			if err != nil {
				return nil, err
			}
			if dx[i], err = a.reduceTo(name, prod, n.Inputs[i].Type.Shape); err != nil {
				return nil, err
			}
		}
	case *ir.Concat:
		axis, _ := ir.NormAxis(op.Axis, len(dy.Type.Shape))
		split := make([]int, len(n.Inputs))
		for i, v := range n.Inputs {
			split[i] = v.Type.Shape[axis]
		}
		parts, err := a.node(name, &ir.Split{Axis: axis, Split: split, NumOutputs: len(split)}, len(split), dy)
		if err != nil {
			return nil, err
		}
		for i := range parts {
			if want[i] {
				dx[i] = parts[i]
			}
		}
	default:
		return nil, ir.Unsupportedf("no gradient for %s yet", n.Op.OpType())
	}
	if err != nil {
		return nil, err
	}
	return dx, nil
}

// padRule differentiates a constant Pad with pads >= 0: dX is the part
// of dY over X, a Slice.
func (a *autodiff) padRule(name string, n *ir.Node, op *ir.Pad, dy *ir.Value) (*ir.Value, error) {
	pads := op.Pads
	if len(n.Inputs) > 1 && n.Inputs[1] != nil {
		t := a.consts[n.Inputs[1]]
		if t == nil {
			return nil, ir.Unsupportedf("gradient of a Pad whose pads are computed")
		}
		var err error
		if pads, err = t.Ints(); err != nil {
			return nil, err
		}
	}
	xs := n.Inputs[0].Type.Shape
	if op.Mode != ir.PadConstant || len(pads) != 2*len(xs) {
		return nil, ir.Unsupportedf("gradient of a %v Pad with pads %v", op.Mode, pads)
	}
	s := &ir.Slice{Starts: make([]int, len(xs)), Ends: make([]int, len(xs)), Axes: make([]int, len(xs))}
	for i, d := range xs {
		if pads[i] < 0 || pads[len(xs)+i] < 0 {
			return nil, ir.Unsupportedf("gradient of a Pad that crops (pads %v)", pads)
		}
		s.Starts[i], s.Ends[i], s.Axes[i] = pads[i], pads[i]+d, i
	}
	return a.node1(name, s, dy)
}

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
			beta := a.constant(name+".beta", ir.FromFloat32(ir.Shape{}, []float32{op.Beta}))
			if d, err = a.node1(name+".c_scaled", &ir.Mul{}, dy, beta); err != nil {
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

// reshape returns v reshaped to shape.
func (a *autodiff) reshape(name string, v *ir.Value, shape ir.Shape) (*ir.Value, error) {
	if v.Type.Shape.Equal(shape) {
		return v, nil
	}
	dims := make([]int64, len(shape))
	for i, d := range shape {
		dims[i] = int64(d)
	}
	s := a.constant(name+".shape", ir.FromInt64(ir.Shape{len(dims)}, dims))
	return a.node1(name+".reshape", &ir.Reshape{AllowZero: true}, v, s)
}

// reduceTo sums the gradient d over the axes along which a value of shape
// to was broadcast to d's shape (numpy rules), and gives it that shape.
func (a *autodiff) reduceTo(name string, d *ir.Value, to ir.Shape) (*ir.Value, error) {
	from := d.Type.Shape
	if from.Equal(to) {
		return d, nil
	}
	lead := len(from) - len(to)
	if lead < 0 {
		return nil, ir.Invalidf("gradient of shape %v for a value of shape %v", from, to)
	}
	var axes []int
	for i := range from {
		if i < lead || (to[i-lead] == 1 && from[i] != 1) {
			axes = append(axes, i)
		}
	}
	r := d
	if len(axes) > 0 {
		var err error
		if r, err = a.node1(name+".sum", &ir.ReduceSum{Axes: axes, KeepDims: true}, d); err != nil {
			return nil, err
		}
	}
	return a.reshape(name, r, to)
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
