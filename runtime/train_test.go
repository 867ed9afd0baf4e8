package runtime

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/passes"
	"github.com/cnnc/cnnc/runtime/kernels"
	"github.com/cnnc/cnnc/runtime/reference"
	"github.com/cnnc/cnnc/zoo"
)

// TestTrainStepMatchesReference compiles training steps (passes.Backward)
// and checks every output (loss, logits, updated parameters and
// velocities or moments, gradients) against the reference interpreter on
// the same feeds: the runtime-packed convolutions and fully connected
// layers, the gradient ops and the SGD and Adam updates agree with the
// definition.
func TestTrainStepMatchesReference(t *testing.T) {
	for _, m := range []*zoo.Model{zoo.LeNetReLU, zoo.LeNet, zoo.LeNetBN} {
		for _, threads := range []int{1, 2} {
			g, err := m.Build(zoo.Options{Batch: 8})
			if err != nil {
				t.Fatal(err)
			}
			var opt ir.Op = &ir.SGD{Momentum: 0.9, WeightDecay: 1e-3}
			if threads == 2 {
				opt = &ir.Adam{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 1e-2, Decoupled: m == zoo.LeNet}
			}
			step, err := passes.Backward(g, passes.TrainOptions{Optimizer: opt, Gradients: true})
			if err != nil {
				t.Fatal(err)
			}
			feeds, named := stepFeeds(step)
			want, err := reference.Run(step.Graph, named)
			if err != nil {
				t.Fatal(err)
			}
			model, err := Compile(step.Graph, CompileOptions{Passes: passes.Options{Verify: true}})
			if err != nil {
				t.Fatal(err)
			}
			// The second convolution's data gradient convolves with the
			// flipped filter, which its packing step makes: no FlipFilter
			// step of its own.
			flips := 0
			for _, st := range model.Plan().Steps {
				switch k := st.Kernel.(type) {
				case *kernels.FlipFilter:
					t.Errorf("%s: step %s flips a filter on its own", m.Name, st.Node)
				case *kernels.PackConv:
					flips += btoi(k.Flip)
				}
			}
			if flips == 0 {
				t.Errorf("%s: no PackConv flips a filter", m.Name)
			}
			s, err := model.NewSession(SessionOptions{Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Run(context.Background(), feeds...)
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range want {
				scale := 0.0
				for _, v := range w.F32 {
					scale = math.Max(scale, math.Abs(float64(v)))
				}
				for j, v := range got[i].F32 {
					if d := math.Abs(float64(v) - float64(w.F32[j])); d > 1e-4*scale+1e-6 {
						t.Errorf("%s, %d threads: output %q[%d] = %v, reference %v", m.Name, threads, step.Graph.Outputs[i].Name, j, v, w.F32[j])
						break
					}
				}
			}
			s.Close()
			model.Close()
		}
	}
}

// stepFeeds returns random images, one-hot labels, a learning rate, the
// initial parameters and random velocities for a training step, in input
// order and by name.
func stepFeeds(step *passes.TrainStep) ([]*ir.Tensor, map[string]*ir.Tensor) {
	r := rand.New(rand.NewPCG(1, 2))
	var feeds []*ir.Tensor
	named := map[string]*ir.Tensor{}
	param := map[int]*passes.Param{}
	for i := range step.Params {
		param[step.Params[i].In] = &step.Params[i]
	}
	buffer := map[int]*ir.Tensor{}
	for _, b := range step.Buffers {
		buffer[b.In] = b.Init
	}
	for i, v := range step.Graph.Inputs {
		x, _ := ir.NewTensor(v.Type.DType, v.Type.Shape)
		switch p := param[i]; {
		case p != nil:
			copy(x.F32, p.Init.F32)
		case buffer[i] != nil:
			copy(x.F32, buffer[i].F32)
		case i == step.LR:
			x.F32[0] = 0.05
		case i == step.Step:
			x.F32[0] = 3
		case i == step.Labels:
			k := v.Type.Shape[1]
			for n := 0; n < v.Type.Shape[0]; n++ {
				x.F32[n*k+r.IntN(k)] = 1
			}
		default: // images and optimizer states: in [0, 1), a second moment's range
			for j := range x.F32 {
				x.F32[j] = float32(r.Float64())
			}
		}
		feeds = append(feeds, x)
		named[v.Name] = x
	}
	return feeds, named
}

// btoi is 1 for true.
func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
