package codegen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"hash/crc32"
	"math"
	"path/filepath"
	"reflect"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/kernels"
)

// f32 returns a float32 arena operand.
func f32(name string, shape ir.Shape, off int64) Operand {
	return Operand{Name: name, DType: ir.Float32, Shape: shape, Loc: LocArena, Offset: off}
}

// weight returns a float32 weight operand.
func weight(name string, shape ir.Shape, off int64) Operand {
	return Operand{Name: name, DType: ir.Float32, Shape: shape, Loc: LocWeights, Offset: off}
}

// testPlan returns a plan with a step of every kernel type and Reference
// steps holding ir ops of several shapes (with tensors, nested structs,
// nil and empty slices). Its arena is 1024 bytes: x [1,2,4,4] at 0, y
// [1,4,4,4] at 128, z [64] at 768; its weights 1024 bytes.
func testPlan() *Plan {
	x := f32("x", ir.Shape{1, 2, 4, 4}, 0)
	y := f32("y", ir.Shape{1, 4, 4, 4}, 128)
	z := f32("z", ir.Shape{64}, 768)
	w := weight("w", ir.Shape{72}, 0)
	b := weight("b", ir.Shape{4}, 320)
	idx := Operand{Name: "idx", DType: ir.Int64, Shape: ir.Shape{2}, Loc: LocArena, Offset: 640}
	none := Operand{}
	ws := make([]byte, 1024)
	for i := range ws {
		ws[i] = byte(i * 7)
	}
	relu := ir.Activation{Kind: ir.ActRelu}
	clip := ir.Activation{Kind: ir.ActClip, Min: 0, Max: 6}
	step := func(node, op string, k Kernel, in, out []Operand) Step {
		return Step{Node: node, Op: op, Kernel: k, In: in, Out: out}
	}
	conv := ir.Conv{Kernel: []int{3, 3}, Pads: []int{1, 1, 1, 1}, AutoPad: ir.AutoPadNotSet, Group: 1}
	return &Plan{
		Name:      "tiny",
		Inputs:    []Operand{x},
		Outputs:   []Operand{y, b},
		ArenaSize: 1024,
		Weights:   ws,
		Memory:    MemoryStats{Arena: 1024, NoSharing: 2048, LowerBound: 512},
		Steps: []Step{
			step("conv", "cnnc.FusedConv", &kernels.Conv2D{N: 1, C: 2, H: 4, W: 4, M: 4, OH: 4, OW: 4,
				KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PadT: 1, PadL: 1, Group: 1,
				Algo: ir.AlgoIm2col, Act: clip}, []Operand{x, w, none, y}, []Operand{y}),
			step("fc", "Gemm", &kernels.Gemm{M: 1, N: 4, K: 32, Act: relu}, []Operand{x, w, b}, []Operand{z}),
			step("pool", "MaxPool", &kernels.Pool2D{N: 1, C: 2, H: 4, W: 4, OH: 2, OW: 2, KH: 2, KW: 2,
				SH: 2, SW: 2, DH: 1, DW: 1, PadB: 1, PadR: 1, Max: true}, []Operand{x}, []Operand{z}),
			step("gap", "GlobalAveragePool", &kernels.GlobalPool{Rows: 2, Size: 16}, []Operand{x}, []Operand{z}),
			step("bn", "cnnc.ChannelAffine", &kernels.Affine{N: 1, C: 2, Inner: 16, Act: relu}, []Operand{x, b, b}, []Operand{x}),
			step("add", "Add", &kernels.Binary{Op: kernels.BinMul, Len: 32}, []Operand{x, x}, []Operand{x}),
			step("lrelu", "LeakyRelu", &kernels.Unary{Op: kernels.UnLeakyRelu, Len: 32, Alpha: 0.01,
				Min: float32(math.Inf(-1)), Max: float32(math.Inf(1))}, []Operand{x}, []Operand{x}),
			step("cat", "Concat", &kernels.Concat{Outer: 1, Inner: []int{32, 32}}, []Operand{x, x}, []Operand{z}),
			step("cat0", "Concat", &kernels.Concat{Outer: 1, Inner: []int{}}, nil, []Operand{z}),
			step("sm", "LogSoftmax", &kernels.Softmax{Outer: 2, N: 16, Log: true}, []Operand{x}, []Operand{x}),
			step("lrn", "LRN", &kernels.LRN{N: 1, C: 2, Inner: 16, Size: 5, Alpha: 1e-4, Beta: 0.75, Bias: 2}, []Operand{x}, []Operand{x}),
			step("copy", "Identity", &kernels.Copy{Len: 32}, []Operand{x}, []Operand{z}),
			step("ref_conv", "Conv", &kernels.Reference{Op: &conv}, []Operand{x, w}, []Operand{y}),
			step("ref_fused", "cnnc.FusedConv", &kernels.Reference{Op: &ir.FusedConv{
				Conv: ir.Conv{Strides: []int{2, 2}, AutoPad: ir.AutoPadSameUpper, Group: 2},
				Act:  clip, Algo: ir.AlgoWinograd4}}, []Operand{x, w, b, none}, []Operand{y}),
			step("ref_const", "Constant", &kernels.Reference{Op: &ir.Constant{
				Value: ir.FromFloat32(ir.Shape{2, 2}, []float32{1, -2.5, float32(math.Inf(1)), 0})}}, nil, []Operand{z}),
			step("ref_scalar", "Constant", &kernels.Reference{Op: &ir.Constant{
				Value: &ir.Tensor{DType: ir.Int32, Shape: ir.Shape{}, I32: []int32{-3}}}}, nil, []Operand{z}),
			step("ref_bool", "Constant", &kernels.Reference{Op: &ir.Constant{
				Value: &ir.Tensor{DType: ir.Bool, Shape: ir.Shape{3}, Bool: []bool{true, false, true}}}}, nil, []Operand{z}),
			step("ref_cos", "ConstantOfShape", &kernels.Reference{Op: &ir.ConstantOfShape{
				Value: ir.FromInt64(ir.Shape{1}, []int64{math.MinInt64})}}, []Operand{idx}, []Operand{idx}),
			step("ref_cast", "Cast", &kernels.Reference{Op: &ir.Cast{To: ir.Int64}}, []Operand{x}, []Operand{idx}),
			step("ref_drop", "Dropout", &kernels.Reference{Op: &ir.Dropout{Ratio: 0.5, Mask: ir.Bool}}, []Operand{x}, []Operand{x}),
			step("ref_pad", "Pad", &kernels.Reference{Op: &ir.Pad{Mode: ir.PadReflect, Pads: []int{0, 0, -1, 1, 0, 0, 1, -1}, Value: -0.5}},
				[]Operand{x}, []Operand{y}),
			step("ref_relu", "Relu", &kernels.Reference{Op: &ir.Relu{}}, []Operand{x}, []Operand{x}),
			step("ref_shape", "Shape", &kernels.Reference{Op: &ir.ShapeOp{Start: -2, End: math.MaxInt}}, []Operand{x}, []Operand{idx}),
		},
	}
}

