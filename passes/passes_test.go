package passes

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

func TestNames(t *testing.T) {
	want := []string{"shapes", "constfold", "simplify", "foldbn", "fuse", "algo", "dce"}
	if got := Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
}

func TestPassOrder(t *testing.T) {
	if err := checkOrder(passes[:], passOrder[:]); err != nil {
		t.Fatalf("the pass table breaks passOrder: %v", err)
	}
	noop := func(*unit) error { return nil }
	table := []pass{{name: "a", fn: noop}, {name: "b", fn: noop}}
	tests := []struct {
		name  string
		table []pass
		order []constraint
		want  string
	}{
		{"in order", table, []constraint{{"a", "b"}}, ""},
		{"out of order", table, []constraint{{"b", "a"}}, `pass "b" must run before "a", but the table has it at 1 and "a" at 0`},
		{"self", table, []constraint{{"a", "a"}}, `pass "a" must run before "a"`},
		{"missing first", table, []constraint{{"x", "b"}}, `passOrder names pass "x", which is not in the table`},
		{"missing second", table, []constraint{{"a", "y"}}, `passOrder names pass "y", which is not in the table`},
		{"duplicate", append(slices.Clone(table), pass{name: "a", fn: noop}), nil, `pass "a" is listed twice`},
		{"no function", []pass{{name: "a"}}, nil, `pass 0 ("a") has no name or no function`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkOrder(tt.table, tt.order)
			if (err == nil) != (tt.want == "") || (err != nil && !strings.HasPrefix(err.Error(), tt.want)) {
				t.Errorf("checkOrder: %v, want %q", err, tt.want)
			}
		})
	}
}

// managerGraph is conv -> bn -> relu -> identity -> gemm with a symbolic
// batch, which every pass changes.
func managerGraph(t *testing.T) *ir.Graph {
	b := ir.NewBuilder("manager", 2)
	x := b.Input("x", -1, 3, 8, 8)
	y := b.Apply("conv", ir.Conv2d(4, 3, ir.Padding(1), ir.NoBias()), x)
	y = b.Apply("bn", randBN(), y)
	y = b.Apply("relu", ir.ReLU(), y)
	y = b.Node1("id", &ir.Identity{}, y)
	y = b.Apply("pool", ir.GlobalAvgPool(), y)
	y = b.Apply("flatten", ir.FlattenLayer(), y)
	b.Output(b.Apply("fc", ir.Linear(3), y))
	return build(t, b)
}

func TestRun(t *testing.T) {
	g := managerGraph(t)
	before := ir.Print(g)
	weights := map[*ir.Value][]float32{}
	for _, v := range g.Constants() {
		weights[v] = slices.Clone(v.Const.F32)
	}
	got, err := Run(g, Options{Batch: 2, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	wantIR(t, got, `
		input %x: f32[2,3,8,8]
		const %conv.weight.folded: f32[4,3,3,3]
		const %conv.bias.folded: f32[4]
		const %fc.weight: f32[3,4]
		const %fc.bias: f32[3]
		%relu: f32[2,4,8,8] = cnnc.FusedConv[relu,direct](%x, %conv.weight.folded, %conv.bias.folded)
		%pool: f32[2,4,1,1] = GlobalAveragePool(%relu)
		%flatten: f32[2,4] = Flatten(%pool)
		%fc: f32[2,3] = cnnc.FusedGemm(%flatten, %fc.weight, %fc.bias)
		output %fc`)
	if after := ir.Print(g); after != before {
		t.Errorf("Run changed its input graph:\n%s\nwant:\n%s", after, before)
	}
	for v, w := range weights {
		if !slices.Equal(v.Const.F32, w) {
			t.Errorf("Run changed the data of constant %q", v.Name)
		}
	}
	sameOutputs(t, g, got, 1e-5)
}

func TestDisable(t *testing.T) {
	g := managerGraph(t)
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			got, err := Run(g, Options{Batch: 1, Verify: true, Disable: []string{name}})
			required := slices.ContainsFunc(passes[:], func(p pass) bool { return p.name == name && p.required })
			if required {
				want := `invalid model: passes: cannot disable pass "` + name + `": it is required`
				if err == nil || err.Error() != want {
					t.Errorf("error %v, want %s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sameOutputs(t, g, got, 1e-5)
		})
	}
	_, err := Run(g, Options{Disable: []string{"nope"}})
	want := `invalid model: passes: cannot disable pass "nope": no such pass (passes: shapes, constfold, simplify, foldbn, fuse, algo, dce)`
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	// Disabling foldbn leaves the batch norm, which fuse cannot take.
	got, err := Run(g, Options{Batch: 1, Disable: []string{"foldbn", "simplify"}})
	if err != nil {
		t.Fatal(err)
	}
	if ops := countOps(got); ops["BatchNormalization"] != 1 || ops["Identity"] != 1 || ops["cnnc.FusedConv[direct]"] != 1 {
		t.Errorf("with foldbn and simplify disabled: ops %v", ops)
	}
}

func TestDumpAfter(t *testing.T) {
	g := managerGraph(t)
	for i, name := range Names() {
		t.Run(name, func(t *testing.T) {
			var dump strings.Builder
			if _, err := Run(g, Options{Batch: 1, DumpAfter: name, Dump: &dump}); err != nil {
				t.Fatal(err)
			}
			upTo := runOnly(t, g, Options{Batch: 1}, Names()[:i+1]...)
			if want := ir.Print(upTo); dump.String() != want {
				t.Errorf("dump after %s:\n%s\nwant:\n%s", name, dump.String(), want)
			}
		})
	}
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"unknown", Options{DumpAfter: "nope", Dump: &strings.Builder{}}, `passes: cannot dump after pass "nope": no such pass`},
		{"disabled", Options{DumpAfter: "fuse", Dump: &strings.Builder{}, Disable: []string{"fuse"}}, `passes: cannot dump after pass "fuse": it is disabled`},
		{"no writer", Options{DumpAfter: "fuse"}, `passes: DumpAfter is "fuse" but Dump is nil`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(g, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %s", err, tt.want)
			}
		})
	}
}

