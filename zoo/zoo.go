// Package zoo defines the classic convolutional networks natively in Go,
// written with the ir builder so that each reads like its paper's layer
// table. Names follow torchvision where torchvision has the model, and so
// do parameter names ("layer1.0.conv1.weight"), so that torchvision's
// weights can be matched to them.
//
// Weights come from a seeded generator with PyTorch's default
// initialization; the zoo holds no weights in code.
package zoo

import (
	"fmt"
	"sort"

	"github.com/cnnc/cnnc/ir"
)

// Options adjust a model where its architecture allows. The zero value of
// a field means the model's default.
type Options struct {
	// Classes is the size of the classifier output.
	Classes int
	// Channels is the number of input channels.
	Channels int
	// Size is the input's height and width.
	Size int
	// Batch is the batch size; -1 makes it symbolic ("N").
	Batch int
	// Seed seeds the weight generator.
	Seed uint64
}

// Model is one architecture of the zoo.
type Model struct {
	Name string
	// Paper cites the paper that introduced the architecture.
	Paper string
	// Defaults are the options the paper (or torchvision) uses: classes,
	// channels and input size.
	Defaults Options
	// build adds the network to b, reading from x, and returns its output.
	build func(b *ir.Builder, x *ir.Value, o Options) *ir.Value
}

// Build returns the model's graph for the given options (zero fields take
// the defaults).
func (m *Model) Build(o Options) (*ir.Graph, error) {
	d := m.Defaults
	if o.Classes == 0 {
		o.Classes = d.Classes
	}
	if o.Channels == 0 {
		o.Channels = d.Channels
	}
	if o.Size == 0 {
		o.Size = d.Size
	}
	if o.Batch == 0 {
		o.Batch = 1
	}
	if o.Classes < 1 || o.Channels < 1 || o.Size < 1 {
		return nil, ir.Invalidf("zoo %s: classes, channels and size must be positive, got %d, %d, %d", m.Name, o.Classes, o.Channels, o.Size)
	}
	b := ir.NewBuilder(m.Name, o.Seed)
	x := b.Input("input", o.Batch, o.Channels, o.Size, o.Size)
	b.Output(m.build(b, x, o))
	g, err := b.Graph()
	if err != nil {
		return nil, fmt.Errorf("zoo %s: %w", m.Name, err)
	}
	return g, nil
}

// families lists the models of each family file.
var families = [][]*Model{
	classicModels,
	inceptionModels,
	denseModels,
	resnetModels,
}

// Models returns every model of the zoo, sorted by name.
func Models() []*Model {
	var all []*Model
	for _, f := range families {
		all = append(all, f...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return all
}

// Lookup returns the model with the given name.
func Lookup(name string) (*Model, bool) {
	for _, f := range families {
		for _, m := range f {
			if m.Name == name {
				return m, true
			}
		}
	}
	return nil, false
}
