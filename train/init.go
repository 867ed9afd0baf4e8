package train

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/cnnc/cnnc/ir"
)

// Init is a way to initialize a model's weights (Initialize).
type Init int

// The initializers. Fan in and fan out are PyTorch's
// (torch.nn.init._calculate_fan_in_and_fan_out): a convolution weight
// [M, C/group, k...] has fan in C/group·Πk and fan out M·Πk (a
// ConvTranspose's [C, M/group, k...] likewise from its first two
// dimensions), a fully connected weight its input and output features.
const (
	// InitDefault keeps the weights the model has (a zoo model's are
	// PyTorch's defaults: uniform in ±1/sqrt(fan in)).
	InitDefault Init = iota
	// InitGaussian draws weights from N(0, 0.01²), as AlexNet did.
	InitGaussian
	// InitKaiming is He's normal initialization for ReLU networks:
	// N(0, 2/fan in), torch.nn.init.kaiming_normal_ with its defaults
	// (mode "fan_in", nonlinearity "leaky_relu" with slope 0, that is a
	// gain of sqrt(2)).
	InitKaiming
	// InitXavier is Glorot's uniform initialization with gain 1: uniform
	// in ±sqrt(6/(fan in + fan out)), torch.nn.init.xavier_uniform_.
	InitXavier
)

// initNames are the Inits' names, in order.
var initNames = [...]string{"default", "gaussian", "kaiming", "xavier"}

// String returns the initializer's name ("kaiming").
func (i Init) String() string {
	if i < 0 || int(i) >= len(initNames) {
		return fmt.Sprintf("Init(%d)", int(i))
	}
	return initNames[i]
}

// ParseInit returns the initializer called name: default, gaussian,
// kaiming or xavier.
func ParseInit(name string) (Init, error) {
	for i, s := range initNames {
		if s == name {
			return Init(i), nil
		}
	}
	return 0, fmt.Errorf("train: no initializer %q: want default, gaussian, kaiming or xavier", name)
}

// Initialize returns a copy of g whose weights init draws anew from seed:
// the weight of every Conv, ConvTranspose and Gemm (and every constant
// matrix a MatMul multiplies by) from init's distribution, their biases
// 0, and every batch norm's scale 1, bias 0, running mean 0 and running
// variance 1. Other constants keep their values, and g is unchanged. A
// weight that several nodes share is drawn once. InitDefault returns g.
func Initialize(g *ir.Graph, init Init, seed uint64) (*ir.Graph, error) {
	if init == InitDefault {
		return g, nil
	}
	if init < 0 || int(init) >= len(initNames) {
		return nil, fmt.Errorf("train: unknown initializer %v", init)
	}
	c := g.Clone()
	rng := rand.New(rand.NewPCG(seed, 0x696e6974))
	done := map[*ir.Value]bool{}
	// set gives a constant input of n a new tensor, from fill.
	set := func(n *ir.Node, k int, fill func(t *ir.Tensor)) error {
		if k >= len(n.Inputs) || n.Inputs[k] == nil || n.Inputs[k].Const == nil || done[n.Inputs[k]] {
			return nil
		}
		v := n.Inputs[k]
		if v.Const.DType != ir.Float32 {
			return ir.AtNode(ir.Unsupportedf("initializing %s weights (input %d, %q)", v.Const.DType, k, v.Name), n.Name, n.Op.OpType())
		}
		t, err := ir.NewTensor(ir.Float32, v.Const.Shape)
		if err != nil {
			return err
		}
		fill(t)
		v.Const, done[v] = t, true
		return nil
	}
	constant := func(x float32) func(*ir.Tensor) {
		return func(t *ir.Tensor) {
			for i := range t.F32 {
				t.F32[i] = x
			}
		}
	}
	weights := func(fanIn, fanOut int) func(*ir.Tensor) {
		return func(t *ir.Tensor) { init.draw(t.F32, rng, fanIn, fanOut) }
	}
	for _, n := range c.Nodes {
		var err error
		switch op := n.Op.(type) {
		case *ir.Conv, *ir.ConvTranspose, *ir.Gemm, *ir.MatMul:
			const w = 1 // the weight is input 1 of all four
			if len(n.Inputs) <= w || n.Inputs[w] == nil || n.Inputs[w].Const == nil {
				break
			}
			fanIn, fanOut, ok := fans(op, n.Inputs[w].Type.Shape)
			if !ok {
				return nil, ir.AtNode(ir.Unsupportedf("initializing weight %q of shape %v", n.Inputs[w].Name, n.Inputs[w].Type.Shape), n.Name, n.Op.OpType())
			}
			if err = set(n, w, weights(fanIn, fanOut)); err == nil {
				err = set(n, 2, constant(0))
			}
		case *ir.BatchNormalization:
			for k, x := range []float32{1, 0, 0, 1} { // scale, bias, mean, var
				if err = set(n, 1+k, constant(x)); err != nil {
					break
				}
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

// fans returns the fan in and fan out of a weight of the given shape read
// by op, as PyTorch computes them.
func fans(op ir.Op, s ir.Shape) (fanIn, fanOut int, ok bool) {
	switch op := op.(type) {
	case *ir.Gemm:
		if len(s) != 2 {
			return 0, 0, false
		}
		if op.TransB { // [out, in], torch's Linear
			return s[1], s[0], true
		}
		return s[0], s[1], true
	case *ir.MatMul:
		if len(s) != 2 {
			return 0, 0, false
		}
		return s[0], s[1], true
	}
	if len(s) < 2 {
		return 0, 0, false
	}
	field := 1
	for _, d := range s[2:] {
		field *= d
	}
	return s[1] * field, s[0] * field, true
}

// draw fills w from the initializer's distribution for the given fans.
func (i Init) draw(w []float32, rng *rand.Rand, fanIn, fanOut int) {
	normal := func(std float64) {
		for k := range w {
			w[k] = float32(rng.NormFloat64() * std)
		}
	}
	switch i {
	case InitGaussian:
		normal(0.01)
	case InitKaiming:
		normal(math.Sqrt(2 / float64(max(fanIn, 1))))
	case InitXavier:
		fillUniform(w, rng, math.Sqrt(6/float64(max(fanIn+fanOut, 1))))
	}
}

// fillUniform fills w uniformly from [-bound, bound).
func fillUniform(w []float32, rng *rand.Rand, bound float64) {
	for k := range w {
		w[k] = float32((2*rng.Float64() - 1) * bound)
	}
}
