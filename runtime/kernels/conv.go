package kernels

import "github.com/cnnc/cnnc/ir"

// Tuning of the convolution's task split. The GEMM algorithms cut the
// output of each image and group into column blocks of at most
// convMaxCols positions (a multiple of the micro-kernel's width); when
// that gives fewer than convMinTasks pieces, into narrower ones down to
// convMinCols, and then into two row blocks of output channels (of at
// least convMinRows), which pack the same columns twice. The direct and
// depthwise algorithms split over output channels, at least
// convMinDirectWork multiply-adds a piece.
const (
	convMaxCols       = 256
	convMinCols       = 32
	convMinTasks      = 8
	convMinRows       = 16
	convMinDirectWork = 1 << 16
)

// convCheck checks k's fields on their own: positive sizes within
// ir.MaxElements, an output size the geometry gives, a group dividing the
// channels, a well-formed activation and the algorithm's preconditions.
func convCheck(k *Conv2D) error {
	for _, f := range []struct {
		name string
		v    int
	}{
		{"N", k.N}, {"C", k.C}, {"H", k.H}, {"W", k.W}, {"M", k.M}, {"OH", k.OH}, {"OW", k.OW},
		{"KH", k.KH}, {"KW", k.KW}, {"SH", k.SH}, {"SW", k.SW}, {"DH", k.DH}, {"DW", k.DW}, {"Group", k.Group},
	} {
		if f.v < 1 || f.v > ir.MaxElements {
			return ir.Invalidf("conv2d: %s = %d, want 1..%d", f.name, f.v, ir.MaxElements)
		}
	}
	if k.PadT < 0 || k.PadT > ir.MaxElements || k.PadL < 0 || k.PadL > ir.MaxElements {
		return ir.Invalidf("conv2d: pads (top %d, left %d), want 0..%d", k.PadT, k.PadL, ir.MaxElements)
	}
	if k.C%k.Group != 0 || k.M%k.Group != 0 {
		return ir.Invalidf("conv2d: group %d does not divide C = %d and M = %d", k.Group, k.C, k.M)
	}
	if err := k.Act.Check(); err != nil {
		return err
	}
	for _, s := range [][]int{{k.N, k.C, k.H, k.W}, {k.N, k.M, k.OH, k.OW}, {k.M, k.C / k.Group, k.KH, k.KW}} {
		if convProduct(s...) < 0 {
			return ir.Invalidf("conv2d: a tensor of shape %v has more than %d elements", s, ir.MaxElements)
		}
	}
	if err := convCheckAxis("height", k.H, k.OH, k.KH, k.SH, k.DH, k.PadT); err != nil {
		return err
	}
	if err := convCheckAxis("width", k.W, k.OW, k.KW, k.SW, k.DW, k.PadL); err != nil {
		return err
	}
	switch k.Algo {
	case ir.AlgoDirect, ir.AlgoIm2col, ir.AlgoWinograd2, ir.AlgoWinograd4:
	case ir.AlgoOCBlock:
		if k.SW > implicitMaxPhase {
			return ir.Invalidf("conv2d: ocblock needs a stride of at most %d along the width, got %d", implicitMaxPhase, k.SW)
		}
		if ocBlock*k.OH*k.OW > 1<<31-1 {
			return ir.Invalidf("conv2d: ocblock needs output planes under %d positions, got %dx%d", (1<<31-1)/ocBlock, k.OH, k.OW)
		}
	case ir.AlgoGEMM1x1:
		if k.KH != 1 || k.KW != 1 || k.SH != 1 || k.SW != 1 || k.PadT != 0 || k.PadL != 0 {
			return ir.Invalidf("conv2d: gemm1x1 needs a 1x1 kernel, unit strides and no padding, got kernel %dx%d, strides %dx%d, pads (%d, %d)",
				k.KH, k.KW, k.SH, k.SW, k.PadT, k.PadL)
		}
	case ir.AlgoDepthwise:
		if k.Group != k.C || k.Group != k.M {
			return ir.Invalidf("conv2d: depthwise needs Group == C == M, got group %d, C %d, M %d", k.Group, k.C, k.M)
		}
	default:
		return ir.Invalidf("conv2d: algorithm %v is not one a kernel runs", k.Algo)
	}
	return nil
}

