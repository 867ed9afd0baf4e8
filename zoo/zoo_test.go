package zoo

import (
	"strings"

	"github.com/cnnc/cnnc/ir"
)

// paramCount is torchvision's parameter count of g, counted by name: the
// elements of its float constants other than batch norms' running
// statistics (buffers). The family tests hold ir.CostOf, which counts by
// op, to the same figure.
func paramCount(g *ir.Graph) int64 {
	var n int64
	for _, v := range g.Constants() {
		if v.Type.DType != ir.Float32 || strings.HasSuffix(v.Name, ".running_mean") || strings.HasSuffix(v.Name, ".running_var") {
			continue
		}
		n += int64(v.Type.Shape.NumElements())
	}
	return n
}