func encode(t testing.TB, p *Plan) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, p); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return buf.Bytes()
}

func TestFileRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		plan func() *Plan
	}{
		{"every kernel", testPlan},
		{"empty", func() *Plan { return &Plan{Name: "empty"} }},
		{"no weights", func() *Plan {
			x := f32("x", ir.Shape{2, 3}, 0)
			return &Plan{Name: "copy", Inputs: []Operand{x}, Outputs: []Operand{x}, ArenaSize: 64,
				Steps: []Step{{Node: "c", Op: "Identity", Kernel: &kernels.Copy{Len: 6}, In: []Operand{x}, Out: []Operand{x}}}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.plan()
			b := encode(t, p)
			if len(b)%fileAlign != 0 && len(p.Weights) == 0 {
				t.Errorf("file of %d bytes: the weight section should start at a multiple of %d", len(b), fileAlign)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, p) {
				t.Errorf("Decode(Encode(p)) differs from p:\ngot  %+v\nwant %+v", got, p)
				for i := range min(len(got.Steps), len(p.Steps)) {
					if !reflect.DeepEqual(got.Steps[i], p.Steps[i]) {
						t.Errorf("step %d: got %+v, want %+v", i, got.Steps[i], p.Steps[i])
					}
				}
			}
			if len(p.Weights) > 0 {
				off := len(b) - len(p.Weights)
				if &got.Weights[0] != &b[off] {
					t.Errorf("Weights do not alias the input")
				}
				if off%fileAlign != 0 {
					t.Errorf("weights at offset %d, want a multiple of %d", off, fileAlign)
				}
				if cap(got.Weights) != len(got.Weights) {
					t.Errorf("cap(Weights) = %d, want %d", cap(got.Weights), len(got.Weights))
				}
			}
			// Encoding is deterministic.
			if b2 := encode(t, got); !bytes.Equal(b, b2) {
				t.Errorf("re-encoding the decoded plan gives different bytes")
			}
		})
	}
}

