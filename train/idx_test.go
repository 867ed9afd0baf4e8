package train

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"strings"
	"testing"
)

// idxBytes encodes an IDX array of unsigned bytes.
func idxBytes(dims []uint32, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(data)
	return b.Bytes()
}

// gz compresses p.
func gz(p []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(p)
	w.Close()
	return b.Bytes()
}

func TestReadIDX(t *testing.T) {
	data := []byte{1, 2, 3, 4, 5, 6}
	raw := idxBytes([]uint32{2, 3}, data)
	for name, in := range map[string][]byte{"raw": raw, "gzip": gz(raw), "trailing bytes": append(raw, 9, 9)} {
		a, err := ReadIDX(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(a.Dims) != 2 || a.Dims[0] != 2 || a.Dims[1] != 3 || !bytes.Equal(a.Data, data) {
			t.Errorf("%s: got %v %v, want [2 3] %v", name, a.Dims, a.Data, data)
		}
	}
}

func TestReadIDXErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "header: unexpected EOF"},
		{"magic", []byte{1, 0, 8, 1, 0, 0, 0, 1, 0}, "bad magic"},
		{"float", []byte{0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0}, "element type 0x0d unsupported"},
		{"rank 0", []byte{0, 0, 8, 0}, "0 dimensions unsupported"},
		{"rank 5", []byte{0, 0, 8, 5}, "5 dimensions unsupported"},
		{"zero dim", idxBytes([]uint32{3, 0}, nil), "dimension 1 is 0"},
		{"short dims", []byte{0, 0, 8, 2, 0, 0, 0, 1, 0}, "dimension 1: unexpected EOF"},
		{"huge", idxBytes([]uint32{1 << 16, 1 << 16}, nil), "exceed"},
		{"short data", idxBytes([]uint32{4, 4}, make([]byte, 10)), "data: 10 of 16 bytes: unexpected EOF"},
		{"bad gzip", []byte{0x1f, 0x8b, 0, 0}, "gzip header"},
	} {
		_, err := ReadIDX(bytes.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// FuzzReadIDX checks that no input panics or claims more data than it
// holds.
func FuzzReadIDX(f *testing.F) {
	f.Add(idxBytes([]uint32{2, 3}, []byte{1, 2, 3, 4, 5, 6}))
	f.Add(gz(idxBytes([]uint32{1, 2, 2}, []byte{1, 2, 3, 4})))
	f.Add(idxBytes([]uint32{1 << 20, 1 << 9}, nil))
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := ReadIDX(bytes.NewReader(in))
		if err != nil {
			return
		}
		n := 1
		for _, d := range a.Dims {
			n *= d
		}
		if n != len(a.Data) {
			t.Fatalf("dims %v hold %d bytes, data has %d", a.Dims, n, len(a.Data))
		}
	})
}
