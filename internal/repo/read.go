package repo

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ReadConfined reads name (relative to dir) through a root confined to
// dir: a path or symlink leading out of dir is refused (ErrEscapes), and so
// is anything but a regular file; more than limit bytes is a
// *TooLargeError. It never blocks on a FIFO.
func ReadConfined(dir, name string, limit int64) ([]byte, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.OpenFile(filepath.FromSlash(name), os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, mapErr(err)
	}
	defer f.Close()
	return readRegular(f, name, limit)
}

// ReadRegular reads a file the user named (a --policy or --baseline
// path): anything but a regular file is refused without blocking, and more
// than limit bytes is a *TooLargeError.
func ReadRegular(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readRegular(f, path, limit)
}

func readRegular(f *os.File, name string, limit int64) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &NotRegularError{Path: name, What: describeMode(fi.Mode())}
	}
	if fi.Size() > limit {
		return nil, &TooLargeError{Path: name, Size: fi.Size(), Limit: limit, Kind: KindOf(name)}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &TooLargeError{Path: name, Size: int64(len(data)), Limit: limit, Kind: KindOf(name)}
	}
	return data, nil
}

// Describe says in a few words why a read failed, without quoting any of
// the file's content.
func Describe(err error) string {
	var pe *fs.PathError
	switch {
	case errors.Is(err, ErrEscapes):
		return "it leads out of the repository (nixgate reads repository files only inside it)"
	case errors.Is(err, fs.ErrNotExist):
		return "it does not exist"
	case errors.As(err, &pe):
		return pe.Err.Error()
	}
	return fmt.Sprint(err)
}
