package codegen

import (
	"encoding/binary"
	"hash/crc32"
	"io"
	"math"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/kernels"
)

// The .cnnc file stores a Plan. Its layout, all integers little-endian:
//
//	offset  size  field
//	0       8     magic "CNNC\x00\r\n\x1a"
//	8       4     format version (FileVersion)
//	12      4     flags (0; a reader refuses flags it does not know)
//	16      8     metadata offset (always 64, the header's size)
//	24      8     metadata length (at most MaxMetadata)
//	32      8     weight section offset: the metadata's end rounded up to 64
//	40      8     weight section length
//	48      4     CRC-32 (IEEE) of the metadata
//	52      4     CRC-32 of the weight section
//	56      4     reserved, 0
//	60      4     CRC-32 of bytes 0 to 60
//	64            metadata, then zero padding to a multiple of 64, then the
//	              weight section, which ends the file
//
// The weight section is Plan.Weights byte for byte. It starts at a multiple
// of 64 in the file, so an operand at a 64-byte aligned offset in it is
// 64-byte aligned in an mmap of the file.
//
// The metadata is the rest of the Plan in a small self-describing binary
// encoding: the producer ("cnnc v1.2.3"), the plan's name, a table of the
// struct types the file holds (each with its fields' names and kinds), the
// arena size and memory statistics, the inputs, outputs and steps. Kernels
// and the ir ops inside kernels.Reference are stored field by field, by
// name, as the type table describes them: a reader fills the fields it
// finds, leaves fields the file lacks at their zero value and refuses a
// field it does not know, so that a field added to a kernel with a zero
// meaning "as before" keeps older files readable. Integers are varints
// (signed ones zigzag), float32s their 4 IEEE bytes, slices and strings
// their length and then their elements.

// FileVersion is the version of the .cnnc format that Encode writes and
// Decode reads.
const FileVersion = 1

// MaxMetadata bounds the size of a .cnnc file's metadata section (16 MiB;
// ResNet-50's is a few tens of KiB). Decode refuses larger ones. What
// Decode allocates is at most about 20 times the metadata's size (5 bytes
// of metadata can make an empty Step of 96 bytes), so at most about 320
// MiB for hostile input.
const MaxMetadata = 16 << 20

const (
	fileMagic  = "CNNC\x00\r\n\x1a"
	headerSize = 64
	// fileAlign is the alignment of the weight section in the file.
	fileAlign = 64
	// maxDepth bounds the nesting of stored structs (a Reference's op's
	// Conv is at depth 3).
	maxDepth = 8
	// maxFields bounds the fields of a stored struct (Conv2D has 19).
	maxFields = 256
	// maxRank bounds the rank of operands and stored tensors.
	maxRank = 64
)

// crcTable is the checksum of the file's sections: CRC-32 with the IEEE
// polynomial, which Go computes with carry-less multiplication on amd64
// (and the CRC32 instructions on arm64). On this project's machines (AMD
// EPYC) it checks 100 MB of weights in about 10 ms where CRC-32C
// (Castagnoli) took 35 to 45 ms: too slow for loading ResNet-50 in 50 ms.
var crcTable = crc32.IEEETable

