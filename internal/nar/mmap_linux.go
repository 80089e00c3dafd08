package nar

import "syscall"

// mmap maps n bytes of the file fd at off, read-only, its pages faulted
// in by the mapping call (in the reader goroutine, not the hasher).
func mmap(fd int, off int64, n int) ([]byte, error) {
	return syscall.Mmap(fd, off, n, syscall.PROT_READ, syscall.MAP_SHARED|syscall.MAP_POPULATE)
}

func munmap(b []byte) { _ = syscall.Munmap(b) }
