package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cnnc/cnnc/importer"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime"
)

func TestSummarize(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		d := make([]time.Duration, len(v))
		for i, x := range v {
			d[i] = time.Duration(x) * time.Millisecond
		}
		return d
	}
	for _, tc := range []struct {
		in        []time.Duration
		med, min  time.Duration
		wantCount int
	}{
		{nil, 0, 0, 0},
		{ms(7), 7 * time.Millisecond, 7 * time.Millisecond, 1},
		{ms(5, 1, 3), 3 * time.Millisecond, time.Millisecond, 3},
		{ms(4, 1, 3, 2), 2500 * time.Microsecond, time.Millisecond, 4},
		{ms(9, 9, 1, 9), 9 * time.Millisecond, time.Millisecond, 4},
	} {
		in := append([]time.Duration(nil), tc.in...)
		got := summarize(tc.in)
		if got.Median != tc.med || got.Min != tc.min || got.N != tc.wantCount {
			t.Errorf("summarize(%v) = %+v, want median %v, min %v, N %d", in, got, tc.med, tc.min, tc.wantCount)
		}
		for i := range in {
			if in[i] != tc.in[i] {
				t.Fatalf("summarize reordered its argument: %v, was %v", tc.in, in)
			}
		}
	}
}

func TestGflops(t *testing.T) {
	if got := gflops(1e9, time.Second); got != 2 {
		t.Errorf("gflops(1e9, 1s) = %v, want 2", got)
	}
	if got := gflops(-1, time.Second); got != 0 {
		t.Errorf("gflops(-1, 1s) = %v, want 0 (unknown MACs)", got)
	}
	if got := gflops(5, 0); got != 0 {
		t.Errorf("gflops(5, 0) = %v, want 0", got)
	}
}

func TestParseReply(t *testing.T) {
	for _, tc := range []struct {
		line    string
		want    float64
		wantErr string
	}{
		{"ok 12.5", 12.5, ""},
		{"ok 0", 0, ""},
		{"ok  3.25 ", 3.25, ""},
		{"err run before load", 0, "run before load"},
		{"err ", 0, ""},
		{"ok", 0, `want "ok VALUE"`},
		{"ready 1.30.0", 0, `want "ok VALUE"`},
		{"ok -1", 0, "non-negative"},
		{"ok NaN", 0, "non-negative"},
		{"ok twelve", 0, "non-negative"},
		{"", 0, `want "ok VALUE"`},
	} {
		got, err := parseReply(tc.line)
		switch {
		case tc.line == "err ":
			if err == nil {
				t.Errorf("parseReply(%q): no error, want one", tc.line)
			}
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseReply(%q) = %v, %v; want an error containing %q", tc.line, got, err, tc.wantErr)
			}
		case err != nil || got != tc.want:
			t.Errorf("parseReply(%q) = %v, %v; want %v", tc.line, got, err, tc.want)
		}
	}
}

func TestLoadRequest(t *testing.T) {
	got, err := loadRequest("/m dir/model.onnx", "/tmp/in.raw", []int{8, 3, 224, 224}, 2, false)
	want := "load\t/m dir/model.onnx\t/tmp/in.raw\t8,3,224,224\t2\t0"
	if err != nil || got != want {
		t.Errorf("loadRequest = %q, %v; want %q", got, err, want)
	}
	if got, _ := loadRequest("m", "i", []int{1}, 1, true); !strings.HasSuffix(got, "\t1\t1") {
		t.Errorf("loadRequest with spin = %q, want it to end in THREADS 1 SPIN 1", got)
	}
	for _, bad := range []struct {
		model, input string
		dims         []int
		threads      int
	}{
		{"a\tb", "i", []int{1}, 1},
		{"m", "i\n", []int{1}, 1},
		{"", "i", []int{1}, 1},
		{"m", "i", nil, 1},
		{"m", "i", []int{-1, 3}, 1},
		{"m", "i", []int{1}, 0},
	} {
		if got, err := loadRequest(bad.model, bad.input, bad.dims, bad.threads, false); err == nil {
			t.Errorf("loadRequest(%q, %q, %v, %d) = %q, want an error", bad.model, bad.input, bad.dims, bad.threads, got)
		}
	}
}

