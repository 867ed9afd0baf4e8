package runtime

import (
	"os"
	"unsafe"

	"github.com/cnnc/cnnc/codegen"
	"github.com/cnnc/cnnc/ir"
)

// Load reads a .cnnc file. The file is mapped into memory, not copied: the
// weights are read from the mapping, which Model.Close releases.
func Load(path string) (*Model, error) {
	data, unmap, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	m, err := load(data)
	if err != nil {
		unmap()
		return nil, ir.Prefix(err, "%s", path)
	}
	m.unmap = unmap
	return m, nil
}

// LoadBytes reads a .cnnc file held in b (for example embedded with
// go:embed). The model keeps using b, which must not change; when b is not
// 64-byte aligned it is copied first.
func LoadBytes(b []byte) (*Model, error) {
	if len(b) > 0 && uintptr(unsafe.Pointer(&b[0]))%64 != 0 {
		b = append(alignedBytes(len(b))[:0], b...)
	}
	return load(b)
}

// load decodes and checks a plan file's bytes.
func load(b []byte) (*Model, error) {
	p, err := codegen.Decode(b)
	if err != nil {
		return nil, err
	}
	return FromPlan(p)
}

// alignedBytes returns n zero bytes starting at a 64-byte boundary.
func alignedBytes(n int) []byte {
	buf := make([]uint64, (n+127)/8)
	b := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), len(buf)*8)
	off := (64 - int(uintptr(unsafe.Pointer(&b[0]))%64)) % 64
	return b[off : off+n : off+n]
}

// readFile is mapFile's fallback: the whole file, copied into aligned
// memory.
func readFile(path string) ([]byte, func() error, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	b := alignedBytes(len(data))
	copy(b, data)
	return b, func() error { return nil }, nil
}
