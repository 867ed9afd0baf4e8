package importer

import (
	"encoding/binary"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/cnnc/cnnc/importer/onnxpb"
	"github.com/cnnc/cnnc/ir"
)

// dtypeOf maps an ONNX element type to an ir.DType.
func dtypeOf(t int32) (ir.DType, error) {
	switch onnxpb.TensorProto_DataType(t) {
	case onnxpb.TensorProto_FLOAT:
		return ir.Float32, nil
	case onnxpb.TensorProto_INT64:
		return ir.Int64, nil
	case onnxpb.TensorProto_INT32:
		return ir.Int32, nil
	case onnxpb.TensorProto_BOOL:
		return ir.Bool, nil
	case onnxpb.TensorProto_UNDEFINED:
		return ir.Invalid, ir.Invalidf("element type is undefined")
	}
	name, ok := onnxpb.TensorProto_DataType_name[t]
	if !ok {
		return ir.Invalid, ir.Invalidf("unknown element type %d", t)
	}
	return ir.Invalid, ir.Unsupportedf("element type %s", name)
}

// onnxType maps an ir.DType to the ONNX element type.
func onnxType(d ir.DType) onnxpb.TensorProto_DataType {
	switch d {
	case ir.Float32:
		return onnxpb.TensorProto_FLOAT
	case ir.Int64:
		return onnxpb.TensorProto_INT64
	case ir.Int32:
		return onnxpb.TensorProto_INT32
	case ir.Bool:
		return onnxpb.TensorProto_BOOL
	}
	return onnxpb.TensorProto_UNDEFINED
}

// tensorShape checks ONNX dims and returns them as a Shape.
func tensorShape(dims []int64) (ir.Shape, error) {
	s := make(ir.Shape, len(dims))
	for i, d := range dims {
		if d < 0 || d > ir.MaxElements {
			return nil, ir.Invalidf("dimension %d is %d", i, d)
		}
		s[i] = int(d)
	}
	if s.NumElements() < 0 {
		return nil, ir.Invalidf("dims %v hold more than %d elements", dims, ir.MaxElements)
	}
	return s, nil
}

// decodeTensor converts a TensorProto to an ir.Tensor. dir is the folder
// that external data files are resolved against; "" refuses external data.
// Errors name the tensor.
func decodeTensor(p *onnxpb.TensorProto, dir string) (*ir.Tensor, error) {
	t, err := decodeTensorData(p, dir)
	if err != nil {
		return nil, ir.Prefix(err, "tensor %q", p.GetName())
	}
	return t, nil
}

