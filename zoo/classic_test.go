package zoo

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/reference"
)

// classicCases are the classic family's figures at the default input.
// Parameters: torchvision's sum(p.numel() for p in m.parameters()) for
// alexnet and vgg*, and for the others the same sum over the equivalent
// PyTorch nn.Sequential (torch 1.13), e.g. for nin:
//
//	def nin_block(i, o, k, s, p): return nn.Sequential(nn.Conv2d(i, o, k, s, p), nn.ReLU(),
//	    nn.Conv2d(o, o, 1), nn.ReLU(), nn.Conv2d(o, o, 1), nn.ReLU())
//	nn.Sequential(nin_block(3, 96, 11, 4, 0), nn.MaxPool2d(3, 2), nin_block(96, 256, 5, 1, 2),
//	    nn.MaxPool2d(3, 2), nin_block(256, 384, 3, 1, 1), nn.MaxPool2d(3, 2), nn.Dropout(0.5),
//	    nin_block(384, 1000, 3, 1, 1), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())
//
// MACs: ir.CostOf at the default input, as the models' doc comments state.
//
// names lists the parameter-holding modules in order, each with the
// initials of its tensors (weight, bias, running_mean, running_var), as
// torchvision's state_dict keys give them (num_batches_tracked left out):
//
//	S = {'weight': 'w', 'bias': 'b', 'running_mean': 'm', 'running_var': 'v'}
//	out = []
//	for k in getattr(torchvision.models, name)().state_dict():
//	    p, s = k.rsplit('.', 1)
//	    if s == 'num_batches_tracked': continue
//	    if out and out[-1][0] == p: out[-1][1] += S[s]
//	    else: out.append([p, S[s]])
//	print(' '.join(p + ':' + s for p, s in out))
//
// and, for the models torchvision lacks, as the PyTorch equivalents name
// them.
var classicCases = []struct {
	name         string
	params, macs int64
	out          string
	names        string
}{
	{"lenet", 61706, 416520, "f32[1,10]", "0:wb 3:wb 7:wb 9:wb 11:wb"},
	{"lenet_relu", 61706, 416520, "f32[1,10]", "0:wb 3:wb 7:wb 9:wb 11:wb"},
	{"lenet_bn", 62158, 416520, "f32[1,10]", "0:wb 1:wbmv 4:wb 5:wbmv 9:wb 10:wbmv 12:wb 13:wbmv 15:wb"},
	{"alexnet", 61100840, 714188480, "f32[1,1000]", "features.0:wb features.3:wb features.6:wb features.8:wb features.10:wb classifier.1:wb classifier.4:wb classifier.6:wb"},
	{"alexnet_lrn", 62378344, 1135256096, "f32[1,1000]", "features.0:wb features.4:wb features.8:wb features.10:wb features.12:wb classifier.0:wb classifier.3:wb classifier.6:wb"},
	{"zfnet", 107627624, 2476704896, "f32[1,1000]", "features.0:wb features.4:wb features.8:wb features.10:wb features.12:wb classifier.0:wb classifier.3:wb classifier.6:wb"},
	{"vgg11", 132863336, 7609090048, "f32[1,1000]", "features.0:wb features.3:wb features.6:wb features.8:wb features.11:wb features.13:wb features.16:wb features.18:wb classifier.0:wb classifier.3:wb classifier.6:wb"},
	{"vgg13", 133047848, 11308466176, "f32[1,1000]", "features.0:wb features.2:wb features.5:wb features.7:wb features.10:wb features.12:wb features.15:wb features.17:wb features.20:wb features.22:wb classifier.0:wb classifier.3:wb classifier.6:wb"},
	{"vgg16", 138357544, 15470264320, "f32[1,1000]", "features.0:wb features.2:wb features.5:wb features.7:wb features.10:wb features.12:wb features.14:wb features.17:wb features.19:wb features.21:wb features.24:wb features.26:wb features.28:wb classifier.0:wb classifier.3:wb classifier.6:wb"},
	{"vgg19", 143667240, 19632062464, "f32[1,1000]", "features.0:wb features.2:wb features.5:wb features.7:wb features.10:wb features.12:wb features.14:wb features.16:wb features.19:wb features.21:wb features.23:wb features.25:wb features.28:wb features.30:wb features.32:wb features.34:wb classifier.0:wb classifier.3:wb classifier.6:wb"},
	{"vgg11_bn", 132868840, 7609090048, "f32[1,1000]", "features.0:wb features.1:wbmv features.4:wb features.5:wbmv features.8:wb features.9:wbmv features.11:wb features.12:wbmv features.15:wb features.16:wbmv features.18:wb features.19:wbmv features.22:wb features.23:wbmv features.25:wb features.26:wbmv classifier.0:wb classifier.3:wb classifier.6:wb"},
	{"vgg13_bn", 133053736, 11308466176, "f32[1,1000]", "features.0:wb features.1:wbmv features.3:wb features.4:wbmv features.7:wb features.8:wbmv features.10:wb features.11:wbmv features.14:wb features.15:wbmv features.17:wb features.18:wbmv features.21:wb features.22:wbmv features.24:wb features.25:wbmv features.28:wb features.29:wbmv features.31:wb features.32:wbmv classifier.0:wb classifier.3:wb classifier.6:wb"},
	{"vgg16_bn", 138365992, 15470264320, "f32[1,1000]", "features.0:wb features.1:wbmv features.3:wb features.4:wbmv features.7:wb features.8:wbmv features.10:wb features.11:wbmv features.14:wb features.15:wbmv features.17:wb features.18:wbmv features.20:wb features.21:wbmv features.24:wb features.25:wbmv features.27:wb features.28:wbmv features.30:wb features.31:wbmv features.34:wb features.35:wbmv features.37:wb features.38:wbmv features.40:wb features.41:wbmv classifier.0:wb classifier.3:wb classifier.6:wb"},
	{"vgg19_bn", 143678248, 19632062464, "f32[1,1000]", "features.0:wb features.1:wbmv features.3:wb features.4:wbmv features.7:wb features.8:wbmv features.10:wb features.11:wbmv features.14:wb features.15:wbmv features.17:wb features.18:wbmv features.20:wb features.21:wbmv features.23:wb features.24:wbmv features.27:wb features.28:wbmv features.30:wb features.31:wbmv features.33:wb features.34:wbmv features.36:wb features.37:wbmv features.40:wb features.41:wbmv features.43:wb features.44:wbmv features.46:wb features.47:wbmv features.49:wb features.50:wbmv classifier.0:wb classifier.3:wb classifier.6:wb"},
	{"nin", 7439608, 965572864, "f32[1,1000]", "0.0:wb 0.2:wb 0.4:wb 2.0:wb 2.2:wb 2.4:wb 4.0:wb 4.2:wb 4.4:wb 7.0:wb 7.2:wb 7.4:wb"},
	{"exercise", 13285956, 4186183936, "f32[1,100]", "0:wb 2:wb 4:wb 7:wb 9:wb"},
}

