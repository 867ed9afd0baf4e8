package zoo

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/runtime/reference"
)

// resnetRefs are the figures of the reference PyTorch models: torchvision
// 0.14's for the models it has, and for the others the definitions below,
// which the zoo's follow. params is sum(p.numel() for p in m.parameters());
// keys is the number of state_dict entries without num_batches_tracked and
// keyHash the first 16 hex digits of the SHA-256 of their sorted lines
// "name dim0xdim1x..."; macs counts each Conv2d's output elements times
// in/groups*kh*kw and each Linear's outputs times in_features at the
// default input (forward hooks). The script that printed them:
//
//	import hashlib, torch, torch.nn as nn, torchvision.models as M
//
//	class PreActBlock(nn.Module):
//	    def __init__(self, inp, planes, stride):
//	        super().__init__()
//	        self.bn1 = nn.BatchNorm2d(inp)
//	        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
//	        self.bn2 = nn.BatchNorm2d(planes)
//	        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
//	        self.downsample = None
//	        if stride != 1 or inp != planes:
//	            self.downsample = nn.Sequential(nn.Conv2d(inp, planes, 1, stride, bias=False))
//	    def forward(self, x):
//	        o = torch.relu(self.bn1(x))
//	        sc = x if self.downsample is None else self.downsample(o)
//	        o = self.conv1(o)
//	        o = self.conv2(torch.relu(self.bn2(o)))
//	        return o + sc
//
//	def layer(inp, planes, n, stride):
//	    return nn.Sequential(*[PreActBlock(inp if i == 0 else planes, planes, stride if i == 0 else 1) for i in range(n)])
//
//	class PreActResNet(nn.Module):
//	    def __init__(self, layers, classes=1000):
//	        super().__init__()
//	        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
//	        self.bn1 = nn.BatchNorm2d(64)
//	        self.maxpool = nn.MaxPool2d(3, 2, 1)
//	        self.layer1 = layer(64, 64, layers[0], 1)
//	        self.layer2 = layer(64, 128, layers[1], 2)
//	        self.layer3 = layer(128, 256, layers[2], 2)
//	        self.layer4 = layer(256, 512, layers[3], 2)
//	        self.final_bn = nn.BatchNorm2d(512)
//	        self.fc = nn.Linear(512, classes)
//	    def forward(self, x):
//	        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
//	        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
//	        x = torch.relu(self.final_bn(x))
//	        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))
//
//	class WRN(nn.Module):
//	    def __init__(self, depth=28, k=10, classes=10):
//	        super().__init__()
//	        n = (depth - 4) // 6
//	        w = [16 * k, 32 * k, 64 * k]
//	        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
//	        self.layer1 = layer(16, w[0], n, 1)
//	        self.layer2 = layer(w[0], w[1], n, 2)
//	        self.layer3 = layer(w[1], w[2], n, 2)
//	        self.final_bn = nn.BatchNorm2d(w[2])
//	        self.fc = nn.Linear(w[2], classes)
//	    def forward(self, x):
//	        x = self.layer3(self.layer2(self.layer1(self.conv1(x))))
//	        x = torch.relu(self.final_bn(x))
//	        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))
//
//	def macs(m, size):
//	    tot = [0]
//	    def hook(mod, i, o):
//	        if isinstance(mod, nn.Conv2d):
//	            tot[0] += o.numel() * mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
//	        elif isinstance(mod, nn.Linear):
//	            tot[0] += o.numel() * mod.in_features
//	    hs = [x.register_forward_hook(hook) for x in m.modules()]
//	    with torch.no_grad(): m.eval()(torch.zeros(1, 3, size, size))
//	    for h in hs: h.remove()
//	    return tot[0]
//
//	models = {n: getattr(M, n)() for n in ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
//	    "wide_resnet50_2", "wide_resnet101_2", "resnext50_32x4d", "resnext101_32x8d"]}
//	models["preact_resnet18"] = PreActResNet([2, 2, 2, 2])
//	models["preact_resnet34"] = PreActResNet([3, 4, 6, 3])
//	models["wrn28_10"] = WRN()
//	for n, m in models.items():
//	    sd = m.state_dict()
//	    keys = sorted(k + " " + "x".join(map(str, sd[k].shape)) for k in sd if not k.endswith("num_batches_tracked"))
//	    h = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]
//	    print('{"%s", %d, %d, %d, "%s"},' % (n, sum(p.numel() for p in m.parameters()),
//	        macs(m, 32 if n == "wrn28_10" else 224), len(keys), h))
var resnetRefs = []struct {
	name         string
	params, macs int64
	keys         int
	keyHash      string
}{
	{"resnet18", 11689512, 1814073344, 102, "bd0b28d3209a171d"},
	{"resnet34", 21797672, 3663761408, 182, "3527dbbb4ac82262"},
	{"resnet50", 25557032, 4089184256, 267, "a506be68cf630f4c"},
	{"resnet101", 44549160, 7801405440, 522, "b7894632184dafb1"},
	{"resnet152", 60192808, 11513626624, 777, "e13c31ea628f8ac7"},
	// Stochastic depth adds no parameters and no MACs: the plain ResNets'.
	{"resnet18_sd", 11689512, 1814073344, 102, "bd0b28d3209a171d"},
	{"resnet34_sd", 21797672, 3663761408, 182, "3527dbbb4ac82262"},
	{"resnet50_sd", 25557032, 4089184256, 267, "a506be68cf630f4c"},
	{"resnet101_sd", 44549160, 7801405440, 522, "b7894632184dafb1"},
	{"resnet152_sd", 60192808, 11513626624, 777, "e13c31ea628f8ac7"},
	{"wide_resnet50_2", 68883240, 11398021120, 267, "3ace44a0831eff03"},
	{"wide_resnet101_2", 126886696, 22753050624, 522, "8678655dd5ee143d"},
	{"resnext50_32x4d", 25028904, 4230479872, 267, "bc48b1e31e512c70"},
	{"resnext101_32x8d", 88791336, 16414015488, 522, "56f1d47945bd0229"},
	{"preact_resnet18", 11687848, 1814073344, 94, "d2f33a6dd8d0d788"},
	{"preact_resnet34", 21796008, 3663761408, 174, "9b5c44f24b6072e5"},
	{"wrn28_10", 36479194, 5243328768, 130, "38be6996e4cee204"},
}

