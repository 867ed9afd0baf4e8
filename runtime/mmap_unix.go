//go:build linux || darwin || freebsd

package runtime

import (
	"os"
	"syscall"

	"github.com/cnnc/cnnc/ir"
)

// maxFile bounds the size of a plan file (the weights of the largest model
// cnnc reads, 2 GiB, plus room).
const maxFile = 4 << 30

// mapFile maps path read-only into memory and returns the mapping and the
// function that releases it.
func mapFile(path string) ([]byte, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := st.Size()
	if size == 0 {
		return nil, nil, ir.Invalidf("%s: empty file, not a cnnc plan", path)
	}
	if size > maxFile {
		return nil, nil, ir.Invalidf("%s: %d bytes, more than the %d a plan file may have", path, size, int64(maxFile))
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return readFile(path)
	}
	return data, func() error { return syscall.Munmap(data) }, nil
}
