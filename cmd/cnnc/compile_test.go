package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/importer"
	"github.com/cnnc/cnnc/passes"
)

// memoryRE matches the line compile -v ends with.
var memoryRE = regexp.MustCompile(`^memory: arena=(\d+) no_sharing=(\d+) lower_bound=(\d+)$`)

// lenetONNX is the tiny LeNet with PyTorch's reference input and output.
var (
	lenetONNX  = filepath.Join(tinyDir, "lenet", "model.onnx")
	lenetInput = filepath.Join(tinyDir, "lenet", "test_data_set_0", "input_0.pb")
)

// compileLeNet compiles the tiny LeNet into a temporary folder with -v and
// returns the plan's path and the output.
func compileLeNet(t *testing.T, extra ...string) (plan, stdout string) {
	t.Helper()
	plan = filepath.Join(t.TempDir(), "lenet.cnnc")
	code, stdout, stderr := cli(t, append([]string{"compile", lenetONNX, "-o", plan, "-v"}, extra...)...)
	wantCode(t, code, exitOK, stdout, stderr)
	return plan, stdout
}

// memoryStats parses the memory line, failing the test unless it is the
// last line of out.
func memoryStats(t *testing.T, out string) (arena, noSharing, lowerBound int64) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	m := memoryRE.FindStringSubmatch(lines[len(lines)-1])
	if m == nil {
		t.Fatalf("last line %q is not the memory line; output:\n%s", lines[len(lines)-1], out)
	}
	n := func(s string) int64 {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	return n(m[1]), n(m[2]), n(m[3])
}