// fill sets every field of the struct v to a non-zero value.
func fill(t testing.TB, v reflect.Value) {
	for i := range v.NumField() {
		f := v.Field(i)
		switch kindOf(f.Type()) {
		case kindInt:
			f.SetInt(int64(-3 - i))
		case kindUint:
			f.SetUint(uint64(1 + i%2))
		case kindBool:
			f.SetBool(true)
		case kindFloat32:
			f.SetFloat(1.5 + float64(i))
		case kindInts:
			f.Set(reflect.ValueOf([]int{1, -2, 3}).Convert(f.Type()))
		case kindStruct:
			fill(t, f)
		case kindTensor:
			f.Set(reflect.ValueOf(ir.FromFloat32(ir.Shape{2}, []float32{1, 2})))
		case kindIface:
			f.Set(reflect.ValueOf(&ir.Sigmoid{}))
		default:
			t.Fatalf("field %v.%s: kind %d", v.Type(), v.Type().Field(i).Name, kindOf(f.Type()))
		}
	}
}

// allTypesPlan returns a plan with one step for every type of fileTypes,
// every field non-zero (ir ops in Reference kernels).
func allTypesPlan(t testing.TB) *Plan {
	x := f32("x", ir.Shape{4}, 0)
	p := &Plan{Name: "all", Inputs: []Operand{x}, Outputs: []Operand{x}, ArenaSize: 64}
	for _, proto := range fileTypes {
		v := reflect.New(reflect.TypeOf(proto).Elem())
		fill(t, v.Elem())
		var k Kernel
		switch x := v.Interface().(type) {
		case Kernel:
			k = x
		case ir.Op:
			k = &kernels.Reference{Op: x}
		default:
			t.Fatalf("%T is neither a kernel nor an op", x)
		}
		p.Steps = append(p.Steps, Step{Node: typeName(v.Type().Elem()), Op: "op", Kernel: k, In: []Operand{x}, Out: []Operand{x}})
	}
	return p
}

// TestFileTypesRoundTrip stores one value of every type of fileTypes.
func TestFileTypesRoundTrip(t *testing.T) {
	p := allTypesPlan(t)
	got, err := Decode(encode(t, p))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	for i := range p.Steps {
		if !reflect.DeepEqual(got.Steps[i], p.Steps[i]) {
			t.Errorf("%s: got %+v, want %+v", p.Steps[i].Node, got.Steps[i].Kernel, p.Steps[i].Kernel)
		}
	}
}

