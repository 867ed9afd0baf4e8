package codegen

import (
	"encoding/binary"
	"math"
	"reflect"
	"strings"
	"sync"

	"github.com/cnnc/cnnc/ir"
)

// The metadata codec.

// fieldKind is the kind of a stored struct field, as the type table records
// it.
type fieldKind uint8

const (
	kindInt     fieldKind = iota + 1 // any signed integer: zigzag varint
	kindUint                         // any unsigned integer (enums): uvarint
	kindBool                         // one byte, 0 or 1
	kindFloat32                      // 4 bytes, the IEEE bits
	kindInts                         // []int: uvarint length+1 (0 is nil), then varints
	kindStruct                       // a struct by value: its fields; the table gives its type
	kindTensor                       // *ir.Tensor: 0 (nil) or 1, dtype, shape, elements
	kindIface                        // an interface: uvarint 0 (nil) or 1+type index, then the struct
	kindLast
)

// schema is how a Go struct type is stored: its name in files and its
// fields, in declaration order.
type schema struct {
	typ    reflect.Type // the struct type
	name   string       // "kernels.Conv2D", "ir.Conv"
	fields []field
	byName map[string]int
}

type field struct {
	name  string
	index int // in typ
	kind  fieldKind
	typ   reflect.Type
}

// codec holds the schemas of fileTypes and of the structs they contain.
type codec struct {
	schemas map[reflect.Type]*schema // by struct type
	byName  map[string]*schema       // the interface-held types, by name
}

var tensorType = reflect.TypeFor[*ir.Tensor]()

// theCodec builds the codec once; an error means a type in fileTypes has
// a field the codec cannot store (TestFileTypesComplete reports it).
var theCodec = sync.OnceValues(func() (*codec, error) {
	c := &codec{schemas: map[reflect.Type]*schema{}, byName: map[string]*schema{}}
	for _, v := range fileTypes {
		t := reflect.TypeOf(v)
		if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
			return nil, ir.Unsupportedf("file type %v is not a pointer to a struct", t)
		}
		s, err := c.schemaOf(t.Elem(), 0)
		if err != nil {
			return nil, err
		}
		if c.byName[s.name] != nil {
			return nil, ir.Unsupportedf("file type %s listed twice", s.name)
		}
		c.byName[s.name] = s
	}
	return c, nil
})

// typeName is the name of struct type t in files: its package's last path
// element, a dot and its name.
func typeName(t reflect.Type) string {
	p := t.PkgPath()
	return p[strings.LastIndexByte(p, '/')+1:] + "." + t.Name()
}

func (c *codec) schemaOf(t reflect.Type, depth int) (*schema, error) {
	if s := c.schemas[t]; s != nil {
		return s, nil
	}
	if depth > maxDepth {
		return nil, ir.Unsupportedf("type %v nests structs deeper than %d", t, maxDepth)
	}
	s := &schema{typ: t, name: typeName(t), byName: map[string]int{}}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			return nil, ir.Unsupportedf("type %s has unexported field %s, which a cnnc file cannot store", s.name, f.Name)
		}
		k := kindOf(f.Type)
		if k == 0 {
			return nil, ir.Unsupportedf("field %s.%s has type %v, which a cnnc file cannot store", s.name, f.Name, f.Type)
		}
		if k == kindStruct {
			if _, err := c.schemaOf(f.Type, depth+1); err != nil {
				return nil, err
			}
		}
		s.byName[f.Name] = len(s.fields)
		s.fields = append(s.fields, field{name: f.Name, index: i, kind: k, typ: f.Type})
	}
	c.schemas[t] = s
	return s, nil
}

// kindOf returns how a field of type t is stored, or 0 if it cannot be.
func kindOf(t reflect.Type) fieldKind {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return kindInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return kindUint
	case reflect.Bool:
		return kindBool
	case reflect.Float32:
		return kindFloat32
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Int {
			return kindInts
		}
	case reflect.Struct:
		if t.Name() != "" {
			return kindStruct
		}
	case reflect.Pointer:
		if t == tensorType {
			return kindTensor
		}
	case reflect.Interface:
		return kindIface
	}
	return 0
}

// encoder appends the metadata. types are the schemas the file's type table
// lists, in index order.
type encoder struct {
	c     *codec
	buf   []byte
	types []*schema
	index map[*schema]int
}

func encodeMetadata(p *Plan) ([]byte, error) {
	c, err := theCodec()
	if err != nil {
		return nil, err
	}
	e := &encoder{c: c, index: map[*schema]int{}}
	e.int(p.ArenaSize)
	e.int(p.Memory.Arena)
	e.int(p.Memory.NoSharing)
	e.int(p.Memory.LowerBound)
	e.operands(p.Inputs)
	e.operands(p.Outputs)
	e.uint(uint64(len(p.Steps)))
	for i, s := range p.Steps {
		e.string(s.Node)
		e.string(s.Op)
		if err := e.iface(reflect.ValueOf(&p.Steps[i].Kernel).Elem()); err != nil {
			return nil, ir.Prefix(err, "step %d (node %q, %s)", i, s.Node, s.Op)
		}
		e.operands(s.In)
		e.operands(s.Out)
	}
	body := e.buf
	// The head: producer, name, then the type table.
	e.buf = nil
	e.string(producer())
	e.string(p.Name)
	e.uint(uint64(len(e.types)))
	for _, s := range e.types {
		e.string(s.name)
		e.uint(uint64(len(s.fields)))
		for _, f := range s.fields {
			e.string(f.name)
			e.buf = append(e.buf, byte(f.kind))
			if f.kind == kindStruct {
				e.uint(uint64(e.typeIndex(e.c.schemas[f.typ])))
			}
		}
	}
	return append(e.buf, body...), nil
}

