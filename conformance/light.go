package conformance

import (
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"github.com/cnnc/cnnc/importer/onnxpb"
	"github.com/cnnc/cnnc/ir"
)

// LightInput returns the input the ONNX backend test runner feeds a model of
// onnx/backend/test/data/light: generate_dummy_data(x, seed=0, random=False)
// in onnx/backend/test/runner/__init__.py, which is
//
//	n = np.prod(shape)
//	(np.arange(n).reshape(shape) / n).astype(np.float32)
//
// with unknown dimensions taken as 1. Element i is float32(float64(i)/n),
// rounded to nearest like numpy's astype.
func LightInput(shape ir.Shape) *ir.Tensor {
	s := shape.Clone()
	for i, d := range s {
		if d < 0 {
			s[i] = 1
		}
	}
	n := s.NumElements()
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(float64(i) / float64(n))
	}
	return ir.FromFloat32(s, data)
}

// VariedInput returns the input of the onnx-light-varied suite: element i
// is uniform in [0, 1) from the same hash as VaryWeights, with unknown
// dimensions taken as 1. Unlike LightInput's smooth ramp, in which moving
// every element by one position changes it by only 1/n, it makes the output
// sensitive to spatial mistakes (an off-by-one pad or stride).
func VariedInput(shape ir.Shape) *ir.Tensor {
	t := LightInput(shape)
	for i := range t.F32 {
		t.F32[i] = float32(hash01(1<<63 ^ uint64(i)))
	}
	return t
}

// LightDataInput returns the name and shape of the one data input of a
// light model: the graph input that is not an initializer (IR version 3
// lists weights among the inputs).
func LightDataInput(m *onnxpb.ModelProto) (string, ir.Shape, error) {
	g := m.GetGraph()
	inits := map[string]bool{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	var name string
	var shape ir.Shape
	n := 0
	for _, in := range g.GetInput() {
		if inits[in.GetName()] {
			continue
		}
		n++
		name = in.GetName()
		shape = nil
		for _, d := range in.GetType().GetTensorType().GetShape().GetDim() {
			v := int(d.GetDimValue())
			if _, ok := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); !ok {
				v = 1
			}
			shape = append(shape, v)
		}
	}
	if n != 1 {
		return "", nil, fmt.Errorf("model has %d data inputs, want 1", n)
	}
	return name, shape, nil
}

// VaryWeights rewrites a light model so that its weights differ from one
// another. The light models replace every float weight by a ConstantOfShape
// node filling it with 0.02, which makes every channel of every layer equal
// and the final softmax exactly uniform (1/1000 for each class), whatever
// the backend computes. VaryWeights replaces each such ConstantOfShape node
// by an initializer of the same shape whose values come from a fixed hash
// of (node index, element index), scaled by what the value feeds:
//
//   - a Conv or Gemm weight (input 1, rank >= 2): uniform in ±sqrt(6/fanIn),
//     fanIn the product of the dimensions after the first (He init);
//   - a BatchNormalization variance (input 4): uniform in [1, 1.5];
//   - a BatchNormalization scale, or a Mul operand after Unsqueeze: 1 ± 0.25,
//     but 0.3 ± 0.1 when the normalized value goes into a Sum or Add (the
//     end of a residual branch: unscaled, ResNet-50's logits grow so large
//     that its softmax is one-hot);
//   - anything else (biases, means, Add operands): uniform in ±0.1.
//
// and the weight of a Gemm that feeds a Softmax (the classifier) is further
// scaled by classifierGain[graph name], so that the logits spread over a few
// units: a one-hot softmax would only check the arg max.
//
// The result is deterministic, so tools/lightref can compute ONNX Runtime's
// outputs for it once and the test can rebuild the same model.
func VaryWeights(m *onnxpb.ModelProto) error {
	g := m.GetGraph()
	shapes := map[string][]int64{}
	for _, t := range g.GetInitializer() {
		if t.GetDataType() == int32(onnxpb.TensorProto_INT64) {
			s, err := int64s(t)
			if err != nil {
				return err
			}
			shapes[t.GetName()] = s
		}
	}
	consumers := map[string][]use{}
	for _, n := range g.GetNode() {
		for k, in := range n.GetInput() {
			consumers[in] = append(consumers[in], use{n, k})
		}
	}
	var nodes []*onnxpb.NodeProto
	seq := uint64(0)
	for _, n := range g.GetNode() {
		if n.GetOpType() != "ConstantOfShape" {
			nodes = append(nodes, n)
			continue
		}
		seq++
		dims, ok := shapes[n.GetInput()[0]]
		if !ok || len(n.GetOutput()) != 1 {
			return fmt.Errorf("ConstantOfShape node %q: shape is not an INT64 initializer", n.GetName())
		}
		for _, a := range n.GetAttribute() {
			if a.GetName() == "value" && a.GetT().GetDataType() != int32(onnxpb.TensorProto_FLOAT) {
				return fmt.Errorf("ConstantOfShape node %q: value is not FLOAT", n.GetName())
			}
		}
		size := int64(1)
		for _, d := range dims {
			size *= d
		}
		lo, hi := role(n.GetOutput()[0], dims, consumers)
		if gain, ok := classifierGain[g.GetName()]; ok && feedsClassifier(n.GetOutput()[0], consumers) {
			lo, hi = lo*gain, hi*gain
		}
		raw := make([]byte, 4*size)
		for i := range size {
			u := hash01(seq<<40 ^ uint64(i))
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(float32(lo+(hi-lo)*u)))
		}
		name := n.GetOutput()[0]
		g.Initializer = append(g.Initializer, &onnxpb.TensorProto{
			Name:     proto.String(name),
			DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
			Dims:     dims,
			RawData:  raw,
		})
		// IR version 3 wants every initializer among the graph inputs.
		g.Input = append(g.Input, tensorInfo(name, dims))
	}
	g.Node = nodes
	return nil
}