// receivers returns the receiver type names of the methods called method
// in the non-test Go files of dir.
func receivers(t *testing.T, dir, method string) []string {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	var names []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || fd.Name.Name != method {
				continue
			}
			typ := fd.Recv.List[0].Type
			if s, ok := typ.(*ast.StarExpr); ok {
				typ = s.X
			}
			if id, ok := typ.(*ast.Ident); ok && id.IsExported() {
				names = append(names, id.Name)
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// TestFileTypesComplete fails when an op of ir (a type with an OpType
// method) or a kernel of runtime/kernels (a type with a Bind method) is
// missing from fileTypes, so that a new op cannot be forgotten.
func TestFileTypesComplete(t *testing.T) {
	c, err := theCodec()
	if err != nil {
		t.Fatalf("the codec refuses fileTypes: %v", err)
	}
	for _, src := range []struct{ dir, method, pkg string }{
		{"../ir", "OpType", "ir"},
		{"../runtime/kernels", "Bind", "kernels"},
	} {
		names := receivers(t, src.dir, src.method)
		if len(names) < 10 {
			t.Fatalf("found only %d types with a %s method in %s: %v", len(names), src.method, src.dir, names)
		}
		for _, n := range names {
			if c.byName[src.pkg+"."+n] == nil {
				t.Errorf("%s.%s (a type with method %s) is missing from codegen's fileTypes", src.pkg, n, src.method)
			}
		}
	}
	for name, s := range c.byName {
		pt := reflect.PointerTo(s.typ)
		if !pt.Implements(reflect.TypeFor[Kernel]()) && !pt.Implements(reflect.TypeFor[ir.Op]()) {
			t.Errorf("fileTypes lists %s, which is neither a kernel nor an ir op", name)
		}
	}
}

// sections returns b's metadata and weights, from a valid file.
func sections(t testing.TB, b []byte) (meta, weights []byte) {
	t.Helper()
	h, err := readHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	return b[headerSize : headerSize+h.metaLen], b[h.wOff:]
}

// assemble returns a file of the given sections, with correct checksums.
func assemble(meta, weights []byte) []byte {
	var buf bytes.Buffer
	if err := writeSections(&buf, meta, weights); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// wantErr checks that err is an *ir.Error whose message contains want.
func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	var e *ir.Error
	switch {
	case err == nil:
		t.Errorf("no error, want one containing %q", want)
	case !errors.As(err, &e):
		t.Errorf("error %v (%T) is not an *ir.Error", err, err)
	case !strings.Contains(err.Error(), want):
		t.Errorf("error %q, want it to contain %q", err, want)
	}
}

func TestDecodeCorrupt(t *testing.T) {
	b := encode(t, testPlan())
	meta, weights := sections(t, b)
	wOff := len(b) - len(weights)
	metaEnd := headerSize + len(meta)
	if metaEnd == wOff {
		t.Fatalf("test plan has no padding before its weights; change its name")
	}
	tests := []struct {
		name string
		at   int
		want string
	}{
		{"magic", 0, "not a cnnc file"},
		{"magic end", 7, "not a cnnc file"},
		{"version", 9, "version"},
		{"flags", 12, "header checksum mismatch"},
		{"metadata length", 24, "header checksum mismatch"},
		{"weights length", 47, "header checksum mismatch"},
		{"reserved", 57, "header checksum mismatch"},
		{"header checksum", 63, "header checksum mismatch"},
		{"metadata start", headerSize, "metadata checksum mismatch (file corrupt?)"},
		{"metadata middle", headerSize + len(meta)/2, "metadata checksum mismatch"},
		{"metadata end", metaEnd - 1, "metadata checksum mismatch"},
		{"padding", metaEnd, "non-zero padding"},
		{"weights start", wOff, "weights checksum mismatch (file corrupt?)"},
		{"weights end", len(b) - 1, "weights checksum mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := bytes.Clone(b)
			c[tt.at] ^= 0x10
			_, err := Decode(c)
			wantErr(t, err, tt.want)
		})
	}
}

// smallPlan returns a plan of one step, with weights, in a file of 192
// bytes.
func smallPlan() *Plan {
	x := f32("x", ir.Shape{4}, 0)
	return &Plan{Name: "t", Inputs: []Operand{x}, Outputs: []Operand{weight("w", ir.Shape{3}, 64)},
		ArenaSize: 64, Weights: make([]byte, 76),
		Steps: []Step{{Node: "r", Op: "Relu", Kernel: &kernels.Unary{Len: 4}, In: []Operand{x}, Out: []Operand{x}}}}
}

func TestDecodeTruncated(t *testing.T) {
	b := encode(t, smallPlan())
	for n := range len(b) {
		if _, err := Decode(b[:n]); err == nil {
			t.Errorf("Decode of the first %d of %d bytes succeeded", n, len(b))
		}
	}
	if _, err := Decode(append(bytes.Clone(b), 0)); err == nil {
		t.Errorf("Decode with a byte appended succeeded")
	}
	if _, err := Decode(b); err != nil {
		t.Errorf("Decode of the whole file: %v", err)
	}
}

// setHeader returns a copy of b with the header word at off set to v
// (4 or 8 bytes) and the header's checksum recomputed.
func setHeader(b []byte, off int, v uint64, size int) []byte {
	c := bytes.Clone(b)
	if size == 4 {
		binary.LittleEndian.PutUint32(c[off:], uint32(v))
	} else {
		binary.LittleEndian.PutUint64(c[off:], v)
	}
	binary.LittleEndian.PutUint32(c[60:], crc32.Checksum(c[:60], crcTable))
	return c
}

func TestDecodeHeader(t *testing.T) {
	b := encode(t, testPlan())
	meta, _ := sections(t, b)
	tests := []struct {
		name        string
		file        []byte
		want        string
		unsupported bool
	}{
		{"empty", nil, "not a cnnc file", false},
		{"text", []byte("hello, world"), "not a cnnc file", false},
		{"onnx", []byte("\x08\x07\x12\x07pytorch"), "not a cnnc file", false},
		{"version 1", setHeader(b, 8, 1, 4), "cnnc file: version 1, this build reads 2", true},
		{"version 0", setHeader(b, 8, 0, 4), "version 0, this build reads 2", true},
		{"flags", setHeader(b, 12, 1, 4), "flags 0x1", true},
		{"reserved", setHeader(b, 56, 7, 4), "reserved header word", true},
		{"metadata offset", setHeader(b, 16, 128, 8), "metadata at offset 128, want 64", false},
		{"metadata too long", setHeader(b, 24, MaxMetadata+1, 8), "more than the limit", false},
		{"metadata length huge", setHeader(b, 24, math.MaxUint64, 8), "more than the limit", false},
		{"weights offset", setHeader(b, 32, uint64(len(b)), 8), "weights at offset", false},
		{"weights length", setHeader(b, 40, math.MaxUint64, 8), "truncated or padded", false},
		{"metadata shorter", setHeader(setHeader(b, 24, uint64(len(meta)-1), 8), 32, 0, 8), "weights at offset 0", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.file)
			wantErr(t, err, tt.want)
			if ir.IsUnsupported(err) != tt.unsupported {
				t.Errorf("IsUnsupported = %v, want %v", ir.IsUnsupported(err), tt.unsupported)
			}
		})
	}
}

