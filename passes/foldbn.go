package passes

import (
	"math"
	"strconv"
	"strings"

	"github.com/cnnc/cnnc/ir"
)

// foldbn folds per-channel affine maps y[n, c, ...] = x[n, c, ...]*s[c] +
// t[c] into the node producing x, when x goes to that map alone:
//
//   - a BatchNormalization with constant statistics: s = gamma/sqrt(var+eps),
//     t = beta - mean*s;
//   - the old Caffe2 form of batch norm, a Mul, Add, Sub or Div by a
//     constant that varies only along axis 1 (after constfold, the
//     Unsqueeze'd [C,1,1] scale is such a constant).
//
// Producers that absorb the map:
//
//   - Conv, or FusedConv without activation or residual, with constant W
//     and B: W'[m, ...] = W[m, ...]*s[m], B'[m] = B[m]*s[m] + t[m];
//   - Gemm, or FusedGemm without activation (Linear then BatchNorm1d),
//     with constant B and C: the column f of op(B) is scaled by s[f] (a
//     row of B when TransB is set), and C' = beta*C*s + t with Beta 1;
//   - MatMul of a matrix A by a constant matrix B, which becomes the Gemm
//     of A, B' and t;
//   - ChannelAffine without activation: Scale' = Scale*s, Shift' =
//     Shift*s + t.
//
// The producer takes the folded node's output value (and so its name) and
// the folded node is removed. Arithmetic is in float64, rounded once to
// float32. A BatchNormalization left over becomes a ChannelAffine with
// ActNone (Scale s, Shift t). New constants are named after the ones they
// replace plus ".folded", or the node plus ".scale" and ".shift".
func foldbn(u *unit) error {
	f := &folder{u: u, made: map[*ir.Value]bool{}}
	u.ensureIndex()
	into := map[string]int{}
	affine, arith := 0, 0
	for j, n := range u.g.Nodes {
		if n == nil {
			continue
		}
		var x *ir.Value
		var s, t []float64
		_, isBN := n.Op.(*ir.BatchNormalization)
		if isBN {
			x, s, t = bnAffine(n)
		} else {
			x, s, t = arithAffine(n)
		}
		if x == nil {
			continue
		}
		p, i := u.producer(x)
		kind := ""
		if p != nil {
			kind = shortOp(p) // before fold, which may turn a MatMul into a Gemm
		}
		if p != nil && u.soleUse(x) && f.fold(p, s, t) {
			u.absorb(i, j)
			if isBN {
				into[kind]++
			} else {
				arith++
			}
			continue
		}
		if isBN {
			sc := u.newConst(n.Name+".scale", ir.FromFloat32(ir.Shape{len(s)}, round32(s)))
			sh := u.newConst(n.Name+".shift", ir.FromFloat32(ir.Shape{len(t)}, round32(t)))
			f.made[sc], f.made[sh] = true, true
			u.setInput(n, 1, sc)
			u.setInput(n, 2, sh)
			u.setInput(n, 3, nil)
			u.setInput(n, 4, nil)
			n.Inputs = n.Inputs[:3]
			n.Op = &ir.ChannelAffine{}
			affine++
		}
	}
	total := 0
	var parts []string
	for _, k := range []string{"Conv", "Gemm", "MatMul", "ChannelAffine"} {
		if into[k] > 0 {
			total += into[k]
			parts = append(parts, k+" "+strconv.Itoa(into[k]))
		}
	}
	u.countf(total, "batch norm", "batch norms", "folded")
	if total > 0 {
		u.changes[len(u.changes)-1] += " (into " + strings.Join(parts, ", ") + ")"
	}
	u.countf(arith, "per-channel Mul/Add", "per-channel Mul/Adds", "folded")
	u.countf(affine, "batch norm", "batch norms", "-> ChannelAffine")
	return nil
}

