package train

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/cnnc/cnnc/ir"
)

// Checkpoint is the state Fit resumes from exactly: where training
// stopped, the parameters, optimizer states and batch-norm buffers, the
// shuffler's generator and the history. Fit writes one at the end of each
// epoch and when its context is canceled (Ctrl-C in cnnc train).
type Checkpoint struct {
	// Epoch is the epoch under way (from 1) and Step the steps of it
	// already taken (0 at an epoch's start).
	Epoch, Step int
	// Steps counts every optimizer step taken (Adam's t; the dropout
	// seeds).
	Steps int
	// LossSum, Correct and Seen are the epoch's running sums.
	LossSum       float64
	Correct, Seen int
	// Shuffler is the shuffling generator's state before Epoch's order
	// was drawn.
	Shuffler []byte
	// History holds the finished epochs' metrics.
	History []Metrics
	// Tensors holds the training state by role and name: "param:NAME",
	// "state:NAME:K" (the optimizer's K-th state of parameter NAME) and
	// "buffer:NAME".
	Tensors map[string][]float32
	// Shapes holds the tensors' shapes by the same names (LoadParams
	// checks them); nil in checkpoints written before it was recorded,
	// which only checks the number of elements.
	Shapes map[string][]int
}

// ErrNotCheckpoint is ReadCheckpoint's error for a file that does not
// start as a checkpoint does (another kind of file, such as an ONNX
// model).
var ErrNotCheckpoint = errors.New("checkpoint: not a cnnc checkpoint (bad magic)")

// checkpointMagic starts a checkpoint file; the version is its last byte.
const checkpointMagic = "CNNCCKP1"

// Bounds on what a checkpoint file may claim, checked before anything is
// allocated: the header's size and the tensors' total elements.
const (
	checkpointMaxHeader = 16 << 20
	checkpointMaxFloats = 1 << 28 // 1 GiB of float32
)

// checkpointHeader is the JSON header: everything but the tensor data,
// which follows it in the order of Tensors, little-endian float32.
type checkpointHeader struct {
	Epoch, Step, Steps int
	LossSum            float64
	Correct, Seen      int
	Shuffler           []byte
	History            []Metrics
	Tensors            []checkpointTensor
}

type checkpointTensor struct {
	Name  string
	Len   int
	Shape []int `json:",omitempty"`
}

// WriteFile writes the checkpoint to path, through a temporary file
// renamed into place, so that an interrupted write leaves the previous
// checkpoint whole.
func (c *Checkpoint) WriteFile(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	if err := c.write(w); err != nil {
		tmp.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// write encodes the checkpoint, tensors in sorted name order.
func (c *Checkpoint) write(w io.Writer) error {
	h := checkpointHeader{Epoch: c.Epoch, Step: c.Step, Steps: c.Steps, LossSum: c.LossSum,
		Correct: c.Correct, Seen: c.Seen, Shuffler: c.Shuffler, History: c.History}
	names := make([]string, 0, len(c.Tensors))
	for name := range c.Tensors {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		h.Tensors = append(h.Tensors, checkpointTensor{name, len(c.Tensors[name]), c.Shapes[name]})
	}
	js, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, checkpointMagic); err != nil {
		return err
	}
	if err := binary.Write(w, binary.LittleEndian, uint32(len(js))); err != nil {
		return err
	}
	if _, err := w.Write(js); err != nil {
		return err
	}
	buf := make([]byte, 4<<10)
	for _, name := range names {
		data := c.Tensors[name]
		for len(data) > 0 {
			n := min(len(data), len(buf)/4)
			for i, v := range data[:n] {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
			}
			if _, err := w.Write(buf[:4*n]); err != nil {
				return err
			}
			data = data[n:]
		}
	}
	return nil
}

// ReadCheckpoint reads a checkpoint that WriteFile wrote. A file that is
// not one, is truncated, or claims more than the bounds allow is an error
// saying so; nothing is allocated past what was checked.
func ReadCheckpoint(r io.Reader) (*Checkpoint, error) {
	br := bufio.NewReader(r)
	magic := make([]byte, len(checkpointMagic))
	if _, err := io.ReadFull(br, magic); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", noEOF(err))
	}
	if string(magic) != checkpointMagic {
		return nil, ErrNotCheckpoint
	}
	var n uint32
	if err := binary.Read(br, binary.LittleEndian, &n); err != nil {
		return nil, fmt.Errorf("checkpoint: header size: %w", noEOF(err))
	}
	if n > checkpointMaxHeader {
		return nil, fmt.Errorf("checkpoint: header of %d bytes exceeds %d", n, checkpointMaxHeader)
	}
	js := make([]byte, n)
	if _, err := io.ReadFull(br, js); err != nil {
		return nil, fmt.Errorf("checkpoint: header: %w", noEOF(err))
	}
	var h checkpointHeader
	if err := json.Unmarshal(js, &h); err != nil {
		return nil, fmt.Errorf("checkpoint: header: %w", err)
	}
	if h.Epoch < 1 || h.Step < 0 || h.Steps < 0 || h.Seen < 0 || h.Correct < 0 || h.Correct > h.Seen {
		return nil, fmt.Errorf("checkpoint: epoch %d, step %d, steps %d, %d of %d correct: out of range", h.Epoch, h.Step, h.Steps, h.Correct, h.Seen)
	}
	total := 0
	for _, t := range h.Tensors {
		if t.Len < 0 || t.Len > checkpointMaxFloats-total {
			return nil, fmt.Errorf("checkpoint: tensor %q of %d floats: the tensors exceed %d floats", t.Name, t.Len, checkpointMaxFloats)
		}
		total += t.Len
		if t.Shape != nil {
			if n := ir.Shape(t.Shape).NumElements(); n != t.Len || !ir.Shape(t.Shape).Known() {
				return nil, fmt.Errorf("checkpoint: tensor %q of %d floats has shape %v", t.Name, t.Len, t.Shape)
			}
		}
	}
	c := &Checkpoint{Epoch: h.Epoch, Step: h.Step, Steps: h.Steps, LossSum: h.LossSum, Correct: h.Correct, Seen: h.Seen,
		Shuffler: h.Shuffler, History: h.History, Tensors: map[string][]float32{}}
	buf := make([]byte, 4<<10)
	for _, t := range h.Tensors {
		if _, dup := c.Tensors[t.Name]; dup {
			return nil, fmt.Errorf("checkpoint: tensor %q twice", t.Name)
		}
		data := make([]float32, 0, min(t.Len, 1<<16)) // grown as the data arrives
		for len(data) < t.Len {
			k := min(t.Len-len(data), len(buf)/4)
			if _, err := io.ReadFull(br, buf[:4*k]); err != nil {
				return nil, fmt.Errorf("checkpoint: tensor %q: %w", t.Name, noEOF(err))
			}
			for i := 0; i < k; i++ {
				data = append(data, math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:])))
			}
		}
		c.Tensors[t.Name] = data
		if t.Shape != nil {
			if c.Shapes == nil {
				c.Shapes = map[string][]int{}
			}
			c.Shapes[t.Name] = t.Shape
		}
	}
	return c, nil
}

// ReadCheckpointFile reads the checkpoint at path.
func ReadCheckpointFile(path string) (*Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := ReadCheckpoint(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}
