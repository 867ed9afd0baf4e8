// Package reference is cnnc's reference interpreter: the slow, obviously
// correct definition of every op in package ir, written as plain loops with
// float64 accumulation where sums are long. The fast runtime is held to it.
//
// Kernels are grouped by family, one file each (unary.go, conv.go, ...);
// each family has an eval function that claims the ops it implements.
package reference
