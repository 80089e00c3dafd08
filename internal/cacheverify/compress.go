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
	"github.com/ulikunitz/xz/lzma"

	"github.com/nixgate/nixgate/internal/nar"
	"github.com/nixgate/nixgate/internal/xzdec"
	"github.com/nixgate/nixgate/internal/zstdframe"
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
//
// limit is the most the stream may decode to (the narinfo's NarSize and a
// byte): a zstd frame's window is held to it (zstdWindow).
func decoder(label string, head []byte, r io.Reader, limit int64) (rd io.ReadCloser, detected string, mismatch string, err error) {
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
		xr, err := xzdec.NewReader(r, xzdec.Config{})
		if err != nil {
			return nil, detected, "", err
		}
		return io.NopCloser(xr), detected, "", nil
	case "zstd":
		// Decoders are reused: a new one per path allocates its buffers
		// and window again.
		r, err := zstdWindow(head, r, limit)
		if err != nil {
			return nil, detected, "", err
		}
		zr, _ := zstdPool.Get().(*zstd.Decoder)
		if zr == nil {
			var err error
			zr, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
				zstd.WithDecoderMaxWindow(zstdMaxWindow), zstd.WithDecoderMaxMemory(zstdMaxWindow))
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

// zstdWindow holds the first frame of a zstd stream to the memory its
// content needs. The decoder allocates a frame's whole window when the
// frame starts, so a cache's 20-byte file declaring a 64 MiB window (or,
// in a single-segment frame, a content size of 64 MiB, which is then the
// window) costs that much. A NAR decodes to NarSize bytes, and no
// back-reference reaches further back than the bytes decoded before it:
// a declared window larger than limit needs is lowered to the one that
// holds limit bytes (zstdframe.Descriptor; the first frame's window
// descriptor is rewritten in the stream, FileHash is computed on the bytes
// as served), and a single-segment frame declaring more content than limit
// is refused. Later frames keep the decoder's bound (zstdMaxWindow); a
// header that does not parse is left to the decoder.
func zstdWindow(head []byte, r io.Reader, limit int64) (io.Reader, error) {
	h, err := zstdframe.Parse(head)
	if err != nil || limit <= 0 {
		return r, nil
	}
	if h.SingleSegment {
		if h.ContentSize > uint64(limit) {
			return nil, fmt.Errorf("a zstd frame declares %d bytes of content, more than the NAR's %d", h.ContentSize, limit-1)
		}
		return r, nil
	}
	desc, size, ok := zstdframe.Descriptor(uint64(limit))
	if !ok || h.Window <= size {
		return r, nil
	}
	first := make([]byte, h.WindowOffset+1)
	if _, err := io.ReadFull(r, first); err != nil {
		return nil, err
	}
	first[h.WindowOffset] = desc
	return io.MultiReader(bytes.NewReader(first), r), nil
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