// classicOptions are, per model, a non-default input (classes 7, channels
// 2, and a size the model takes) and the in-features its first fully
// connected layer then has (0: the model has none).
var classicOptions = map[string]struct{ size, fcIn int }{
	"lenet":       {32, 16 * 6 * 6},
	"lenet_relu":  {32, 16 * 6 * 6},
	"lenet_bn":    {32, 16 * 6 * 6},
	"alexnet":     {256, 256 * 6 * 6}, // the adaptive pool keeps 9216
	"alexnet_lrn": {256, 256 * 7 * 7},
	"zfnet":       {256, 512 * 7 * 7},
	"vgg11":       {448, 512 * 7 * 7},
	"vgg11_bn":    {256, 512 * 7 * 7},
	"nin":         {96, 0},
	"exercise":    {64, 256 * 13 * 13},
}

func TestClassicModels(t *testing.T) {
	if len(classicCases) != len(classicModels) {
		t.Errorf("%d cases for %d classic models", len(classicCases), len(classicModels))
	}
	for _, c := range classicCases {
		t.Run(c.name, func(t *testing.T) {
			m, ok := Lookup(c.name)
			if !ok {
				t.Fatalf("no model %q", c.name)
			}
			if m.Paper == "" || m.Defaults.Classes == 0 || m.Defaults.Channels == 0 || m.Defaults.Size == 0 {
				t.Errorf("paper %q, defaults %+v: want all set", m.Paper, m.Defaults)
			}
			g, err := m.Build(Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := paramCount(g); got != c.params {
				t.Errorf("parameters %d, want %d", got, c.params)
			}
			cost := ir.CostOf(g)
			if cost.Params != c.params || cost.MACs != c.macs {
				t.Errorf("CostOf: %d parameters, %d MACs; want %d, %d", cost.Params, cost.MACs, c.params, c.macs)
			}
			if got := g.Outputs[0].Type.String(); got != c.out {
				t.Errorf("output %s, want %s", got, c.out)
			}
			if got := compactNames(g); got != c.names {
				t.Errorf("parameter names\n got %s\nwant %s", got, c.names)
			}
			g = nil // let a VGG's weights go before the second build

			o, ok := classicOptions[c.name]
			if !ok {
				return // a VGG like vgg11's: the same code
			}
			g, err = m.Build(Options{Classes: 7, Channels: 2, Size: o.size, Batch: -1})
			if err != nil {
				t.Fatalf("size %d: %v", o.size, err)
			}
			if got, want := g.Outputs[0].Type.Shape, (ir.Shape{-1, 7}); !got.Equal(want) {
				t.Errorf("with 7 classes: output %v, want %v", got, want)
			}
			consts := g.Constants()
			if s := consts[0].Type.Shape; len(s) != 4 || s[1] != 2 {
				t.Errorf("with 2 channels: first weight %s %v, want 2 input channels", consts[0].Name, s)
			}
			if o.fcIn > 0 {
				if s := firstLinearWeight(g); len(s) != 2 || s[1] != o.fcIn {
					t.Errorf("size %d: first fully connected weight %v, want %d inputs", o.size, s, o.fcIn)
				}
			}
		})
	}
}

// compactNames lists g's constants as "module:initials", one entry per
// module ("features.1:wbmv" for its weight, bias, running_mean and
// running_var), in order.
func compactNames(g *ir.Graph) string {
	var mods []string
	var last string
	for _, v := range g.Constants() {
		mod, leaf := "", v.Name
		if i := strings.LastIndex(v.Name, "."); i >= 0 {
			mod, leaf = v.Name[:i], v.Name[i+1:]
		}
		initial := map[string]string{"weight": "w", "bias": "b", "running_mean": "m", "running_var": "v"}[leaf]
		if initial == "" {
			initial = "?" + leaf
		}
		if len(mods) > 0 && mod == last {
			mods[len(mods)-1] += initial
			continue
		}
		mods, last = append(mods, mod+":"+initial), mod
	}
	return strings.Join(mods, " ")
}

// firstLinearWeight returns the weight shape of g's first Gemm.
func firstLinearWeight(g *ir.Graph) ir.Shape {
	for _, n := range g.Nodes {
		if _, ok := n.Op.(*ir.Gemm); ok {
			return n.Inputs[1].Type.Shape
		}
	}
	return nil
}

func TestClassicBadOptions(t *testing.T) {
	cases := []struct {
		name        string
		o           Options
		want        string
		unsupported bool
	}{
		{"lenet", Options{Size: 11}, `node "5" (AveragePool)`, false},
		{"lenet_bn", Options{Classes: -3}, "classes, channels and size must be positive", false},
		{"alexnet", Options{Size: 100}, "AdaptiveAvgPool2d(6) on a 2x2 input: the input is smaller", true},
		{"alexnet", Options{Size: 300}, "AdaptiveAvgPool2d(6) on a 8x8 input", true},
		{"alexnet_lrn", Options{Size: 62}, `node "features.14" (MaxPool)`, false},
		{"zfnet", Options{Size: 40}, `node "features.14" (MaxPool)`, false},
		{"vgg16", Options{Size: 32}, "AdaptiveAvgPool2d(7) on a 1x1 input: the input is smaller than the output", true},
		{"vgg19_bn", Options{Size: 320}, "AdaptiveAvgPool2d(7) on a 10x10 input", true},
		{"nin", Options{Size: 66}, `node "5" (MaxPool)`, false},
		{"exercise", Options{Size: 14}, `node "6" (MaxPool)`, false},
	}
	for _, c := range cases {
		m, _ := Lookup(c.name)
		_, err := m.Build(c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) || ir.IsUnsupported(err) != c.unsupported {
			t.Errorf("%s with %+v: err = %v, want an error containing %q (unsupported: %v)", c.name, c.o, err, c.want, c.unsupported)
		}
	}
}

// TestExerciseLayers checks each layer's output size and parameters
// against PyTorch's for the same nn.Sequential (torch 1.13):
//
//	m = nn.Sequential(nn.Conv2d(3, 48, 9), nn.ReLU(), nn.Conv2d(48, 96, 9, padding=4), nn.ReLU(),
//	    nn.Conv2d(96, 192, 5, stride=2), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Conv2d(192, 256, 1),
//	    nn.Flatten(), nn.Linear(256 * 22 * 22, 100))
//	x = torch.zeros(1, 3, 100, 100)
//	for i, l in enumerate(m):
//	    x = l(x); print(i, type(l).__name__, list(x.shape), sum(p.numel() for p in l.parameters()))
func TestExerciseLayers(t *testing.T) {
	torch := []struct {
		shape  ir.Shape
		params int64
	}{
		0: {ir.Shape{1, 48, 92, 92}, 11712},   // Conv2d
		1: {ir.Shape{1, 48, 92, 92}, 0},       // ReLU
		2: {ir.Shape{1, 96, 92, 92}, 373344},  // Conv2d
		3: {ir.Shape{1, 96, 92, 92}, 0},       // ReLU
		4: {ir.Shape{1, 192, 44, 44}, 460992}, // Conv2d
		5: {ir.Shape{1, 192, 44, 44}, 0},      // ReLU
		6: {ir.Shape{1, 192, 22, 22}, 0},      // MaxPool2d
		7: {ir.Shape{1, 256, 22, 22}, 49408},  // Conv2d
		8: {ir.Shape{1, 123904}, 0},           // Flatten
		9: {ir.Shape{1, 100}, 12390500},       // Linear
	}
	g, err := Exercise.Build(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Nodes) != len(torch) {
		t.Fatalf("%d layers, want PyTorch's %d", len(g.Nodes), len(torch))
	}
	var total int64
	for i, n := range g.Nodes {
		want := torch[i]
		p := ir.NodeCost(n).Params
		total += p
		if n.Name != strconv.Itoa(i) || !n.Outputs[0].Type.Shape.Equal(want.shape) || p != want.params {
			t.Errorf("layer %s (%s): %v, %d parameters; want layer %d: %v, %d", n.Name, n.Op.OpType(),
				n.Outputs[0].Type.Shape, p, i, want.shape, want.params)
		}
	}
	if total != 13285956 {
		t.Errorf("total %d parameters, want PyTorch's 13285956", total)
	}
}

// TestClassicRun runs the small models, and small inputs of the larger
// ones, on the reference interpreter.
func TestClassicRun(t *testing.T) {
	cases := []struct {
		name string
		o    Options
	}{
		{"lenet", Options{}},
		{"lenet_relu", Options{}},
		{"lenet_bn", Options{Batch: 2}},
		{"alexnet_lrn", Options{Size: 63, Classes: 5}},
		{"zfnet", Options{Size: 63, Classes: 5}},
		{"nin", Options{Size: 67, Classes: 5, Channels: 1}},
		{"exercise", Options{Size: 24, Classes: 5}},
	}
	for _, c := range cases {
		m, _ := Lookup(c.name)
		g, err := m.Build(c.o)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		x := g.Inputs[0]
		in, err := ir.NewTensor(ir.Float32, x.Type.Shape)
		if err != nil {
			t.Fatal(err)
		}
		for i := range in.F32 {
			in.F32[i] = float32(math.Sin(float64(i)))
		}
		outs, err := reference.Run(g, map[string]*ir.Tensor{x.Name: in})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !outs[0].Shape.Equal(g.Outputs[0].Type.Shape) {
			t.Errorf("%s: output %v, want %v", c.name, outs[0].Shape, g.Outputs[0].Type.Shape)
		}
		for _, v := range outs[0].F32 {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("%s: output %v", c.name, outs[0].F32)
			}
		}
	}
}
