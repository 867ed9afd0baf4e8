package zoo

import (
	"crypto/sha256"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/reference"
)

// incDenseRef is what torchvision says of one model, from
//
//	m = getattr(torchvision.models, name)()  # googlenet: aux_logits=False
//	sd = m.state_dict(); keys = sorted(k for k in sd if not k.endswith("num_batches_tracked"))
//	params = sum(p.numel() for p in m.parameters())
//	sha = sha256("\n".join(k + " " + ",".join(map(str, sd[k].shape)) for k in keys))
//
// run with /usr/bin/python3 (torchvision 0.2x).
type incDenseRef struct {
	model  *Model
	params int
	keys   int
	sha    string
	// spots are a few of the state_dict keys with their shapes.
	spots map[string]string
	// tooSmall is an input size too small for the model (a map shrinks to 0).
	tooSmall int
}

// checkIncDense builds ref.model at its defaults and with other options
// and checks it against torchvision.
func checkIncDense(t *testing.T, ref incDenseRef) {
	m := ref.model
	if got, ok := Lookup(m.Name); !ok || got != m {
		t.Errorf("Lookup(%q) = %v, %v", m.Name, got, ok)
	}
	if m.Paper == "" || m.Defaults != (Options{Classes: 1000, Channels: 3, Size: 224}) {
		t.Errorf("paper %q, defaults %+v", m.Paper, m.Defaults)
	}
	g, err := m.Build(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Outputs[0].Type.String(); got != "f32[1,1000]" {
		t.Errorf("output %s, want f32[1,1000]", got)
	}
	// (a) parameters: BN statistics are buffers, not parameters.
	lines := []string{}
	shapes := map[string]string{}
	for _, v := range g.Constants() {
		if v.Type.DType != ir.Float32 {
			t.Errorf("constant %s is %v", v.Name, v.Type)
		}
		shapes[v.Name] = incDenseDims(v.Type.Shape)
		lines = append(lines, v.Name+" "+shapes[v.Name])
	}
	if got := paramCount(g); got != int64(ref.params) {
		t.Errorf("%d parameters, want torchvision's %d", got, ref.params)
	}
	if c := ir.CostOf(g); c.Params != int64(ref.params) {
		t.Errorf("CostOf counts %d parameters, want %d", c.Params, ref.params)
	}
	// (c) constant names and shapes equal torchvision's state_dict.
	sort.Strings(lines)
	if sha := fmt.Sprintf("%x", sha256.Sum256([]byte(strings.Join(lines, "\n")))); len(lines) != ref.keys || sha != ref.sha {
		t.Errorf("%d constants with names and shapes hashing to %s, want torchvision's %d keys, %s", len(lines), sha, ref.keys, ref.sha)
	}
	for name, want := range ref.spots {
		if got, ok := shapes[name]; !ok || got != want {
			t.Errorf("constant %q: shape %q (present %v), want %q", name, got, ok, want)
		}
	}

	// (d) options: other classes, channels and size.
	g, err = m.Build(Options{Classes: 10, Channels: 1, Size: 64, Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Outputs[0].Type.String(); got != "f32[2,10]" {
		t.Errorf("10 classes, batch 2: output %s, want f32[2,10]", got)
	}
	first := g.Constants()[0]
	if s := first.Type.Shape; len(s) != 4 || s[1] != 1 {
		t.Errorf("1 channel: first weight %s has shape %v", first.Name, s)
	}
	for _, o := range []Options{{Size: ref.tooSmall}, {Classes: -1}, {Channels: -3}, {Size: -1}} {
		if _, err := m.Build(o); err == nil {
			t.Errorf("options %+v: no error", o)
		} else {
			t.Logf("options %+v: %v", o, err)
		}
	}
}

// incDenseDims formats a shape as torchvision's refs do: "64,3,7,7".
func incDenseDims(s ir.Shape) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, ",")
}

func TestGoogLeNet(t *testing.T) {
	checkIncDense(t, incDenseRef{
		model: GoogLeNet, params: 6624904, keys: 287,
		sha: "604b8687cfe2e7c417502dc1de315179cd722ca5f9b1d03d3c749ec90e3f48b7",
		spots: map[string]string{
			"conv1.conv.weight":                     "64,3,7,7",
			"conv1.bn.running_var":                  "64",
			"inception3a.branch1.conv.weight":       "64,192,1,1",
			"inception3a.branch2.0.conv.weight":     "96,192,1,1",
			"inception3a.branch3.1.conv.weight":     "32,16,3,3", // 3x3, as torchvision
			"inception4e.branch4.1.bn.bias":         "128",
			"inception5b.branch2.1.bn.running_mean": "384",
			"fc.weight":                             "1000,1024",
			"fc.bias":                               "1000",
		},
		tooSmall: 30,
	})
}

// TestGoogLeNetEpsilon checks that every batch norm has torchvision's
// BasicConv2d epsilon, 1e-3.
func TestGoogLeNetEpsilon(t *testing.T) {
	g, err := GoogLeNet.Build(Options{Size: 32})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, node := range g.Nodes {
		if bn, ok := node.Op.(*ir.BatchNormalization); ok {
			n++
			if bn.Epsilon != 1e-3 {
				t.Errorf("%s: epsilon %v, want 0.001", node.Name, bn.Epsilon)
			}
		}
	}
	if n != 57 {
		t.Errorf("%d batch norms, want 57 (3 stem convs + 9 modules x 6)", n)
	}
}

// TestGoogLeNetRuns runs GoogLeNet at the smallest input it takes on the
// reference interpreter.
func TestGoogLeNetRuns(t *testing.T) {
	incDenseRun(t, GoogLeNet, Options{Size: 31, Classes: 7})
}

// incDenseRun runs m on a ramp input and checks the output's shape and
// that it is finite and not constant.
func incDenseRun(t *testing.T, m *Model, o Options) {
	g, err := m.Build(o)
	if err != nil {
		t.Fatal(err)
	}
	in := g.Inputs[0]
	x, err := ir.NewTensor(ir.Float32, in.Type.Shape)
	if err != nil {
		t.Fatal(err)
	}
	for i := range x.F32 {
		x.F32[i] = float32(math.Sin(float64(i) * 0.01))
	}
	outs, err := reference.Run(g, map[string]*ir.Tensor{in.Name: x})
	if err != nil {
		t.Fatal(err)
	}
	y := outs[0]
	if got, want := y.Type().String(), fmt.Sprintf("f32[1,%d]", o.Classes); got != want {
		t.Fatalf("output %s, want %s", got, want)
	}
	for _, v := range y.F32 {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("output %v is not finite", y.F32)
		}
	}
	if y.F32[0] == y.F32[1] {
		t.Errorf("output %v: the classes are not told apart", y.F32)
	}
}
