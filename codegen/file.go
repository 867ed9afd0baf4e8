package codegen

import (
	"encoding/binary"
	"hash/crc32"
	"io"
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
// Decode reads. Version 2 packs GEMM weights in the 6×16 micro-kernel's
// panels (version 1: 3×3).
const FileVersion = 2

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
	(*kernels.PackConv)(nil),
	(*kernels.PackGemm)(nil),
	(*kernels.ConvGradData)(nil),
	(*kernels.ConvGradFilter)(nil),
	(*kernels.FlipFilter)(nil),
	(*kernels.PoolGrad)(nil),
	(*kernels.ActGrad)(nil),
	(*kernels.ChannelSum)(nil),
	(*kernels.SGD)(nil),
	(*kernels.Adam)(nil),
	(*kernels.BatchNormTrain)(nil),
	(*kernels.BatchNormGrad)(nil),

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
	// ir/ops_train.go
	(*ir.SoftmaxCrossEntropy)(nil),
	(*ir.SoftmaxCrossEntropyGrad)(nil),
	(*ir.MSELoss)(nil),
	(*ir.MSELossGrad)(nil),
	(*ir.ConvGradData)(nil),
	(*ir.ConvGradFilter)(nil),
	(*ir.FlipFilter)(nil),
	(*ir.MaxPoolGrad)(nil),
	(*ir.AveragePoolGrad)(nil),
	(*ir.GlobalPoolGrad)(nil),
	(*ir.ActGrad)(nil),
	(*ir.SGD)(nil),
	(*ir.Adam)(nil),
	(*ir.BatchNormTrain)(nil),
	(*ir.BatchNormGrad)(nil),
	(*ir.LRNGrad)(nil),
	(*ir.DropoutTrain)(nil),
	(*ir.StochasticDepthTrain)(nil),
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
