package train

import (
	"bytes"
	"context"
	"image/png"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cnnc/cnnc/ir"
	"github.com/cnnc/cnnc/zoo"
)

func TestCheckpointRoundTrip(t *testing.T) {
	c := &Checkpoint{Epoch: 3, Step: 7, Steps: 140, LossSum: 1.5, Correct: 30, Seen: 64, Shuffler: []byte{1, 2, 3},
		History: []Metrics{{Epoch: 1, TrainLoss: 0.5, TestAcc: 0.9}},
		Tensors: map[string][]float32{"param:w": {1, -2, 3.5}, "state:w:0": make([]float32, 3000), "buffer:m": {}},
		Shapes:  map[string][]int{"param:w": {3, 1}, "state:w:0": {3000}}}
	path := filepath.Join(t.TempDir(), "c.ckpt")
	if err := c.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCheckpointFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Tensors["buffer:m"]) == 0 {
		got.Tensors["buffer:m"] = []float32{}
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("read back %+v, wrote %+v", got, c)
	}
}

func TestCheckpointErrors(t *testing.T) {
	var good bytes.Buffer
	c := &Checkpoint{Epoch: 1, Tensors: map[string][]float32{"param:w": {1, 2}}}
	if err := c.write(&good); err != nil {
		t.Fatal(err)
	}
	g := good.Bytes()
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "unexpected EOF"},
		{"magic", []byte("CNNCCKP0\x00\x00\x00\x00"), "bad magic"},
		{"huge header", []byte("CNNCCKP1\xff\xff\xff\xff"), "exceeds"},
		{"bad json", append([]byte("CNNCCKP1\x02\x00\x00\x00"), '{', '['), "header"},
		{"truncated data", g[:len(g)-3], "tensor \"param:w\": unexpected EOF"},
		{"bad epoch", []byte("CNNCCKP1\x0b\x00\x00\x00{\"Epoch\":0}"), "out of range"},
		{"bad shape", []byte("CNNCCKP1\x38\x00\x00\x00{\"Epoch\":1,\"Tensors\":[{\"Name\":\"a\",\"Len\":0,\"Shape\":[2]}]}"), "has shape [2]"},
		{"huge tensor", []byte("CNNCCKP1\x37\x00\x00\x00{\"Epoch\":1,\"Tensors\":[{\"Name\":\"a\",\"Len\":999999999999}]}"), "exceed"},
	} {
		if _, err := ReadCheckpoint(bytes.NewReader(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// FuzzReadCheckpoint checks that no input panics or yields tensors of
// other lengths than its header says.
func FuzzReadCheckpoint(f *testing.F) {
	var b bytes.Buffer
	(&Checkpoint{Epoch: 2, Step: 1, Tensors: map[string][]float32{"param:w": {1, 2}, "buffer:b": {3}}}).write(&b)
	f.Add(b.Bytes())
	f.Add([]byte("CNNCCKP1\x0b\x00\x00\x00{\"Epoch\":1}"))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := ReadCheckpoint(bytes.NewReader(in))
		if err != nil {
			return
		}
		if c.Epoch < 1 || c.Correct > c.Seen {
			t.Fatalf("accepted %+v", c)
		}
	})
}

// TestResume checks that training resumes exactly, with the images
// resized to 32×32 and every augmentation on: one run of two epochs,
// another interrupted after 7 steps of the second epoch and resumed from
// its checkpoint, end with the same history and the same weights.
func TestResume(t *testing.T) {
	trainSet, testSet := mnist(t)
	trainSet, testSet = trainSet.Subset(0, 640), testSet.Subset(0, 200)
	g, err := zoo.LeNetBN.Build(zoo.Options{Batch: -1, Size: 32})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Epochs: 2, Batch: 64, LR: 0.05, Seed: 3, Optimizer: &ir.Adam{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, Threads: 1,
		Resize: 32, Augment: Augment{CropPad: 4, Flip: true, Lighting: 0.1}}
	whole, err := Fit(context.Background(), g, trainSet, testSet, cfg)
	if err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(t.TempDir(), "run.ckpt")
	ctx, cancel := context.WithCancel(context.Background())
	part := cfg
	part.Checkpoint = path
	part.Progress = func(p Progress) {
		if p.Epoch == 2 && p.Step == 7 {
			cancel()
		}
	}
	if _, err := Fit(ctx, g, trainSet, testSet, part); err == nil {
		t.Fatal("the interrupted run returned no error")
	}
	ck, err := ReadCheckpointFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Epoch != 2 || ck.Step != 7 || len(ck.History) != 1 {
		t.Fatalf("checkpoint at epoch %d step %d with %d epochs of history, want epoch 2 step 7 and 1", ck.Epoch, ck.Step, len(ck.History))
	}
	rest := cfg
	rest.Resume = ck
	resumed, err := Fit(context.Background(), g, trainSet, testSet, rest)
	if err != nil {
		t.Fatal(err)
	}
	for i := range whole.History {
		a, b := whole.History[i], resumed.History[i]
		a.Seconds, b.Seconds = 0, 0
		if a != b {
			t.Errorf("epoch %d: %+v straight, %+v resumed", i+1, a, b)
		}
	}
	wa, wb := ir.Weights(whole.Model), ir.Weights(resumed.Model)
	for name, x := range wa {
		if !reflect.DeepEqual(x.F32, wb[name].F32) {
			t.Errorf("%s differs between the straight and the resumed run", name)
		}
	}
}

func TestPlotPNG(t *testing.T) {
	var b bytes.Buffer
	h := []Metrics{{Epoch: 1, TrainLoss: 0.9, TestLoss: 0.7, TrainAcc: 0.7, TestAcc: 0.8}, {Epoch: 2, TrainLoss: 0.4, TestLoss: 0.5, TrainAcc: 0.9, TestAcc: 0.85}}
	for _, hist := range [][]Metrics{h, h[:1], nil} {
		b.Reset()
		if err := PlotPNG(&b, hist); err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(&b)
		if err != nil {
			t.Fatal(err)
		}
		if s := img.Bounds().Size(); s.X != 960 || s.Y != 400 {
			t.Errorf("image %v", s)
		}
	}
}
