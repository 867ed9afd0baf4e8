package conformance

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/cnnc/cnnc/importer"
	"github.com/cnnc/cnnc/importer/onnxpb"
	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/passes"
	"github.com/cnnc/cnnc/runtime"
	"github.com/cnnc/cnnc/runtime/reference"
)

var update = flag.Bool("update", false, "rewrite CONFORMANCE.md at the repository root from this run")

// Where the test data lives, and the environment variables that move it.
const (
	defaultTestdata = "/usr/share/libonnx-testdata/data"
	envTestdata     = "CNNC_ONNX_TESTDATA"
	envLight        = "CNNC_ONNX_LIGHT"
	reportName      = "CONFORMANCE.md"
)

// backendSuites are the folders of libonnx-testdata that are run, in
// report order; each holds one folder per case.
var backendSuites = []string{"node", "pytorch-converted", "pytorch-operator", "simple"}

// The suites made from the model-zoo graphs of ../shared/onnx-light.
const (
	lightSuite       = "onnx-light"
	lightVariedSuite = "onnx-light-varied"
)

// caseTimeout bounds one case. The interpreter cannot be interrupted: a case
// over its budget is reported as failed and its goroutine left to finish.
const caseTimeout = 4 * time.Minute

// knownExceptions lists, by "suite/case", the cases whose operators all have
// codecs but which cannot pass, each with the reason printed in
// CONFORMANCE.md. A listed case that passes is an error: remove it.
var knownExceptions = map[string]string{
	"node/test_training_dropout":              trainingDropout,
	"node/test_training_dropout_default":      trainingDropout,
	"node/test_training_dropout_default_mask": trainingDropout,
	"node/test_training_dropout_mask":         trainingDropout,
}

// trainingDropout is the reason of the training-mode Dropout cases.
const trainingDropout = "Dropout in training mode with a non-zero ratio: its output depends on numpy's random generator, " +
	"so the expected data cannot be reproduced; training_mode is a graph input, so the importer cannot refuse it, " +
	"and the interpreter refuses it at run time as unsupported"

// testCase is one model to run.
type testCase struct {
	suite, name string
	model       string // path of the .onnx file
	// run computes the case once the model's operators are known to be
	// supported; it returns nil when everything matched.
	run func(c *testCase) error
	// For backend suites: the case folder. For light suites: the expected
	// output file.
	dir, want string
}

func (c *testCase) key() string { return c.suite + "/" + c.name }

// excludedError marks a case that is not run, with the reason.
type excludedError struct{ reason string }

func (e *excludedError) Error() string { return e.reason }

func TestConformance(t *testing.T) {
	root := repoRoot(t)
	data := os.Getenv(envTestdata)
	if data == "" {
		data = defaultTestdata
	}
	light := os.Getenv(envLight)
	if light == "" {
		light = filepath.Join(root, "..", "shared", "onnx-light")
	}
	for _, d := range []string{data, light} {
		if _, err := os.Stat(d); err != nil {
			msg := fmt.Sprintf("conformance data missing: %v\n"+
				"install the ONNX backend test data with `apt-get install libonnx-testdata` (or set %s),\n"+
				"and put the onnx-light graphs in ../shared/onnx-light (or set %s)", err, envTestdata, envLight)
			if testing.Short() {
				t.Skip(msg)
			}
			t.Fatal(msg)
		}
	}

	cases, err := listCases(root, data, light)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, c := range cases {
		names[c.key()] = true
	}
	for k := range knownExceptions {
		if !names[k] {
			t.Errorf("knownExceptions names %q, which is not a case", k)
		}
	}

	supported := map[string]bool{}
	for _, op := range importer.SupportedOps() {
		supported[op] = true
	}
	var (
		mu        sync.Mutex
		results   = map[string]*Result{}
		durations = map[string]time.Duration{}
	)
	suites := append(append([]string{}, backendSuites...), lightSuite, lightVariedSuite)
	// The report is made once every subtest, parallel ones included, is done.
	t.Cleanup(func() {
		logSlowest(t, durations)
		finish(t, root, suites, results, len(cases))
	})
	// The light suites hold the slow cases: start them first.
	start := append([]string{lightVariedSuite, lightSuite}, backendSuites...)
	for _, suite := range start {
		t.Run(suite, func(t *testing.T) {
			if testing.Short() && (suite == lightSuite || suite == lightVariedSuite) {
				t.Skip("-short: the 224x224 model-zoo graphs take minutes on the interpreter")
			}
			t.Parallel()
			for _, c := range cases {
				if c.suite != suite {
					continue
				}
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					start := time.Now()
					r := runCase(c, supported)
					d := time.Since(start)
					if d > 20*time.Second {
						t.Logf("%s took %v", c.key(), d.Round(time.Millisecond))
					}
					if reason, ok := knownExceptions[c.key()]; ok {
						switch r.Status {
						case Failed:
							t.Logf("known exception (%s): %s", reason, r.Reason)
							r.Status, r.Reason = Known, reason
						case Passed:
							t.Errorf("%s passes but is listed in knownExceptions: remove it", c.key())
						}
					}
					if r.Status == Failed {
						t.Errorf("%s: %s", c.key(), r.Reason)
					}
					mu.Lock()
					results[c.key()], durations[c.key()] = r, d
					mu.Unlock()
				})
			}
		})
	}
}

