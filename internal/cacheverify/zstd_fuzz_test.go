package cacheverify

import (
	"bytes"
	"io"
	"testing"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

// FuzzZstdWindow: zstdWindow never panics, and the stream it returns is
// the input with at most the window descriptor (byte 5) changed, lowered.
func FuzzZstdWindow(f *testing.F) {
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 16 << 3, 1, 0, 0}, int64(1025))
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0, 0, 0, 4}, int64(1025))
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0xe3, 0xff}, int64(1))
	f.Fuzz(func(t *testing.T, in []byte, limit int64) {
		fuzzlimit.Default(t, func() {
			head := in[:min(len(in), 32)]
			r, err := zstdWindow(head, bytes.NewReader(in), limit)
			if err != nil {
				return
			}
			out, err := io.ReadAll(r)
			if err != nil || len(out) != len(in) {
				t.Fatalf("read %d bytes of %d: %v", len(out), len(in), err)
			}
			for i := range out {
				if out[i] != in[i] && (i != 5 || out[i] > in[i]) {
					t.Fatalf("byte %d changed from %#x to %#x", i, in[i], out[i])
				}
			}
		})
	})
}