// resnetSpots are constants that must exist, with their shapes, as
// readable witnesses of the hashed name lists.
var resnetSpots = map[string]map[string]string{
	"resnet18": {
		"conv1.weight": "[64,3,7,7]", "layer1.0.conv1.weight": "[64,64,3,3]",
		"layer2.0.downsample.0.weight": "[128,64,1,1]", "layer2.0.downsample.1.running_var": "[128]",
		"layer4.1.bn2.bias": "[512]", "fc.weight": "[1000,512]", "fc.bias": "[1000]",
	},
	"resnet50": {
		"layer1.0.downsample.0.weight": "[256,64,1,1]", "layer1.0.conv3.weight": "[256,64,1,1]",
		"layer3.5.bn3.running_mean": "[1024]", "layer4.2.conv2.weight": "[512,512,3,3]", "fc.weight": "[1000,2048]",
	},
	"resnet152":        {"layer3.35.conv2.weight": "[256,256,3,3]", "layer2.7.bn1.weight": "[128]"},
	"wide_resnet50_2":  {"layer1.0.conv2.weight": "[128,128,3,3]", "layer4.0.conv1.weight": "[1024,1024,1,1]"},
	"resnext50_32x4d":  {"layer1.0.conv2.weight": "[128,4,3,3]", "layer4.2.conv3.weight": "[2048,1024,1,1]"},
	"resnext101_32x8d": {"layer1.0.conv2.weight": "[256,8,3,3]", "layer3.22.conv2.weight": "[1024,32,3,3]"},
	"preact_resnet18": {
		"bn1.weight": "[64]", "layer1.0.bn1.weight": "[64]", "layer2.0.downsample.0.weight": "[128,64,1,1]",
		"final_bn.running_var": "[512]", "fc.weight": "[1000,512]",
	},
	"wrn28_10": {
		"conv1.weight": "[16,3,3,3]", "layer1.0.bn1.weight": "[16]", "layer1.0.downsample.0.weight": "[160,16,1,1]",
		"layer3.3.conv2.weight": "[640,640,3,3]", "final_bn.bias": "[640]", "fc.weight": "[10,640]",
	},
}

// resnetKeys returns g's constants as sorted lines "name dim0xdim1x...",
// as the reference script prints them.
func resnetKeys(g *ir.Graph) []string {
	var keys []string
	for _, v := range g.Constants() {
		dims := make([]string, len(v.Type.Shape))
		for i, d := range v.Type.Shape {
			dims[i] = strconv.Itoa(d)
		}
		keys = append(keys, v.Name+" "+strings.Join(dims, "x"))
	}
	slices.Sort(keys)
	return keys
}

