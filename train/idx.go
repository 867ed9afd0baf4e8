package train

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
)

// IDX is one array of an IDX file (the format of MNIST and Fashion-MNIST):
// unsigned bytes with their dimensions.
type IDX struct {
	// Dims are the array's dimensions, outermost first.
	Dims []int
	// Data holds the product of Dims bytes, in row-major order.
	Data []byte
}

// idxMaxBytes bounds an IDX array: a header may claim any size, and the
// reader allocates only what it has checked against this bound (1 GiB;
// MNIST's training images take 47 MB).
const idxMaxBytes = 1 << 30

// ReadIDX reads an IDX file of unsigned bytes (type code 0x08) from r,
// gzip-compressed or not (as the data sets ship: train-images-idx3-ubyte.gz).
// A header with another element type, more than 4 dimensions, a zero
// dimension, a size past 1 GiB, or data shorter than the header says is an
// error naming what is wrong; bytes after the array are ignored.
func ReadIDX(r io.Reader) (*IDX, error) {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("idx: gzip header: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var head [4]byte
	if _, err := io.ReadFull(br, head[:]); err != nil {
		return nil, fmt.Errorf("idx: header: %w", noEOF(err))
	}
	if head[0] != 0 || head[1] != 0 {
		return nil, fmt.Errorf("idx: bad magic %x: not an IDX file", head)
	}
	if head[2] != 0x08 {
		return nil, fmt.Errorf("idx: element type 0x%02x unsupported (only 0x08, unsigned bytes)", head[2])
	}
	rank := int(head[3])
	if rank < 1 || rank > 4 {
		return nil, fmt.Errorf("idx: %d dimensions unsupported (1 to 4)", rank)
	}
	dims := make([]int, rank)
	size := 1
	for i := range dims {
		var d uint32
		if err := binary.Read(br, binary.BigEndian, &d); err != nil {
			return nil, fmt.Errorf("idx: dimension %d: %w", i, noEOF(err))
		}
		if d == 0 {
			return nil, fmt.Errorf("idx: dimension %d is 0", i)
		}
		if uint64(size)*uint64(d) > idxMaxBytes {
			return nil, fmt.Errorf("idx: dimensions %v... exceed %d bytes", dims[:i+1], idxMaxBytes)
		}
		dims[i] = int(d)
		size *= int(d)
	}
	// Read in chunks, so that a header claiming more than the stream
	// holds costs no more memory than the stream.
	var buf bytes.Buffer
	if n, err := io.CopyN(&buf, br, int64(size)); err != nil {
		return nil, fmt.Errorf("idx: data: %d of %d bytes: %w", n, size, noEOF(err))
	}
	return &IDX{Dims: dims, Data: buf.Bytes()}, nil
}

// noEOF turns a clean io.EOF into io.ErrUnexpectedEOF: inside a header or
// an array, the end of the stream is always premature.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
