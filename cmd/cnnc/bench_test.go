package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cnnc/cnnc/ir"
)

// benchJSON runs bench with --json and returns the result, both as the
// struct and as a map (to check the field names).
func benchJSON(t *testing.T, args ...string) (benchResult, map[string]any, string) {
	t.Helper()
	code, stdout, stderr := cli(t, append([]string{"bench", "--json"}, args...)...)
	wantCode(t, code, exitOK, stdout, stderr)
	var r benchResult
	var m map[string]any
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatal(err)
	}
	return r, m, stderr
}

// lenetMACs is LeNet-5's multiply-accumulates per image (TestSummaryLeNet).
const lenetMACs = 6*28*28*25 + 16*10*10*6*25 + 400*120 + 120*84 + 84*10

func TestBenchZoo(t *testing.T) {
	r, m, _ := benchJSON(t, "zoo:lenet", "--runs", "3", "--warmup", "1", "--threads", "2")
	for _, f := range []string{"min_ms", "median_ms", "p90_ms", "runs", "threads", "batch", "model", "engine",
		"images_per_s", "gflops", "peak_rss_bytes", "peak_rss_source", "compile_ms", "load_ms", "macs"} {
		if _, ok := m[f]; !ok {
			t.Errorf("bench --json lacks %q: %v", f, m)
		}
	}
	if r.Model != "zoo:lenet" || r.Engine != "compiled" || r.Runs != 3 || r.Warmup != 1 || r.Threads != 2 || r.Batch != 1 {
		t.Errorf("settings: %+v", r)
	}
	if !(0 < r.MinMs && r.MinMs <= r.MedianMs && r.MedianMs <= r.P90Ms) || r.CompileMs <= 0 {
		t.Errorf("times: %+v", r)
	}
	if r.MACs == nil || *r.MACs != lenetMACs || r.MACsSource != "graph" || r.GFLOPs == nil || *r.GFLOPs <= 0 {
		t.Errorf("MACs %v from %q, GFLOP/s %v: want %d from the graph", r.MACs, r.MACsSource, r.GFLOPs, lenetMACs)
	}
	if r.ImagesPerS <= 0 || r.PeakRSSBytes <= 0 || (r.PeakRSSSource != "VmHWM" && r.PeakRSSSource != "MemStats.Sys") {
		t.Errorf("throughput and memory: %+v", r)
	}

	// A batch of 2 counts twice the MACs.
	r, _, _ = benchJSON(t, "zoo:lenet", "--runs", "1", "--warmup", "0", "--batch", "2")
	if r.Batch != 2 || r.MACs == nil || *r.MACs != 2*lenetMACs {
		t.Errorf("--batch 2: batch %d, MACs %v; want 2, %d", r.Batch, r.MACs, 2*lenetMACs)
	}
}

func TestBenchPlan(t *testing.T) {
	plan, _ := compileLeNet(t)
	r, _, _ := benchJSON(t, plan, "--runs", "2", "--warmup", "0")
	if r.CompileMs != 0 || r.Batch != 1 || r.MACs == nil || *r.MACs != lenetMACs || r.MACsSource != "plan" {
		t.Errorf("bench of a plan: %+v (MACs %v)", r, r.MACs)
	}
	code, stdout, stderr := cli(t, "bench", plan, "--runs", "2", "--warmup", "0")
	wantCode(t, code, exitOK, stdout, stderr)
	for _, want := range []string{"model " + plan + ", engine compiled, batch 1, threads ", "(a compiled plan)",
		"latency over 2 runs (after 0 warm-up): min ", "images/s", "from the plan", "peak memory: "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("bench output lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, stderr = cli(t, "bench", plan, "--batch", "4")
	wantCode(t, code, exitFail, stdout, stderr)
	if !strings.Contains(stderr, "--batch 4: the plan was compiled for batch 1") {
		t.Errorf("stderr: %s", stderr)
	}
}

func TestBenchProfile(t *testing.T) {
	plan, _ := compileLeNet(t)
	code, stdout, stderr := cli(t, "bench", plan, "--runs", "3", "--warmup", "1", "--profile")
	wantCode(t, code, exitOK, stdout, stderr)
	for _, want := range []string{"steps, slowest first (ms per run; 3 runs; the steps sum to ", "GFLOP/s  kernel (node)", "conv2d "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("bench --profile output lacks %q:\n%s", want, stdout)
		}
	}
	r, _, _ := benchJSON(t, plan, "--runs", "2", "--warmup", "0", "--profile")
	var sum float64
	convs := 0
	for i, st := range r.Steps {
		if st.Step != i || st.Node == "" || st.Kernel == "" || st.Ms < 0 {
			t.Errorf("step %d: %+v", i, st)
		}
		if strings.HasPrefix(st.Kernel, "conv2d") {
			convs++
			if st.GFLOPs == nil || *st.GFLOPs <= 0 {
				t.Errorf("conv step %d has no rate: %+v", i, st)
			}
		}
		sum += st.Ms
	}
	if convs != 2 || sum <= 0 || sum > r.MedianMs*2*1.5+1 {
		t.Errorf("--profile --json: %d conv steps (want LeNet's 2), %.3f ms in all against a median run of %.3f ms", convs, sum, r.MedianMs)
	}
	if r, _, _ := benchJSON(t, plan, "--runs", "1", "--warmup", "0"); r.Steps != nil {
		t.Errorf("steps without --profile: %+v", r.Steps)
	}
}

func TestBenchReference(t *testing.T) {
	r, _, stderr := benchJSON(t, "zoo:lenet", "--engine", "reference", "--runs", "1")
	if r.Engine != "reference" || r.Threads != 1 || r.Runs != 1 || r.Warmup != 1 || r.CompileMs != 0 {
		t.Errorf("reference: %+v", r)
	}
	if !strings.Contains(stderr, "warning: the reference interpreter is slow") {
		t.Errorf("no warning on stderr: %q", stderr)
	}
}

func TestBenchErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"bench"}, exitUsage, "want one MODEL, got 0 arguments"},
		{[]string{"bench", "zoo:lenet", "--runs", "0"}, exitUsage, "--runs 0: want 1 to"},
		{[]string{"bench", "zoo:lenet", "--warmup", "-1"}, exitUsage, "--warmup -1: want 0 to"},
		{[]string{"bench", "zoo:lenet", "--threads", "-1"}, exitUsage, "--threads -1: want 0 to 1024"},
		{[]string{"bench", "zoo:lenet", "--engine", "gpu"}, exitUsage, "--engine gpu: want compiled or reference"},
		{[]string{"bench", "m.cnnc", "--engine", "reference"}, exitUsage, "m.cnnc is a compiled plan"},
		{[]string{"bench", "zoo:nonet"}, exitFail, "zoo:nonet: no such zoo model"},
		{[]string{"bench", lenetONNX, "--batch", "2"}, exitFail, "has a fixed batch size of 1"},
	} {
		code, stdout, stderr := cli(t, c.args...)
		wantCode(t, code, c.code, stdout, stderr)
		if !strings.Contains(stderr, c.want) {
			t.Errorf("%v: stderr lacks %q:\n%s", c.args, c.want, stderr)
		}
	}
}

