package codegen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

// fixChecksums returns a copy of b with every checksum the header's
// lengths let it compute made correct, so that fuzzed bytes reach the
// metadata's parser.
func fixChecksums(b []byte) []byte {
	if len(b) < headerSize {
		return b
	}
	c := bytes.Clone(b)
	size := uint64(len(c))
	if n := binary.LittleEndian.Uint64(c[24:]); n <= size-headerSize {
		binary.LittleEndian.PutUint32(c[48:], crc32.Checksum(c[headerSize:headerSize+n], crcTable))
	}
	if off, n := binary.LittleEndian.Uint64(c[32:]), binary.LittleEndian.Uint64(c[40:]); off <= size && n <= size-off {
		binary.LittleEndian.PutUint32(c[52:], crc32.Checksum(c[off:off+n], crcTable))
	}
	binary.LittleEndian.PutUint32(c[60:], crc32.Checksum(c[:60], crcTable))
	return c
}

// FuzzDecode checks that Decode never panics and fails only with an
// *ir.Error, and that a plan it accepts encodes and decodes again to the
// same bytes. Each input is tried as a whole file (as is, and with its
// checksums fixed) and as the metadata and weights of a file with a
// correct header.
//
//	go test ./codegen -run '^$' -fuzz FuzzDecode -fuzztime 3m -fuzzminimizetime 2s
func FuzzDecode(f *testing.F) {
	for _, p := range []*Plan{testPlan(), smallPlan(), allTypesPlan(f), {Name: "empty"}} {
		b := encode(f, p)
		f.Add(b, []byte(nil))
		meta, weights := sections(f, b)
		f.Add(meta, weights)
	}
	f.Fuzz(func(t *testing.T, a, w []byte) {
		if len(a)+len(w) > 1<<20 {
			return
		}
		for _, file := range [][]byte{a, fixChecksums(a), assemble(a, w)} {
			p, err := Decode(file)
			if err != nil {
				var e *ir.Error
				if !errors.As(err, &e) {
					t.Fatalf("Decode error %v is a %T, want an *ir.Error", err, err)
				}
				continue
			}
			var b1, b2 bytes.Buffer
			if err := Encode(&b1, p); err != nil {
				t.Fatalf("Encode of a decoded plan: %v", err)
			}
			q, err := Decode(b1.Bytes())
			if err != nil {
				t.Fatalf("Decode of a re-encoded plan: %v", err)
			}
			if err := Encode(&b2, q); err != nil {
				t.Fatalf("Encode of a re-decoded plan: %v", err)
			}
			if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
				t.Fatalf("encoding, decoding and encoding again changes the bytes")
			}
		}
	})
}
