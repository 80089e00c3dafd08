package xzdec

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// decodeAll decodes data with this package, at most limit bytes.
func decodeAll(data []byte, cfg Config, limit int64) ([]byte, error) {
	r, err := NewReader(bytes.NewReader(data), cfg)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(r, limit))
}

// reference decodes data with github.com/ulikunitz/xz.
func reference(data []byte, single bool, limit int64) ([]byte, error) {
	r, err := xz.ReaderConfig{SingleStream: single}.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(r, limit))
}

// testdata reads a file of testdata.
func testdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// realFile is a file of testdata made by xz, and its bytes as the
// reference decodes them.
type realFile struct {
	name       string
	data, want []byte
}

// realFiles are all of them (testdata/README).
func realFiles(t *testing.T) []realFile {
	t.Helper()
	names, _ := filepath.Glob("testdata/*.xz")
	if len(names) < 8 {
		t.Fatalf("testdata has %d xz files", len(names))
	}
	var files []realFile
	for _, n := range names {
		f := realFile{name: filepath.Base(n), data: testdata(t, filepath.Base(n))}
		var err error
		if f.want, err = reference(f.data, false, 1<<30); err != nil {
			t.Fatalf("%s: the reference: %v", f.name, err)
		}
		files = append(files, f)
	}
	return files
}