// shortOp names a producer kind for the log: fused forms count as their
// base op.
func shortOp(n *ir.Node) string {
	switch n.Op.(type) {
	case *ir.Conv, *ir.FusedConv:
		return "Conv"
	case *ir.Gemm, *ir.FusedGemm:
		return "Gemm"
	case *ir.MatMul:
		return "MatMul"
	}
	return "ChannelAffine"
}

// bnAffine returns the input and the per-channel scale and shift of a
// BatchNormalization with constant parameters and a known channel count,
// else a nil input.
func bnAffine(n *ir.Node) (x *ir.Value, s, t []float64) {
	op := n.Op.(*ir.BatchNormalization)
	if len(n.Inputs) != 5 || n.Inputs[0] == nil {
		return nil, nil, nil
	}
	x = n.Inputs[0]
	c := channelsOf(x)
	var p [4][]float32
	for i := range p {
		p[i] = constF32(n.Inputs[i+1])
		if c < 0 || len(p[i]) != c {
			return nil, nil, nil
		}
	}
	gamma, beta, mean, variance := p[0], p[1], p[2], p[3]
	s, t = make([]float64, c), make([]float64, c)
	eps := float64(op.Epsilon)
	for k := range c {
		s[k] = float64(gamma[k]) / math.Sqrt(float64(variance[k])+eps)
		t[k] = float64(beta[k]) - float64(mean[k])*s[k]
	}
	return x, s, t
}

// channelsOf returns dimension 1 of a float32 value of known shape and
// rank >= 2, else -1.
func channelsOf(x *ir.Value) int {
	if x == nil || x.Type.DType != ir.Float32 || len(x.Type.Shape) < 2 || !x.Type.Shape.Known() {
		return -1
	}
	return x.Type.Shape[1]
}

// arithAffine recognizes y = x*k, x+k, k+x, x-k, k-x or x/k where k is a
// float32 constant varying at most along x's axis 1 and y has x's shape;
// it returns x and the per-channel scale and shift of the map, else a nil
// x.
func arithAffine(n *ir.Node) (x *ir.Value, s, t []float64) {
	if len(n.Inputs) != 2 || n.Inputs[0] == nil || n.Inputs[1] == nil || len(n.Outputs) != 1 {
		return nil, nil, nil
	}
	a, b := n.Inputs[0], n.Inputs[1]
	kFirst := a.Const != nil && b.Const == nil
	x, k := a, b
	if kFirst {
		x, k = b, a
	}
	if x.Const != nil || !x.Type.Shape.Equal(n.Outputs[0].Type.Shape) {
		return nil, nil, nil
	}
	c := channelsOf(x)
	kc := perChannel(k, x.Type.Shape)
	if c < 0 || kc == nil {
		return nil, nil, nil
	}
	s, t = make([]float64, c), make([]float64, c)
	for i := range c {
		v := kc[0]
		if len(kc) > 1 {
			v = kc[i]
		}
		switch n.Op.(type) {
		case *ir.Mul:
			s[i], t[i] = v, 0
		case *ir.Add:
			s[i], t[i] = 1, v
		case *ir.Sub:
			if kFirst {
				s[i], t[i] = -1, v
			} else {
				s[i], t[i] = 1, -v
			}
		case *ir.Div:
			if kFirst || v == 0 {
				return nil, nil, nil
			}
			s[i], t[i] = 1/v, 0
		default:
			return nil, nil, nil
		}
	}
	return x, s, t
}

// perChannel returns the values of constant k broadcast against a tensor
// of shape x when k varies at most along x's axis 1: one value when k has
// one element, x[1] values otherwise. It returns nil when k is not such a
// float32 constant.
func perChannel(k *ir.Value, x ir.Shape) []float64 {
	data := constF32(k)
	ks := k.Type.Shape
	if data == nil || len(ks) > len(x) || len(x) < 2 {
		return nil
	}
	for i, d := range ks {
		axis := i + len(x) - len(ks)
		if d != 1 && (axis != 1 || d != x[1]) {
			return nil
		}
	}
	out := make([]float64, len(data))
	for i, v := range data {
		out[i] = float64(v)
	}
	return out
}