func TestCompileRunLeNet(t *testing.T) {
	plan, stdout := compileLeNet(t)
	arena, noSharing, lower := memoryStats(t, stdout)
	if !(0 < lower && lower <= arena && arena <= noSharing) {
		t.Errorf("memory: arena=%d no_sharing=%d lower_bound=%d; want 0 < lower_bound <= arena <= no_sharing", arena, noSharing, lower)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if prev := lines[len(lines)-2]; !strings.HasPrefix(prev, "compiled "+lenetONNX+" in ") || !strings.HasSuffix(prev, "wrote "+plan) {
		t.Errorf("line before the memory line: got %q, want the compile time and %s", prev, plan)
	}
	for _, pass := range passes.Names() {
		if !strings.Contains(stdout, pass+":") {
			t.Errorf("-v output lacks the log of pass %s:\n%s", pass, stdout)
		}
	}
	if _, err := os.Stat(plan); err != nil {
		t.Fatal(err)
	}

	// The plan, run compiled, agrees with the ONNX model run by the
	// reference interpreter.
	compiled, reference := t.TempDir(), t.TempDir()
	code, out, stderr := cli(t, "run", plan, "--input", lenetInput, "--output-dir", compiled, "--time")
	wantCode(t, code, exitOK, out, stderr)
	if !strings.Contains(out, "(compiled plan, ") {
		t.Errorf("run --time of a plan does not name the engine:\n%s", out)
	}
	code, out, stderr = cli(t, "run", lenetONNX, "--engine", "reference", "--input", lenetInput, "--output-dir", reference, "--time")
	wantCode(t, code, exitOK, out, stderr)
	if !strings.Contains(out, "(reference interpreter)") {
		t.Errorf("run --engine reference --time does not name the engine:\n%s", out)
	}
	got, gotName := readOutput(t, compiled)
	want, wantName := readOutput(t, reference)
	if gotName != wantName {
		t.Errorf("output name: got %q from the plan, want %q", gotName, wantName)
	}
	closeTo(t, got, want, 1e-4)
}

// readOutput reads output_0.pb from dir.
func readOutput(t *testing.T, dir string) ([]float32, string) {
	t.Helper()
	x, name, err := importer.ReadTensor(filepath.Join(dir, "output_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	return x.F32, name
}

// closeTo fails unless got and want agree elementwise within rel relative
// error (and rel absolute error near zero).
func closeTo(t *testing.T, got, want []float32, rel float64) {
	t.Helper()
	if len(got) != len(want) || len(want) == 0 {
		t.Fatalf("got %d values, want %d", len(got), len(want))
	}
	for i, w := range want {
		if d := math.Abs(float64(got[i] - w)); d > rel*math.Max(1, math.Abs(float64(w))) {
			t.Fatalf("element %d: got %g, want %g", i, got[i], w)
		}
	}
}

func TestCompileDefaultOutput(t *testing.T) {
	t.Chdir(t.TempDir())
	code, stdout, stderr := cli(t, "compile", "zoo:lenet")
	wantCode(t, code, exitOK, stdout, stderr)
	if stdout != "" || stderr != "" {
		t.Errorf("compile without -v printed\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	if _, err := os.Stat("lenet.cnnc"); err != nil {
		t.Errorf("zoo:lenet: %v", err)
	}
	for _, c := range []struct{ arg, want string }{
		{"zoo:resnet18", "resnet18.cnnc"},
		{"models/net.v2.onnx", "net.v2.cnnc"},
		{"model", "model.cnnc"},
	} {
		if got := defaultPlanPath(c.arg); got != c.want {
			t.Errorf("defaultPlanPath(%q) = %q, want %q", c.arg, got, c.want)
		}
	}
}

func TestCompileDumpAfter(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m.cnnc")
	code, stdout, stderr := cli(t, "compile", lenetONNX, "-o", out, "--dump-after", "fuse")
	wantCode(t, code, exitOK, stdout, stderr)
	// ir.Print's form: the graph line, then FusedConv nodes.
	if !strings.HasPrefix(stdout, "graph ") || !strings.Contains(stdout, "FusedConv") {
		t.Errorf("--dump-after fuse does not print the fused graph:\n%s", stdout)
	}
}

func TestCompileBatch(t *testing.T) {
	dir := t.TempDir()
	dyn := filepath.Join(tinyDir, "resnet_basic_dynbatch", "model.onnx")
	code, stdout, stderr := cli(t, "compile", dyn, "-o", filepath.Join(dir, "a.cnnc"), "-v")
	wantCode(t, code, exitOK, stdout, stderr)
	if !strings.HasPrefix(stdout, "batch: 1 (the model leaves it open") {
		t.Errorf("-v of a model with an open batch does not say batch 1 was chosen:\n%s", stdout)
	}
	plan := filepath.Join(dir, "b.cnnc")
	code, stdout, stderr = cli(t, "compile", "zoo:lenet", "--batch", "3", "-o", plan)
	wantCode(t, code, exitOK, stdout, stderr)
	code, stdout, stderr = cli(t, "summary", "--json", plan)
	wantCode(t, code, exitOK, stdout, stderr)
	var s planJSON
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Inputs) != 1 || len(s.Inputs[0].Shape) != 4 || s.Inputs[0].Shape[0] != 3 {
		t.Errorf("zoo:lenet --batch 3: plan inputs %+v, want batch 3", s.Inputs)
	}
}

func TestCompileAlgo(t *testing.T) {
	for _, algo := range []string{"direct", "im2col"} {
		plan := filepath.Join(t.TempDir(), "m.cnnc")
		code, stdout, stderr := cli(t, "compile", lenetONNX, "-o", plan, "--algo", algo)
		wantCode(t, code, exitOK, stdout, stderr)
		code, stdout, stderr = cli(t, "summary", "--json", plan)
		wantCode(t, code, exitOK, stdout, stderr)
		var s planJSON
		if err := json.Unmarshal([]byte(stdout), &s); err != nil {
			t.Fatal(err)
		}
		convs := 0
		for _, st := range s.Steps {
			if st.Kernel == "conv2d" {
				convs++
				if !strings.HasPrefix(st.Desc, "conv2d "+algo+" ") {
					t.Errorf("--algo %s: step %d is %q", algo, st.Index, st.Desc)
				}
			}
		}
		if convs != 2 {
			t.Errorf("--algo %s: %d conv2d steps, want LeNet's 2", algo, convs)
		}
	}
}

// TestCompileTune compiles LeNet with --tune: one line per convolution
// shape with the candidates' times, the summary, and a plan whose
// convolutions use the algorithms the lines picked.
func TestCompileTune(t *testing.T) {
	plan := filepath.Join(t.TempDir(), "m.cnnc")
	code, stdout, stderr := cli(t, "compile", lenetONNX, "-o", plan, "--tune", "--threads", "1")
	wantCode(t, code, exitOK, stdout, stderr)
	var picks []string
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if !strings.HasPrefix(line, "tune ") {
			continue
		}
		_, after, ok := strings.Cut(line, " -> ")
		pick, _, _ := strings.Cut(after, " ")
		if !ok || pick == "" {
			t.Fatalf("tune line without a pick: %q", line)
		}
		picks = append(picks, pick)
	}
	if len(picks) != 2 || !strings.Contains(stdout, "tuned 2 convolutions (2 shapes) on 1 threads") {
		t.Fatalf("want two tune lines and the summary, got:\n%s", stdout)
	}
	code, stdout, stderr = cli(t, "summary", "--json", plan)
	wantCode(t, code, exitOK, stdout, stderr)
	var s planJSON
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	i := 0
	for _, st := range s.Steps {
		if st.Kernel == "conv2d" {
			if i < len(picks) && !strings.HasPrefix(st.Desc, "conv2d "+picks[i]+" ") {
				t.Errorf("step %d is %q, tuned %s", st.Index, st.Desc, picks[i])
			}
			i++
		}
	}
	if i != 2 {
		t.Errorf("%d conv2d steps, want LeNet's 2", i)
	}
}

func TestCompileGo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lenetmodel")
	plan := filepath.Join(t.TempDir(), "x.cnnc")
	code, stdout, stderr := cli(t, "compile", "zoo:lenet", "--go", dir, "-o", plan, "-v")
	wantCode(t, code, exitOK, stdout, stderr)
	if !strings.Contains(stdout, "wrote "+plan+" and "+dir+" (package lenetmodel)") {
		t.Errorf("-v does not name both outputs:\n%s", stdout)
	}
	if _, err := os.Stat(plan); err != nil {
		t.Error(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	if len(files) == 0 {
		t.Fatalf("--go %s wrote no Go file", dir)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "package lenetmodel") {
		t.Errorf("%s does not declare package lenetmodel:\n%.500s", files[0], b)
	}
}

func TestCompileErrors(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "bad.onnx")
	if err := os.WriteFile(corrupt, []byte("\xff\xff\xff"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "o.cnnc")
	cases := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"no model", []string{"compile"}, exitUsage, "want one MODEL, got 0 arguments"},
		{"bad pass", []string{"compile", lenetONNX, "-o", out, "--dump-after", "nopass"}, exitUsage,
			"--dump-after nopass: no such pass; the passes are " + strings.Join(passes.Names(), ", ")},
		{"bad algo", []string{"compile", lenetONNX, "-o", out, "--algo", "fft"}, exitUsage, "--algo fft: no such algorithm; want one of direct, gemm1x1, im2col"},
		{"tune and algo", []string{"compile", lenetONNX, "-o", out, "--tune", "--algo", "direct"}, exitUsage, "--tune and --algo both choose the algorithms; give one"},
		{"threads without tune", []string{"compile", lenetONNX, "-o", out, "--threads", "2"}, exitUsage, "--threads needs --tune"},
		{"bad batch", []string{"compile", lenetONNX, "--batch", "-2"}, exitUsage, "--batch -2 is out of range"},
		{"pkg without go", []string{"compile", lenetONNX, "--pkg", "x"}, exitUsage, "--pkg needs --go DIR"},
		{"bad pkg", []string{"compile", lenetONNX, "--go", dir, "--pkg", "a-b"}, exitUsage, `Go package name "a-b" is not a valid identifier`},
		{"plan as model", []string{"compile", out}, exitUsage, "is already compiled"},
		{"corrupt model", []string{"compile", corrupt, "-o", out}, exitFail, "cnnc: " + corrupt + ": invalid model"},
		{"fixed batch", []string{"compile", lenetONNX, "-o", out, "--batch", "2"}, exitFail, `--batch 2: model input "input" has a fixed batch size of 1`},
		{"unwritable output", []string{"compile", "zoo:lenet", "-o", filepath.Join(dir, "no", "such", "dir", "x.cnnc")}, exitFail, "cnnc: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, c.args...)
			wantCode(t, code, c.code, stdout, stderr)
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr lacks %q:\n%s", c.want, stderr)
			}
			if c.code == exitUsage && !strings.Contains(stderr, "usage: cnnc compile MODEL") {
				t.Errorf("usage error without usage:\n%s", stderr)
			}
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed compile left %s", out)
	}
}

func TestSummaryPlan(t *testing.T) {
	plan, _ := compileLeNet(t)
	code, stdout, stderr := cli(t, "summary", plan)
	wantCode(t, code, exitOK, stdout, stderr)
	for _, want := range []string{"plan \"", "input  input: f32[1,1,28,28] at arena+", "conv2d ", "gemm 84->10", "weights: "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if !regexp.MustCompile(`(?m)^#\s+NODE\s+OP\s+KERNEL\s+OUTPUT\s+OFFSET\s+BYTES$`).MatchString(stdout) {
		t.Errorf("summary lacks the step table's header:\n%s", stdout)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	last := lines[len(lines)-1]
	mem, ratio, ok := strings.Cut(last, " arena/lower_bound=")
	if !ok || !memoryRE.MatchString(mem) {
		t.Fatalf("last line %q is not the memory line with the ratio", last)
	}
	if r, err := strconv.ParseFloat(ratio, 64); err != nil || r < 1 {
		t.Errorf("ratio %q: want a number >= 1", ratio)
	}

	code, stdout, stderr = cli(t, "summary", "--json", plan)
	wantCode(t, code, exitOK, stdout, stderr)
	var s planJSON
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if len(s.Steps) == 0 || len(s.Inputs) != 1 || len(s.Outputs) != 1 || s.WeightBytes <= 0 {
		t.Fatalf("plan summary: %+v", s)
	}
	m := s.Memory
	if !(0 < m.LowerBound && m.LowerBound <= m.Arena && m.Arena <= m.NoSharing) || math.Abs(m.ArenaOverLowerBound-float64(m.Arena)/float64(m.LowerBound)) > 1e-9 {
		t.Errorf("memory %+v", m)
	}
	// Every conv and gemm is a kernel step, so the plan's MACs are the
	// graph's (TestSummaryLeNet).
	if want := int64(6*28*28*25 + 16*10*10*6*25 + 400*120 + 120*84 + 84*10); s.TotalMACs != want {
		t.Errorf("total_macs %d, want %d", s.TotalMACs, want)
	}
	for i, st := range s.Steps {
		if st.Index != i || st.Kernel == "" || st.Desc == "" || st.Output == nil || st.Output.Loc != "arena" || st.Output.Offset%64 != 0 {
			t.Errorf("step %d: %+v", i, st)
		}
	}
}

func TestCorruptPlan(t *testing.T) {
	plan, _ := compileLeNet(t)
	b, err := os.ReadFile(plan)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string][]byte{
		"garbage.cnnc":   []byte("this is not a plan file at all, just some text that is long enough"),
		"truncated.cnnc": b[:len(b)/2],
		"empty.cnnc":     nil,
	}
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"run", path, "--input", lenetInput},
			{"summary", path},
			{"bench", path, "--runs", "1", "--warmup", "0"},
		} {
			code, stdout, stderr := cli(t, args...)
			wantCode(t, code, exitFail, stdout, stderr)
			if !strings.HasPrefix(stderr, "cnnc: ") || !strings.Contains(stderr, path) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("%s %s: want one line naming the file, got:\n%s", args[0], name, stderr)
			}
		}
	}
}