func TestResNetFamily(t *testing.T) {
	if len(resnetRefs) != len(resnetModels) {
		t.Errorf("%d reference rows for %d models", len(resnetRefs), len(resnetModels))
	}
	for _, ref := range resnetRefs {
		t.Run(ref.name, func(t *testing.T) {
			m, ok := Lookup(ref.name)
			if !ok {
				t.Fatalf("model %q not in the zoo", ref.name)
			}
			if m.Paper == "" || m.Defaults.Classes == 0 || m.Defaults.Channels == 0 || m.Defaults.Size == 0 {
				t.Errorf("paper %q, defaults %+v: want all set", m.Paper, m.Defaults)
			}
			g, err := m.Build(Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := g.Outputs[0].Type.Shape.String(), "[1,"+strconv.Itoa(m.Defaults.Classes)+"]"; got != want {
				t.Errorf("output shape %s, want %s", got, want)
			}
			if got := paramCount(g); got != ref.params {
				t.Errorf("params %d, want %d", got, ref.params)
			}
			c := ir.CostOf(g)
			if c.Params != ref.params || c.MACs != ref.macs || c.Unknown != 0 {
				t.Errorf("CostOf: params %d, MACs %d, %d unknown; want %d, %d, 0", c.Params, c.MACs, c.Unknown, ref.params, ref.macs)
			}
			keys := resnetKeys(g)
			sum := sha256.Sum256([]byte(strings.Join(keys, "\n")))
			if len(keys) != ref.keys || hex.EncodeToString(sum[:])[:16] != ref.keyHash {
				t.Errorf("%d constants hashing to %x, want %d hashing to %s (first: %q)", len(keys), sum[:8], ref.keys, ref.keyHash, keys[:min(3, len(keys))])
			}
			shapes := map[string]string{}
			for _, v := range g.Constants() {
				shapes[v.Name] = v.Type.Shape.String()
			}
			for name, want := range resnetSpots[ref.name] {
				if got, ok := shapes[name]; !ok || got != want {
					t.Errorf("constant %q: shape %q (present %v), want %s", name, got, ok, want)
				}
			}
		})
	}
}

// TestResNetOptions builds models at other options and runs small
// configurations of each kind of block on the reference interpreter.
func TestResNetOptions(t *testing.T) {
	cases := []struct {
		model string
		opts  Options
		conv1 string // shape of conv1.weight
		run   bool
	}{
		{"resnet18", Options{Classes: 7, Channels: 1, Size: 32}, "[64,1,7,7]", true},
		{"resnext50_32x4d", Options{Size: 32, Classes: 5}, "[64,3,7,7]", true},
		{"preact_resnet18", Options{Size: 40, Channels: 4, Classes: 3}, "[64,4,7,7]", true},
		{"wrn28_10", Options{Size: 8, Classes: 100}, "[16,3,3,3]", true},
		// Padded strided layers never shrink a map below 1x1.
		{"resnet50", Options{Size: 1, Batch: 2}, "[64,3,7,7]", false},
		{"wrn28_10", Options{Size: 1, Channels: 1}, "[16,1,3,3]", false},
	}
	for _, c := range cases {
		m, _ := Lookup(c.model)
		g, err := m.Build(c.opts)
		if err != nil {
			t.Errorf("%s %+v: %v", c.model, c.opts, err)
			continue
		}
		o := c.opts
		if o.Classes == 0 {
			o.Classes = m.Defaults.Classes
		}
		if o.Channels == 0 {
			o.Channels = m.Defaults.Channels
		}
		if o.Batch == 0 {
			o.Batch = 1
		}
		want := "[" + strconv.Itoa(o.Batch) + "," + strconv.Itoa(o.Classes) + "]"
		if got := g.Outputs[0].Type.Shape.String(); got != want {
			t.Errorf("%s %+v: output %s, want %s", c.model, c.opts, got, want)
		}
		if got := g.Constants()[0]; got.Name != "conv1.weight" || got.Type.Shape.String() != c.conv1 {
			t.Errorf("%s %+v: first constant %s %s, want conv1.weight %s", c.model, c.opts, got.Name, got.Type.Shape, c.conv1)
		}
		if !c.run {
			continue
		}
		in := ir.FromFloat32(ir.Shape{o.Batch, o.Channels, c.opts.Size, c.opts.Size}, make([]float32, o.Batch*o.Channels*c.opts.Size*c.opts.Size))
		for i := range in.F32 {
			in.F32[i] = float32(math.Sin(float64(i)))
		}
		out, err := reference.Run(g, map[string]*ir.Tensor{"input": in})
		if err != nil {
			t.Errorf("%s %+v: run: %v", c.model, c.opts, err)
			continue
		}
		for _, v := range out[0].F32 {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Errorf("%s %+v: output %v", c.model, c.opts, out[0].F32)
				break
			}
		}
	}
}