// folder rewrites producers to absorb a per-channel affine map.
type folder struct {
	u *unit
	// made marks the constants this pass created; each is read by one
	// node only, so a later fold may rewrite its tensor in place.
	made map[*ir.Value]bool
}

// fold makes node p compute s*p(...)+t per channel of its output, if it
// can, and reports whether it did.
func (f *folder) fold(p *ir.Node, s, t []float64) bool {
	if len(p.Outputs) != 1 || channelsOf(p.Outputs[0]) != len(s) {
		return false
	}
	switch op := p.Op.(type) {
	case *ir.Conv:
		return f.foldConv(p, s, t)
	case *ir.FusedConv:
		if op.Act.Kind != ir.ActNone || (len(p.Inputs) > 3 && p.Inputs[3] != nil) {
			return false
		}
		return f.foldConv(p, s, t)
	case *ir.Gemm:
		return f.foldGemm(p, *op, s, t)
	case *ir.FusedGemm:
		if op.Act.Kind != ir.ActNone {
			return false
		}
		return f.foldGemm(p, op.Gemm, s, t)
	case *ir.MatMul:
		return f.foldMatMul(p, s, t)
	case *ir.ChannelAffine:
		if op.Act.Kind != ir.ActNone {
			return false
		}
		return f.foldAffine(p, s, t)
	}
	return false
}

// foldConv scales the weights and bias of a convolution per output
// channel.
func (f *folder) foldConv(p *ir.Node, s, t []float64) bool {
	if len(p.Inputs) < 2 {
		return false
	}
	w := constF32(p.Inputs[1])
	m := len(s)
	if w == nil || len(p.Inputs[1].Type.Shape) < 1 || p.Inputs[1].Type.Shape[0] != m || len(w)%m != 0 {
		return false
	}
	var b []float32
	if len(p.Inputs) > 2 && p.Inputs[2] != nil {
		if b = constF32(p.Inputs[2]); len(b) != m {
			return false
		}
	}
	per := len(w) / m
	nw := make([]float32, len(w))
	for o := range m {
		so := s[o]
		for i := o * per; i < (o+1)*per; i++ {
			nw[i] = float32(float64(w[i]) * so)
		}
	}
	nb := make([]float64, m)
	for i := range nb {
		if b != nil {
			nb[i] = float64(b[i]) * s[i]
		}
		nb[i] += t[i]
	}
	f.set(p, 1, p.Inputs[1].Type.Shape, nw, p.Inputs[1].Name)
	bias := p.Name + ".bias"
	if b != nil {
		bias = p.Inputs[2].Name
	}
	f.set(p, 2, ir.Shape{m}, round32(nb), bias)
	return true
}

