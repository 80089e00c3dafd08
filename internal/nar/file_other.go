//go:build !unix

package nar

import (
	"io/fs"
	"os"
)

// rawFile is an os.File outside Unix.
type rawFile struct{ *os.File }

func openFile(path string) (rawFile, error) {
	f, err := os.Open(path)
	return rawFile{f}, err
}

func (f rawFile) fd() int { return -1 }

func (f rawFile) stat() (int64, fs.FileMode, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	return fi.Size(), fi.Mode(), nil
}