// finish renders the report of a complete run and compares it with
// CONFORMANCE.md, or writes it under -update.
func finish(t *testing.T, root string, suites []string, results map[string]*Result, ncases int) {
	if len(results) != ncases {
		if *update {
			t.Fatalf("-update needs every case: %d of %d ran (drop -run filters and -short)", len(results), ncases)
		}
		t.Logf("%d of %d cases ran: %s not compared", len(results), ncases, reportName)
		return
	}
	rep := &Report{Suites: suites, Supported: importer.SupportedOps()}
	for _, r := range results {
		rep.Results = append(rep.Results, r)
	}
	got := rep.Markdown()
	path := filepath.Join(root, reportName)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		os.Remove(path + ".got")
		return
	}
	want, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		if werr := os.WriteFile(path+".got", got, 0o644); werr != nil {
			t.Error(werr)
		}
		line := firstDiff(got, want)
		t.Errorf("%s is out of date (first difference at line %d; this run wrote %s.got).\n"+
			"Regenerate it with: go test ./conformance -run TestConformance -update", reportName, line, reportName)
		return
	}
	os.Remove(path + ".got")
}

// runCase runs one case under caseTimeout and returns its result.
func runCase(c *testCase, supported map[string]bool) *Result {
	r := &Result{Suite: c.suite, Case: c.name}
	ops, err := modelOps(c.model)
	if err != nil {
		r.Status, r.Reason = Failed, err.Error()
		return r
	}
	r.Ops = ops
	var missing []string
	for _, op := range ops {
		if !supported[op] {
			missing = append(missing, op)
		}
	}
	if len(missing) > 0 {
		s := ""
		if len(missing) > 1 {
			s = "s"
		}
		r.Status, r.Reason = Excluded, fmt.Sprintf("op%s %s not supported", s, strings.Join(missing, ", "))
		return r
	}
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("panic: %v", p)
			}
		}()
		done <- c.run(c)
	}()
	select {
	case err = <-done:
	case <-time.After(caseTimeout):
		err = fmt.Errorf("timed out after %v", caseTimeout)
	}
	var ex *excludedError
	switch {
	case err == nil:
		r.Status = Passed
	case errors.As(err, &ex):
		r.Status, r.Reason = Excluded, ex.reason
	default:
		r.Status, r.Reason = Failed, err.Error()
	}
	return r
}

// load imports a model file; an unsupported feature excludes the case.
func load(path string) (*ir.Graph, error) {
	g, err := importer.Load(path)
	return checkLoad(g, err)
}

func checkLoad(g *ir.Graph, err error) (*ir.Graph, error) {
	if ir.IsUnsupported(err) {
		return nil, &excludedError{err.Error()}
	}
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	return g, nil
}

// runBackendCase runs every test_data_set_N of a libonnx-testdata case.
func runBackendCase(c *testCase) error {
	g, err := load(c.model)
	if err != nil {
		return err
	}
	sets, err := filepath.Glob(filepath.Join(c.dir, "test_data_set_*"))
	if err != nil {
		return err
	}
	if len(sets) == 0 {
		return fmt.Errorf("no test_data_set_N folder")
	}
	sort.Slice(sets, func(i, j int) bool { return setIndex(sets[i]) < setIndex(sets[j]) })
	for _, set := range sets {
		ins, err := readTensors(set, "input")
		if err != nil {
			return err
		}
		wants, err := readTensors(set, "output")
		if err != nil {
			return err
		}
		if err := runAndCompare(g, ins, wants); err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(set), err)
		}
	}
	return nil
}

