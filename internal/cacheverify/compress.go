package cacheverify

import (
	"bytes"
	"compress/bzip2"
	"fmt"
	"io"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"

	"github.com/nixgate/nixgate/internal/nar"
)

// Compressions are the labels nixgate decodes. Nix 2.8 hands every label
// but none and br to libarchive, which guesses the format from the bytes
// whatever the label says; here the label must match the bytes.
var Compressions = []string{"none", "xz", "zstd", "bzip2", "gzip", "br", "lzma"}

// detect names the format of a compressed stream from its first bytes:
// a NAR (none), xz, zstd, bzip2, gzip; "" when no magic matches (brotli
// and lzma have none).
func detect(head []byte) string {
	switch {
	case nar.IsNAR(head):
		return "none"
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return "xz"
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return "zstd"
	case len(head) >= 4 && bytes.HasPrefix(head, []byte("BZh")) && head[3] >= '1' && head[3] <= '9':
		return "bzip2"
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return "gzip"
	}
	return ""
}

// zstdMaxWindow bounds the memory a zstd frame may ask for (Nix's
// default levels use a few MiB).
const zstdMaxWindow = 64 << 20

// decoder returns a reader of the decoded stream for label, after
// checking the label against the stream's first bytes. It returns the
// detected format and a mismatch description when they disagree.
func decoder(label string, head []byte, r io.Reader) (rd io.ReadCloser, detected string, mismatch string, err error) {
	detected = detect(head)
	want := label
	switch label {
	case "br", "lzma":
		// No magic: anything else that is recognisable is a mismatch.
		if detected != "" {
			return nil, detected, fmt.Sprintf("labelled %s but the bytes are %s", label, describe(detected)), nil
		}
		if label == "lzma" && (len(head) == 0 || head[0] >= 9*5*5) {
			return nil, "", "labelled lzma but the first byte is no LZMA properties byte", nil
		}
		detected = label
	default:
		if detected != want {
			what := "no known format"
			if detected != "" {
				what = describe(detected)
			}
			return nil, detected, fmt.Sprintf("labelled %s but the bytes are %s", label, what), nil
		}
	}
	switch label {
	case "none":
		return io.NopCloser(r), detected, "", nil
	case "xz":
		xr, err := xz.NewReader(r)
		if err != nil {
			return nil, detected, "", err
		}
		return io.NopCloser(xr), detected, "", nil
	case "zstd":
		// Decoders are reused: a new one per path allocates its buffers
		// and window again.
		zr, _ := zstdPool.Get().(*zstd.Decoder)
		if zr == nil {
			var err error
			zr, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(zstdMaxWindow))
			if err != nil {
				return nil, detected, "", err
			}
		}
		if err := zr.Reset(r); err != nil {
			zstdPool.Put(zr)
			return nil, detected, "", err
		}
		return pooledZstd{zr}, detected, "", nil
	case "bzip2":
		return io.NopCloser(bzip2.NewReader(r)), detected, "", nil
	case "gzip":
		gr, err := gzip.NewReader(r)
		if err != nil {
			return nil, detected, "", err
		}
		return gr, detected, "", nil
	case "br":
		return io.NopCloser(brotli.NewReader(r)), detected, "", nil
	case "lzma":
		lr, err := lzma.NewReader(r)
		if err != nil {
			return nil, detected, "", err
		}
		return io.NopCloser(lr), detected, "", nil
	}
	return nil, detected, "", fmt.Errorf("unsupported compression %q", label)
}

var zstdPool sync.Pool

// pooledZstd returns its decoder to the pool when closed.
type pooledZstd struct{ d *zstd.Decoder }

func (p pooledZstd) Read(b []byte) (int, error) { return p.d.Read(b) }

func (p pooledZstd) Close() error {
	p.d.Reset(nil)
	zstdPool.Put(p.d)
	return nil
}

func describe(format string) string {
	if format == "none" {
		return "an uncompressed NAR"
	}
	return format
}
