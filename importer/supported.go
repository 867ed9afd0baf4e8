package importer

import "sort"

// SupportedOps returns the ONNX operator types (default domain) that the
// importer has a codec for, sorted and without duplicates. It is read from
// the families table, so it is the set Decode accepts: a model whose nodes
// all have a type in this list can still be refused for an attribute, an
// opset or an element type, but never for its operator.
func SupportedOps() []string {
	seen := map[string]bool{}
	var ops []string
	for _, f := range families {
		for op := range f {
			if !seen[op] {
				seen[op] = true
				ops = append(ops, op)
			}
		}
	}
	sort.Strings(ops)
	return ops
}
