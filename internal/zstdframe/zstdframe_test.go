package zstdframe

import (
	"errors"
	"io"
	"testing"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

func TestParse(t *testing.T) {
	magic := []byte{0x28, 0xb5, 0x2f, 0xfd}
	for _, c := range []struct {
		name string
		b    []byte
		want Header
		err  error
	}{
		{"window, no size", append(magic, 0x00, 16<<3), Header{WindowOffset: 5, Window: 1 << 26, Len: 6}, nil},
		{"window and 2-byte size", append(magic, 0x44, 15<<3, 0x30, 0x30), Header{Checksum: true, WindowOffset: 5, Window: 1 << 25, ContentSize: 0x3030 + 256, HasContentSize: true, Len: 8}, nil},
		{"mantissa", append(magic, 0x00, 1<<3|3), Header{WindowOffset: 5, Window: 2048 + 3*256, Len: 6}, nil},
		{"single segment, 1-byte size", append(magic, 0x20, 200), Header{SingleSegment: true, WindowOffset: -1, ContentSize: 200, HasContentSize: true, Len: 6}, nil},
		{"single segment, dictionary, 4-byte size", append(magic, 0xa1, 7, 0, 0, 0, 4), Header{SingleSegment: true, WindowOffset: -1, ContentSize: 1 << 26, HasContentSize: true, Len: 10}, nil},
		{"short", append(magic, 0x80, 1<<3, 0), Header{}, io.ErrUnexpectedEOF},
		{"reserved bit", append(magic, 0x08, 1<<3), Header{}, nil},
		{"not zstd", []byte("plain text"), Header{}, ErrNotFrame},
	} {
		got, err := Parse(c.b)
		if c.name == "reserved bit" {
			if err == nil {
				t.Errorf("%s: no error", c.name)
			}
			continue
		}
		if !errors.Is(err, c.err) || got != c.want {
			t.Errorf("%s: Parse = %+v, %v; want %+v, %v", c.name, got, err, c.want, c.err)
		}
	}
}

func TestDescriptor(t *testing.T) {
	for _, c := range []struct {
		n    uint64
		desc byte
		size uint64
	}{
		{0, 7 << 3, 128 << 10},
		{12 << 10, 7 << 3, 128 << 10},
		{128<<10 + 1, 8 << 3, 256 << 10},
		{1 << 30, 20 << 3, 1 << 30},
		{1 << 41, 31 << 3, 1 << 41},
	} {
		if d, s, ok := Descriptor(c.n); !ok || d != c.desc || s != c.size {
			t.Errorf("Descriptor(%d) = %#x, %d, %v; want %#x, %d", c.n, d, s, ok, c.desc, c.size)
		}
		// The descriptor names the window it is said to name.
		if h, err := Parse([]byte{0x28, 0xb5, 0x2f, 0xfd, 0, c.desc}); err != nil || h.Window != c.size {
			t.Errorf("descriptor %#x parses to %d, %v", c.desc, h.Window, err)
		}
	}
}

func TestDescriptorTooLarge(t *testing.T) {
	if _, _, ok := Descriptor(1<<41 + 1); ok {
		t.Error("Descriptor of more than 2^41 bytes: ok")
	}
}

// FuzzParse: Parse never panics and never claims more header than it had.
func FuzzParse(f *testing.F) {
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x44, 0x78, 0x30, 0x30})
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0xe3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzlimit.Default(t, func() {
			h, err := Parse(b)
			if err == nil && (h.Len > len(b) || h.Len < 6 || (h.WindowOffset >= 0) == h.SingleSegment) {
				t.Fatalf("Parse(%x) = %+v", b, h)
			}
		})
	})
}