func TestParseInts(t *testing.T) {
	got, err := parseInts("1, 8,2", 16)
	if err != nil || len(got) != 3 || got[0] != 1 || got[1] != 8 || got[2] != 2 {
		t.Errorf(`parseInts("1, 8,2") = %v, %v; want [1 8 2]`, got, err)
	}
	for _, bad := range []string{"", "0", "1,,2", "x", "17", "-1"} {
		if got, err := parseInts(bad, 16); err == nil {
			t.Errorf("parseInts(%q) = %v, want an error", bad, got)
		}
	}
	if _, err := parseNames("resnet18,../etc"); err == nil {
		t.Error(`parseNames("resnet18,../etc"): no error, want one`)
	}
}

func TestParseCPUInfo(t *testing.T) {
	const info = "processor\t: 0\nmodel name\t: AMD EPYC 9R14\ncpu MHz\t\t: 3700.000\n\nprocessor\t: 1\nmodel name\t: other\ncpu MHz\t\t: 1.0\n"
	name, mhz := parseCPUInfo(strings.NewReader(info))
	if name != "AMD EPYC 9R14" || mhz != 3700 {
		t.Errorf("parseCPUInfo = %q, %v; want the first CPU's AMD EPYC 9R14, 3700", name, mhz)
	}
	if got := (machine{MHz: 3625}).NominalGFLOPs(); got != 116 {
		t.Errorf("NominalGFLOPs at 3625 MHz = %v, want 116", got)
	}
}

func TestPercentOfPeak(t *testing.T) {
	m := machine{Peak: 100}
	for _, tc := range []struct {
		gflops  float64
		threads int
		want    float64
	}{
		{50, 1, 50},
		{150, 2, 75},
		{0, 1, 0},
		{50, 0, 0},
	} {
		if got := m.PercentOfPeak(tc.gflops, tc.threads); got != tc.want {
			t.Errorf("PercentOfPeak(%v, %d) at peak 100 = %v, want %v", tc.gflops, tc.threads, got, tc.want)
		}
	}
	if got := (machine{}).PercentOfPeak(50, 1); got != 0 {
		t.Errorf("PercentOfPeak without a measured peak = %v, want 0", got)
	}
}

func TestConvAlgos(t *testing.T) {
	if got := convAlgos(true); got != nil {
		t.Errorf("convAlgos(true) = %v, want nil (every algorithm)", got)
	}
	got := convAlgos(false)
	want := []ir.ConvAlgo{ir.AlgoDirect, ir.AlgoGEMM1x1, ir.AlgoIm2col, ir.AlgoDepthwise, ir.AlgoOCBlock}
	if !slices.Equal(got, want) {
		t.Errorf("convAlgos(false) = %v, want %v", got, want)
	}
}

func TestParseTorch(t *testing.T) {
	s, err := parseTorch([]byte(`{"median_ms": 12.5, "min_ms": 11.0, "runs": 20, "torch": "1.13.0"}` + "\n"))
	if err != nil || s.Median != 12500*time.Microsecond || s.Min != 11*time.Millisecond || s.N != 20 {
		t.Errorf("parseTorch = %+v, %v; want median 12.5ms, min 11ms, N 20", s, err)
	}
	for _, bad := range []string{``, `{}`, `{"median_ms": 1, "min_ms": 2, "runs": 3}`, `not json`} {
		if s, err := parseTorch([]byte(bad)); err == nil {
			t.Errorf("parseTorch(%q) = %+v, want an error", bad, s)
		}
	}
}

// testReport is a report with fixed contents for the table tests.
func testReport(torch bool) *report {
	r := &report{
		Date:       time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC),
		Machine:    machine{CPU: "AMD EPYC", CPUs: 2, MHz: 2600, Go: "go1.26.8", Rev: "abc1234", ISA: "avx2", Peak: 116},
		ORTVersion: "1.30.0",
		Runs:       20, Warmup: 3, Elapsed: 95 * time.Second, Algos: "nowinograd",
		Command: "go run ./bench --models resnet18",
		Cells: []cell{
			{Model: "resnet18", Batch: 1, Threads: 1, MACs: 1_814_083_944,
				Cnnc:  stats{Median: 75 * time.Millisecond, Min: 70 * time.Millisecond, N: 20},
				ORT:   stats{Median: 37500 * time.Microsecond, Min: 35 * time.Millisecond, N: 20},
				Torch: stats{Median: 58 * time.Millisecond, Min: 57 * time.Millisecond, N: 20}},
			{Model: "vgg16", Batch: 8, Threads: 2, MACs: -1,
				Cnnc: stats{Median: 1234 * time.Millisecond, Min: 1200 * time.Millisecond, N: 20},
				Note: "ORT load: x | y"},
		},
	}
	if torch {
		r.TorchVersion = "1.13.0"
	}
	return r
}

func TestWriteMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := testReport(false).writeMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{
		"Run on 2026-11-26 21:00 UTC (total 1m35s): `go run ./bench --models resnet18`\n",
		"- CPU: AMD EPYC, 2 logical CPUs; measured FMA peak 116.0 GFLOP/s per core (kernels.FMAPeak at avx2",
		"; nominal peak 83 GFLOP/s per core at the 2600 MHz of /proc/cpuinfo",
		"- cnnc abc1234, go1.26.8, kernels at avx2, convolution algorithms from the static cost model, Winograd excluded (--algos nowinograd); ONNX Runtime 1.30.0 (onnxruntime-node)\n",
		"- 20 timed runs per engine per row after 3 warm-up runs,",
		"% peak = cnnc GFLOP/s / (measured peak x threads)\n",
		"| model | batch | threads | cnnc ms | ORT ms | cnnc/ORT | cnnc GFLOP/s | cnnc % peak | ORT GFLOP/s | note |\n" +
			"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n" +
			"| resnet18 | 1 | 1 | 75.0 (70.0) | 37.5 (35.0) | 2.00 | 48.4 | 42% | 96.8 |  |\n" +
			"| vgg16 | 8 | 2 | 1234 (1200) | — | — | — | — | — | ORT load: x \\| y |\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks\n%s\ngot:\n%s", want, got)
		}
	}
	if strings.Contains(got, "PyTorch") {
		t.Errorf("table without --torch mentions PyTorch:\n%s", got)
	}

	b.Reset()
	if err := testReport(true).writeMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	got = b.String()
	for _, want := range []string{
		"; PyTorch 1.13.0\n",
		"| ORT GFLOP/s | PyTorch ms | note |\n",
		"| 48.4 | 42% | 96.8 | 58.0 (57.0) |  |\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table with PyTorch lacks\n%s\ngot:\n%s", want, got)
		}
	}

	// Pure-Go kernels, tuned algorithms: no peak, no percentages.
	r := testReport(false)
	r.Machine.ISA, r.Machine.Peak, r.Algos = "generic", 0, "tuned"
	b.Reset()
	if err := r.writeMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	got = b.String()
	for _, want := range []string{
		"; FMA peak not measured (cnnc's kernels run at generic, pure Go)",
		"kernels at generic, convolution algorithms timed on this machine at each row's thread count (--algos tuned, as cnnc compile --tune);",
		"| 2.00 | 48.4 | — | 96.8 |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table without a peak lacks\n%s\ngot:\n%s", want, got)
		}
	}
}

