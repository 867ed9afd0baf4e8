package codegen

import "github.com/cnnc/cnnc/ir"

// Concatenation without copies.
//
// A Concat whose output, viewed as [Outer, Inner], has Outer 1 (the
// channels of one image, as in GoogLeNet's inception modules and
// DenseNet's blocks at batch 1) is its inputs laid end to end. When the
// steps that compute the inputs write them straight to their places in the
// output's buffer, the concatenation is done before it runs: it takes no
// step. DenseNet concatenates every earlier feature map of a block again
// for each layer; laid out in the block's last concatenation, each
// layer's input is a prefix of it, and no feature map is copied at all.

// place is where a value lies: at byte offset at in the memory of value
// in (an elided Concat's output).
type place struct {
	in *ir.Value
	at int64
}

// concatViews decides which of g's live Concat nodes are elided and
// returns them, with where each of their inputs lies, and where the output
// of an elided Concat lies when it is itself part of another's.
//
// The nodes are visited last to first, so that a later concatenation
// claims the values an earlier one shares with it. A Concat is elided when
// its output is Outer 1 and float32, and either
//   - none of its inputs is placed yet, each is computed by a step of its
//     own (not a graph input or output, a constant, or a view of another
//     value such as a Reshape's), each appears once, and each lands at an
//     operandAlign-ed offset: it claims them, at their offsets in its
//     output; or
//   - its inputs already lie end to end in one value, and its output is
//     not placed and no graph output: its output is that range.
//
// Otherwise it copies, as a kernels.Concat step.
func concatViews(g *ir.Graph, live []bool) (map[*ir.Value]place, map[*ir.Node]bool) {
	places, elided := map[*ir.Value]place{}, map[*ir.Node]bool{}
	computed := map[*ir.Value]bool{} // outputs of steps (not views, not constants)
	for i, n := range g.Nodes {
		if !live[i] || aliasOf(n) != nil {
			continue
		}
		if _, ok := n.Op.(*ir.Constant); ok {
			continue
		}
		for _, v := range n.Outputs {
			if v != nil && v.Const == nil {
				computed[v] = true
			}
		}
	}
	for _, v := range g.Inputs {
		delete(computed, v)
	}
	output := map[*ir.Value]bool{}
	for _, v := range g.Outputs {
		output[v] = true
		delete(computed, v)
	}
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := g.Nodes[i]
		c, ok := n.Op.(*ir.Concat)
		if !ok || !live[i] || len(n.Outputs) != 1 || n.Outputs[0] == nil || len(n.Inputs) == 0 {
			continue
		}
		y := n.Outputs[0]
		offs, ok := concatOffsets(n, c)
		if !ok {
			continue
		}
		if p, ok := places[n.Inputs[0]]; ok {
			// Already end to end in p.in?
			if _, placed := places[y]; placed || output[y] {
				continue
			}
			end2end := true
			for j, x := range n.Inputs {
				q, ok := places[x]
				end2end = end2end && ok && q.in == p.in && q.at == p.at+offs[j]
			}
			if end2end {
				places[y] = p
				elided[n] = true
			}
			continue
		}
		claim := true
		seen := map[*ir.Value]bool{}
		for j, x := range n.Inputs {
			_, placed := places[x]
			claim = claim && computed[x] && !placed && !seen[x] && offs[j]%operandAlign == 0
			seen[x] = true
		}
		if claim {
			for j, x := range n.Inputs {
				places[x] = place{y, offs[j]}
			}
			elided[n] = true
		}
	}
	return places, elided
}

// concatOffsets returns the byte offset of each input of the Concat n in
// its output, or false when the output is not float32, its shape unknown,
// or Outer is not 1.
func concatOffsets(n *ir.Node, c *ir.Concat) ([]int64, bool) {
	y := n.Outputs[0]
	ys := y.Type.Shape
	if y.Type.DType != ir.Float32 || !ys.Known() {
		return nil, false
	}
	axis, ok := ir.NormAxis(c.Axis, len(ys))
	if !ok || numElements(ys[:axis]) != 1 {
		return nil, false
	}
	offs := make([]int64, len(n.Inputs))
	var at int64
	for j, x := range n.Inputs {
		if x == nil || x.Type.DType != ir.Float32 || !x.Type.Shape.Known() || len(x.Type.Shape) != len(ys) {
			return nil, false
		}
		offs[j] = at
		at += int64(x.Type.Shape.NumElements()) * 4
	}
	if at != int64(ys.NumElements())*4 {
		return nil, false
	}
	return offs, true
}

// bufOf returns the arena buffer of v, making it, a view when v is
// placed, on first sight: an elided Concat's output is made by the first
// step that writes a part of it.
func (l *lowering) bufOf(v *ir.Value) int {
	if vl, ok := l.vals[v]; ok {
		return vl.buf
	}
	id := l.newBuf(v)
	l.vals[v] = &valueLoc{buf: id}
	if p, ok := l.places[v]; ok {
		l.views = append(l.views, view{buf: id, in: l.bufOf(p.in), at: p.at})
	}
	return id
}