// foldGemm scales the columns of op(B) and rewrites C of a Gemm (the op
// given by value; p's op is replaced with Beta 1).
func (f *folder) foldGemm(p *ir.Node, g ir.Gemm, s, t []float64) bool {
	if len(p.Inputs) < 2 {
		return false
	}
	bv := p.Inputs[1]
	b, bs := constF32(bv), bv.Type.Shape
	n := len(s)
	if b == nil || len(bs) != 2 {
		return false
	}
	nb := make([]float32, len(b))
	if g.TransB { // B is [N, K]: row f is column f of op(B)
		if bs[0] != n {
			return false
		}
		k := bs[1]
		for i, v := range b {
			nb[i] = float32(float64(v) * s[i/k])
		}
	} else { // B is [K, N]
		if bs[1] != n {
			return false
		}
		for i, v := range b {
			nb[i] = float32(float64(v) * s[i%n])
		}
	}
	y := p.Outputs[0].Type.Shape // [M, N], known
	var c []float32
	var cs ir.Shape
	if len(p.Inputs) > 2 && p.Inputs[2] != nil {
		if c = constF32(p.Inputs[2]); c == nil {
			return false
		}
		cs = p.Inputs[2].Type.Shape
	}
	// C' is [N] when C does not vary along rows, else [M, N].
	rows := len(cs) == 2 && cs[0] != 1
	outShape := ir.Shape{n}
	if rows {
		outShape = ir.Shape{y[0], n}
	}
	nc := make([]float64, outShape.NumElements())
	for i := range nc {
		row, col := i/n, i%n
		if c != nil {
			ci := 0 // index into C broadcast to [M, N]
			switch {
			case len(cs) == 2:
				ci = min(row, cs[0]-1)*cs[1] + min(col, cs[1]-1)
			case len(cs) == 1:
				ci = min(col, cs[0]-1)
			}
			nc[i] = float64(g.Beta) * float64(c[ci]) * s[col]
		}
		nc[i] += t[col]
	}
	g.Beta = 1
	f.set(p, 1, bs, nb, bv.Name)
	cname := p.Name + ".bias"
	if c != nil {
		cname = p.Inputs[2].Name
	}
	f.set(p, 2, outShape, round32(nc), cname)
	switch op := p.Op.(type) {
	case *ir.FusedGemm:
		p.Op = &ir.FusedGemm{Gemm: g, Act: op.Act}
	default:
		p.Op = &g
	}
	return true
}

// foldMatMul turns A·B (A a matrix, B a constant matrix) into the Gemm
// A·B' + t.
func (f *folder) foldMatMul(p *ir.Node, s, t []float64) bool {
	if len(p.Inputs) != 2 || p.Inputs[0] == nil || len(p.Inputs[0].Type.Shape) != 2 || len(p.Outputs[0].Type.Shape) != 2 {
		return false
	}
	bv := p.Inputs[1]
	if constF32(bv) == nil || len(bv.Type.Shape) != 2 {
		return false
	}
	old := p.Op
	p.Op = &ir.Gemm{Alpha: 1, Beta: 1}
	if !f.foldGemm(p, ir.Gemm{Alpha: 1, Beta: 1}, s, t) {
		p.Op = old
		return false
	}
	return true
}

// foldAffine composes a ChannelAffine with the map.
func (f *folder) foldAffine(p *ir.Node, s, t []float64) bool {
	if len(p.Inputs) != 3 {
		return false
	}
	sc, sh := constF32(p.Inputs[1]), constF32(p.Inputs[2])
	c := len(s)
	if len(sc) != c || len(sh) != c {
		return false
	}
	ns, nt := make([]float64, c), make([]float64, c)
	for i := range c {
		ns[i] = float64(sc[i]) * s[i]
		nt[i] = float64(sh[i])*s[i] + t[i]
	}
	f.set(p, 1, ir.Shape{c}, round32(ns), p.Inputs[1].Name)
	f.set(p, 2, ir.Shape{c}, round32(nt), p.Inputs[2].Name)
	return true
}

// set makes input i of p the float32 constant of the given shape and data
// (which it keeps):
// in place when the current input is a constant this pass made (and of
// that shape), else as a new constant named base+".folded" (base without
// an earlier ".folded").
func (f *folder) set(p *ir.Node, i int, shape ir.Shape, data []float32, base string) {
	if i < len(p.Inputs) {
		if old := p.Inputs[i]; old != nil && f.made[old] && old.Type.Shape.Equal(shape) {
			copy(old.Const.F32, data)
			return
		}
	}
	v := f.u.newConst(strings.TrimSuffix(base, ".folded")+".folded", ir.FromFloat32(shape, data))
	f.made[v] = true
	f.u.setInput(p, i, v)
}

// round32 rounds data to float32.
func round32(data []float64) []float32 {
	out := make([]float32, len(data))
	for i, v := range data {
		out[i] = float32(v)
	}
	return out
}
