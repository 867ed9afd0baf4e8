package codegen

import (
	"encoding/binary"
	"math"
	"reflect"

	"github.com/cnnc/cnnc/ir"
)

// reader decodes the metadata. The first error sticks: later reads return
// zero values and counts 0, so loops end quickly.
type reader struct {
	b   []byte
	err error
}

func (r *reader) failf(format string, args ...any) {
	if r.err == nil {
		r.err = ir.Invalidf(format, args...)
	}
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.failf("metadata ends early")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		if n == 0 {
			r.failf("metadata ends early")
		} else {
			r.failf("metadata: integer overflows 64 bits")
		}
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) int() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		if n == 0 {
			r.failf("metadata ends early")
		} else {
			r.failf("metadata: integer overflows 64 bits")
		}
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a length of elements that each take at least size bytes,
// refusing one the rest of the metadata cannot hold.
func (r *reader) count(size int) int {
	v := r.uint()
	if v > uint64(len(r.b)/size) {
		r.failf("metadata: a count of %d, more than the %d bytes left can hold", v, len(r.b))
		return 0
	}
	return int(v)
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.failf("metadata ends early")
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

func (r *reader) string() string { return string(r.bytes(r.count(1))) }

func (r *reader) bool() bool {
	switch c := r.byte(); c {
	case 0:
		return false
	case 1:
		return true
	default:
		r.failf("metadata: boolean byte %d, want 0 or 1", c)
		return false
	}
}

func (r *reader) float32() float32 {
	b := r.bytes(4)
	if b == nil {
		return 0
	}
	return math.Float32frombits(binary.LittleEndian.Uint32(b))
}

// shape reads a shape, nil or of any dimensions.
func (r *reader) shape() ir.Shape {
	n := r.count(1)
	if n == 0 {
		return nil
	}
	if n-1 > maxRank {
		r.failf("metadata: a shape of rank %d, more than %d", n-1, maxRank)
		return nil
	}
	s := make(ir.Shape, n-1)
	for i := range s {
		d := r.int()
		if d < math.MinInt || d > math.MaxInt {
			r.failf("metadata: dimension %d overflows int", d)
			return nil
		}
		s[i] = int(d) // checkPlan checks operands', tensor checks tensors'
	}
	return s
}

func (r *reader) operands() []Operand {
	n := r.count(5)
	if n == 0 {
		return nil
	}
	os := make([]Operand, n)
	for i := range os {
		o := &os[i]
		o.Name = r.string()
		o.DType = ir.DType(r.byte())
		o.Loc = Loc(r.byte())
		o.Shape = r.shape()
		o.Offset = r.int()
	}
	return os
}

// fileType is an entry of a file's type table: a struct type as the
// writer stored it.
type fileType struct {
	name   string
	fields []fileField
	// bound is the Go schema this entry was matched to, on first use.
	bound *schema
	// goField[i] is the Go field file field i fills.
	goField []*field
}

type fileField struct {
	name string
	kind fieldKind
	elem int // the struct's type index, for kindStruct
}

// decoder reads the body of the metadata against the file's type table.
type decoder struct {
	*reader
	c     *codec
	types []fileType
}

func decodeMetadata(b []byte) (*Plan, error) {
	c, err := theCodec()
	if err != nil {
		return nil, err
	}
	d := &decoder{reader: &reader{b: b}, c: c}
	d.string() // the producer
	p := &Plan{Name: d.string()}
	n := d.count(2)
	if n > len(c.schemas) {
		d.failf("metadata: a type table of %d types, more than the %d this build knows (file from a newer cnnc?)", n, len(c.schemas))
		n = 0
	}
	d.types = make([]fileType, n)
	names := map[string]bool{}
	for i := range d.types {
		t := &d.types[i]
		t.name = d.string()
		if names[t.name] && d.err == nil {
			d.failf("metadata: type %q twice in the type table", t.name)
		}
		names[t.name] = true
		nf := d.count(2)
		if nf > maxFields {
			d.failf("metadata: type %s has %d fields, more than %d", t.name, nf, maxFields)
			nf = 0
		}
		t.fields = make([]fileField, nf)
		fnames := map[string]bool{}
		for j := range t.fields {
			f := &t.fields[j]
			f.name = d.string()
			f.kind = fieldKind(d.byte())
			if f.kind == kindStruct {
				f.elem = int(min(d.uint(), uint64(len(d.types))))
			}
			switch {
			case d.err != nil:
			case f.kind == 0 || f.kind >= kindLast:
				d.failf("metadata: type %s field %s has unknown kind %d", t.name, f.name, f.kind)
			case f.kind == kindStruct && f.elem >= len(d.types):
				d.failf("metadata: type %s field %s refers to type %d of %d", t.name, f.name, f.elem, len(d.types))
			case fnames[f.name]:
				d.failf("metadata: type %s has field %s twice", t.name, f.name)
			}
			fnames[f.name] = true
		}
	}
	p.ArenaSize = d.int()
	p.Memory = MemoryStats{Arena: d.int(), NoSharing: d.int(), LowerBound: d.int()}
	p.Inputs = d.operands()
	p.Outputs = d.operands()
	if n := d.count(5); n > 0 {
		p.Steps = make([]Step, n)
	}
	for i := range p.Steps {
		s := &p.Steps[i]
		s.Node = d.string()
		s.Op = d.string()
		d.iface(reflect.ValueOf(&s.Kernel).Elem(), 0)
		s.In = d.operands()
		s.Out = d.operands()
		if d.err != nil {
			return nil, ir.Prefix(d.err, "step %d (node %q, %s)", i, s.Node, s.Op)
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, ir.Invalidf("metadata: %d bytes left after the last step", len(d.b))
	}
	return p, nil
}

// bind matches file type i to the Go struct type want, once: each file
// field must be a field of want of the same kind.
func (d *decoder) bind(i int, want *schema) *fileType {
	t := &d.types[i]
	if t.bound == want {
		return t
	}
	if t.bound != nil || t.name != want.name {
		d.failf("metadata: file type %q stored where a %s belongs", t.name, want.name)
		return nil
	}
	t.goField = make([]*field, len(t.fields))
	for j, f := range t.fields {
		k, ok := want.byName[f.name]
		if !ok {
			d.failf("metadata: %s has a field %s this build does not know (file from a newer cnnc?)", t.name, f.name)
			return nil
		}
		g := &want.fields[k]
		if g.kind != f.kind {
			d.failf("metadata: %s.%s is stored as kind %d, this build has kind %d", t.name, f.name, f.kind, g.kind)
			return nil
		}
		t.goField[j] = g
	}
	t.bound = want
	return t
}

// iface decodes into the interface v a registered type that implements
// v's interface type.
func (d *decoder) iface(v reflect.Value, depth int) {
	i := d.uint()
	if i == 0 || d.err != nil {
		return
	}
	if i > uint64(len(d.types)) {
		d.failf("metadata: type index %d, the table has %d", i-1, len(d.types))
		return
	}
	name := d.types[i-1].name
	s := d.c.byName[name]
	if s == nil {
		d.failf("metadata: unknown type %q (file from a newer cnnc?)", name)
		return
	}
	pt := reflect.PointerTo(s.typ)
	if !pt.Implements(v.Type()) {
		d.failf("metadata: a %s stored where a %v belongs", name, v.Type())
		return
	}
	p := reflect.New(s.typ)
	d.structValue(int(i-1), s, p.Elem(), depth+1)
	if d.err == nil {
		v.Set(p)
	}
}

func (d *decoder) structValue(i int, s *schema, v reflect.Value, depth int) {
	if depth > maxDepth {
		d.failf("metadata: structs nested deeper than %d", maxDepth)
		return
	}
	t := d.bind(i, s)
	if t == nil {
		return
	}
	for j, ff := range t.fields {
		if d.err != nil {
			return
		}
		g := t.goField[j]
		fv := v.Field(g.index)
		switch g.kind {
		case kindInt:
			x := d.int()
			if fv.OverflowInt(x) {
				d.failf("metadata: %s.%s = %d overflows %v", s.name, g.name, x, g.typ)
				return
			}
			fv.SetInt(x)
		case kindUint:
			x := d.uint()
			if fv.OverflowUint(x) {
				d.failf("metadata: %s.%s = %d overflows %v", s.name, g.name, x, g.typ)
				return
			}
			fv.SetUint(x)
		case kindBool:
			fv.SetBool(d.bool())
		case kindFloat32:
			fv.SetFloat(float64(d.float32()))
		case kindInts:
			n := d.count(1)
			if n == 0 {
				break
			}
			xs := reflect.MakeSlice(g.typ, n-1, n-1)
			for k := range n - 1 {
				x := d.int()
				if xs.Index(k).OverflowInt(x) {
					d.failf("metadata: %s.%s[%d] = %d overflows int", s.name, g.name, k, x)
					return
				}
				xs.Index(k).SetInt(x)
			}
			fv.Set(xs)
		case kindStruct:
			d.structValue(ff.elem, d.c.schemas[g.typ], fv, depth+1)
		case kindTensor:
			if t := d.tensor(); t != nil {
				fv.Set(reflect.ValueOf(t))
			}
		case kindIface:
			d.iface(fv, depth)
		}
	}
}

// tensor reads a *ir.Tensor, nil or of a real dtype and known shape with
// at most ir.MaxElements elements, all present.
func (d *decoder) tensor() *ir.Tensor {
	switch c := d.byte(); c {
	case 0:
		return nil
	case 1:
	default:
		d.failf("metadata: tensor tag %d, want 0 or 1", c)
		return nil
	}
	dt := ir.DType(d.byte())
	shape := d.shape()
	if d.err != nil {
		return nil
	}
	size := dt.Size()
	n := shape.NumElements()
	switch {
	case size == 0:
		d.failf("metadata: tensor of element type %v", dt)
		return nil
	case shape == nil:
		d.failf("metadata: tensor of unknown rank")
		return nil
	case n < 0:
		d.failf("metadata: tensor shape %v, want known dimensions and at most %d elements", shape, ir.MaxElements)
		return nil
	case n > len(d.b)/size:
		d.failf("metadata: tensor %v needs %d bytes, %d are left", ir.Type{DType: dt, Shape: shape}, n*size, len(d.b))
		return nil
	}
	t := &ir.Tensor{DType: dt, Shape: shape}
	b := d.bytes(n * size)
	switch dt {
	case ir.Float32:
		t.F32 = make([]float32, n)
		for i := range t.F32 {
			t.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case ir.Int64:
		t.I64 = make([]int64, n)
		for i := range t.I64 {
			t.I64[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
	case ir.Int32:
		t.I32 = make([]int32, n)
		for i := range t.I32 {
			t.I32[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case ir.Bool:
		t.Bool = make([]bool, n)
		for i, c := range b {
			if c > 1 {
				d.failf("metadata: boolean element %d, want 0 or 1", c)
				return nil
			}
			t.Bool[i] = c == 1
		}
	}
	return t
}
