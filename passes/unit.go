package passes

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cnnc/cnnc/ir"
)

// unit is the state of one pass over the graph: the graph, the options,
// what the pass reports for the log, and an index of definitions and uses
// that the rewriting helpers below keep up to date.
//
// While a pass runs, a removed node leaves a nil entry in g.Nodes, so that
// indices stay valid; the manager drops the nils after the pass (compact).
type unit struct {
	g    *ir.Graph
	opts *Options
	pass string

	changes []string // what the pass changed, for the log line
	details []string // extra log lines (the algo pass's table)

	names map[string]bool // every value name in use, built by fresh

	indexed bool
	def     map[*ir.Value]int  // index in g.Nodes of the node producing v
	uses    map[*ir.Value]int  // number of node input slots reading v
	outs    map[*ir.Value]bool // v is a graph output
}

// changed records one fragment of the pass's log line, such as
// "3 batch norms folded".
func (u *unit) changed(format string, args ...any) {
	u.changes = append(u.changes, fmt.Sprintf(format, args...))
}

// countf records "n things verb" when n > 0, with the noun in the
// singular or plural form: countf(n, "batch norm", "batch norms",
// "folded").
func (u *unit) countf(n int, one, many, verb string) {
	if n > 0 {
		u.changed("%s %s", plural(n, one, many), verb)
	}
}

// plural returns "1 one" or "n many".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// detail records an extra log line, printed indented under the pass's.
func (u *unit) detail(format string, args ...any) {
	u.details = append(u.details, fmt.Sprintf(format, args...))
}

// writeLog writes the pass's log line and detail lines.
func (u *unit) writeLog(w io.Writer, d time.Duration) {
	what := "no change"
	if len(u.changes) > 0 {
		what = strings.Join(u.changes, ", ")
	}
	fmt.Fprintf(w, "%s: %s (%s)\n", u.pass, what, fmtDuration(d))
	for _, l := range u.details {
		fmt.Fprintf(w, "  %s\n", l)
	}
}

// fmtDuration formats d briefly: 850µs, 1.2ms, 2.35s.
func fmtDuration(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%dµs", d/time.Microsecond)
}

// compact drops the nil entries removed nodes left in g.Nodes.
func (u *unit) compact() {
	u.g.Nodes = slices.DeleteFunc(u.g.Nodes, func(n *ir.Node) bool { return n == nil })
	u.indexed = false
}

// index builds the definition and use maps.
func (u *unit) index() {
	u.def = map[*ir.Value]int{}
	u.uses = map[*ir.Value]int{}
	u.outs = map[*ir.Value]bool{}
	for i, n := range u.g.Nodes {
		if n == nil {
			continue
		}
		for _, v := range n.Inputs {
			if v != nil {
				u.uses[v]++
			}
		}
		for _, v := range n.Outputs {
			if v != nil {
				u.def[v] = i
			}
		}
	}
	for _, v := range u.g.Outputs {
		u.outs[v] = true
	}
	u.indexed = true
}

// ensureIndex builds the index unless it is current.
func (u *unit) ensureIndex() {
	if !u.indexed {
		u.index()
	}
}

// producer returns the node defining v and its index, or nil and -1 for a
// graph input, a constant or an unknown value.
func (u *unit) producer(v *ir.Value) (*ir.Node, int) {
	u.ensureIndex()
	if v == nil {
		return nil, -1
	}
	i, ok := u.def[v]
	if !ok || u.g.Nodes[i] == nil {
		return nil, -1
	}
	return u.g.Nodes[i], i
}

// defIndex returns the index of the node defining v, or -1 for a graph
// input or constant (defined before every node).
func (u *unit) defIndex(v *ir.Value) int {
	_, i := u.producer(v)
	return i
}

// soleUse reports whether v is read by exactly one node input slot and is
// not a graph output: a pass may then fold its producer into that reader.
func (u *unit) soleUse(v *ir.Value) bool {
	u.ensureIndex()
	return v != nil && u.uses[v] == 1 && !u.outs[v]
}

// used reports whether anything reads v: a node or the graph's outputs.
func (u *unit) used(v *ir.Value) bool {
	u.ensureIndex()
	return u.uses[v] > 0 || u.outs[v]
}

// setInput makes input i of n read v.
func (u *unit) setInput(n *ir.Node, i int, v *ir.Value) {
	u.ensureIndex()
	for len(n.Inputs) <= i {
		n.Inputs = append(n.Inputs, nil)
	}
	if old := n.Inputs[i]; old != nil {
		u.uses[old]--
	}
	n.Inputs[i] = v
	if v != nil {
		u.uses[v]++
	}
}

