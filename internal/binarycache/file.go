package binarycache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// fileStore is a cache in a local directory. Every file is opened through
// an os.Root, so neither a key nor a symlink inside the cache reaches a
// file outside it.
type fileStore struct {
	dir  string
	root *os.Root
}

func openFile(dir string) (*fileStore, error) {
	if dir == "" {
		return nil, fmt.Errorf("file:// store: no directory")
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open cache %s: %w", dir, err)
	}
	return &fileStore{dir: dir, root: r}, nil
}

func (s *fileStore) URI() string  { return "file://" + s.dir }
func (s *fileStore) Remote() bool { return false }

func (s *fileStore) Get(ctx context.Context, key string) (*Object, error) {
	if strings.Contains(key, "?") {
		return nil, fmt.Errorf("get %s: a file store has no queries", key)
	}
	// O_NONBLOCK: a FIFO planted in a cache directory must not block the
	// read; the type check below refuses it.
	f, err := s.root.OpenFile(key, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: not a regular file", key)
	}
	return &Object{Body: f, Size: fi.Size()}, nil
}

func (s *fileStore) List(ctx context.Context, fn func(string) error) error {
	d, err := s.root.Open(".")
	if err != nil {
		return err
	}
	defer d.Close()
	for {
		names, err := d.Readdirnames(4096)
		for _, n := range names {
			if strings.HasSuffix(n, ".narinfo") {
				if err := fn(n); err != nil {
					return err
				}
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("list %s: %w", s.dir, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}
