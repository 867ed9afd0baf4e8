package codegen

import (
	"encoding/binary"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

func TestWeightSection(t *testing.T) {
	w := newWeightSection()
	a, err := w.addTensor(ir.FromFloat32(ir.Shape{3}, []float32{1, 2, 3}))
	if err != nil {
		t.Fatal(err)
	}
	bo, _ := w.addTensor(&ir.Tensor{DType: ir.Bool, Shape: ir.Shape{3}, Bool: []bool{true, false, true}})
	i32, _ := w.addTensor(&ir.Tensor{DType: ir.Int32, Shape: ir.Shape{2}, I32: []int32{-1, 7}})
	again := w.addFloat32([]float32{1, 2, 3})
	empty := w.addFloat32(nil)
	b := w.bytes()
	if a != 0 || bo != 64 || i32 != 128 || again != a || empty%operandAlign != 0 {
		t.Errorf("offsets %d %d %d %d %d, want 0 64 128 0 and an aligned one", a, bo, i32, again, empty)
	}
	if len(b) != 192 {
		t.Errorf("section of %d bytes, want 192", len(b))
	}
	if got := b[64:68]; got[0] != 1 || got[1] != 0 || got[2] != 1 || got[3] != 0 {
		t.Errorf("bools stored as %v", got)
	}
	if got := int32(binary.LittleEndian.Uint32(b[128:])); got != -1 {
		t.Errorf("int32 stored as %d", got)
	}
	for i := 12; i < 64; i++ {
		if b[i] != 0 {
			t.Fatalf("padding byte %d is %d, want 0", i, b[i])
		}
	}
	if _, err := w.addTensor(&ir.Tensor{DType: ir.Float32, Shape: ir.Shape{4}, F32: []float32{1}}); err == nil {
		t.Errorf("a tensor with too few elements was stored")
	}
}