// removeNode deletes the node at index i, which must have no used outputs
// (or whose outputs the caller has given another definition).
func (u *unit) removeNode(i int) {
	u.ensureIndex()
	n := u.g.Nodes[i]
	for _, v := range n.Inputs {
		if v != nil {
			u.uses[v]--
		}
	}
	for _, v := range n.Outputs {
		if d, ok := u.def[v]; ok && d == i {
			delete(u.def, v)
		}
	}
	u.g.Nodes[i] = nil
}

// absorb makes the node at index i take over the output of the node at
// index j, its output's one reader, and deletes node j: node i's output 0
// becomes node j's output 0, keeping its name, which may be a graph
// output's. The caller has already made node i compute what node j did.
func (u *unit) absorb(i, j int) {
	u.ensureIndex()
	n, m := u.g.Nodes[i], u.g.Nodes[j]
	old, out := n.Outputs[0], m.Outputs[0]
	u.removeNode(j)
	delete(u.def, old)
	n.Outputs = slices.Clone(n.Outputs)
	n.Outputs[0] = out
	u.def[out] = i
}

// move puts the node at index from at index to, whose entry must be nil
// (a removed node's), leaving nil behind.
func (u *unit) move(from, to int) {
	u.ensureIndex()
	n := u.g.Nodes[from]
	u.g.Nodes[to], u.g.Nodes[from] = n, nil
	for _, v := range n.Outputs {
		u.def[v] = to
	}
}

// replaceUses makes every node input reading old read new instead. Graph
// outputs are left alone (see simplify for how their names are kept).
func (u *unit) replaceUses(old, new *ir.Value) {
	u.ensureIndex()
	for _, n := range u.g.Nodes {
		if n == nil {
			continue
		}
		for i, v := range n.Inputs {
			if v == old {
				n.Inputs[i] = new
				u.uses[old]--
				u.uses[new]++
			}
		}
	}
}

// deadcode removes the nodes none of whose outputs is used, directly or
// through other nodes, by a graph output, and returns their number.
func (u *unit) deadcode() int {
	live := map[*ir.Value]bool{}
	for _, v := range u.g.Outputs {
		live[v] = true
	}
	removed := 0
	for i := len(u.g.Nodes) - 1; i >= 0; i-- {
		n := u.g.Nodes[i]
		if n == nil {
			continue
		}
		keep := false
		for _, v := range n.Outputs {
			keep = keep || live[v]
		}
		if !keep {
			u.g.Nodes[i] = nil
			removed++
			continue
		}
		for _, v := range n.Inputs {
			if v != nil {
				live[v] = true
			}
		}
	}
	if removed > 0 {
		u.indexed = false
	}
	return removed
}

// fresh returns base, or base with a numeric suffix, such that no value
// of the graph has that name, and reserves it.
func (u *unit) fresh(base string) string {
	if u.names == nil {
		u.names = map[string]bool{}
		add := func(v *ir.Value) {
			if v != nil {
				u.names[v.Name] = true
			}
		}
		for _, v := range u.g.Inputs {
			add(v)
		}
		for _, n := range u.g.Nodes {
			if n == nil {
				continue
			}
			for _, v := range n.Inputs {
				add(v)
			}
			for _, v := range n.Outputs {
				add(v)
			}
		}
		for _, v := range u.g.Outputs {
			add(v)
		}
	}
	name := base
	for i := 1; u.names[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	u.names[name] = true
	return name
}

// newConst returns a new constant value holding t, named fresh(base).
func (u *unit) newConst(base string, t *ir.Tensor) *ir.Value {
	return &ir.Value{Name: u.fresh(base), Type: ir.Type{DType: t.DType, Shape: t.Shape.Clone()}, Const: t}
}

// constF32 returns v's constant float32 data, or nil when v is not a
// float32 constant.
func constF32(v *ir.Value) []float32 {
	if v == nil || v.Const == nil || v.Const.DType != ir.Float32 || len(v.Const.F32) != v.Const.Shape.NumElements() {
		return nil
	}
	return v.Const.F32
}

// opCounts formats a count per op type, most frequent first: "Shape 2,
// Gather 1".
func opCounts(counts map[string]int) string {
	type kv struct {
		k string
		n int
	}
	var list []kv
	for k, n := range counts {
		list = append(list, kv{k, n})
	}
	slices.SortFunc(list, func(a, b kv) int {
		if a.n != b.n {
			return b.n - a.n
		}
		return strings.Compare(a.k, b.k)
	})
	parts := make([]string, len(list))
	for i, e := range list {
		parts[i] = fmt.Sprintf("%s %d", e.k, e.n)
	}
	return strings.Join(parts, ", ")
}