func decodeTensorData(p *onnxpb.TensorProto, dir string) (*ir.Tensor, error) {
	if p == nil {
		return nil, ir.Invalidf("tensor is missing")
	}
	if p.Segment != nil {
		return nil, ir.Unsupportedf("segmented tensor")
	}
	dt, err := dtypeOf(p.GetDataType())
	if err != nil {
		return nil, err
	}
	shape, err := tensorShape(p.GetDims())
	if err != nil {
		return nil, err
	}
	n := shape.NumElements()
	raw := p.GetRawData()
	if p.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		if raw, err = readExternal(p, dir, n*dt.Size()); err != nil {
			return nil, err
		}
	}
	t := &ir.Tensor{DType: dt, Shape: shape}
	if raw != nil || p.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		if len(raw) != n*dt.Size() {
			return nil, ir.Invalidf("raw data has %d bytes, dims %v of %v want %d", len(raw), shape, dt, n*dt.Size())
		}
		switch dt {
		case ir.Float32:
			t.F32 = make([]float32, n)
			for i := range t.F32 {
				t.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		case ir.Int64:
			t.I64 = make([]int64, n)
			for i := range t.I64 {
				t.I64[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		case ir.Int32:
			t.I32 = make([]int32, n)
			for i := range t.I32 {
				t.I32[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		case ir.Bool:
			t.Bool = make([]bool, n)
			for i := range t.Bool {
				t.Bool[i] = raw[i] != 0
			}
		}
		return t, nil
	}
	var got int
	switch dt {
	case ir.Float32:
		got, t.F32 = len(p.FloatData), append([]float32{}, p.FloatData...)
	case ir.Int64:
		got, t.I64 = len(p.Int64Data), append([]int64{}, p.Int64Data...)
	case ir.Int32:
		got = len(p.Int32Data)
		t.I32 = make([]int32, got)
		copy(t.I32, p.Int32Data)
	case ir.Bool:
		got = len(p.Int32Data)
		t.Bool = make([]bool, got)
		for i, v := range p.Int32Data {
			t.Bool[i] = v != 0
		}
	}
	if got != n {
		return nil, ir.Invalidf("has %d values, dims %v want %d", got, shape, n)
	}
	return t, nil
}

// readExternal reads the bytes of an external-data tensor. The location must
// be a relative path inside dir; the read is bounded by want bytes.
func readExternal(p *onnxpb.TensorProto, dir string, want int) ([]byte, error) {
	if dir == "" {
		return nil, ir.Unsupportedf("external data outside a model file")
	}
	var loc string
	var off, length int64 = 0, -1
	for _, e := range p.ExternalData {
		var err error
		switch e.GetKey() {
		case "location":
			loc = e.GetValue()
		case "offset":
			off, err = strconv.ParseInt(e.GetValue(), 10, 64)
		case "length":
			length, err = strconv.ParseInt(e.GetValue(), 10, 64)
		case "checksum":
		default:
			return nil, ir.Unsupportedf("external data key %q", e.GetKey())
		}
		if err != nil || off < 0 {
			return nil, ir.Invalidf("external data %s = %q is not a valid size", e.GetKey(), e.GetValue())
		}
	}
	if loc == "" {
		return nil, ir.Invalidf("external data has no location")
	}
	if !filepath.IsLocal(loc) {
		return nil, ir.Invalidf("external data location %q leaves the model's folder", loc)
	}
	if length >= 0 && length != int64(want) {
		return nil, ir.Invalidf("external data length %d, dims want %d bytes", length, want)
	}
	path := filepath.Join(dir, loc)
	// A symbolic link could still lead out of the folder: resolve and check.
	if real, err := filepath.EvalSymlinks(path); err == nil {
		rdir, _ := filepath.EvalSymlinks(dir)
		if rel, err := filepath.Rel(rdir, real); err != nil || !filepath.IsLocal(rel) {
			return nil, ir.Invalidf("external data location %q leaves the model's folder", loc)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, ir.Invalidf("external data: %v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, ir.Invalidf("external data: %v", err)
	}
	if off+int64(want) > st.Size() {
		return nil, ir.Invalidf("external data %q has %d bytes, tensor needs %d at offset %d", loc, st.Size(), want, off)
	}
	buf := make([]byte, want)
	if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
		return nil, ir.Invalidf("external data %q: %v", loc, err)
	}
	return buf, nil
}

// encodeTensor converts t to a TensorProto with little-endian raw data.
func encodeTensor(t *ir.Tensor, name string) *onnxpb.TensorProto {
	p := &onnxpb.TensorProto{DataType: proto.Int32(int32(onnxType(t.DType)))}
	if name != "" {
		p.Name = &name
	}
	for _, d := range t.Shape {
		p.Dims = append(p.Dims, int64(d))
	}
	raw := make([]byte, t.Len()*t.DType.Size())
	switch t.DType {
	case ir.Float32:
		for i, v := range t.F32 {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
	case ir.Int64:
		for i, v := range t.I64 {
			binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
		}
	case ir.Int32:
		for i, v := range t.I32 {
			binary.LittleEndian.PutUint32(raw[4*i:], uint32(v))
		}
	case ir.Bool:
		for i, v := range t.Bool {
			if v {
				raw[i] = 1
			}
		}
	}
	p.RawData = raw
	return p
}

// ReadTensor reads a file holding one serialized TensorProto, as the ONNX
// test data's input_N.pb and output_N.pb, and returns it with its name.
func ReadTensor(path string) (*ir.Tensor, string, error) {
	data, err := readFileLimited(path)
	if err != nil {
		return nil, "", err
	}
	var p onnxpb.TensorProto
	if err := proto.Unmarshal(data, &p); err != nil {
		return nil, "", ir.Invalidf("%s: not a TensorProto: %v", path, err)
	}
	t, err := decodeTensor(&p, "")
	if err != nil {
		return nil, "", ir.Prefix(err, "%s", path)
	}
	return t, p.GetName(), nil
}

// WriteTensor writes t as one serialized TensorProto named name.
func WriteTensor(path, name string, t *ir.Tensor) error {
	data, err := proto.Marshal(encodeTensor(t, name))
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// maxFileSize bounds the files the importer reads into memory (2 GiB, the
// protobuf limit).
const maxFileSize = 2 << 30

// readFileLimited reads a whole file, refusing ones over maxFileSize.
func readFileLimited(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxFileSize {
		return nil, ir.Invalidf("%s: %d bytes is over the %d-byte protobuf limit", path, st.Size(), maxFileSize)
	}
	return os.ReadFile(path)
}
