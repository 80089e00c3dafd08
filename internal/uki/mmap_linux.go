package uki

import (
	"os"
	"syscall"
)

// mapFile maps a file read-only; the pages are faulted in by the call.
func mapFile(f *os.File, size int64) ([]byte, func(), error) {
	if size == 0 || size != int64(int(size)) {
		return nil, nil, syscall.EINVAL
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		return nil, nil, err
	}
	return b, func() { syscall.Munmap(b) }, nil
}
