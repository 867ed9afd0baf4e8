package ir

import (
	"fmt"
	"sort"
	"strings"
)

// Weights returns g's named float32 constants by name: the constants its
// nodes read, and the outputs of Identity and Constant nodes that pass on
// a constant under another name (PyTorch's exporter shares equal weights
// that way, so every parameter keeps its name).
func Weights(g *Graph) map[string]*Tensor {
	w := map[string]*Tensor{}
	for _, v := range g.Constants() {
		if v.Const.DType == Float32 {
			w[v.Name] = v.Const
		}
	}
	for _, n := range g.Nodes {
		switch op := n.Op.(type) {
		case *Identity:
			if in := n.Inputs[0]; in != nil && in.Const != nil && in.Const.DType == Float32 {
				w[n.Outputs[0].Name] = in.Const
			}
		case *Constant:
			if op.Value.DType == Float32 {
				w[n.Outputs[0].Name] = op.Value
			}
		}
	}
	return w
}

// LoadWeights gives each float32 constant of g the tensor of the same name
// in w (which g then shares). The two must describe the same architecture:
// every constant of g must be in w with its shape, and every tensor of w
// must be used; otherwise nothing changes and the error lists what differs.
func LoadWeights(g *Graph, w map[string]*Tensor) error {
	var missing, wrong []string
	used := map[string]bool{}
	consts := g.Constants()
	for _, v := range consts {
		if v.Const.DType != Float32 {
			continue
		}
		t, ok := w[v.Name]
		switch {
		case !ok:
			missing = append(missing, fmt.Sprintf("%s %v", v.Name, v.Type.Shape))
		case t.DType != Float32 || !t.Shape.Equal(v.Type.Shape):
			wrong = append(wrong, fmt.Sprintf("%s: file has %v, model wants %v", v.Name, t.Type(), v.Type))
		}
		used[v.Name] = true
	}
	var extra []string
	for name, t := range w {
		if !used[name] {
			extra = append(extra, fmt.Sprintf("%s %v", name, t.Shape))
		}
	}
	if len(missing)+len(wrong)+len(extra) > 0 {
		sort.Strings(missing)
		sort.Strings(extra)
		var parts []string
		if len(wrong) > 0 {
			parts = append(parts, "shapes differ: "+listFew(wrong))
		}
		if len(missing) > 0 {
			parts = append(parts, "not in the weights: "+listFew(missing))
		}
		if len(extra) > 0 {
			parts = append(parts, "in the weights but not the model: "+listFew(extra))
		}
		return Invalidf("weights do not fit graph %q: %s", g.Name, strings.Join(parts, "; "))
	}
	for _, v := range consts {
		if t, ok := w[v.Name]; ok && v.Const.DType == Float32 {
			v.Const = t
		}
	}
	return nil
}

// listFew joins up to five items, saying how many more there are.
func listFew(items []string) string {
	const n = 5
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
