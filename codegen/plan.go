// Package codegen lowers an optimized ir.Graph to a Plan: the ordered steps
// of a compiled model, each a kernel (runtime/kernels) with its operands
// placed in one activation arena or in the weight section, weights packed
// for the kernel that reads them. It also writes and reads the .cnnc file
// that stores a Plan, and emits Go packages that embed one.
package codegen

import "github.com/cnnc/cnnc/ir"

// Plan is a compiled model for fixed input shapes. It is plain data: the
// runtime binds it to an arena and runs its steps in order.
type Plan struct {
	// Name is the graph's name.
	Name string
	// Inputs and Outputs are the graph's inputs and outputs, in order.
	// Inputs always live in the arena; an output may be a weight (a
	// constant output).
	Inputs, Outputs []Operand
	// ArenaSize is the size in bytes of the activation arena every operand
	// in LocArena lies in.
	ArenaSize int64
	// Weights is the weight section: packed weights and other constants,
	// each at a 64-byte aligned offset. Loaded plans alias the mapped file.
	Weights []byte
	// Steps run in order.
	Steps []Step
	// Memory describes the arena's quality (see MemoryStats).
	Memory MemoryStats
}

// Loc says where an Operand lives.
type Loc uint8

const (
	// LocNone marks an omitted optional operand.
	LocNone Loc = iota
	// LocArena is the session's activation arena.
	LocArena
	// LocWeights is the plan's weight section.
	LocWeights
)

// Operand is a tensor a step reads or writes: Shape.NumElements() elements
// of DType at byte Offset (a multiple of 64) in the arena or the weight
// section.
type Operand struct {
	// Name is the IR value's name (for errors and dumps).
	Name   string
	DType  ir.DType
	Shape  ir.Shape
	Loc    Loc
	Offset int64
}

// Bytes returns the operand's size in bytes.
func (o Operand) Bytes() int64 {
	return int64(o.Shape.NumElements()) * int64(o.DType.Size())
}

// Step is one kernel invocation.
type Step struct {
	// Node is the name of the IR node the step computes, Op its op type.
	Node, Op string
	// Kernel is the computation, with its parameters.
	Kernel Kernel
	// In and Out are the operands, in the order the kernel documents; an
	// omitted optional input has Loc LocNone.
	In, Out []Operand
}

// MemoryStats measures the activation memory of a plan, in bytes.
type MemoryStats struct {
	// Arena is the arena's size.
	Arena int64
	// NoSharing is the total size of every arena tensor, as if none
	// shared memory.
	NoSharing int64
	// LowerBound is the largest sum of the sizes of the tensors live at
	// any one step: no placement can use less.
	LowerBound int64
}
