//go:build unix

package nar

import (
	"io"
	"io/fs"
	"os"
	"syscall"
)

// rawFile is a file read with plain system calls: os.File's set-up (the
// poller registration, flag probes) costs more than reading a small file.
type rawFile int

func openFile(path string) (rawFile, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return rawFile(fd), nil
	}
}

func (f rawFile) Read(b []byte) (int, error) {
	for {
		n, err := syscall.Read(int(f), b)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, &os.PathError{Op: "read", Path: "", Err: err}
		}
		if n == 0 && len(b) > 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f rawFile) Close() error { return syscall.Close(int(f)) }

// fd returns the file descriptor, for mapping.
func (f rawFile) fd() int { return int(f) }

// stat returns the open file's size and mode (type and permissions).
func (f rawFile) stat() (int64, fs.FileMode, error) {
	var st syscall.Stat_t
	for {
		err := syscall.Fstat(int(f), &st)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, 0, &os.PathError{Op: "fstat", Path: "", Err: err}
		}
		break
	}
	m := fs.FileMode(st.Mode & 0o777)
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFREG:
	case syscall.S_IFDIR:
		m |= fs.ModeDir
	default:
		m |= fs.ModeIrregular
	}
	return st.Size, m, nil
}