// fileTypes lists every type a .cnnc file can hold behind an interface:
// the kernels of runtime/kernels (Step.Kernel) and the ir ops that
// kernels.Reference runs (Reference.Op). It is the one place to add a new
// kernel or op; TestFileTypesComplete fails when a type of either package
// is missing. Structs these types contain by value (ir.Activation,
// ir.Conv in ir.FusedConv) need no entry.
var fileTypes = [...]any{
	// runtime/kernels, as in specs.go.
	(*kernels.Conv2D)(nil),
	(*kernels.Gemm)(nil),
	(*kernels.Pool2D)(nil),
	(*kernels.GlobalPool)(nil),
	(*kernels.Affine)(nil),
	(*kernels.Binary)(nil),
	(*kernels.Unary)(nil),
	(*kernels.Concat)(nil),
	(*kernels.Softmax)(nil),
	(*kernels.LRN)(nil),
	(*kernels.Copy)(nil),
	(*kernels.Reference)(nil),

	// ir/ops_const.go
	(*ir.Constant)(nil),
	// ir/ops_conv.go
	(*ir.Conv)(nil),
	(*ir.ConvTranspose)(nil),
	(*ir.MaxPool)(nil),
	(*ir.AveragePool)(nil),
	(*ir.GlobalAveragePool)(nil),
	(*ir.GlobalMaxPool)(nil),
	(*ir.BatchNormalization)(nil),
	(*ir.LRN)(nil),
	// ir/ops_fused.go
	(*ir.FusedConv)(nil),
	(*ir.FusedGemm)(nil),
	(*ir.ChannelAffine)(nil),
	// ir/ops_math.go
	(*ir.Softmax)(nil),
	(*ir.LogSoftmax)(nil),
	(*ir.Gemm)(nil),
	(*ir.MatMul)(nil),
	(*ir.Add)(nil),
	(*ir.Sub)(nil),
	(*ir.Mul)(nil),
	(*ir.Div)(nil),
	(*ir.Pow)(nil),
	(*ir.Sum)(nil),
	(*ir.Mean)(nil),
	(*ir.Max)(nil),
	(*ir.Min)(nil),
	(*ir.ReduceSum)(nil),
	(*ir.ReduceMean)(nil),
	// ir/ops_shape.go
	(*ir.Concat)(nil),
	(*ir.Split)(nil),
	(*ir.Slice)(nil),
	(*ir.Flatten)(nil),
	(*ir.Reshape)(nil),
	(*ir.Transpose)(nil),
	(*ir.Squeeze)(nil),
	(*ir.Unsqueeze)(nil),
	(*ir.Dropout)(nil),
	(*ir.Identity)(nil),
	(*ir.ConstantOfShape)(nil),
	(*ir.ShapeOp)(nil),
	(*ir.Gather)(nil),
	(*ir.Cast)(nil),
	(*ir.Pad)(nil),
	// ir/ops_stochastic.go
	(*ir.StochasticDepth)(nil),
	// ir/ops_unary.go
	(*ir.Relu)(nil),
	(*ir.LeakyRelu)(nil),
	(*ir.PRelu)(nil),
	(*ir.Elu)(nil),
	(*ir.Selu)(nil),
	(*ir.Sigmoid)(nil),
	(*ir.Tanh)(nil),
	(*ir.Sqrt)(nil),
	(*ir.Exp)(nil),
	(*ir.Clip)(nil),
}

// FileInfo describes a .cnnc file without decoding its plan.
type FileInfo struct {
	// Version is the format version (FileVersion).
	Version uint32
	// Producer names the program that wrote the file: "cnnc" and its
	// module version, "(devel)" for a build from a work tree.
	Producer string
	// Name is the plan's name, the source model's graph name.
	Name string
	// MetadataSize and WeightsSize are the sizes in bytes of the two
	// sections.
	MetadataSize, WeightsSize int64
}

// Encode writes p to w as a .cnnc file. It first checks p's structure as
// Decode will (operands within the arena or the weight section, known
// shapes, a kernel for every step) and fails, writing nothing, on a plan
// Decode would refuse or holding a kernel or op type not in fileTypes.
func Encode(w io.Writer, p *Plan) error {
	if p == nil {
		return ir.Invalidf("cnnc file: encoding a nil plan")
	}
	if err := checkPlan(p); err != nil {
		return ir.Prefix(err, "cnnc file: encoding plan %q", p.Name)
	}
	return writeFile(w, p)
}

