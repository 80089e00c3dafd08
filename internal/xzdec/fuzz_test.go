package xzdec

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// FuzzDecode holds the decoder to the reference: whatever it decodes
// without an error, github.com/ulikunitz/xz decodes to the same bytes,
// and it never panics. (It refuses some input the reference takes:
// non-minimal integers and a chunk whose compressed bytes outlast its
// range coder, as liblzma does.)
func FuzzDecode(f *testing.F) {
	for _, in := range []string{"", "a", strings.Repeat("abc", 200), "nix store path\x00\xff" + strings.Repeat("z", 5000)} {
		for _, cfg := range []xz.WriterConfig{
			{},
			{CheckSum: xz.None},
			{CheckSum: xz.SHA256, DictCap: 4096},
			{Properties: &lzma.Properties{LC: 0, LP: 4, PB: 4}, CheckSum: xz.CRC32},
			{BlockSize: 300},
		} {
			f.Add(encode(f, []byte(in), cfg))
		}
	}
	for _, name := range []string{"empty.xz", "random.xz"} {
		f.Add(testdata(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 20
		got, err := decodeAll(data, Config{MaxDict: 64 << 20}, limit)
		if err != nil {
			return
		}
		want, werr := reference(data, false, limit)
		if werr != nil {
			t.Fatalf("decoded %d bytes; the reference: %v", len(got), werr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("decoded %d bytes, the reference %d (first difference at %d)", len(got), len(want), firstDiff(got, want))
		}
	})
}

// FuzzSize: reading the indexes never panics, and where both it and the
// decoder take a file, they agree on its size.
func FuzzSize(f *testing.F) {
	f.Add(testdata(f, "empty.xz"))
	// Small seeds: a fuzzer decodes each input it tries.
	blocks := encode(f, []byte(strings.Repeat("nix ", 300)), xz.WriterConfig{BlockSize: 256})
	f.Add(blocks)
	f.Add(append(append(bytes.Clone(blocks), 0, 0, 0, 0), encode(f, []byte("abc"), xz.WriterConfig{CheckSum: xz.None})...))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := Size(bytes.NewReader(data), int64(len(data)), 64<<20)
		if err != nil {
			return
		}
		got, err := decodeAll(data, Config{MaxDict: 64 << 20}, 1<<20)
		if err == nil && int64(len(got)) != n && len(got) < 1<<20 {
			t.Fatalf("Size %d, decoded %d bytes", n, len(got))
		}
	})
}