// TestDecodeMetadata feeds metadata that is wrong but correctly
// checksummed.
func TestDecodeMetadata(t *testing.T) {
	b := encode(t, testPlan())
	meta, weights := sections(t, b)
	replace := func(old, new string) []byte {
		if len(old) != len(new) || !bytes.Contains(meta, []byte(old)) {
			t.Fatalf("cannot replace %q in the metadata", old)
		}
		return bytes.Replace(meta, []byte(old), []byte(new), 1)
	}
	kindAt := bytes.Index(meta, []byte("\x03Max\x03")) + 4 // Pool2D's Max: bool
	badKind := bytes.Clone(meta)
	badKind[kindAt] = byte(kindFloat32)
	zeroKind := bytes.Clone(meta)
	zeroKind[kindAt] = 0
	tests := []struct {
		name string
		meta []byte
		want string
	}{
		{"empty", nil, "metadata ends early"},
		{"trailing", append(bytes.Clone(meta), 0), "1 bytes left after the last step"},
		{"unknown type", replace("kernels.Copy", "kernels.Cxpy"), `unknown type "kernels.Cxpy"`},
		{"unknown field", replace("\x03Len", "\x03Lxn"), "field Lxn this build does not know"},
		{"kind mismatch", badKind, "Max is stored as kind 4"},
		{"kind zero", zeroKind, "unknown kind 0"},
		{"nested type renamed", replace("ir.Activation", "ir.Activatiom"), `"ir.Activatiom" stored where a ir.Activation belongs`},
		{"huge count", []byte("\x00\x00\xff\xff\xff\xff\x0f"), "a count of 4294967295"},
		{"bad varint", []byte("\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"), "integer overflows 64 bits"},
		{"truncated", meta[:len(meta)-1], "metadata ends early"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(assemble(tt.meta, weights))
			wantErr(t, err, tt.want)
		})
	}
}

