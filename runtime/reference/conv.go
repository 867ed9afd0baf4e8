package reference

import (
	"math"

	"github.com/cnnc/cnnc/ir"
)

// convKernel implements the conv family: convolutions, pooling and the
// normalizations. The sliding-window kernels walk every output position,
// list the input positions its window reads (windowOffsets), and loop over
// batch and channels; any number of spatial axes works.
func convKernel(op ir.Op) kernel {
	switch op.(type) {
	case *ir.Conv:
		return conv
	case *ir.ConvTranspose:
		return convTranspose
	case *ir.MaxPool:
		return maxPool
	case *ir.AveragePool:
		return averagePool
	case *ir.GlobalAveragePool:
		return globalPool(false)
	case *ir.GlobalMaxPool:
		return globalPool(true)
	case *ir.BatchNormalization:
		return batchNorm
	case *ir.LRN:
		return lrn
	}
	return nil
}

// convProduct returns the product of dims (1 for none).
func convProduct(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

// convNext advances the row-major multi-index pos over dims and reports
// whether it did not wrap around.
func convNext(pos, dims []int) bool {
	for i := len(pos) - 1; i >= 0; i-- {
		pos[i]++
		if pos[i] < dims[i] {
			return true
		}
		pos[i] = 0
	}
	return false
}

// Markers of windowOffsets for kernel positions that read no input element.
const (
	inPadding = -1 // in the padding around the input
	pastPad   = -2 // past the padded input (a ceil_mode window's overhang)
)

// windowOffsets fills offs, one entry per kernel position in row-major
// order, with the row-major offset within one spatial plane of the input
// element that output position o reads there, or inPadding, or pastPad.
// kpos is scratch of one entry per spatial axis.
func windowOffsets(g ir.Window, o, kpos, offs []int) {
	clear(kpos)
	for k := range offs {
		off, mark := 0, 0
		for i := range o {
			c := o[i]*g.Strides[i] - g.PadBegin[i] + kpos[i]*g.Dilations[i]
			switch {
			case c >= g.In[i]+g.PadEnd[i]:
				mark = pastPad
			case c < 0 || c >= g.In[i]:
				if mark == 0 {
					mark = inPadding
				}
			}
			off = off*g.In[i] + c
		}
		if mark != 0 {
			off = mark
		}
		offs[k] = off
		convNext(kpos, g.Kernel)
	}
}

// conv computes Y = B + X ⋆ W over each output position's window.
func conv(op ir.Op, in, out []*ir.Tensor) error {
	c := op.(*ir.Conv)
	x, w, y := in[0], in[1], out[0]
	g, err := c.Geometry(x.Shape, w.Shape)
	if err != nil {
		return err
	}
	var bias []float32
	if len(in) > 2 && in[2] != nil {
		bias = in[2].F32
	}
	batch, ch, m := x.Shape[0], x.Shape[1], w.Shape[0]
	cg, mg := ch/c.Group, m/c.Group
	inSize, outSize, kSize := convProduct(g.In), convProduct(g.Out), convProduct(g.Kernel)
	// Output channels are split among CPUs; each computes its channels at
	// every position exactly as the sequential loop would.
	parallelFor(m, func(ocLo, ocHi int) {
		o, kpos, offs := make([]int, len(g.Out)), make([]int, len(g.Out)), make([]int, kSize)
		var taps []convTap
		for p := 0; p < outSize; p++ {
			windowOffsets(g, o, kpos, offs)
			taps = taps[:0]
			for k, j := range offs {
				if j >= 0 {
					taps = append(taps, convTap{k, j})
				}
			}
			for n := 0; n < batch; n++ {
				for oc := ocLo; oc < ocHi; oc++ {
					sum := 0.0
					if bias != nil {
						sum = float64(bias[oc])
					}
					first := oc / mg * cg // first input channel of oc's group
					for ic := 0; ic < cg; ic++ {
						xp := x.F32[(n*ch+first+ic)*inSize:][:inSize]
						wp := w.F32[(oc*cg+ic)*kSize:][:kSize]
						for _, t := range taps {
							sum += float64(xp[t.in]) * float64(wp[t.k])
						}
					}
					y.F32[(n*m+oc)*outSize+p] = float32(sum)
				}
			}
			convNext(o, g.Out)
		}
	})
	return nil
}

// convTap is a kernel position k of a window that reads the input element
// at offset in of a spatial plane.
type convTap struct{ k, in int }

// convTranspose scatters every input element, times the kernel, into the
// output positions it reaches.
func convTranspose(op ir.Op, in, out []*ir.Tensor) error {
	c := op.(*ir.ConvTranspose)
	x, w, y := in[0], in[1], out[0]
	g, err := c.Geometry(x.Shape, w.Shape)
	if err != nil {
		return err
	}
	batch, ch := x.Shape[0], x.Shape[1]
	cg, mg := ch/c.Group, w.Shape[1]
	m := mg * c.Group
	inSize, outSize, kSize := convProduct(g.In), convProduct(g.Out), convProduct(g.Kernel)
	acc := make([]float64, len(y.F32))
	if len(in) > 2 && in[2] != nil {
		for i := range acc {
			acc[i] = float64(in[2].F32[i/outSize%m])
		}
	}
	p, kpos, offs := make([]int, len(g.In)), make([]int, len(g.In)), make([]int, kSize)
	for pi := 0; pi < inSize; pi++ {
		// offs[k]: the output offset input position p reaches with kernel
		// position k, or -1 when it falls outside Y.
		clear(kpos)
		for k := range offs {
			off := 0
			for i := range p {
				o := p[i]*g.Strides[i] - g.PadBegin[i] + kpos[i]*g.Dilations[i]
				if off < 0 || o < 0 || o >= g.Out[i] {
					off = -1
					continue
				}
				off = off*g.Out[i] + o
			}
			offs[k] = off
			convNext(kpos, g.Kernel)
		}
		for n := 0; n < batch; n++ {
			for ic := 0; ic < ch; ic++ {
				xv := float64(x.F32[(n*ch+ic)*inSize+pi])
				first := ic / cg * mg // first output channel of ic's group
				for oc := 0; oc < mg; oc++ {
					wb := (ic*mg + oc) * kSize
					yb := (n*m + first + oc) * outSize
					for k, j := range offs {
						if j >= 0 {
							acc[yb+j] += xv * float64(w.F32[wb+k])
						}
					}
				}
			}
		}
		convNext(p, g.In)
	}
	for i, v := range acc {
		y.F32[i] = float32(v)
	}
	return nil
}

// maxPool takes the maximum of each window's elements inside X, and with
// Indices records where the first maximum is.
func maxPool(op ir.Op, in, out []*ir.Tensor) error {
	mp := op.(*ir.MaxPool)
	x, y := in[0], out[0]
	g, err := mp.Geometry(x.Shape)
	if err != nil {
		return err
	}
	var idx *ir.Tensor // allocated by the interpreter as Infer said: int64
	if mp.Indices {
		idx = out[1]
	}
	planes := x.Shape[0] * x.Shape[1]
	inSize, outSize, kSize := convProduct(g.In), convProduct(g.Out), convProduct(g.Kernel)
	o, kpos, offs := make([]int, len(g.Out)), make([]int, len(g.Out)), make([]int, kSize)
	for p := 0; p < outSize; p++ {
		windowOffsets(g, o, kpos, offs)
		for nc := 0; nc < planes; nc++ {
			best, at := math.Inf(-1), -1
			for _, j := range offs {
				if j < 0 {
					continue
				}
				v := float64(x.F32[nc*inSize+j])
				if at < 0 || v > best || (math.IsNaN(v) && !math.IsNaN(best)) {
					best, at = v, j
				}
			}
			y.F32[nc*outSize+p] = float32(best)
			if idx != nil {
				i := int64(-1)
				if at >= 0 {
					i = int64(nc*inSize + storageIndex(at, g.In, mp.StorageOrder))
				}
				idx.I64[nc*outSize+p] = i
			}
		}
		convNext(o, g.Out)
	}
	return nil
}

// storageIndex converts a row-major offset within a plane of dims into the
// offset under ONNX storage_order: 0 row major (unchanged), 1 column major.
func storageIndex(off int, dims []int, order int) int {
	if order == 0 {
		return off
	}
	col, stride := 0, 1
	// Decompose the row-major offset into coordinates, then recombine
	// them with the first axis varying fastest.
	coord := make([]int, len(dims))
	for i := len(dims) - 1; i >= 0; i-- {
		coord[i] = off % dims[i]
		off /= dims[i]
	}
	for i := range dims {
		col += coord[i] * stride
		stride *= dims[i]
	}
	return col
}

// averagePool divides each window's sum by the count of elements inside X
// (and, with CountIncludePad, in the padding).
func averagePool(op ir.Op, in, out []*ir.Tensor) error {
	ap := op.(*ir.AveragePool)
	x, y := in[0], out[0]
	g, err := ap.Geometry(x.Shape)
	if err != nil {
		return err
	}
	planes := x.Shape[0] * x.Shape[1]
	inSize, outSize, kSize := convProduct(g.In), convProduct(g.Out), convProduct(g.Kernel)
	o, kpos, offs := make([]int, len(g.Out)), make([]int, len(g.Out)), make([]int, kSize)
	for p := 0; p < outSize; p++ {
		windowOffsets(g, o, kpos, offs)
		count := 0
		for _, j := range offs {
			if j >= 0 || (j == inPadding && ap.CountIncludePad) {
				count++
			}
		}
		for nc := 0; nc < planes; nc++ {
			sum := 0.0
			for _, j := range offs {
				if j >= 0 {
					sum += float64(x.F32[nc*inSize+j])
				}
			}
			if count > 0 {
				sum /= float64(count)
			}
			y.F32[nc*outSize+p] = float32(sum)
		}
		convNext(o, g.Out)
	}
	return nil
}

// globalPool makes the kernel of GlobalMaxPool (isMax) or
// GlobalAveragePool: one value per (n, c) plane.
func globalPool(isMax bool) kernel {
	return func(_ ir.Op, in, out []*ir.Tensor) error {
		x, y := in[0], out[0]
		planes := len(y.F32)
		size := convProduct(x.Shape[2:])
		for nc := 0; nc < planes; nc++ {
			plane := x.F32[nc*size : (nc+1)*size]
			if isMax {
				best := math.Inf(-1)
				for i, v := range plane {
					if i == 0 || float64(v) > best || (math.IsNaN(float64(v)) && !math.IsNaN(best)) {
						best = float64(v)
					}
				}
				y.F32[nc] = float32(best)
				continue
			}
			sum := 0.0
			for _, v := range plane {
				sum += float64(v)
			}
			y.F32[nc] = float32(sum / float64(size))
		}
		return nil
	}
}

// batchNorm normalizes each channel with its given statistics.
func batchNorm(op ir.Op, in, out []*ir.Tensor) error {
	eps := float64(op.(*ir.BatchNormalization).Epsilon)
	x, y := in[0], out[0]
	scale, bias, mean, variance := in[1].F32, in[2].F32, in[3].F32, in[4].F32
	ch := x.Shape[1]
	size := convProduct(x.Shape[2:])
	for i := 0; i < len(x.F32); i += size {
		c := i / size % ch
		s := float64(scale[c]) / math.Sqrt(float64(variance[c])+eps)
		m, b := float64(mean[c]), float64(bias[c])
		for j := i; j < i+size; j++ {
			y.F32[j] = float32((float64(x.F32[j])-m)*s + b)
		}
	}
	return nil
}

// lrn normalizes each element by the sum of squares over a window of
// neighboring channels.
func lrn(op ir.Op, in, out []*ir.Tensor) error {
	l := op.(*ir.LRN)
	x, y := in[0], out[0]
	batch, ch := x.Shape[0], x.Shape[1]
	size := convProduct(x.Shape[2:])
	before := (l.Size - 1) / 2
	after := l.Size - 1 - before
	alpha, beta, bias := float64(l.Alpha)/float64(l.Size), float64(l.Beta), float64(l.Bias)
	for n := 0; n < batch; n++ {
		for c := 0; c < ch; c++ {
			lo, hi := max(0, c-before), min(ch-1, c+after)
			for p := 0; p < size; p++ {
				sum := 0.0
				for cc := lo; cc <= hi; cc++ {
					v := float64(x.F32[(n*ch+cc)*size+p])
					sum += v * v
				}
				i := (n*ch+c)*size + p
				y.F32[i] = float32(float64(x.F32[i]) / math.Pow(bias+alpha*sum, beta))
			}
		}
	}
	return nil
}
