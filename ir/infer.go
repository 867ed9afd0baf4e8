package ir

// Helpers shared by the ops' Infer methods.

// arity checks that an op got between min and max inputs, and that the
// first min of them are present.
func arity(in []Type, min, max int) error {
	if len(in) < min || len(in) > max {
		if min == max {
			return Invalidf("got %d inputs, want %d", len(in), min)
		}
		return Invalidf("got %d inputs, want %d to %d", len(in), min, max)
	}
	for i := 0; i < min; i++ {
		if in[i].DType == Invalid {
			return Invalidf("required input %d is missing", i)
		}
	}
	return nil
}

// present reports whether optional input i was given.
func present(in []Type, i int) bool { return i < len(in) && in[i].DType != Invalid }

// wantFloat checks that input i is float32.
func wantFloat(in []Type, i int) error {
	if in[i].DType != Float32 {
		return Unsupportedf("input %d has element type %v, want f32", i, in[i].DType)
	}
	return nil
}

// wantRank checks that input i has rank between min and max (an unknown
// rank passes).
func wantRank(in []Type, i, min, max int) error {
	s := in[i].Shape
	if s == nil {
		return nil
	}
	if len(s) < min || len(s) > max {
		if min == max {
			return Invalidf("input %d has shape %v, want rank %d", i, s, min)
		}
		return Invalidf("input %d has shape %v, want rank %d to %d", i, s, min, max)
	}
	return nil
}

// BroadcastShapes returns the numpy-broadcast shape of a and b. A nil
// (unknown-rank) operand gives a nil result; an unknown dimension against
// 1 or another unknown stays unknown.
func BroadcastShapes(a, b Shape) (Shape, error) {
	if a == nil || b == nil {
		return nil, nil
	}
	n := max(len(a), len(b))
	out := make(Shape, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := i - (n - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (n - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		case da < 0:
			out[i] = db
		case db < 0:
			out[i] = da
		default:
			return nil, Invalidf("shapes %v and %v do not broadcast (dimension %d: %d vs %d)", a, b, i, da, db)
		}
	}
	return out, nil
}

// same returns a one-output result of the same type as input i.
func same(in []Type, i int) []Type { return []Type{{DType: in[i].DType, Shape: in[i].Shape.Clone()}} }