func TestFmtMs(t *testing.T) {
	for d, want := range map[time.Duration]string{
		1234 * time.Microsecond:   "1.23",
		12345 * time.Microsecond:  "12.3",
		123456 * time.Microsecond: "123",
		2500 * time.Millisecond:   "2500",
	} {
		if got := fmtMs(d); got != want {
			t.Errorf("fmtMs(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestSpliceBetween(t *testing.T) {
	doc := "# T\n\nprose\n\n" + beginMarker + "\nold table\n" + endMarker + "\n\nmore\n"
	got, ok := spliceBetween(doc, "new table")
	want := "# T\n\nprose\n\n" + beginMarker + "\n\nnew table\n\n" + endMarker + "\n\nmore\n"
	if !ok || got != want {
		t.Errorf("spliceBetween = %q, %v; want %q", got, ok, want)
	}
	again, _ := spliceBetween(got, "new table")
	if again != got {
		t.Errorf("splicing the same table twice changed the document:\n%q\n%q", got, again)
	}
	for _, bad := range []string{"no markers", endMarker + beginMarker, beginMarker + " only"} {
		if _, ok := spliceBetween(bad, "x"); ok {
			t.Errorf("spliceBetween(%q) reported success, want false", bad)
		}
	}

	path := filepath.Join(t.TempDir(), "out.md")
	if err := writeOut(path, "fresh\n"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "fresh\n" {
		t.Errorf("writeOut to a new file wrote %q, want %q", b, "fresh\n")
	}
}

func TestSeededInput(t *testing.T) {
	a, err := seededInput(ir.Shape{2, 3}, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := seededInput(ir.Shape{2, 3}, 0)
	for i, v := range a.F32 {
		if v < -1 || v >= 1 || v != b.F32[i] {
			t.Fatalf("seededInput: values %v and %v, want equal values in [-1, 1)", a.F32, b.F32)
		}
	}
	path := filepath.Join(t.TempDir(), "x.raw")
	if err := writeRaw(path, a); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 4*6 {
		t.Errorf("writeRaw wrote %v bytes (err %v), want 24", fi.Size(), err)
	}
}

// tinyModel is a committed tiny LeNet with a fixed batch of 1.
var tinyModel = filepath.Join("..", "testdata", "tiny", "lenet", "model.onnx")

func TestDynamicBatchCopy(t *testing.T) {
	dir := t.TempDir()
	p, err := dynamicBatchCopy(tinyModel, dir, "lenet")
	if err != nil {
		t.Fatal(err)
	}
	g, err := importer.Load(p)
	if err != nil {
		t.Fatalf("importing the copy: %v", err)
	}
	if s := g.Inputs[0].Type.Shape; len(s) != 4 || s[0] >= 0 {
		t.Fatalf("copy's input shape %v, want a dynamic batch", s)
	}
	m, err := runtime.Compile(g, runtime.CompileOptions{InputShapes: map[string]ir.Shape{g.Inputs[0].Name: {3, 1, 28, 28}}})
	if err != nil {
		t.Fatalf("compiling the copy at batch 3: %v", err)
	}
	defer m.Close()
	s, err := m.NewSession(runtime.SessionOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	x, _ := seededInput(ir.Shape{3, 1, 28, 28}, 0)
	out, err := s.Run(context.Background(), x)
	if err != nil || out[0].Shape[0] != 3 {
		t.Fatalf("running the copy at batch 3: %v, %v", out, err)
	}
	// A second call reuses the copy.
	if p2, err := dynamicBatchCopy(tinyModel, dir, "lenet"); err != nil || p2 != p {
		t.Errorf("second dynamicBatchCopy = %q, %v; want %q", p2, err, p)
	}
}

// TestORTServer drives tools/ort/bench.js on the tiny LeNet. It needs
// node and tools/ort's node_modules and is skipped without them.
func TestORTServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Node.js; skipped in -short")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	script := filepath.Join("..", "tools", "ort", "bench.js")
	if _, err := os.Stat(filepath.Join("..", "tools", "ort", "node_modules", "onnxruntime-node")); err != nil {
		t.Skip(`onnxruntime-node is not installed (run "npm ci --ignore-scripts" in tools/ort)`)
	}
	s, err := startORT(script)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Version == "" {
		t.Error("empty ORT version")
	}
	if _, err := s.Run(); err == nil || !strings.Contains(err.Error(), "run before load") {
		t.Errorf("Run before Load: %v, want a run-before-load error", err)
	}
	dir := t.TempDir()
	p, err := dynamicBatchCopy(tinyModel, dir, "lenet")
	if err != nil {
		t.Fatal(err)
	}
	x, _ := seededInput(ir.Shape{2, 1, 28, 28}, 0)
	raw := filepath.Join(dir, "in.raw")
	if err := writeRaw(raw, x); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(p, raw, []int{2, 1, 28, 28}, 1, false); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if d, err := s.Run(); err != nil || d <= 0 {
			t.Fatalf("Run = %v, %v; want a positive time", d, err)
		}
	}
	if _, err := s.Load(p, raw, []int{3, 1, 28, 28}, 1, false); err == nil || !strings.Contains(err.Error(), "bytes") {
		t.Errorf("Load with dims that disagree with the input file: %v, want a size error", err)
	}
}
