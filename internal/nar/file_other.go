//go:build !unix

package nar

import "os"

// rawFile is an os.File outside Unix.
type rawFile struct{ *os.File }

func openFile(path string) (rawFile, error) {
	f, err := os.Open(path)
	return rawFile{f}, err
}

func (f rawFile) fd() int { return -1 }