// typeIndex returns s's index in the type table, adding s (and the structs
// it contains) when new.
func (e *encoder) typeIndex(s *schema) int {
	if i, ok := e.index[s]; ok {
		return i
	}
	i := len(e.types)
	e.index[s] = i
	e.types = append(e.types, s)
	for _, f := range s.fields {
		if f.kind == kindStruct {
			e.typeIndex(e.c.schemas[f.typ])
		}
	}
	return i
}

func (e *encoder) uint(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }
func (e *encoder) int(v int64)   { e.buf = binary.AppendVarint(e.buf, v) }
func (e *encoder) float32(v float32) {
	e.buf = binary.LittleEndian.AppendUint32(e.buf, math.Float32bits(v))
}
func (e *encoder) bool(v bool) {
	b := byte(0)
	if v {
		b = 1
	}
	e.buf = append(e.buf, b)
}

func (e *encoder) string(s string) {
	e.uint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *encoder) shape(s ir.Shape) {
	if s == nil {
		e.uint(0)
		return
	}
	e.uint(uint64(len(s)) + 1)
	for _, d := range s {
		e.int(int64(d))
	}
}

func (e *encoder) operands(os []Operand) {
	e.uint(uint64(len(os)))
	for _, o := range os {
		e.string(o.Name)
		e.buf = append(e.buf, byte(o.DType), byte(o.Loc))
		e.shape(o.Shape)
		e.int(o.Offset)
	}
}

// iface encodes the interface value v: nil, or a pointer to a struct type
// of fileTypes.
func (e *encoder) iface(v reflect.Value) error {
	if v.IsNil() {
		e.uint(0)
		return nil
	}
	p := v.Elem()
	if p.Kind() != reflect.Pointer || p.IsNil() {
		return ir.Unsupportedf("cannot store %v (%v): want a non-nil pointer to a struct", p.Type(), v.Type())
	}
	s := e.c.schemas[p.Type().Elem()]
	if s == nil || e.c.byName[s.name] != s {
		return ir.Unsupportedf("cannot store a %v as %v: the type is not in codegen's fileTypes", p.Type(), v.Type())
	}
	e.uint(uint64(e.typeIndex(s)) + 1)
	return e.structValue(s, p.Elem())
}

func (e *encoder) structValue(s *schema, v reflect.Value) error {
	for _, f := range s.fields {
		fv := v.Field(f.index)
		switch f.kind {
		case kindInt:
			e.int(fv.Int())
		case kindUint:
			e.uint(fv.Uint())
		case kindBool:
			e.bool(fv.Bool())
		case kindFloat32:
			e.float32(float32(fv.Float()))
		case kindInts:
			if fv.IsNil() {
				e.uint(0)
				break
			}
			e.uint(uint64(fv.Len()) + 1)
			for i := range fv.Len() {
				e.int(fv.Index(i).Int())
			}
		case kindStruct:
			if err := e.structValue(e.c.schemas[f.typ], fv); err != nil {
				return err
			}
		case kindTensor:
			if err := e.tensor(fv.Interface().(*ir.Tensor)); err != nil {
				return ir.Prefix(err, "%s.%s", s.name, f.name)
			}
		case kindIface:
			if err := e.iface(fv); err != nil {
				return ir.Prefix(err, "%s.%s", s.name, f.name)
			}
		}
	}
	return nil
}

func (e *encoder) tensor(t *ir.Tensor) error {
	if t == nil {
		e.buf = append(e.buf, 0)
		return nil
	}
	n := t.Shape.NumElements()
	if !t.Shape.Known() || n < 0 || len(t.Shape) > maxRank || t.Len() != n || t.DType.Size() == 0 {
		return ir.Invalidf("tensor %v holds %d elements, want a known shape and a matching length", t.Type(), t.Len())
	}
	e.buf = append(e.buf, 1, byte(t.DType))
	e.shape(t.Shape)
	switch t.DType {
	case ir.Float32:
		for _, x := range t.F32 {
			e.float32(x)
		}
	case ir.Int64:
		for _, x := range t.I64 {
			e.buf = binary.LittleEndian.AppendUint64(e.buf, uint64(x))
		}
	case ir.Int32:
		for _, x := range t.I32 {
			e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(x))
		}
	case ir.Bool:
		for _, x := range t.Bool {
			e.bool(x)
		}
	}
	return nil
}
