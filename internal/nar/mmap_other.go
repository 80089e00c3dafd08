//go:build !linux

package nar

import "errors"

// mmap is not used outside Linux: files are read.
func mmap(fd int, off int64, n int) ([]byte, error) { return nil, errors.ErrUnsupported }

func munmap(b []byte) {}
