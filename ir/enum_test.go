package ir

import "testing"

func TestEnumNames(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{AutoPadSameLower.String(), "SAME_LOWER"},
		{AutoPad(9).String(), "AutoPad(9)"},
		{ActClip.String(), "clip"},
		{ActKind(7).String(), "ActKind(7)"},
		{AlgoWinograd4.String(), "winograd4"},
		{ConvAlgo(200).String(), "ConvAlgo(200)"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	for i, name := range algoNames {
		if a, ok := ParseConvAlgo(name); !ok || int(a) != i {
			t.Errorf("ParseConvAlgo(%q) = %v, %v; want %d", name, a, ok, i)
		}
	}
	if a, ok := ParseAutoPad("VALID"); !ok || a != AutoPadValid {
		t.Errorf("ParseAutoPad(VALID) = %v, %v", a, ok)
	}
	if _, ok := ParseConvAlgo("fft"); ok {
		t.Error("ParseConvAlgo(fft) succeeded")
	}
}
