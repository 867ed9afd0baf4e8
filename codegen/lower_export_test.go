package codegen

import "github.com/cnnc/cnnc/ir"

// LowerTestGraph is a graph of the lowering tables, exported for the
// differential test of package codegen_test, which runs plans with the
// runtime (a package the internal tests cannot import: it imports
// codegen).
type LowerTestGraph struct {
	Name  string
	Build func(b *ir.Builder)
	Patch func(g *ir.Graph)
}

// LowerTestGraphs returns every graph of the lowering tables.
func LowerTestGraphs() []LowerTestGraph {
	var out []LowerTestGraph
	for _, table := range [][]lowerCase{elementwiseCases, poolCases, aliasCases, constantCases, convCases, gemmCases} {
		for _, c := range table {
			out = append(out, LowerTestGraph{c.name, c.build, c.patch})
		}
	}
	return out
}
