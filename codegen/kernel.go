package codegen

import "github.com/cnnc/cnnc/runtime/kernels"

// Kernel is a step's computation: one of the parameter structs of
// runtime/kernels (kernels.Conv2D, kernels.Gemm, ...).
type Kernel = kernels.Kernel