// TestDecodeWrongInterface stores a kernel where an ir op belongs and an ir
// op where a kernel belongs.
func TestDecodeWrongInterface(t *testing.T) {
	x := f32("x", ir.Shape{4}, 0)
	// The type table lists kernels.Reference, kernels.Copy{Len int} and
	// ir.Concat{Axis int}; the steps use them in the wrong places.
	e := &encoder{c: mustCodec(t), index: map[*schema]int{}}
	cp := e.c.byName["kernels.Copy"]
	ref := e.c.byName["kernels.Reference"]
	concat := e.c.byName["ir.Concat"]
	e.typeIndex(ref)
	e.typeIndex(cp)
	e.typeIndex(concat)
	table := func(e *encoder) []byte {
		h := &encoder{c: e.c}
		h.string("test")
		h.string("w")
		h.uint(uint64(len(e.types)))
		for _, s := range e.types {
			h.string(s.name)
			h.uint(uint64(len(s.fields)))
			for _, f := range s.fields {
				h.string(f.name)
				h.buf = append(h.buf, byte(f.kind))
			}
		}
		return h.buf
	}
	body := func(kernelIndex, opIndex int) []byte {
		h := &encoder{c: e.c}
		h.int(64)
		h.int(0)
		h.int(0)
		h.int(0)
		h.operands([]Operand{x})
		h.operands([]Operand{x})
		h.uint(1)
		h.string("n")
		h.string("op")
		h.uint(uint64(kernelIndex) + 1)
		if opIndex >= 0 {
			h.uint(uint64(opIndex) + 1) // Reference.Op
		}
		h.int(5) // the int field
		h.operands([]Operand{x})
		h.operands([]Operand{x})
		return h.buf
	}
	tests := []struct {
		name string
		meta []byte
		want string
	}{
		{"op as kernel", append(table(e), body(2, -1)...), "a ir.Concat stored where a kernels.Kernel belongs"},
		{"kernel as op", append(table(e), body(0, 1)...), "a kernels.Copy stored where a ir.Op belongs"},
		{"type index out of range", append(table(e), body(7, -1)...), "type index 7, the table has 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(assemble(tt.meta, nil))
			wantErr(t, err, tt.want)
		})
	}
	// The same bytes with the right types decode.
	if _, err := Decode(assemble(append(table(e), body(1, -1)...), nil)); err != nil {
		t.Errorf("hand-made metadata of a Copy kernel: %v", err)
	}
}

