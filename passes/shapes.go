package passes

import (
	"slices"
	"strconv"
	"strings"

	"github.com/cnnc/cnnc/ir"
)

// shapes fixes the graph inputs' shapes from Options.InputShapes and
// Options.Batch and re-infers the type of every node output from them.
//
// A shape given by InputShapes must be fully known, have the declared rank
// (when the rank is declared) and agree with every declared known
// dimension; it replaces the declared shape and the dimension names. Batch
// sets dimension 0 of every other input whose dimension 0 is unknown or
// named. Errors name the input, or the node whose op rejects the new
// shapes.
func shapes(u *unit) error {
	g, o := u.g, u.opts
	byName := map[string]*ir.Value{}
	for _, v := range g.Inputs {
		byName[v.Name] = v
	}
	var names []string
	for name := range o.InputShapes {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if byName[name] == nil {
			var have []string
			for _, v := range g.Inputs {
				have = append(have, v.Name)
			}
			return ir.Invalidf("InputShapes names %q, which is not a graph input (inputs: %s)", name, strings.Join(have, ", "))
		}
	}
	var fixed []string
	for _, v := range g.Inputs {
		before := inputTypeString(v)
		if s, ok := o.InputShapes[v.Name]; ok {
			if err := checkInputShape(v, s); err != nil {
				return err
			}
			v.Type.Shape = s.Clone()
			v.DimNames = nil
		} else if o.Batch > 0 && len(v.Type.Shape) > 0 && (v.Type.Shape[0] < 0 || dimNamed(v, 0)) {
			v.Type.Shape = v.Type.Shape.Clone()
			v.Type.Shape[0] = o.Batch
			if v.DimNames != nil {
				v.DimNames = slices.Clone(v.DimNames)
				v.DimNames[0] = ""
				if !slices.ContainsFunc(v.DimNames, func(s string) bool { return s != "" }) {
					v.DimNames = nil
				}
			}
		}
		if after := inputTypeString(v); after != before {
			fixed = append(fixed, v.Name+" "+before+" -> "+after)
		}
	}
	if len(fixed) > 0 {
		u.changed("input %s", strings.Join(fixed, ", "))
	}
	if err := g.InferTypes(); err != nil {
		return err
	}
	unknown := 0
	for _, n := range g.Nodes {
		for _, v := range n.Outputs {
			if !v.Type.Shape.Known() {
				unknown++
			}
		}
	}
	if unknown > 0 {
		u.changed("%d values with unknown shapes", unknown)
	}
	return nil
}

// dimNamed reports whether dimension i of the input v has a name.
func dimNamed(v *ir.Value, i int) bool {
	return i < len(v.DimNames) && v.DimNames[i] != ""
}

// inputTypeString prints an input's type with its dimension names.
func inputTypeString(v *ir.Value) string {
	s := v.Type.Shape
	if s == nil {
		return v.Type.String()
	}
	parts := make([]string, len(s))
	for i, d := range s {
		switch {
		case dimNamed(v, i):
			parts[i] = v.DimNames[i]
		case d < 0:
			parts[i] = "?"
		default:
			parts[i] = strconv.Itoa(d)
		}
	}
	return v.Type.DType.String() + "[" + strings.Join(parts, ",") + "]"
}

// checkInputShape checks a shape given for input v against its declared
// type.
func checkInputShape(v *ir.Value, s ir.Shape) error {
	if s == nil || !s.Known() || s.NumElements() < 0 {
		return ir.Invalidf("graph input %q: InputShapes gives %v, want a fully known shape of at most %d elements", v.Name, s, ir.MaxElements)
	}
	decl := v.Type.Shape
	if decl == nil {
		return nil
	}
	if len(s) != len(decl) {
		return ir.Invalidf("graph input %q: InputShapes gives %v, rank %d; want rank %d (declared %v)", v.Name, s, len(s), len(decl), decl)
	}
	for i, d := range decl {
		if d >= 0 && s[i] != d {
			return ir.Invalidf("graph input %q: InputShapes gives %v; dimension %d is %d, want %d (declared %v)", v.Name, s, i, s[i], d, decl)
		}
	}
	return nil
}