// writeFile is Encode without checking p's structure.
func writeFile(w io.Writer, p *Plan) error {
	meta, err := encodeMetadata(p)
	if err != nil {
		return ir.Prefix(err, "cnnc file: encoding plan %q", p.Name)
	}
	if len(meta) > MaxMetadata {
		return ir.Unsupportedf("cnnc file: plan %q has %d bytes of metadata, more than the %d a file may hold", p.Name, len(meta), MaxMetadata)
	}
	return writeSections(w, meta, p.Weights)
}

// writeSections writes a file of the given sections.
func writeSections(w io.Writer, meta, weights []byte) error {
	wOff := alignUp(headerSize+int64(len(meta)), fileAlign)
	var h [headerSize]byte
	copy(h[:8], fileMagic)
	binary.LittleEndian.PutUint32(h[8:], FileVersion)
	binary.LittleEndian.PutUint32(h[12:], 0)
	binary.LittleEndian.PutUint64(h[16:], headerSize)
	binary.LittleEndian.PutUint64(h[24:], uint64(len(meta)))
	binary.LittleEndian.PutUint64(h[32:], uint64(wOff))
	binary.LittleEndian.PutUint64(h[40:], uint64(len(weights)))
	binary.LittleEndian.PutUint32(h[48:], crc32.Checksum(meta, crcTable))
	binary.LittleEndian.PutUint32(h[52:], crc32.Checksum(weights, crcTable))
	binary.LittleEndian.PutUint32(h[60:], crc32.Checksum(h[:60], crcTable))
	pad := make([]byte, wOff-headerSize-int64(len(meta)))
	for _, part := range [][]byte{h[:], meta, pad, weights} {
		if _, err := w.Write(part); err != nil {
			return err
		}
	}
	return nil
}

// Decode reads a .cnnc file. The returned Plan's Weights alias b (no copy):
// b must stay unchanged while the plan is in use, as an mmap of the file
// does. Decode verifies the checksums of the header, the metadata and the
// weights (about 10 ms per 100 MB) and the plan's structure (see Encode);
// the kernels' parameters are checked later, when the runtime binds them.
// It never panics on malformed input, and allocates at most about 20 times
// the metadata's size (see MaxMetadata).
func Decode(b []byte) (*Plan, error) {
	h, err := readHeader(b)
	if err != nil {
		return nil, err
	}
	p, err := decodeMetadata(b[headerSize : headerSize+h.metaLen])
	if err != nil {
		return nil, ir.Prefix(err, "cnnc file")
	}
	if h.wLen > 0 {
		p.Weights = b[h.wOff : h.wOff+h.wLen : h.wOff+h.wLen]
	}
	if err := checkPlan(p); err != nil {
		return nil, ir.Prefix(err, "cnnc file")
	}
	if crc32.Checksum(p.Weights, crcTable) != h.wCRC {
		return nil, ir.Invalidf("cnnc file: weights checksum mismatch (file corrupt?)")
	}
	return p, nil
}

// Info reads the header and the start of the metadata of a .cnnc file,
// verifying the header's and the metadata's checksums but not the
// weights'.
func Info(b []byte) (FileInfo, error) {
	h, err := readHeader(b)
	if err != nil {
		return FileInfo{}, err
	}
	r := &reader{b: b[headerSize : headerSize+h.metaLen]}
	info := FileInfo{Version: FileVersion, Producer: r.string(), Name: r.string(),
		MetadataSize: h.metaLen, WeightsSize: h.wLen}
	if r.err != nil {
		return FileInfo{}, ir.Prefix(r.err, "cnnc file")
	}
	return info, nil
}

// header is the decoded, checked header of a file of len(b) bytes: the
// metadata is b[headerSize:headerSize+metaLen], the weights b[wOff:wOff+wLen].
type header struct {
	metaLen, wOff, wLen int64
	wCRC                uint32
}