func mustCodec(t *testing.T) *codec {
	c, err := theCodec()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPlanStructure checks that Encode refuses a malformed plan and that
// Decode refuses the same plan written without the check.
func TestPlanStructure(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *Plan)
		want   string
	}{
		{"negative arena", func(p *Plan) { p.ArenaSize = -1 }, "arena size -1 is negative"},
		{"arena too large", func(p *Plan) { p.ArenaSize = 1 << 40 }, "arena of 1099511627776 bytes, want at most 1024"},
		{"arena too small", func(p *Plan) { p.ArenaSize = 1000 }, `"z": 256 bytes at offset 768, beyond the arena of 1000 bytes`},
		{"weights too small", func(p *Plan) { p.Weights = p.Weights[:300] }, `"b": 16 bytes at offset 320, beyond the weight section of 300 bytes`},
		{"huge offset", func(p *Plan) { p.Steps[0].In[0].Offset = math.MaxInt64 - 4 }, "at offset 9223372036854775803"},
		{"negative offset", func(p *Plan) { p.Steps[1].In[0].Offset = -64 }, "offset -64, want a non-negative multiple of 4"},
		{"misaligned", func(p *Plan) { p.Steps[1].In[0].Offset = 2 }, "offset 2, want a non-negative multiple of 4"},
		{"negative dim", func(p *Plan) { p.Steps[1].In[0].Shape = ir.Shape{-1, 4} }, "shape [?,4], want a known shape"},
		{"nil shape", func(p *Plan) { p.Steps[1].In[0].Shape = nil }, "shape [*], want a known shape"},
		{"too many elements", func(p *Plan) { p.Steps[1].In[0].Shape = ir.Shape{1 << 20, 1 << 20} }, "more than 268435456 elements"},
		{"rank 65", func(p *Plan) { p.Steps[1].In[0].Shape = make(ir.Shape, 65) }, "rank 65, more than 64"},
		{"bad dtype", func(p *Plan) { p.Steps[1].In[0].DType = 9 }, "element type dtype(9)"},
		{"bad loc", func(p *Plan) { p.Steps[1].In[0].Loc = 3 }, "is in location 3, want no location (omitted) or arena or weights"},
		{"none output", func(p *Plan) { p.Steps[1].Out[0] = Operand{} }, `step 1 (node "fc", Gemm): output 0 "" is in no location (omitted), want arena`},
		{"weights output", func(p *Plan) { p.Steps[1].Out[0] = p.Steps[1].In[1] }, `output 0 "w" is in weights, want arena`},
		{"none input", func(p *Plan) { p.Inputs[0].Loc = LocNone }, `input 0 "x" is in no location (omitted), want arena`},
		{"none plan output", func(p *Plan) { p.Outputs[1].Loc = LocNone }, "want arena or weights"},
		{"no kernel", func(p *Plan) { p.Steps[2].Kernel = nil }, `step 2 (node "pool", MaxPool): no kernel`},
		{"nil kernel pointer", func(p *Plan) { p.Steps[2].Kernel = (*kernels.Pool2D)(nil) }, "nil *kernels.Pool2D kernel"},
		{"reference without op", func(p *Plan) { p.Steps[12].Kernel = &kernels.Reference{} }, "reference kernel without an op"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPlan()
			tt.mutate(p)
			var buf bytes.Buffer
			wantErr(t, Encode(&buf, p), tt.want)
			if buf.Len() != 0 {
				t.Errorf("Encode wrote %d bytes of a plan it refused", buf.Len())
			}
			buf.Reset()
			if err := writeFile(&buf, p); err != nil {
				if strings.Contains(tt.name, "nil kernel pointer") {
					return // cannot be stored at all
				}
				t.Fatalf("writeFile: %v", err)
			}
			_, err := Decode(buf.Bytes())
			wantErr(t, err, tt.want)
		})
	}
}

func TestEncodeUnsupported(t *testing.T) {
	x := f32("x", ir.Shape{4}, 0)
	plan := func(k Kernel) *Plan {
		return &Plan{Name: "u", Inputs: []Operand{x}, Outputs: []Operand{x}, ArenaSize: 64,
			Steps: []Step{{Node: "n", Op: "Op", Kernel: k, In: []Operand{x}, Out: []Operand{x}}}}
	}
	tests := []struct {
		name string
		k    Kernel
		want string
	}{
		{"foreign kernel", &foreignKernel{}, "not in codegen's fileTypes"},
		{"foreign op", &kernels.Reference{Op: &foreignOp{}}, "not in codegen's fileTypes"},
		{"bad tensor", &kernels.Reference{Op: &ir.Constant{Value: &ir.Tensor{DType: ir.Float32, Shape: ir.Shape{3}, F32: []float32{1}}}},
			"holds 1 elements, want a known shape and a matching length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, Encode(&bytes.Buffer{}, plan(tt.k)), tt.want)
		})
	}
	wantErr(t, Encode(&bytes.Buffer{}, nil), "nil plan")
}

type foreignKernel struct{ kernels.Copy }

type foreignOp struct{ ir.Relu }

