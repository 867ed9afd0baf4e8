package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/cnnc/cnnc/ir"
)

// miscNoKernelOp is an op the reference interpreter does not know.
type miscNoKernelOp struct{}

func (miscNoKernelOp) OpType() string { return "NoSuchOp" }
func (miscNoKernelOp) Infer(in []ir.Type, _ []*ir.Tensor) ([]ir.Type, error) {
	return []ir.Type{in[0]}, nil
}

// miscErr returns the error a bound Reference recorded.
func miscErr(t *testing.T, tk Task) error {
	t.Helper()
	e, ok := tk.(interface{ Err() error })
	if !ok {
		t.Fatalf("task %T has no Err method", tk)
	}
	return e.Err()
}

func TestReferenceBindErrors(t *testing.T) {
	f := func(shape ...int) *ir.Tensor {
		return ir.FromFloat32(ir.Shape(shape), make([]float32, ir.Shape(shape).NumElements()))
	}
	tests := []struct {
		name    string
		op      ir.Op
		in, out []*ir.Tensor
		want    string
	}{
		{"nil op", nil, []*ir.Tensor{f(2)}, []*ir.Tensor{f(2)}, "reference kernel: no op"},
		{"no kernel", miscNoKernelOp{}, []*ir.Tensor{f(2)}, []*ir.Tensor{f(2)}, "reference kernel for NoSuchOp: the reference interpreter has no kernel for it"},
		{"shape", &ir.Transpose{Perm: []int{1, 0}}, []*ir.Tensor{f(3, 2)}, []*ir.Tensor{f(3, 2)}, "reference kernel for Transpose: output 0 has shape [3,2], want [2,3]"},
		{"dtype", &ir.Transpose{Perm: []int{1, 0}}, []*ir.Tensor{f(3, 2)}, []*ir.Tensor{ir.FromInt64(ir.Shape{2, 3}, make([]int64, 6))}, "reference kernel for Transpose: output 0 has element type i64, want f32"},
		{"outputs", &ir.Relu{}, []*ir.Tensor{f(3)}, []*ir.Tensor{f(3), f(3)}, "reference kernel for Relu: got 2 outputs, the op has 1"},
		{"nil output", &ir.Relu{}, []*ir.Tensor{f(3)}, []*ir.Tensor{nil}, "reference kernel for Relu: output 0 is missing"},
		{"infer", &ir.Add{}, []*ir.Tensor{f(2, 3), f(4)}, []*ir.Tensor{f(2, 3)}, "reference kernel for Add: shapes [2,3] and [4] do not broadcast"},
		{"bad tensor", &ir.Relu{}, []*ir.Tensor{{DType: ir.Float32, Shape: ir.Shape{4}, F32: make([]float32, 3)}}, []*ir.Tensor{f(4)}, "input 0: shape [4] holds 4 elements, data has 3"},
		{"bad dtype", &ir.Relu{}, []*ir.Tensor{f(4)}, []*ir.Tensor{{DType: 9, Shape: ir.Shape{4}}}, "output 0: element type dtype(9)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := (&Reference{Op: tc.op}).Bind(tc.in, tc.out)
			miscWantErr(t, err, tc.want)
			if tc.name == "no kernel" && !ir.IsUnsupported(err) {
				t.Errorf("error %v is not KindUnsupported", err)
			}
		})
	}
}

func TestReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	t.Run("transpose", func(t *testing.T) {
		x := miscRandom(rng, 3, 5)
		y, check := miscGuarded(t, 5, 3)
		tk, err := (&Reference{Op: &ir.Transpose{Perm: []int{1, 0}}}).Bind([]*ir.Tensor{x}, []*ir.Tensor{y})
		if err != nil {
			t.Fatal(err)
		}
		if tk.Tasks() != 1 || tk.Scratch() != 0 {
			t.Errorf("Tasks, Scratch = %d, %d, want 1, 0", tk.Tasks(), tk.Scratch())
		}
		tk.Run(0, nil)
		check()
		if err := miscErr(t, tk); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			for j := range 5 {
				if got, want := y.F32[j*3+i], x.F32[i*5+j]; got != want {
					t.Fatalf("Y[%d,%d] = %v, want %v", j, i, got, want)
				}
			}
		}
	})
	t.Run("gemm without C", func(t *testing.T) {
		a, b := miscRandom(rng, 2, 3), miscRandom(rng, 3, 4)
		op := &ir.Gemm{Alpha: 1, Beta: 1}
		want := miscOracle(t, op, a, b, nil)[0]
		y, check := miscGuarded(t, 2, 4)
		tk, err := (&Reference{Op: op}).Bind([]*ir.Tensor{a, b, nil}, []*ir.Tensor{y})
		if err != nil {
			t.Fatal(err)
		}
		tk.Run(0, nil)
		check()
		if err := miscErr(t, tk); err != nil {
			t.Fatal(err)
		}
		miscCompare(t, y.F32, want.F32, 0, 0)
	})
	t.Run("reshape checked at run", func(t *testing.T) {
		// The shape input is a value: Bind cannot know the output shape,
		// Run does.
		x := miscRandom(rng, 2, 3)
		shape := ir.FromInt64(ir.Shape{2}, []int64{3, 2})
		good, bad := ir.FromFloat32(ir.Shape{3, 2}, make([]float32, 6)), ir.FromFloat32(ir.Shape{2, 3}, make([]float32, 6))
		tk, err := (&Reference{Op: &ir.Reshape{}}).Bind([]*ir.Tensor{x, shape}, []*ir.Tensor{good})
		if err != nil {
			t.Fatal(err)
		}
		tk.Run(0, nil)
		if err := miscErr(t, tk); err != nil {
			t.Fatal(err)
		}
		miscCompare(t, good.F32, x.F32, 0, 0)

		tk, err = (&Reference{Op: &ir.Reshape{}}).Bind([]*ir.Tensor{x, shape}, []*ir.Tensor{bad})
		if err != nil {
			t.Fatal(err)
		}
		tk.Run(0, nil)
		miscWantErr(t, miscErr(t, tk), "reference kernel for Reshape: output 0 has shape [2,3], want [3,2]")
		for _, v := range bad.F32 {
			if v != 0 {
				t.Fatalf("a failed Run wrote the output: %v", bad.F32)
			}
		}
		// A later Run with good values clears the error.
		shape.I64[0], shape.I64[1] = 2, 3
		tk.Run(0, nil)
		if err := miscErr(t, tk); err != nil {
			t.Errorf("after fixing the shape input: %v", err)
		}
		tk.Run(1, nil) // out of range: nothing
		if err := miscErr(t, tk); err != nil {
			t.Errorf("after Run(1): %v", err)
		}
	})
	t.Run("kernel error", func(t *testing.T) {
		// Reshape to a shape of another element count: Infer fails at Run.
		x := miscRandom(rng, 2, 3)
		shape := ir.FromInt64(ir.Shape{2}, []int64{3, 2})
		y := ir.FromFloat32(ir.Shape{3, 2}, make([]float32, 6))
		tk, err := (&Reference{Op: &ir.Reshape{}}).Bind([]*ir.Tensor{x, shape}, []*ir.Tensor{y})
		if err != nil {
			t.Fatal(err)
		}
		shape.I64[0] = 4
		tk.Run(0, nil)
		miscWantErr(t, miscErr(t, tk), "reference kernel for Reshape")
	})
}
