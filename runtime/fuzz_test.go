package runtime_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime"
	"github.com/cnnc/cnnc/zoo"
)

// FuzzLoadRun feeds mutated plan metadata, wrapped in a well-formed file
// with correct checksums around real weights, to LoadBytes, and runs every
// plan that loads: a plan that passes Decode and every kernel's Bind must
// run without panicking or reading out of range. Seeds are real plans
// (LeNet and random CNNs).
//
//	go test ./runtime -run '^$' -fuzz FuzzLoadRun -fuzzminimizetime 2s
func FuzzLoadRun(f *testing.F) {
	var weights []byte
	for seed := range uint64(4) {
		var g *ir.Graph
		if seed == 0 {
			g = zooGraph(f, "lenet", zooOpts)
		} else {
			var err error
			if g, err = randomGraph(seed); err != nil {
				f.Fatal(err)
			}
		}
		m, err := runtime.Compile(g, runtime.CompileOptions{})
		if err != nil {
			f.Fatal(err)
		}
		var buf bytes.Buffer
		if err := m.Write(&buf); err != nil {
			f.Fatal(err)
		}
		b := buf.Bytes()
		metaLen := binary.LittleEndian.Uint64(b[24:])
		f.Add(b[64 : 64+metaLen])
		if w := b[binary.LittleEndian.Uint64(b[32:]):]; len(w) > len(weights) {
			weights = w
		}
	}
	f.Fuzz(func(t *testing.T, meta []byte) {
		if len(meta) > 1<<16 {
			return
		}
		m, err := runtime.LoadBytes(planFile(meta, weights))
		if err != nil {
			return
		}
		p := m.Plan()
		if p.ArenaSize > 64<<20 {
			return // valid but too big to run quickly
		}
		s, err := m.NewSession(runtime.SessionOptions{Threads: 2})
		if err != nil {
			t.Fatalf("a loaded plan does not make a session: %v", err)
		}
		defer s.Close()
		ins := make([]*ir.Tensor, len(p.Inputs))
		for i, o := range p.Inputs {
			if ins[i], err = ir.NewTensor(o.DType, o.Shape); err != nil {
				return
			}
		}
		s.Run(context.Background(), ins...) // an error is fine, a panic is not
	})
}

// zooOpts builds zoo models at batch 1.
var zooOpts = zoo.Options{Batch: 1}

// planFile wraps metadata and a weight section into a .cnnc file with
// correct offsets and checksums (see codegen/file.go for the layout).
func planFile(meta, weights []byte) []byte {
	wOff := (64 + len(meta) + 63) &^ 63
	b := make([]byte, wOff+len(weights))
	copy(b, "CNNC\x00\r\n\x1a")
	le := binary.LittleEndian
	le.PutUint32(b[8:], 1)
	le.PutUint64(b[16:], 64)
	le.PutUint64(b[24:], uint64(len(meta)))
	le.PutUint64(b[32:], uint64(wOff))
	le.PutUint64(b[40:], uint64(len(weights)))
	copy(b[64:], meta)
	copy(b[wOff:], weights)
	le.PutUint32(b[48:], crc32.ChecksumIEEE(meta))
	le.PutUint32(b[52:], crc32.ChecksumIEEE(weights))
	le.PutUint32(b[60:], crc32.ChecksumIEEE(b[:60]))
	return b
}