func TestInfo(t *testing.T) {
	p := testPlan()
	b := encode(t, p)
	info, err := Info(b)
	if err != nil {
		t.Fatal(err)
	}
	meta, _ := sections(t, b)
	want := FileInfo{Version: FileVersion, Producer: producer(), Name: "tiny",
		MetadataSize: int64(len(meta)), WeightsSize: int64(len(p.Weights))}
	if info != want {
		t.Errorf("Info = %+v, want %+v", info, want)
	}
	if !strings.HasPrefix(info.Producer, "cnnc ") {
		t.Errorf("producer %q, want cnnc and a version", info.Producer)
	}
	if _, err := Info(b[:40]); err == nil {
		t.Errorf("Info of a truncated header succeeded")
	}
}

// BenchmarkDecode decodes a plan with a 100 MB weight section, about
// ResNet-50's. Most of the time is the weights' checksum.
func BenchmarkDecode(b *testing.B) {
	const n = 25_000_000 // float32s: 100 MB
	x := f32("x", ir.Shape{1, 3, 224, 224}, 0)
	w := weight("w", ir.Shape{n}, 0)
	p := &Plan{Name: "big", Inputs: []Operand{x}, Outputs: []Operand{x}, ArenaSize: alignUp(x.Bytes(), 64),
		Weights: make([]byte, 4*n)}
	for i := 0; i < 160; i++ { // about ResNet-50's number of steps
		p.Steps = append(p.Steps, Step{Node: "conv", Op: "Conv", Kernel: &kernels.Conv2D{N: 1, C: 3, H: 224, W: 224},
			In: []Operand{x, w}, Out: []Operand{x}})
	}
	file := encode(b, p)
	b.SetBytes(int64(len(file)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := Decode(file); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeMetadata is Decode without the weights' checksum.
func BenchmarkDecodeMetadata(b *testing.B) {
	file := encode(b, testPlan())
	meta, _ := sections(b, file)
	b.SetBytes(int64(len(meta)))
	for b.Loop() {
		if _, err := decodeMetadata(meta); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDecodeMemoryBound decodes metadata made to allocate as much as it
// can per byte and checks that Decode allocates at most about 20 times the
// metadata's size (see MaxMetadata).
func TestDecodeMemoryBound(t *testing.T) {
	const n = 200_000
	head := func() *encoder {
		e := &encoder{}
		e.string("")
		e.string("")
		e.uint(0) // no types
		e.int(0)  // arena and memory stats
		e.int(0)
		e.int(0)
		e.int(0)
		return e
	}
	steps := head()
	steps.uint(0)
	steps.uint(0)
	steps.uint(n)
	steps.buf = append(steps.buf, make([]byte, 5*n)...) // empty steps
	operands := head()
	operands.uint(n)
	operands.buf = append(operands.buf, make([]byte, 5*n)...) // empty operands
	operands.uint(0)
	operands.uint(0)
	dims := head()
	dims.uint(1)
	dims.buf = append(dims.buf, 0, byte(ir.Float32), byte(LocArena))
	dims.uint(5*n + 1)
	dims.buf = append(dims.buf, make([]byte, 5*n)...) // 0-dims
	dims.uint(0)
	dims.uint(0)
	dims.uint(0)
	for _, tt := range []struct {
		name string
		meta []byte
		want string
	}{
		{"steps", steps.buf, "no kernel"},
		{"operands", operands.buf, "is in no location"},
		{"dimensions", dims.buf, "a shape of rank 1000000, more than 64"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := assemble(tt.meta, nil)
			var before, after goruntime.MemStats
			goruntime.ReadMemStats(&before)
			_, err := Decode(file)
			goruntime.ReadMemStats(&after)
			if err == nil {
				t.Errorf("Decode accepted the metadata")
			}
			if tt.want != "" {
				wantErr(t, err, tt.want)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d bytes of metadata: Decode allocated %d bytes (%.1fx): %v", len(tt.meta), alloc, float64(alloc)/float64(len(tt.meta)), err)
			if alloc > 20*uint64(len(tt.meta))+1<<20 {
				t.Errorf("Decode allocated %d bytes for %d bytes of metadata, more than 20 times", alloc, len(tt.meta))
			}
		})
	}
}