func TestResNetBadOptions(t *testing.T) {
	for _, o := range []Options{{Classes: -1}, {Channels: -3}, {Size: -1}} {
		if g, err := ResNet18.Build(o); err == nil {
			t.Errorf("resnet18 %+v: got a graph with output %v, want an error", o, g.Outputs[0].Type)
		}
		if _, err := WRN28_10.Build(o); err == nil {
			t.Errorf("wrn28_10 %+v: no error", o)
		}
	}
}

// TestResNetSD checks the stochastic-depth ResNets: one StochasticDepth
// node per block, before the block's addition, with survival decaying
// linearly to 0.5, and outputs equal to the plain ResNets' with the same
// seed on the reference interpreter (the op is the identity at inference).
func TestResNetSD(t *testing.T) {
	cases := []struct {
		sd, plain   string
		blocks      int
		first, last float32
		run         bool
	}{
		{"resnet18_sd", "resnet18", 8, 0.9375, 0.5, true},
		{"resnet34_sd", "resnet34", 16, 0.96875, 0.5, false},
		{"resnet50_sd", "resnet50", 16, 0.96875, 0.5, true},
		{"resnet101_sd", "resnet101", 33, float32(1 - 1.0/33*0.5), 0.5, false},
		{"resnet152_sd", "resnet152", 50, 0.99, 0.5, false},
	}
	for _, c := range cases {
		t.Run(c.sd, func(t *testing.T) {
			sd, ok1 := Lookup(c.sd)
			plain, ok2 := Lookup(c.plain)
			if !ok1 || !ok2 {
				t.Fatalf("%s or %s not in the zoo", c.sd, c.plain)
			}
			o := Options{Size: 16, Classes: 5, Seed: 7}
			if !c.run {
				o.Size = 1
			}
			gs, err := sd.Build(o)
			if err != nil {
				t.Fatal(err)
			}
			gp, err := plain.Build(o)
			if err != nil {
				t.Fatal(err)
			}
			var ps []float32
			for _, n := range gs.Nodes {
				op, ok := n.Op.(*ir.StochasticDepth)
				if !ok {
					continue
				}
				ps = append(ps, op.Survival)
				if !strings.HasSuffix(n.Name, ".stochastic_depth") {
					t.Errorf("node %q: want a name ending in .stochastic_depth", n.Name)
				}
			}
			if len(ps) != c.blocks {
				t.Fatalf("%d StochasticDepth nodes, want %d", len(ps), c.blocks)
			}
			if ps[0] != c.first || ps[len(ps)-1] != c.last {
				t.Errorf("survival first %v, last %v; want %v, %v", ps[0], ps[len(ps)-1], c.first, c.last)
			}
			for i := 1; i < len(ps); i++ {
				if !(ps[i] < ps[i-1]) {
					t.Errorf("survival %v of block %d does not decrease from %v", ps[i], i+1, ps[i-1])
				}
			}
			if got, want := len(gs.Nodes), len(gp.Nodes)+c.blocks; got != want {
				t.Errorf("%d nodes, want the plain %d plus %d", got, len(gp.Nodes), c.blocks)
			}
			if got, want := resnetKeys(gs), resnetKeys(gp); !slices.Equal(got, want) {
				t.Errorf("constants differ from %s's", c.plain)
			}
			if !c.run {
				return
			}
			in := ir.FromFloat32(ir.Shape{1, 3, o.Size, o.Size}, make([]float32, 3*o.Size*o.Size))
			for i := range in.F32 {
				in.F32[i] = float32(math.Sin(float64(i)))
			}
			ys, err := reference.Run(gs, map[string]*ir.Tensor{"input": in})
			if err != nil {
				t.Fatal(err)
			}
			yp, err := reference.Run(gp, map[string]*ir.Tensor{"input": in})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ys[0].F32, yp[0].F32) {
				t.Errorf("output %v, want %s's %v", ys[0].F32, c.plain, yp[0].F32)
			}
		})
	}
}
