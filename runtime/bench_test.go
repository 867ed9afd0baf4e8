package runtime_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime"
	"github.com/cnnc/cnnc/runtime/reference"
	"github.com/cnnc/cnnc/zoo"
)

// BenchmarkCompileResNet50 times runtime.CompilePlan of ResNet-50 at batch
// 1: the passes and the lowering, weight packing included, from the graph
// in memory (the bar: under 1 s).
func BenchmarkCompileResNet50(b *testing.B) {
	g := zooGraph(b, "resnet50", zoo.Options{Batch: 1})
	for b.Loop() {
		if _, err := runtime.CompilePlan(g, runtime.CompileOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadResNet50 times runtime.Load of ResNet-50's .cnnc file (the
// issue's bar: under 50 ms): mapping, checksums, decoding and checking the
// plan.
func BenchmarkLoadResNet50(b *testing.B) {
	g := zooGraph(b, "resnet50", zoo.Options{Batch: 1})
	m, err := runtime.Compile(g, runtime.CompileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "resnet50.cnnc")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		lm, err := runtime.Load(path)
		if err != nil {
			b.Fatal(err)
		}
		lm.Close()
	}
}

// BenchmarkResNet18Engines runs ResNet-18 at batch 1 compiled and on the
// reference interpreter in one benchmark run, for the ratio between them
// (the bar: compiled at least 10x faster).
func BenchmarkResNet18Engines(b *testing.B) {
	g := zooGraph(b, "resnet18", zoo.Options{Batch: 1})
	in := randomInputs(g, 1)
	b.Run("engine=compiled", func(b *testing.B) {
		m, err := runtime.Compile(g, runtime.CompileOptions{})
		if err != nil {
			b.Fatal(err)
		}
		s, err := m.NewSession(runtime.SessionOptions{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Run(ctx, in...); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("engine=reference", func(b *testing.B) {
		feeds := map[string]*ir.Tensor{g.Inputs[0].Name: in[0]}
		for b.Loop() {
			if _, err := reference.Run(g, feeds); err != nil {
				b.Fatal(err)
			}
		}
	})
}
