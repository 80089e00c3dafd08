package nar

import (
	"bytes"
	"encoding/binary"
	"io"
	"runtime"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// zstdFrames encodes each content as one frame with its content size and
// a window descriptor raised to 32 MiB (a larger window than the encoder
// chose is always valid), the shape the window patch is for.
func zstdFrames(t *testing.T, contents ...[]byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil, zstd.WithSingleSegment(false), zstd.WithEncoderCRC(true))
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, c := range contents {
		f := enc.EncodeAll(c, nil)
		// The encoder's header (magic, descriptor, window, no dictionary
		// id, maybe a content size) rewritten with a 4-byte content size
		// and a window of 2^(10+15) bytes; the blocks (and the checksum
		// of the content) stay.
		fhd := f[4]
		if fhd&0x23 != 0 {
			t.Fatalf("frame header descriptor %#x: single segment or dictionary", fhd)
		}
		blocks := 6 + [4]int{0, 2, 4, 8}[fhd>>6]
		out = append(out, f[:4]...)
		out = append(out, 0x80|fhd&0x04, 15<<3)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(c)))
		out = append(out, f[blocks:]...)
	}
	return out
}

func decompressAll(t *testing.T, data []byte) ([]byte, uint64) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r, done, err := decompressor("zstd", memBlob(data))
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	got, err := io.ReadAll(r)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	return got, after.TotalAlloc - before.TotalAlloc
}

// TestZstdWindowPatch: frames that declare a 32 MiB window for a few KiB
// decode to the same bytes with a window of their content's size, and
// cost kilobytes, not the declared window; a skippable frame between
// them is stepped over.
func TestZstdWindowPatch(t *testing.T) {
	a := bytes.Repeat([]byte("a reproducible line\n"), 600)
	b := []byte("second frame, shorter")
	skippable := binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 0x184D2A53), 3)
	skippable = append(skippable, "xyz"...)
	f1, f2 := zstdFrames(t, a), zstdFrames(t, b)
	data := append(append(append([]byte{}, f1...), skippable...), f2...)
	patches, err := checkZstd(memBlob(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(patches) != 2 {
		t.Fatalf("%d patches, want one per frame: %+v", len(patches), patches)
	}
	got, alloc := decompressAll(t, data)
	if !bytes.Equal(got, append(append([]byte{}, a...), b...)) {
		t.Errorf("decoded %d bytes, not the content", len(got))
	}
	if alloc > 4<<20 {
		t.Errorf("decoding allocated %d MiB for %d bytes of content", alloc>>20, len(got))
	}
}

// TestZstdWalkErrors: a structure the walk cannot follow is refused.
func TestZstdWalkErrors(t *testing.T) {
	good := zstdFrames(t, []byte("content"))
	for name, data := range map[string][]byte{
		"trailing garbage": append(append([]byte{}, good...), "junk"...),
		"truncated":        good[:len(good)-3],
		"reserved bit":     append([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x08}, good[5:]...),
		"not zstd":         []byte("plain text"),
	} {
		if _, err := checkZstd(memBlob(data)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if p, err := checkZstd(memBlob(good)); err != nil || len(p) != 1 {
		t.Errorf("good frame: %v, %v", p, err)
	}
}
