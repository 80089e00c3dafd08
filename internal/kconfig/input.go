package kconfig

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/nixgate/nixgate/internal/repo"
)

// MaxInput bounds what nixgate reads from one input, after decompression.
// The largest kernel configuration in the corpus is 350 KiB; a command
// line is at most a few KiB and a `sysctl -a` listing about 100 KiB.
const MaxInput = 8 << 20

// ErrTooLarge is returned for an input larger than MaxInput, compressed
// or not.
var ErrTooLarge = fmt.Errorf("larger than %d MiB", MaxInput>>20)

// ReadInput reads one input file: a regular file (a FIFO, a device or a
// socket is an error rather than a read that may never end), or standard
// input when path is "-". Content in gzip format is decompressed (the
// content decides, not the name). At most MaxInput bytes are read, before
// and after decompression, so a gzip bomb costs nothing.
func ReadInput(path string) ([]byte, error) {
	var r io.Reader
	if path == "-" {
		r = os.Stdin
	} else {
		// O_NONBLOCK: opening a FIFO for reading must not wait for a
		// writer; the type check below then refuses it.
		f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return nil, err
		}
		if !fi.Mode().IsRegular() {
			return nil, &repo.NotRegularError{Path: path, What: repo.DescribeMode(fi.Mode())}
		}
		// A file's size is known: read it into one buffer of that size and
		// one byte more, where end of file shows without growing it
		// (io.ReadAll grows from 512 bytes, copying a configuration of
		// 250 KiB ten times over; bytes.Buffer.ReadFrom wants 512 bytes
		// free and doubles a buffer of the file's size).
		if n := fi.Size(); n > 0 && n <= MaxInput {
			return readCapped(f, int(n)+1)
		}
		r = f
	}
	return ReadCapped(r)
}

// ReadCapped reads r to its end, at most MaxInput bytes, and decompresses
// gzip content (see Decompress).
func ReadCapped(r io.Reader) ([]byte, error) {
	// /proc files report a zero size: read until EOF.
	return readCapped(r, 512)
}

// readCapped is ReadCapped starting with a buffer of size bytes.
func readCapped(r io.Reader, size int) ([]byte, error) {
	r = io.LimitReader(r, MaxInput+1)
	b := make([]byte, 0, size)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return Decompress(b)
		}
		if err != nil {
			return nil, err
		}
	}
}

// Decompress returns data, gunzipped when it starts with the gzip magic,
// and ErrTooLarge when either form exceeds MaxInput. A file of several
// concatenated gzip members (what `cat a.gz b.gz` gives) is read whole, as
// gzip(1) does.
func Decompress(data []byte) ([]byte, error) {
	if len(data) > MaxInput {
		return nil, ErrTooLarge
	}
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		return data, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, MaxInput+1))
	if len(out) > MaxInput {
		return nil, fmt.Errorf("gunzip: %w", ErrTooLarge)
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errors.New("gunzip: truncated gzip data")
		}
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	return out, nil
}