// TestRealXZ decodes files made by xz 5.4.1 (testdata/README) as the
// reference decoder does, through readers of every size.
func TestRealXZ(t *testing.T) {
	for _, f := range realFiles(t) {
		t.Run(f.name, func(t *testing.T) {
			data, want := f.data, f.want
			got, err := decodeAll(data, Config{}, 1<<30)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%d bytes decoded, want %d (first difference at %d)", len(got), len(want), firstDiff(got, want))
			}
			// Small reads: the window's pending output and cut matches.
			r, err := NewReader(bytes.NewReader(data), Config{})
			if err != nil {
				t.Fatal(err)
			}
			var small []byte
			p := make([]byte, 7)
			for {
				n, err := r.Read(p)
				small = append(small, p[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(small, want) {
				t.Fatalf("7-byte reads: %d bytes decoded, want %d", len(small), len(want))
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// encode compresses data with the reference encoder.
func encode(t testing.TB, data []byte, cfg xz.WriterConfig) []byte {
	var buf bytes.Buffer
	w, err := cfg.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestReferenceEncoder round-trips what the reference encoder writes with
// every check, small dictionaries (the window wraps), every literal and
// position setting and small blocks.
func TestReferenceEncoder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	text := []byte(strings.Repeat("the quick brown fox jumps over the lazy nix store path ", 3000))
	for i := range text {
		if rng.IntN(50) == 0 {
			text[i] = byte(rng.IntN(256))
		}
	}
	noise := make([]byte, 100000)
	for i := range noise {
		noise[i] = byte(rng.IntN(4))
	}
	cases := []struct {
		name string
		cfg  xz.WriterConfig
	}{
		{"default", xz.WriterConfig{}},
		{"none", xz.WriterConfig{CheckSum: xz.None}},
		{"crc32", xz.WriterConfig{CheckSum: xz.CRC32}},
		{"sha256", xz.WriterConfig{CheckSum: xz.SHA256}},
		{"dict4k", xz.WriterConfig{DictCap: 4096}},
		{"lc0-lp4-pb4", xz.WriterConfig{Properties: &lzma.Properties{LC: 0, LP: 4, PB: 4}}},
		{"lc4-lp0-pb0", xz.WriterConfig{Properties: &lzma.Properties{LC: 4, LP: 0, PB: 0}}},
		{"blocks", xz.WriterConfig{BlockSize: 10000, DictCap: 8192}},
	}
	for _, c := range cases {
		for _, in := range [][]byte{text, noise, {}, {42}} {
			t.Run(c.name, func(t *testing.T) {
				data := encode(t, in, c.cfg)
				got, err := decodeAll(data, Config{}, 1<<30)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, in) {
					t.Fatalf("%d bytes decoded, want %d (first difference at %d)", len(got), len(in), firstDiff(got, in))
				}
			})
		}
	}
}

// TestCorrupt: a change anywhere in a file is an error, never other
// output, and the error names a byte offset.
func TestCorrupt(t *testing.T) {
	data := testdata(t, "text-6.xz")
	want, _ := reference(data, false, 1<<30)
	rng := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		bad := bytes.Clone(data)
		i := rng.IntN(len(bad))
		bad[i] ^= byte(1 + rng.IntN(255))
		got, err := decodeAll(bad, Config{}, 1<<30)
		if err == nil {
			t.Fatalf("byte %d changed: no error (%d bytes, same: %v)", i, len(got), bytes.Equal(got, want))
		}
		if !errors.Is(err, ErrFormat) && !strings.Contains(err.Error(), "xz: byte ") {
			t.Fatalf("byte %d changed: %v, with no offset", i, err)
		}
	}
	for _, n := range []int{0, 5, 12, 100, len(data) / 2, len(data) - 1} {
		if _, err := decodeAll(data[:n], Config{}, 1<<30); err == nil {
			t.Errorf("cut at %d: no error", n)
		}
	}
	if _, err := decodeAll(append(bytes.Clone(data), "junk"...), Config{}, 1<<30); err == nil {
		t.Error("trailing junk: no error")
	}
	if got, err := decodeAll(append(bytes.Clone(data), "junk"...), Config{SingleStream: true}, 1<<30); err != nil || !bytes.Equal(got, want) {
		t.Errorf("trailing junk, one stream: %v", err)
	}
}

// TestSingleStreamLeavesTheRest: with SingleStream, the bufio.Reader
// given is read to the end of the stream and no further (the uki package
// reads what follows a kernel's payload).
func TestSingleStreamLeavesTheRest(t *testing.T) {
	data := testdata(t, "text-6.xz")
	br := bufio.NewReaderSize(bytes.NewReader(append(bytes.Clone(data), "what follows"...)), 4096)
	r, err := NewReader(br, Config{SingleStream: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(br)
	if string(rest) != "what follows" {
		t.Fatalf("after the stream: %q", rest)
	}
}

// TestMaxDict refuses a dictionary over the bound before decoding.
func TestMaxDict(t *testing.T) {
	data := testdata(t, "text-6.xz")
	_, err := decodeAll(data, Config{MaxDict: 1 << 20}, 1<<30)
	if err == nil || !strings.Contains(err.Error(), "8 MiB dictionary") {
		t.Fatalf("err = %v", err)
	}
	if _, err := decodeAll(data, Config{MaxDict: 8 << 20}, 1<<30); err != nil {
		t.Fatal(err)
	}
}

// TestWindowGrows: a block header asking for a 4 GiB dictionary costs
// what the output needs. (The header is rewritten: the reference encoder
// allocates the dictionary it is given, 1 GiB took it seconds.)
func TestWindowGrows(t *testing.T) {
	data := encode(t, []byte(strings.Repeat("ab", 1000)), xz.WriterConfig{DictCap: 4096})
	// The first block header follows the 12-byte stream header: size,
	// flags, the LZMA2 filter (id 0x21, one byte of properties), padding,
	// CRC32.
	h := data[12 : 12+(int(data[12])+1)*4]
	i := bytes.Index(h, []byte{0x21, 0x01})
	if i < 0 {
		t.Fatalf("no LZMA2 filter in the block header % x", h)
	}
	h[i+2] = 40 // 4 GiB - 1
	binary.LittleEndian.PutUint32(h[len(h)-4:], crc32.ChecksumIEEE(h[:len(h)-4]))
	r, err := NewReader(bytes.NewReader(data), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatal(err)
	}
	if r.z.w.size < 1<<30 { // the header's 4 GiB, held to a 32-bit int
		t.Fatalf("the window's bound is %d, not the header's", r.z.w.size)
	}
	if n := len(r.z.w.buf); n > 1<<20 {
		t.Fatalf("window of %d bytes for 2,000 bytes of output", n)
	}
}

func BenchmarkDecode(b *testing.B) {
	file := "testdata/text-6.xz"
	if f := os.Getenv("XZDEC_BENCH_FILE"); f != "" {
		file = f
	}
	data, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	want, _ := reference(data, false, 1<<30)
	b.SetBytes(int64(len(want)))
	b.Run("xzdec", func(b *testing.B) {
		for b.Loop() {
			r, _ := NewReader(bytes.NewReader(data), Config{})
			if n, err := io.Copy(io.Discard, r); err != nil || n != int64(len(want)) {
				b.Fatal(err, n)
			}
		}
	})
	b.Run("ulikunitz", func(b *testing.B) {
		for b.Loop() {
			r, _ := xz.NewReader(bytes.NewReader(data))
			if n, err := io.Copy(io.Discard, r); err != nil || n != int64(len(want)) {
				b.Fatal(err, n)
			}
		}
	})
}

// TestSize: the indexes give the decoded size of every file made by xz,
// without decoding; a cut or a changed byte in the index is an error,
// and so is a dictionary over the bound.
func TestSize(t *testing.T) {
	for _, rf := range realFiles(t) {
		f, data, want := rf.name, rf.data, rf.want
		n, err := Size(bytes.NewReader(data), int64(len(data)), 64<<20)
		if err != nil || n != int64(len(want)) {
			t.Errorf("%s: Size = %d, %v; want %d", f, n, err, len(want))
		}
		if _, err := Size(bytes.NewReader(data[:len(data)-1]), int64(len(data)-1), 0); err == nil {
			t.Errorf("%s: cut by a byte: no error", f)
		}
		bad := bytes.Clone(data)
		bad[len(bad)-14] ^= 0x40 // the last index's CRC32
		if _, err := Size(bytes.NewReader(bad), int64(len(bad)), 0); err == nil {
			t.Errorf("%s: a changed index: no error", f)
		}
	}
	data := testdata(t, "text-6.xz")
	if _, err := Size(bytes.NewReader(data), int64(len(data)), 1<<20); err == nil || !strings.Contains(err.Error(), "8 MiB dictionary") {
		t.Errorf("a 1 MiB bound on xz -6: %v", err)
	}
}