func TestLog(t *testing.T) {
	var log strings.Builder
	if _, err := Run(managerGraph(t), Options{Batch: 1, Log: &log}); err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^(\w+): (.+) \((\d+µs|\d+\.\dms|\d+\.\d\ds)\)$`)
	var got []string
	for _, l := range strings.Split(strings.TrimSuffix(log.String(), "\n"), "\n") {
		if strings.HasPrefix(l, "  ") {
			continue // a detail row (the algo table)
		}
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("log line %q does not match %v", l, line)
			continue
		}
		got = append(got, m[1]+": "+m[2])
	}
	want := []string{
		"shapes: input x f32[N,3,8,8] -> f32[1,3,8,8]",
		"constfold: no change",
		"simplify: 1 identity removed (Identity 1)",
		"foldbn: 1 batch norm folded (into Conv 1)",
		"fuse: 1 Conv -> FusedConv, 1 Gemm -> FusedGemm, 1 activation fused",
		"algo: 1 conv (direct 1)",
		"dce: no change",
	}
	if !slices.Equal(got, want) {
		t.Errorf("log:\n%s\nwant lines:\n%s", log.String(), strings.Join(want, "\n"))
	}
	if !strings.Contains(log.String(), "\n  conv 3->4 k3x3 s1 8x8: direct ") {
		t.Errorf("log has no algo row for conv:\n%s", log.String())
	}
}

// TestVerifyCatchesBrokenPass injects passes that break the graph: with
// Verify the manager names the pass; a panic becomes an error.
func TestVerifyCatchesBrokenPass(t *testing.T) {
	shapesPass := passes[0]
	tests := []struct {
		name string
		fn   func(*unit) error
		want string
	}{
		{"wrong type", func(u *unit) error {
			u.g.Nodes[0].Outputs[0].Type.Shape = ir.Shape{1, 2}
			return nil
		}, `internal error: pass broken left an invalid graph: value "conv": recorded type f32[1,2], want f32[1,4,8,8]`},
		{"node removed", func(u *unit) error {
			u.g.Nodes = u.g.Nodes[1:]
			return nil
		}, `node "bn" (BatchNormalization): internal error: pass broken left an invalid graph: input 0 ("conv") is used before it is defined`},
		{"panic", func(u *unit) error {
			var n *ir.Node
			_ = n.Name
			return nil
		}, `pass broken: internal error: panic: runtime error: invalid memory address or nil pointer dereference`},
		{"error", func(u *unit) error {
			return ir.AtNode(ir.Unsupportedf("no"), "n", "Op")
		}, `unsupported: node "n" (Op): pass broken: no`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := []pass{shapesPass, {name: "broken", fn: tt.fn}}
			_, err := run(managerGraph(t), Options{Batch: 1, Verify: true}, table)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v\nwant it to contain %s", err, tt.want)
			}
			var e *ir.Error
			if !errors.As(err, &e) {
				t.Errorf("error %T is not an *ir.Error", err)
			}
			if tt.name == "wrong type" {
				if _, err := run(managerGraph(t), Options{Batch: 1}, table); err != nil {
					t.Errorf("without Verify: %v, want no error", err)
				}
			}
		})
	}
}
