package reference

import "github.com/cnnc/cnnc/ir"

// broadcastIndex returns, for every element of an output of shape out, the
// flat index of the element of an input of shape in that numpy broadcasting
// maps to it.
func broadcastIndex(in, out ir.Shape) []int {
	n := out.NumElements()
	idx := make([]int, n)
	inStr := in.Strides()
	// Effective stride per output dimension: 0 where the input broadcasts.
	str := make([]int, len(out))
	for i := range out {
		j := i - (len(out) - len(in))
		if j >= 0 && in[j] != 1 {
			str[i] = inStr[j]
		}
	}
	pos := make([]int, len(out))
	off := 0
	for k := 0; k < n; k++ {
		idx[k] = off
		for d := len(out) - 1; d >= 0; d-- {
			pos[d]++
			off += str[d]
			if pos[d] < out[d] {
				break
			}
			off -= str[d] * pos[d]
			pos[d] = 0
		}
	}
	return idx
}

// broadcast2 computes y = f(a, b) element-wise with numpy broadcasting of
// float32 a and b to y's shape.
func broadcast2(a, b, y *ir.Tensor, f func(a, b float64) float64) error {
	ia, ib := broadcastIndex(a.Shape, y.Shape), broadcastIndex(b.Shape, y.Shape)
	for k := range y.F32 {
		y.F32[k] = float32(f(float64(a.F32[ia[k]]), float64(b.F32[ib[k]])))
	}
	return nil
}
