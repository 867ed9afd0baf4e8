//go:build !amd64 || noasm

package kernels

// setDirectISA points the row kernels, directCopyRows and
// directSplitRows at their Go versions, the only ones of this build.
func setDirectISA(isa) {
	directKernels, directDwKernels = directGenericKernels()
	directCopyRows, directSplitRows = directCopyRowsGeneric, directSplitRowsGeneric
}
