package ir

import (
	"fmt"
	"strings"
)

// Print returns the stable text form of g: one line per graph input,
// constant, node and graph output, in order. Ops print as their Go struct
// with field names, so the form is exact and needs no per-op code:
//
//	graph "tiny" opset 13
//	  input  %x: f32[N,3,8,8]
//	  const  %w: f32[4,3,3,3]
//	  %y: f32[N,4,8,8] = Conv{...}(%x, %w, _)  # conv1
//	  output %y
func Print(g *Graph) string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph %q opset %d\n", g.Name, g.Opset)
	for _, v := range g.Inputs {
		fmt.Fprintf(&b, "  input  %%%s: %s\n", v.Name, typeString(v))
	}
	for _, v := range g.Constants() {
		fmt.Fprintf(&b, "  const  %%%s: %s\n", v.Name, v.Type)
	}
	for _, n := range g.Nodes {
		b.WriteString("  ")
		for i, v := range n.Outputs {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%%%s: %s", v.Name, v.Type)
		}
		fmt.Fprintf(&b, " = %s(", opString(n.Op))
		for i, v := range n.Inputs {
			if i > 0 {
				b.WriteString(", ")
			}
			if v == nil {
				b.WriteString("_")
			} else {
				b.WriteString("%" + v.Name)
			}
		}
		b.WriteString(")")
		if n.Name != "" {
			b.WriteString("  # " + n.Name)
		}
		b.WriteByte('\n')
	}
	for _, v := range g.Outputs {
		fmt.Fprintf(&b, "  output %%%s\n", v.Name)
	}
	return b.String()
}

// typeString prints a type with dimension names where the value has them.
func typeString(v *Value) string {
	if v.DimNames == nil || v.Type.Shape == nil {
		return v.Type.String()
	}
	parts := make([]string, len(v.Type.Shape))
	for i, d := range v.Type.Shape {
		switch {
		case i < len(v.DimNames) && v.DimNames[i] != "":
			parts[i] = v.DimNames[i]
		case d < 0:
			parts[i] = "?"
		default:
			parts[i] = fmt.Sprint(d)
		}
	}
	return v.Type.DType.String() + "[" + strings.Join(parts, ",") + "]"
}

// opString prints an op as OpType{Field:value ...}; a Constant prints only
// its type, not its data.
func opString(op Op) string {
	if c, ok := op.(*Constant); ok {
		return "Constant{" + c.Value.Type().String() + "}"
	}
	s := fmt.Sprintf("%+v", op)
	s = strings.TrimPrefix(s, "&")
	if s == "{}" {
		return op.OpType()
	}
	return op.OpType() + s
}