// convCheckAxis checks that out is the output size of one spatial axis:
// the size ir.ConvOutputSize gives for the least end padding that makes
// the last window fit.
func convCheckAxis(axis string, in, out, kernel, stride, dilation, padBegin int) error {
	reach := (out-1)*stride + (kernel-1)*dilation + 1 // padded extent the windows span
	padEnd := max(reach-in-padBegin, 0)
	if padEnd > ir.MaxElements || ir.ConvOutputSize(in, kernel, stride, dilation, padBegin, padEnd) != out {
		return ir.Invalidf("conv2d: output %s %d does not follow from input %d, kernel %d, stride %d, dilation %d and begin pad %d",
			axis, out, in, kernel, stride, dilation, padBegin)
	}
	return nil
}

// convProduct returns the product of dims, or -1 when it exceeds
// ir.MaxElements or a dimension is negative.
func convProduct(dims ...int) int {
	n := 1
	for _, d := range dims {
		if d < 0 || (d != 0 && n > ir.MaxElements/d) {
			return -1
		}
		n *= d
	}
	return n
}

// PackedConvLen returns the length of k's packed weights (see
// PackConvWeights), or 0 when k's fields are invalid.
func PackedConvLen(k *Conv2D) int {
	if convCheck(k) != nil {
		return 0
	}
	cg, mg := k.C/k.Group, k.M/k.Group
	switch k.Algo {
	case ir.AlgoGEMM1x1, ir.AlgoIm2col:
		return k.Group * packedALen(mg, cg*k.KH*k.KW)
	case ir.AlgoWinograd2, ir.AlgoWinograd4:
		return winogradPackedLen(k)
	case ir.AlgoOCBlock:
		return k.Group * ocPackedLen(mg, cg*k.KH*k.KW)
	}
	return k.M * cg * k.KH * k.KW
}

// PackConvWeights returns W [M, C/Group, KH, KW] (row-major) in the layout
// k's Algo reads: for AlgoGEMM1x1 and AlgoIm2col each group's M/Group ×
// (C/Group·KH·KW) matrix packed by packA, one after the other; for
// AlgoDirect and AlgoDepthwise W unchanged; for the Winograd algorithms
// the transformed filters; for AlgoOCBlock each group's blocks of 32
// output channels as [tap][32] (packOC). It fails when k is invalid or w's length
// disagrees with it.
func PackConvWeights(k *Conv2D, w []float32) ([]float32, error) {
	if err := convCheck(k); err != nil {
		return nil, err
	}
	out := make([]float32, PackedConvLen(k))
	if err := packConvInto(k, out, w); err != nil {
		return nil, err
	}
	return out, nil
}

// packConvInto writes PackConvWeights(k, w) into dst (PackedConvLen(k)
// floats); it allocates nothing but a Winograd plan.
func packConvInto(k *Conv2D, dst, w []float32) error {
	wg, err := packConvCheck(k, dst, w)
	if err != nil {
		return err
	}
	per := k.M / k.Group * (k.C / k.Group) * k.KH * k.KW
	for g := 0; g < k.Group; g++ {
		packConvRows(k, wg, dst, w[g*per:(g+1)*per], g, 0, k.M/k.Group)
	}
	return nil
}

// packConvCheck checks the lengths of w and the packed dst for k, and
// returns k's Winograd plan if it has one.
func packConvCheck(k *Conv2D, dst, w []float32) (*wgPlan, error) {
	cg := k.C / k.Group
	if want := k.M * cg * k.KH * k.KW; len(w) != want {
		return nil, ir.Invalidf("conv2d: weights have %d elements, want %d (%d×%d×%d×%d)", len(w), want, k.M, cg, k.KH, k.KW)
	}
	if len(dst) != PackedConvLen(k) {
		return nil, ir.Invalidf("conv2d: packed weights have %d elements, want %d", len(dst), PackedConvLen(k))
	}
	if k.Algo != ir.AlgoWinograd2 && k.Algo != ir.AlgoWinograd4 {
		return nil, nil
	}
	wg, err := newWGPlan(k)
	if err != nil {
		return nil, err
	}
	return wg, wg.checkPack(dst, w)
}

// packConvUnit returns the output channels of a panel of k's packed
// layout: packConvRows packs whole panels.
func packConvUnit(k *Conv2D) int {
	switch k.Algo {
	case ir.AlgoGEMM1x1, ir.AlgoIm2col, ir.AlgoWinograd2, ir.AlgoWinograd4:
		return gemmMR
	case ir.AlgoOCBlock:
		return ocBlock
	}
	return 1
}

