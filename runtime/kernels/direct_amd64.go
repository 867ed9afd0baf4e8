//go:build !noasm

package kernels

// setDirectISA points directKernels and the band's fill at the AVX2/FMA
// assembly from level isaAVX2 up, else at their Go versions. Only the
// shapes directKernel asks for have assembly.
func setDirectISA(l isa) {
	directKernels, directDwKernels = directGenericKernels()
	directCopyRows, directSplitRows = directCopyRowsGeneric, directSplitRowsGeneric
	if l < isaAVX2 {
		return
	}
	directCopyRows, directSplitRows = directCopyRowsAVX2Slices, directSplitRowsAVX2Slices
	for _, k := range []struct {
		mb, rb, nv int
		f          directAsm
	}{
		{1, 1, 1, directAVX2_1x1x1}, {1, 1, 2, directAVX2_1x1x2}, {1, 1, 4, directAVX2_1x1x4},
		{2, 1, 1, directAVX2_2x1x1}, {2, 1, 2, directAVX2_2x1x2}, {2, 1, 4, directAVX2_2x1x4},
		{4, 1, 1, directAVX2_4x1x1}, {4, 1, 2, directAVX2_4x1x2},
		{1, 2, 4, directAVX2_1x2x4}, {1, 4, 2, directAVX2_1x4x2}, {1, 8, 1, directAVX2_1x8x1},
		{2, 2, 2, directAVX2_2x2x2}, {2, 4, 1, directAVX2_2x4x1}, {4, 2, 1, directAVX2_4x2x1},
	} {
		directKernels[directLog2(k.mb)][directLog2(k.rb)][directLog2(k.nv)] = directAVX2(k.mb, k.rb, k.nv, false, k.f)
	}
	for _, k := range []struct {
		mb, nv int
		f      directAsm
	}{
		{2, 1, directDwAVX2_2x1}, {2, 2, directDwAVX2_2x2}, {4, 1, directDwAVX2_4x1}, {4, 2, directDwAVX2_4x2},
	} {
		directDwKernels[directLog2(k.mb)][directLog2(k.nv)] = directAVX2(k.mb, 1, k.nv, true, k.f)
	}
	// A single channel's input is all the channels' inputs.
	directDwKernels[0][0], directDwKernels[0][1] = directKernels[0][0][0], directKernels[0][0][1]
}

// directAsm is the signature of the assembly row kernels.
type directAsm func(taps *int32, ntaps int, w, x *float32, xrow, xm int, y, z *float32, ys, ow, rows int, bias *float32, flags uint64, lo, hi float32)

// directAVX2 returns the row kernel for blocks of mb channels by rb rows
// by nv vectors on the assembly f, its operands checked first: f reads
// channel m's input at m·xm if perChannel, else all at 0 (and then xm
// must be 0).
func directAVX2(mb, rb, nv int, perChannel bool, f directAsm) directFunc {
	return func(taps *directTaps, w, x []float32, xrow, xm int, y, z []float32, ys, ow, rows int, bias []float32, flags uint64, lo, hi float32) {
		directRowsChecked(mb, rb, nv, taps, w, x, xrow, xm, y, z, ys, ow, rows, bias, flags)
		if xm != 0 && !perChannel && mb > 1 {
			panic("kernels: direct convolution row kernel of shared input given per-channel inputs")
		}
		zp, bp := tilePointers(flags, z, bias)
		f(&taps.off[0], len(taps.off), &w[0], &x[0], xrow, xm, &y[0], zp, ys, ow, rows, bp, flags, lo, hi)
	}
}

// directCopyRowsAVX2Slices is directCopyRowsGeneric on
// directCopyRowsAVX2, its operands checked first.
func directCopyRowsAVX2Slices(d, x []float32, planes, rows, n, dstride, xstride, dplane, xplane int) {
	directCopyRowsChecked(d, x, planes, rows, n, dstride, xstride, dplane, xplane)
	directCopyRowsAVX2(&d[0], &x[0], planes, rows, n, dstride, xstride, dplane, xplane)
}

// directSplitRowsAVX2Slices is directSplitRowsGeneric on
// directSplitRowsAVX2, its operands checked first.
func directSplitRowsAVX2Slices(d0, d1, x []float32, planes, rows, n0, n1, dstride, xstride, dplane, xplane int) {
	directSplitRowsChecked(d0, d1, x, planes, rows, n0, n1, dstride, xstride, dplane, xplane)
	var p1 *float32
	if n1 > 0 {
		p1 = &d1[0]
	} else {
		p1 = &d0[0] // not written
	}
	directSplitRowsAVX2(&d0[0], p1, &x[0], planes, rows, n0, n1, dstride, xstride, dplane, xplane)
}
