package uki

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz/lzma"

	"github.com/nixgate/nixgate/internal/xzdec"
)

// Compression names, as the kernel's decompressors know them.
const (
	None  = "none"
	Gzip  = "gzip"
	XZ    = "xz"
	Zstd  = "zstd"
	LZ4   = "lz4"
	Bzip2 = "bzip2"
	LZMA  = "lzma"
)

// sniff names the compression of data from its magic, or "" when it is
// not one the kernel's initramfs and bzImage decompressors know (lzo is
// not supported).
func sniff(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}), bytes.HasPrefix(b, []byte{0x1f, 0x9e}):
		return Gzip
	case bytes.HasPrefix(b, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return XZ
	case bytes.HasPrefix(b, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return Zstd
	case bytes.HasPrefix(b, []byte{0x02, 0x21, 0x4c, 0x18}), bytes.HasPrefix(b, []byte{0x04, 0x22, 0x4d, 0x18}):
		return LZ4
	case bytes.HasPrefix(b, []byte("BZh")):
		return Bzip2
	case len(b) >= 3 && b[0] == 0x5d && b[1] == 0 && b[2] == 0:
		return LZMA
	}
	return ""
}

// errTooLarge is returned when a stream decompresses past its bound.
var errTooLarge = errors.New("decompresses past the size limit")

// limitReader fails with errTooLarge past n bytes rather than stopping
// quietly, so that a bomb is an error, not a truncated listing.
type limitReader struct {
	r   io.Reader
	n   int64
	hit bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			l.hit = true
			return 0, errTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// decompressor opens a reader of one compressed stream that starts at the
// beginning of br. For gzip it stops exactly at the end of the member (so
// that what follows can be read from br); the other formats read to the
// end of the data.
func decompressor(kind string, br *bufio.Reader) (io.Reader, func(), error) {
	nop := func() {}
	switch kind {
	case Gzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nop, err
		}
		zr.Multistream(false)
		return zr, nop, nil
	case XZ:
		// xzdec's window grows with the output: a header asking for a
		// 4 GiB dictionary costs what the output needs.
		zr, err := xzdec.NewReader(br, xzdec.Config{SingleStream: true})
		return zr, nop, err
	case Zstd:
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
		if err != nil {
			return nil, nop, err
		}
		return zr, zr.Close, nil
	case LZ4:
		return lz4.NewReader(br), nop, nil
	case Bzip2:
		return bzip2.NewReader(br), nop, nil
	case LZMA:
		zr, err := lzma.NewReader(br)
		return zr, nop, err
	}
	return nil, nop, fmt.Errorf("unsupported compression %q", kind)
}