// runLightCase runs a light model on the runner's dummy input and compares
// with the shipped expected output, or for the varied suite, runs it with
// VaryWeights on VariedInput and compares with ONNX Runtime's output.
func runLightCase(c *testCase) error {
	data, err := os.ReadFile(c.model)
	if err != nil {
		return err
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		return err
	}
	_, shape, err := LightDataInput(&m)
	if err != nil {
		return err
	}
	if c.suite == lightVariedSuite {
		if err := VaryWeights(&m); err != nil {
			return err
		}
		if data, err = proto.Marshal(&m); err != nil {
			return err
		}
	}
	m.Reset()
	g, err := checkLoad(importer.Decode(data, filepath.Dir(c.model)))
	if err != nil {
		return err
	}
	data = nil
	want, _, err := importer.ReadTensor(c.want)
	if err != nil {
		if os.IsNotExist(err) {
			return fmt.Errorf("%s is missing: run `go run ./tools/lightref`", c.want)
		}
		return err
	}
	in := LightInput(shape)
	if c.suite == lightVariedSuite {
		in = VariedInput(shape)
	}
	return runAndCompare(g, []*ir.Tensor{in}, []*ir.Tensor{want})
}

// runAndCompare feeds ins to the graph inputs in order, runs the reference
// interpreter and compares every output with wants.
func runAndCompare(g *ir.Graph, ins, wants []*ir.Tensor) error {
	if len(ins) != len(g.Inputs) {
		return fmt.Errorf("test data has %d inputs, the graph %d", len(ins), len(g.Inputs))
	}
	feed := map[string]*ir.Tensor{}
	for i, v := range g.Inputs {
		feed[v.Name] = ins[i]
	}
	outs, err := reference.Run(g, feed)
	if err != nil {
		// Even an unsupported-kind error fails here: the importer accepted
		// the model, so the interpreter must run it.
		return fmt.Errorf("run: %w", err)
	}
	if len(outs) != len(wants) {
		return fmt.Errorf("graph has %d outputs, test data %d", len(outs), len(wants))
	}
	for i := range outs {
		if err := compare(outs[i], wants[i]); err != nil {
			return fmt.Errorf("output %d (%s): %w", i, g.Outputs[i].Name, err)
		}
	}
	compiled, err := runCompiled(g, ins)
	if err != nil {
		return fmt.Errorf("compiled: %w", err)
	}
	for i := range outs {
		if err := compare(compiled[i], outs[i]); err != nil {
			return fmt.Errorf("compiled output %d (%s) differs from the interpreter's: %w", i, g.Outputs[i].Name, err)
		}
	}
	return nil
}

// runCompiled compiles g for the shapes of ins, with the IR verifier after
// every pass, and runs it on them once.
func runCompiled(g *ir.Graph, ins []*ir.Tensor) ([]*ir.Tensor, error) {
	shapes := map[string]ir.Shape{}
	for i, v := range g.Inputs {
		shapes[v.Name] = ins[i].Shape
	}
	m, err := runtime.Compile(g, runtime.CompileOptions{InputShapes: shapes, Passes: passes.Options{Verify: true}})
	if err != nil {
		return nil, err
	}
	s, err := m.NewSession(runtime.SessionOptions{Threads: 2})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Run(context.Background(), ins...)
}

// compare checks got against want: same element type and shape, floats
// within Atol + Rtol*|want| (NaN equal to NaN), other types exactly.
func compare(got, want *ir.Tensor) error {
	if got.DType != want.DType {
		return fmt.Errorf("element type %v, want %v", got.DType, want.DType)
	}
	if !got.Shape.Equal(want.Shape) {
		return fmt.Errorf("shape %v, want %v", got.Shape, want.Shape)
	}
	if got.Len() != want.Len() {
		return fmt.Errorf("%d elements, want %d", got.Len(), want.Len())
	}
	bad, first, maxDiff := 0, -1, 0.0
	for i := range want.Len() {
		g, w := got.Float64At(i), want.Float64At(i)
		var ok bool
		switch {
		case want.DType == ir.Float32 && math.IsNaN(w):
			ok = math.IsNaN(g)
		case want.DType == ir.Float32:
			ok = g == w || math.Abs(g-w) <= Atol+Rtol*math.Abs(w)
		default:
			ok = g == w
		}
		if ok {
			continue
		}
		bad++
		if first < 0 {
			first = i
		}
		if d := math.Abs(g - w); d > maxDiff || math.IsNaN(d) {
			maxDiff = d
		}
	}
	if bad == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d elements differ, max abs diff %.4g; first at %d: got %v, want %v",
		bad, want.Len(), maxDiff, first, got.Float64At(first), want.Float64At(first))
}