// packConvRows packs rows [r0, r1) of group g's filters, src (r0 a
// multiple of packConvUnit(k), r1 one too or the group's last), into
// their place in dst, the whole packed weights; wg is k's Winograd plan,
// if any. Calls for disjoint rows write disjoint elements.
func packConvRows(k *Conv2D, wg *wgPlan, dst, src []float32, g, r0, r1 int) {
	mg := k.M / k.Group
	kk := k.C / k.Group * k.KH * k.KW
	src = src[:(r1-r0)*kk]
	switch k.Algo {
	case ir.AlgoGEMM1x1, ir.AlgoIm2col:
		at := g*packedALen(mg, kk) + r0*kk
		packA(dst[at:at+packedALen(r1-r0, kk)], src, r1-r0, kk, kk, 1)
	case ir.AlgoWinograd2, ir.AlgoWinograd4:
		wg.packRows(dst, src, r0, r1)
	case ir.AlgoOCBlock:
		at := g*ocPackedLen(mg, kk) + r0*kk
		packOC(dst[at:at+ocPackedLen(r1-r0, kk)], src, r1-r0, kk)
	default:
		copy(dst[(g*mg+r0)*kk:], src)
	}
}

// Bind implements Kernel. in is X, the packed W, the optional B and the
// optional Z; out is Y.
func (k *Conv2D) Bind(in, out []*ir.Tensor) (Task, error) {
	if err := convCheck(k); err != nil {
		return nil, err
	}
	if len(in) < 2 || len(in) > 4 || len(out) != 1 {
		return nil, ir.Invalidf("conv2d: %d inputs and %d outputs, want 2..4 and 1", len(in), len(out))
	}
	if k.Algo == ir.AlgoWinograd2 || k.Algo == ir.AlgoWinograd4 {
		if _, err := newWGPlan(k); err != nil {
			return nil, err // says why Winograd cannot compute k
		}
	}
	outLen := k.N * k.M * k.OH * k.OW
	x, err := convOperand("conv2d", "X", in[0], k.N*k.C*k.H*k.W, false)
	if err != nil {
		return nil, err
	}
	w, err := convOperand("conv2d", "packed W", in[1], PackedConvLen(k), false)
	if err != nil {
		return nil, err
	}
	var bias, z []float32
	if len(in) > 2 {
		if bias, err = convOperand("conv2d", "B", in[2], k.M, true); err != nil {
			return nil, err
		}
	}
	if len(in) > 3 {
		if z, err = convOperand("conv2d", "Z", in[3], outLen, true); err != nil {
			return nil, err
		}
	}
	y, err := convOperand("conv2d", "Y", out[0], outLen, false)
	if err != nil {
		return nil, err
	}
	switch k.Algo {
	case ir.AlgoGEMM1x1, ir.AlgoIm2col:
		t := newConvGemm(k, x, w, bias, z, y)
		if k.Algo == ir.AlgoIm2col {
			if im := newConvImplicit(t); im != nil {
				return im, nil
			}
		}
		return t, nil
	case ir.AlgoDepthwise:
		return newConvDepthwise(k, x, w, bias, z, y), nil
	case ir.AlgoWinograd2, ir.AlgoWinograd4:
		return bindWinograd(k, x, w, bias, z, y)
	case ir.AlgoOCBlock:
		return newConvOCBlock(k, x, w, bias, z, y)
	}
	return newConvDirect(k, x, w, bias, z, y), nil
}

// convOperand returns the float32 data of t, checking that it holds want
// elements. An omitted (nil) t gives nil when optional is set.
func convOperand(kernel, name string, t *ir.Tensor, want int, optional bool) ([]float32, error) {
	if t == nil {
		if optional {
			return nil, nil
		}
		return nil, ir.Invalidf("%s: operand %s is missing", kernel, name)
	}
	if t.DType != ir.Float32 {
		return nil, ir.Invalidf("%s: operand %s has type %v, want float32", kernel, name, t.DType)
	}
	if len(t.F32) != want {
		return nil, ir.Invalidf("%s: operand %s has %d elements, want %d", kernel, name, len(t.F32), want)
	}
	return t.F32, nil
}

// convSplit returns how to cut n items into pieces of at least minSize
// (except when n itself is smaller) so that there are about want pieces:
// the piece size, a multiple of unit, and the number of pieces.
func convSplit(n, want, minSize, unit int) (size, pieces int) {
	pieces = max(1, min(want, n/max(minSize, 1)))
	size = gemmRoundUp((n+pieces-1)/pieces, unit)
	return size, (n + size - 1) / size
}