// classifierGain scales the classifier weights of some graphs (by graph
// name) so that the logits' standard deviation on VariedInput is about 1 to
// 2.5: much wider and most of the 1000 probabilities fall below the
// comparison's absolute tolerance (shufflenet: 37 without a gain); much
// narrower and the softmax is almost uniform, so a mistake moves it less
// (inception_v1: 0.23, resnet50: 0.35, zfnet512: 0.63 without a gain).
var classifierGain = map[string]float64{
	"shufflenet":   0.04,
	"inception_v1": 6,
	"resnet50":     4,
	"zfnet512":     2,
}

// feedsClassifier reports whether a value is the weight (input 1) of a Gemm
// whose output goes into a Softmax.
func feedsClassifier(name string, consumers map[string][]use) bool {
	for _, u := range throughReshape(consumers[name], consumers) {
		if u.n.GetOpType() != "Gemm" || u.k != 1 {
			continue
		}
		for _, v := range consumers[u.n.GetOutput()[0]] {
			if v.n.GetOpType() == "Softmax" {
				return true
			}
		}
	}
	return false
}

// use is one consumer of a value: node n reads it as input k.
type use struct {
	n *onnxpb.NodeProto
	k int
}

// role returns the range [lo, hi) of the values for a weight, from what
// consumes it (see VaryWeights).
func role(name string, dims []int64, consumers map[string][]use) (lo, hi float64) {
	us := throughReshape(consumers[name], consumers)
	if len(us) == 1 && us[0].n.GetOpType() == "Unsqueeze" {
		us = consumers[us[0].n.GetOutput()[0]]
		if len(us) == 1 && us[0].n.GetOpType() == "Mul" {
			return 0.75, 1.25
		}
		return -0.1, 0.1
	}
	if len(us) != 1 {
		return -0.1, 0.1
	}
	switch op, k := us[0].n.GetOpType(), us[0].k; {
	case (op == "Conv" || op == "Gemm") && k == 1 && len(dims) >= 2:
		fanIn := int64(1)
		for _, d := range dims[1:] {
			fanIn *= d
		}
		if op == "Gemm" && !transB(us[0].n) {
			fanIn = dims[0]
		}
		a := math.Sqrt(6 / float64(fanIn))
		return -a, a
	case op == "BatchNormalization" && k == 4:
		return 1, 1.5
	case op == "BatchNormalization" && k == 1:
		for _, u := range consumers[us[0].n.GetOutput()[0]] {
			if u.n.GetOpType() == "Sum" || u.n.GetOpType() == "Add" {
				// The end of a residual branch: keep the sum from
				// doubling the variance block after block.
				return 0.2, 0.4
			}
		}
		return 0.75, 1.25
	}
	return -0.1, 0.1
}

// throughReshape returns the consumers of the output of a Reshape that is
// the only consumer in us (inception_v1 reshapes its classifier weight from
// 4-D), else us.
func throughReshape(us []use, consumers map[string][]use) []use {
	if len(us) == 1 && us[0].n.GetOpType() == "Reshape" && us[0].k == 0 {
		return consumers[us[0].n.GetOutput()[0]]
	}
	return us
}

// transB reports whether a Gemm node has transB set.
func transB(n *onnxpb.NodeProto) bool {
	for _, a := range n.GetAttribute() {
		if a.GetName() == "transB" {
			return a.GetI() != 0
		}
	}
	return false
}

// hash01 maps x to [0, 1) with the splitmix64 finalizer.
func hash01(x uint64) float64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

// int64s returns the values of an INT64 TensorProto.
func int64s(t *onnxpb.TensorProto) ([]int64, error) {
	if raw := t.GetRawData(); raw != nil {
		if len(raw)%8 != 0 {
			return nil, fmt.Errorf("tensor %q: raw data of %d bytes", t.GetName(), len(raw))
		}
		out := make([]int64, len(raw)/8)
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
		}
		return out, nil
	}
	return append([]int64(nil), t.GetInt64Data()...), nil
}

// tensorInfo returns the ValueInfoProto of a FLOAT tensor of known dims.
func tensorInfo(name string, dims []int64) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{
			Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d},
		})
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{
				ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
				Shape:    shape,
			},
		}},
	}
}

// VariedOutputPath returns the path, relative to the repository root, of
// ONNX Runtime's output for the light model stem (such as
// "light_resnet50") with VaryWeights applied, as tools/lightref writes it.
func VariedOutputPath(stem string) string {
	return filepath.Join("testdata", "onnx-light", stem+"_varied_output_0.pb")
}