func TestBenchInputs(t *testing.T) {
	in := []ir.Value{
		{Name: "a", Type: ir.Type{DType: ir.Float32, Shape: ir.Shape{2, 500}}},
		{Name: "b", Type: ir.Type{DType: ir.Float32, Shape: ir.Shape{3}}},
	}
	x, err := benchInputs(in)
	if err != nil {
		t.Fatal(err)
	}
	y, _ := benchInputs(in)
	if !reflect.DeepEqual(x, y) {
		t.Error("two calls gave different inputs")
	}
	lo, hi := float32(1), float32(-1)
	for _, v := range x[0].F32 {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo < -1 || hi >= 1 || lo > -0.9 || hi < 0.9 {
		t.Errorf("values span [%g, %g], want about [-1, 1)", lo, hi)
	}
	if reflect.DeepEqual(x[0].F32[:3], x[1].F32) {
		t.Error("inputs a and b start with the same values")
	}
	for _, bad := range []ir.Value{
		{Name: "i", Type: ir.Type{DType: ir.Int64, Shape: ir.Shape{1}}},
		{Name: "u", Type: ir.Type{DType: ir.Float32, Shape: ir.Shape{-1, 3}}},
	} {
		if _, err := benchInputs([]ir.Value{bad}); err == nil || !strings.Contains(err.Error(), `input "`+bad.Name+`"`) {
			t.Errorf("%s %v: got %v, want an error naming it", bad.Name, bad.Type, err)
		}
	}
}

func TestLatencyStats(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		d := make([]time.Duration, len(v))
		for i, x := range v {
			d[i] = time.Duration(x) * time.Millisecond
		}
		return d
	}
	for _, c := range []struct {
		in               []time.Duration
		min, median, p90 time.Duration
	}{
		{ms(5), 5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond},
		{ms(3, 1, 2), time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond},
		{ms(4, 1, 3, 2), time.Millisecond, 2500 * time.Microsecond, 4 * time.Millisecond},
		{ms(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), time.Millisecond, 5500 * time.Microsecond, 9 * time.Millisecond},
		{ms(20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1), time.Millisecond, 10500 * time.Microsecond, 18 * time.Millisecond},
	} {
		got := latencyStats(c.in)
		if got != (latency{c.min, c.median, c.p90}) {
			t.Errorf("%v: got %+v, want min %v median %v p90 %v", c.in, got, c.min, c.median, c.p90)
		}
	}
}

func TestParseVmHWM(t *testing.T) {
	for _, c := range []struct {
		in string
		n  int64
		ok bool
	}{
		{"Name:\tcnnc\nVmPeak:\t  100 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1 kB\n", 2048 << 10, true},
		{"Name:\tcnnc\n", 0, false},
		{"VmHWM:\t 12 MB\n", 0, false},
		{"VmHWM:\t x kB\n", 0, false},
	} {
		n, ok := parseVmHWM(strings.NewReader(c.in))
		if n != c.n || ok != c.ok {
			t.Errorf("%q: got %d, %v; want %d, %v", c.in, n, ok, c.n, c.ok)
		}
	}
}
