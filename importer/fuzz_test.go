package importer

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/cnnc/cnnc/importer/onnxpb"
	"github.com/cnnc/cnnc/ir"
)

// maxFuzzInput caps fuzz inputs, as image/png's fuzz test does: large inputs
// only slow the fuzzer down.
const maxFuzzInput = 64 << 10

// fuzzSeeds returns real models to seed the fuzzers: the onnx-light zoo
// graphs, the committed tiny models and a spread of ONNX node tests.
func fuzzSeeds(tb testing.TB) [][]byte {
	var paths []string
	add := func(pattern string, every int) {
		m, _ := filepath.Glob(pattern)
		sort.Strings(m)
		for i, p := range m {
			if i%every == 0 {
				paths = append(paths, p)
			}
		}
	}
	add("../../shared/onnx-light/*.onnx", 1)
	add("../testdata/tiny/*/model.onnx", 1)
	add("/usr/share/libonnx-testdata/data/node/*/model.onnx", 7)
	add("/usr/share/libonnx-testdata/data/pytorch-operator/*/model.onnx", 3)
	var seeds [][]byte
	for _, p := range paths {
		if data, err := os.ReadFile(p); err == nil && len(data) <= maxFuzzInput {
			seeds = append(seeds, data)
		}
	}
	return seeds
}

// FuzzDecode feeds arbitrary bytes to Decode: it must return a graph that
// verifies, or an *ir.Error, and never panic. A graph that encodes must
// decode again.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		defer watchdog(t)()
		g, err := Decode(data, "")
		if err != nil {
			if _, ok := err.(*ir.Error); !ok {
				t.Fatalf("error %T is not an *ir.Error: %v", err, err)
			}
			return
		}
		if err := ir.Verify(g); err != nil {
			t.Fatalf("decoded graph does not verify: %v\n%s", err, ir.Print(g))
		}
		out, err := Encode(g)
		if err != nil {
			return
		}
		if _, err := Decode(out, ""); err != nil {
			t.Fatalf("re-decoding an encoded graph: %v\n%s", err, ir.Print(g))
		}
	})
}

// fuzzDeadline is how long one fuzz input may take before it counts as a
// hang: the fuzzer has no timeout of its own.
const fuzzDeadline = 10 * time.Second

// watchdog crashes the process with every goroutine's stack when the
// current input runs past fuzzDeadline, so the fuzzer keeps the input as a
// crasher. Call the returned function when the input is done.
func watchdog(t *testing.T) (stop func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-time.After(fuzzDeadline):
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			panic(fmt.Sprintf("input took over %v:\n%s", fuzzDeadline, buf))
		}
	}()
	return func() { close(done) }
}

// FuzzReadTensor feeds arbitrary bytes to the TensorProto decoder.
func FuzzReadTensor(f *testing.F) {
	for _, v := range []*ir.Tensor{
		ir.FromFloat32(ir.Shape{2, 2}, []float32{1, 2, 3, 4}),
		ir.FromInt64(ir.Shape{3}, []int64{1, -1, 7}),
	} {
		data, _ := proto.Marshal(encodeTensor(v, "t"))
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p onnxpb.TensorProto
		if proto.Unmarshal(data, &p) != nil {
			return
		}
		tt, err := decodeTensor(&p, "")
		if err != nil {
			return
		}
		if tt.Len() != tt.Shape.NumElements() {
			t.Fatalf("decoded %d elements for shape %v", tt.Len(), tt.Shape)
		}
	})
}
