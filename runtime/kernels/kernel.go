// Package kernels holds the compiled runtime's compute kernels. Each kernel
// is a Kernel: a plain struct of parameters that the code generator fills
// in and the .cnnc file stores, which Bind checks against its operands and
// turns into a Task over them.
//
// Kernels are pure Go here; the assembly versions plug in behind the same
// types. Every kernel is tested against the obvious loop it documents.
package kernels

import "github.com/cnnc/cnnc/ir"

// Kernel is the description of one step of a compiled plan: which
// computation, with which fixed parameters (sizes, strides, activation).
// Its fields are exported plain data so that a plan file can store it; a
// Kernel read from a file is untrusted until Bind has checked it.
type Kernel interface {
	// Name returns the kernel's short name, such as "conv.im2col".
	Name() string
	// Bind checks the parameters against the operands and returns the
	// task computing the step on them. in are the step's inputs (nil for
	// an omitted optional input) and out its outputs: views into the
	// session's arena or the plan's weights, with the plan's dtypes and
	// shapes, fixed for the life of the task. Bind fails, never panics,
	// when the parameters and operands disagree, so that no later Run can
	// index out of range.
	Bind(in, out []*ir.Tensor) (Task, error)
}

// Task is a bound kernel: the step split into Tasks() independent pieces
// that workers may run in any order and concurrently.
type Task interface {
	// Tasks returns the number of pieces, at least 1.
	Tasks() int
	// Scratch returns how many float32s of scratch space Run needs per
	// worker (0 for none).
	Scratch() int
	// Run computes piece t in [0, Tasks()). scratch is the calling
	// worker's own buffer of at least Scratch() floats; Run allocates
	// nothing.
	Run(t int, scratch []float32)
}

// Staged is a Task whose pieces share a buffer that its first Stage()
// pieces fill (the padded input of a convolution): every piece t <
// Stage() must finish before any later piece starts. A runner hands it a
// buffer of Shared() floats with UseShared before running it, and may give
// every step of a plan the same buffer, since steps run one at a time;
// without one the task allocates its own on its first Run.
type Staged interface {
	Task
	// Stage returns the number of pieces of the first stage.
	Stage() int
	// Shared returns the floats of the shared buffer (0: none needed).
	Shared() int
	// UseShared makes buf, of at least Shared() floats, the shared
	// buffer.
	UseShared(buf []float32)
}
