package codegen

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math"
	"unsafe"

	"github.com/cnnc/cnnc/ir"
)

// operandAlign is the alignment in bytes of every operand: each entry of the
// weight section and each arena tensor starts at a multiple of it (a cache
// line, and enough for any SIMD load).
const operandAlign = 64

// alignOperand rounds n up to a multiple of operandAlign.
func alignOperand(n int64) int64 { return (n + operandAlign - 1) &^ (operandAlign - 1) }

// weightSection builds a Plan's weight section: tensors stored one after
// another as little-endian raw elements (float32, int32 and int64 as
// themselves, bool as one byte 0 or 1), each at an operandAlign-ed offset,
// with the bytes between entries zero. Identical contents are stored once,
// whatever their element type or shape.
//
// Entries are kept as they are given (the packing functions return fresh
// slices) and copied once into a section allocated at its final size by
// bytes: growing one buffer entry by entry copied and zeroed resnet50's 100
// MB several times over.
type weightSection struct {
	entries []weightEntry
	size    int64 // end of the last entry
	seed    maphash.Seed
	// byHash maps the hash of an entry's bytes to the indices of the
	// entries with that hash.
	byHash map[uint64][]int
}

// weightEntry is one stored tensor: its raw little-endian bytes, or its
// float32 elements (converted when the section is assembled).
type weightEntry struct {
	off int64
	raw []byte
	f32 []float32
}

// len returns the entry's size in bytes.
func (e *weightEntry) len() int64 {
	if e.f32 != nil {
		return 4 * int64(len(e.f32))
	}
	return int64(len(e.raw))
}

// bytesOf returns the entry's bytes in the section's encoding (a view of
// f32 on a little-endian machine, a converted copy otherwise).
func (e *weightEntry) bytesOf() []byte {
	if e.f32 == nil {
		return e.raw
	}
	if len(e.f32) == 0 {
		return nil
	}
	if nativeLittleEndian {
		return unsafe.Slice((*byte)(unsafe.Pointer(&e.f32[0])), 4*len(e.f32))
	}
	b := make([]byte, 4*len(e.f32))
	for i, f := range e.f32 {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// nativeLittleEndian reports whether this machine stores numbers
// little-endian, as the weight section does.
var nativeLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

func newWeightSection() *weightSection {
	return &weightSection{seed: maphash.MakeSeed(), byHash: map[uint64][]int{}}
}

// addTensor stores t's elements and returns their offset.
func (w *weightSection) addTensor(t *ir.Tensor) (int64, error) {
	n := t.Shape.NumElements()
	if n < 0 || t.Len() != n {
		return 0, ir.Invalidf("constant of shape %v holds %d elements, want %d", t.Shape, t.Len(), n)
	}
	switch t.DType {
	case ir.Float32:
		return w.addFloat32(t.F32), nil
	case ir.Int64:
		b := make([]byte, 8*n)
		for i, v := range t.I64 {
			binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
		}
		return w.add(weightEntry{raw: b}), nil
	case ir.Int32:
		b := make([]byte, 4*n)
		for i, v := range t.I32 {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
		}
		return w.add(weightEntry{raw: b}), nil
	case ir.Bool:
		b := make([]byte, n)
		for i, v := range t.Bool {
			if v {
				b[i] = 1
			}
		}
		return w.add(weightEntry{raw: b}), nil
	}
	return 0, ir.Unsupportedf("constant of element type %v", t.DType)
}

// addFloat32 stores a float32 slice, which the section keeps (the caller
// must not change it), and returns its offset.
func (w *weightSection) addFloat32(v []float32) int64 {
	if v == nil {
		v = []float32{}
	}
	return w.add(weightEntry{f32: v})
}

// add stores e at the next aligned offset and returns it; when an
// identical entry was stored before, it returns that entry's offset
// instead.
func (w *weightSection) add(e weightEntry) int64 {
	b := e.bytesOf()
	h := maphash.Bytes(w.seed, b)
	for _, i := range w.byHash[h] {
		if bytes.Equal(w.entries[i].bytesOf(), b) {
			return w.entries[i].off
		}
	}
	e.off = alignOperand(w.size)
	w.size = e.off + e.len()
	w.byHash[h] = append(w.byHash[h], len(w.entries))
	w.entries = append(w.entries, e)
	return e.off
}

// bytes returns the section, its length a multiple of operandAlign, in
// memory allocated once at that size.
func (w *weightSection) bytes() []byte {
	buf := make([]byte, alignOperand(w.size))
	for i := range w.entries {
		e := &w.entries[i]
		copy(buf[e.off:], e.bytesOf())
	}
	return buf
}