// readHeader checks the header, the layout of the sections in b and the
// metadata's checksum.
func readHeader(b []byte) (header, error) {
	if len(b) < len(fileMagic) || string(b[:len(fileMagic)]) != fileMagic {
		return header{}, ir.Invalidf("not a cnnc file (no %q magic at its start)", fileMagic[:4])
	}
	if len(b) < 12 {
		return header{}, ir.Invalidf("cnnc file: truncated to %d bytes, inside its %d-byte header", len(b), headerSize)
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != FileVersion {
		return header{}, ir.Unsupportedf("cnnc file: version %d, this build reads %d (recompile the model with this cnnc)", v, FileVersion)
	}
	if len(b) < headerSize {
		return header{}, ir.Invalidf("cnnc file: truncated to %d bytes, inside its %d-byte header", len(b), headerSize)
	}
	if got, want := crc32.Checksum(b[:60], crcTable), binary.LittleEndian.Uint32(b[60:]); got != want {
		return header{}, ir.Invalidf("cnnc file: header checksum mismatch (file corrupt?)")
	}
	if f := binary.LittleEndian.Uint32(b[12:]); f != 0 {
		return header{}, ir.Unsupportedf("cnnc file: flags %#x, this build knows none", f)
	}
	if r := binary.LittleEndian.Uint32(b[56:]); r != 0 {
		return header{}, ir.Unsupportedf("cnnc file: reserved header word is %#x, want 0", r)
	}
	metaOff := binary.LittleEndian.Uint64(b[16:])
	metaLen := binary.LittleEndian.Uint64(b[24:])
	wOff := binary.LittleEndian.Uint64(b[32:])
	wLen := binary.LittleEndian.Uint64(b[40:])
	if metaOff != headerSize {
		return header{}, ir.Invalidf("cnnc file: metadata at offset %d, want %d", metaOff, headerSize)
	}
	if metaLen > MaxMetadata {
		return header{}, ir.Invalidf("cnnc file: metadata of %d bytes, more than the limit of %d", metaLen, MaxMetadata)
	}
	if want := uint64(alignUp(headerSize+int64(metaLen), fileAlign)); wOff != want {
		return header{}, ir.Invalidf("cnnc file: weights at offset %d, want %d (after %d bytes of metadata)", wOff, want, metaLen)
	}
	size := uint64(len(b))
	if wOff > size || wLen != size-wOff {
		// wOff+wLen may overflow; the message only needs the parts.
		return header{}, ir.Invalidf("cnnc file: %d bytes long, header says %d + %d (truncated or padded?)", size, wOff, wLen)
	}
	for i := headerSize + metaLen; i < wOff; i++ {
		if b[i] != 0 {
			return header{}, ir.Invalidf("cnnc file: non-zero padding byte at offset %d", i)
		}
	}
	if crc32.Checksum(b[headerSize:headerSize+metaLen], crcTable) != binary.LittleEndian.Uint32(b[48:]) {
		return header{}, ir.Invalidf("cnnc file: metadata checksum mismatch (file corrupt?)")
	}
	return header{metaLen: int64(metaLen), wOff: int64(wOff), wLen: int64(wLen),
		wCRC: binary.LittleEndian.Uint32(b[52:])}, nil
}

// alignUp rounds n >= 0 up to a multiple of a, a power of two.
func alignUp(n, a int64) int64 { return (n + a - 1) &^ (a - 1) }

// producer returns "cnnc" and the version of the cnnc module in this
// binary.
var producer = sync.OnceValue(func() string {
	const module = "github.com/cnnc/cnnc"
	v := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path == module {
			v = bi.Main.Version
		}
		for _, d := range bi.Deps {
			if d.Path == module {
				v = d.Version
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	return "cnnc " + v
})

// checkPlan checks the structure of p: every operand lies within the arena
// or the weight section with a known shape (of rank at most 64) and a real
// dtype, at an offset
// aligned to its element size; LocNone appears only as an omitted step
// input; steps write only to the arena; every step has a kernel (and a
// Reference an op); and the arena is no larger than its operands need
// (rounded up to 64 bytes), so that a hostile file cannot make the runtime
// allocate more than the tensors it describes.
func checkPlan(p *Plan) error {
	if p.ArenaSize < 0 {
		return ir.Invalidf("arena size %d is negative", p.ArenaSize)
	}
	var end int64 // the end of the furthest arena operand
	check := func(o Operand, what string, locs ...Loc) error {
		ok := false
		for _, l := range locs {
			ok = ok || o.Loc == l
		}
		if !ok {
			return ir.Invalidf("%s %q is in %s, want %s", what, o.Name, locName(o.Loc), locNames(locs))
		}
		if o.Loc == LocNone {
			return nil
		}
		size := int64(o.DType.Size())
		if size == 0 {
			return ir.Invalidf("%s %q has element type %v", what, o.Name, o.DType)
		}
		if !o.Shape.Known() {
			return ir.Invalidf("%s %q has shape %v, want a known shape", what, o.Name, o.Shape)
		}
		if len(o.Shape) > maxRank {
			return ir.Invalidf("%s %q has rank %d, more than %d", what, o.Name, len(o.Shape), maxRank)
		}
		n := o.Shape.NumElements()
		if n < 0 {
			return ir.Invalidf("%s %q has shape %v, more than %d elements", what, o.Name, o.Shape, ir.MaxElements)
		}
		if o.Offset < 0 || o.Offset%size != 0 {
			return ir.Invalidf("%s %q is at offset %d, want a non-negative multiple of %d", what, o.Name, o.Offset, size)
		}
		bytes, limit := int64(n)*size, int64(len(p.Weights))
		if o.Loc == LocArena {
			limit = p.ArenaSize
		}
		if o.Offset > limit-bytes {
			region := "arena"
			if o.Loc == LocWeights {
				region = "weight section"
			}
			return ir.Invalidf("%s %q: %d bytes at offset %d, beyond the %s of %d bytes", what, o.Name, bytes, o.Offset, region, limit)
		}
		if o.Loc == LocArena {
			end = max(end, o.Offset+bytes)
		}
		return nil
	}
	for i, o := range p.Inputs {
		if err := check(o, "input "+strconv.Itoa(i), LocArena); err != nil {
			return err
		}
	}
	for i, o := range p.Outputs {
		if err := check(o, "output "+strconv.Itoa(i), LocArena, LocWeights); err != nil {
			return err
		}
	}
	for i, s := range p.Steps {
		at := func(err error) error {
			return ir.Prefix(err, "step %d (node %q, %s)", i, s.Node, s.Op)
		}
		switch k := s.Kernel.(type) {
		case nil:
			return at(ir.Invalidf("no kernel"))
		case *kernels.Reference:
			if k == nil || k.Op == nil {
				return at(ir.Invalidf("reference kernel without an op"))
			}
		}
		if v := reflect.ValueOf(s.Kernel); v.Kind() == reflect.Pointer && v.IsNil() {
			return at(ir.Invalidf("nil %T kernel", s.Kernel))
		}
		for j, o := range s.In {
			if err := check(o, "input "+strconv.Itoa(j), LocNone, LocArena, LocWeights); err != nil {
				return at(err)
			}
		}
		for j, o := range s.Out {
			if err := check(o, "output "+strconv.Itoa(j), LocArena); err != nil {
				return at(err)
			}
		}
	}
	if limit := alignUp(end, fileAlign); p.ArenaSize > limit {
		return ir.Invalidf("arena of %d bytes, want at most %d: its operands end at byte %d", p.ArenaSize, limit, end)
	}
	return nil
}

// locName names a Loc in messages.
func locName(l Loc) string {
	switch l {
	case LocNone:
		return "no location (omitted)"
	case LocArena:
		return "arena"
	case LocWeights:
		return "weights"
	}
	return "location " + strconv.Itoa(int(l))
}

func locNames(ls []Loc) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = locName(l)
	}
	return strings.Join(s, " or ")
}

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
