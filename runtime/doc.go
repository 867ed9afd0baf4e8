// Package runtime runs compiled models.
//
// A Model is a compiled plan (codegen.Plan) and its weights: Compile makes
// one from an ir.Graph (running the passes and the lowering), Load and
// LoadBytes read a .cnnc file, mapping its weight section instead of
// copying it. A Model is immutable and safe to share between goroutines.
//
// A Session runs a Model: it owns the activation arena, the per-worker
// scratch space and a persistent pool of worker goroutines. Session.Run
// allocates nothing in steady state and honours context cancellation
// between steps. A Session is for one goroutine at a time; run a Model
// concurrently through several Sessions.
//
// The kernels live in runtime/kernels; runtime/reference is the slow,
// obviously correct interpreter the compiled plans are tested against.
package runtime