// readTensors reads prefix_0.pb, prefix_1.pb, ... from a data set folder.
// An unsupported element type excludes the case.
func readTensors(dir, prefix string) ([]*ir.Tensor, error) {
	var ts []*ir.Tensor
	for i := 0; ; i++ {
		path := filepath.Join(dir, fmt.Sprintf("%s_%d.pb", prefix, i))
		if _, err := os.Stat(path); err != nil {
			return ts, nil
		}
		t, _, err := importer.ReadTensor(path)
		if ir.IsUnsupported(err) {
			return nil, &excludedError{fmt.Sprintf("%s_%d.pb: %v", prefix, i, err)}
		}
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
}

// modelOps returns the distinct operator types of a model, subgraphs
// included, sorted; other domains than the default one prefix the type.
func modelOps(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("not an ONNX model: %v", err)
	}
	seen := map[string]bool{}
	var walk func(g *onnxpb.GraphProto)
	walk = func(g *onnxpb.GraphProto) {
		for _, n := range g.GetNode() {
			op := n.GetOpType()
			if d := n.GetDomain(); d != "" && d != "ai.onnx" {
				op = d + "." + op
			}
			seen[op] = true
			for _, a := range n.GetAttribute() {
				if a.GetG() != nil {
					walk(a.GetG())
				}
				for _, sg := range a.GetGraphs() {
					walk(sg)
				}
			}
		}
	}
	walk(m.GetGraph())
	ops := make([]string, 0, len(seen))
	for op := range seen {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops, nil
}

// listCases finds every case: the folders of the backend suites and the
// light models (each run twice, as shipped and with varied weights).
func listCases(root, data, light string) ([]*testCase, error) {
	var cases []*testCase
	for _, suite := range backendSuites {
		dirs, err := os.ReadDir(filepath.Join(data, suite))
		if err != nil {
			return nil, err
		}
		for _, d := range dirs {
			dir := filepath.Join(data, suite, d.Name())
			model := filepath.Join(dir, "model.onnx")
			if _, err := os.Stat(model); err != nil {
				continue
			}
			cases = append(cases, &testCase{suite: suite, name: d.Name(), model: model, dir: dir, run: runBackendCase})
		}
	}
	models, err := filepath.Glob(filepath.Join(light, "*.onnx"))
	if err != nil {
		return nil, err
	}
	if len(models) == 0 {
		return nil, fmt.Errorf("no .onnx model in %s", light)
	}
	sort.Strings(models)
	for _, model := range models {
		stem := strings.TrimSuffix(filepath.Base(model), ".onnx")
		cases = append(cases,
			&testCase{suite: lightSuite, name: stem, model: model, want: filepath.Join(light, stem+"_output_0.pb"), run: runLightCase},
			&testCase{suite: lightVariedSuite, name: stem, model: model, want: filepath.Join(root, VariedOutputPath(stem)), run: runLightCase})
	}
	return cases, nil
}

// setIndex returns N of a test_data_set_N folder.
func setIndex(dir string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(dir), "test_data_set_"))
	if err != nil {
		return math.MaxInt
	}
	return n
}

// repoRoot finds the module root above the working directory.
func repoRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// logSlowest logs the slowest cases, to keep an eye on the suite's time.
func logSlowest(t *testing.T, d map[string]time.Duration) {
	keys := make([]string, 0, len(d))
	var total time.Duration
	for k, v := range d {
		keys = append(keys, k)
		total += v
	}
	sort.Slice(keys, func(i, j int) bool { return d[keys[i]] > d[keys[j]] })
	var b strings.Builder
	for i, k := range keys {
		if i == 8 {
			break
		}
		fmt.Fprintf(&b, "\n  %-50s %v", k, d[k].Round(time.Millisecond))
	}
	t.Logf("%d cases, %v of case time; slowest:%s", len(d), total.Round(time.Millisecond), b.String())
}

// firstDiff returns the 1-based number of the first line where a and b
// differ.
func firstDiff(a, b []byte) int {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range la {
		if i >= len(lb) || !bytes.Equal(la[i], lb[i]) {
			return i + 1
		}
	}
	return len(la) + 1
}
