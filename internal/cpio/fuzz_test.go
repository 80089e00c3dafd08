package cpio

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// FuzzReader: no panic, and a bounded amount of work per input.
func FuzzReader(f *testing.F) {
	f.Add([]byte("070701000000000000A1FF0000000000000000000000010000000000000004000000000000000000000000000000000000000200000000a\x00\x00\x00abcd"))
	f.Add([]byte("07070700000000000000000000000000000000000000000000000000000000000001300000000000TRAILER!!!\x00"))
	f.Add([]byte("070702"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzlimit.Default(t, func() {
			r := NewReader(bytes.NewReader(data))
			for i := 0; ; i++ {
				_, err := r.Next()
				if err != nil {
					break
				}
				n, _ := io.Copy(io.Discard, r)
				if n > int64(len(data)) {
					t.Fatalf("read %d data bytes from a %d-byte input", n, len(data))
				}
				if i > len(data) {
					t.Fatal("more entries than input bytes")
				}
			}
		})
	})
}
