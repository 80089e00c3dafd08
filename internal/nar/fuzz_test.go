package nar

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	gonar "github.com/nix-community/go-nix/pkg/nar"
	"github.com/ulikunitz/xz"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

// Fuzzing runs in memory: the trees are NAR streams and the contents
// blobs, never temporary directories. FuzzNARDiff used to write its input
// to a fresh t.TempDir and walk it from disk, which made every execution
// a dozen file system calls on a busy machine and let the fuzzer spend
// its time minimising inputs at a few dozen executions a second; in
// memory it runs thousands.

// fuzzOptions keep one input's work small: a few KiB in memory, 1 MiB of
// expansion.
var fuzzOptions = Options{MaxInMemory: 4096, MaxExpand: 1 << 20}

// fuzzPair compares data against a variant of itself (one byte flipped
// in its second half) and against a fixed seed, as contents: every
// container reader runs on both sides.
func fuzzPair(t *testing.T, data []byte, name string) {
	fuzzlimit.Check(t, 2*time.Second, 64<<20, func() {
		o := fuzzOptions
		o.defaults()
		other := bytes.Clone(data)
		if len(other) > 0 {
			other[len(other)*3/4] ^= 0x5a
		}
		for _, b := range [][]byte{other, []byte("seed")} {
			d := newDiffer(o)
			diff, _, err := d.compare(name, memBlob(data), memBlob(b), 0)
			d.close()
			if err != nil {
				t.Fatalf("compare: %v", err)
			}
			if diff != nil {
				var sb strings.Builder
				WriteChangesText(&sb, []Change{{Path: "/" + name, Kind: Content, Content: diff}}, "")
				WriteChangesMarkdown(&sb, []Change{{Path: "/" + name, Kind: Content, Content: diff}})
			}
		}
	})
}

func seedNAR(f *testing.F) []byte {
	var seed bytes.Buffer
	dir := f.TempDir()
	os.WriteFile(filepath.Join(dir, "a"), []byte("built Sat Nov 21 05:35:06 UTC 2026 in /build/x\n"), 0o755)
	os.Symlink("a", filepath.Join(dir, "l"))
	gonar.DumpPath(&seed, dir)
	return seed.Bytes()
}

// FuzzNARDiff feeds arbitrary bytes as a NAR stream, against a valid NAR:
// a malformed archive must be an error, never a panic.
func FuzzNARDiff(f *testing.F) {
	seed := seedNAR(f)
	f.Add(seed)
	f.Add(narMagic)
	f.Add([]byte("\x1f\x8b\x08\x00garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzlimit.Check(t, 2*time.Second, 64<<20, func() {
			ta, _ := NewNARTree(bytes.NewReader(data), "a")
			tb, _ := NewNARTree(bytes.NewReader(seed), "b")
			if r, err := DiffTrees(ta, tb, fuzzOptions); err == nil {
				var b bytes.Buffer
				WriteText(&b, r)
				WriteMarkdown(&b, r)
				WriteJSON(&b, r)
			}
		})
	})
}

func gzipOf(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Name = "x.txt"
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// FuzzContent runs the content comparison, and the sniffing that picks a
// container reader, on arbitrary bytes.
func FuzzContent(f *testing.F) {
	f.Add([]byte("built 2026-12-01T08:00:00Z in /build/x\n"))
	f.Add(gzipOf([]byte("hello\n")))
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	f.Add([]byte("!<arch>\n"))
	f.Add([]byte("PK\x03\x04garbage"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzPair(t, data, "file") })
}

// FuzzCompressed: gzip, xz, bzip2 and zstd streams (and the xz index
// check), including decompression bombs cut by MaxExpand.
func FuzzCompressed(f *testing.F) {
	plain := bytes.Repeat([]byte("a reproducible line\n"), 50)
	f.Add(gzipOf(plain))
	var x bytes.Buffer
	xw, _ := xz.NewWriter(&x)
	xw.Write(plain)
	xw.Close()
	f.Add(x.Bytes())
	zw, _ := zstd.NewWriter(nil)
	f.Add(zw.EncodeAll(plain, nil))
	f.Add([]byte("BZh91AY&SY\x00\x00\x00\x00"))
	f.Add(gzipOf(make([]byte, 1<<20))) // 1 MiB of zeros in 1 KiB
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{"x.gz", "x.xz", "x.bz2", "x.zst"} {
			fuzzPair(t, data, name)
		}
	})
}

// FuzzTarZip: tar and zip archives.
func FuzzTarZip(f *testing.F) {
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	tw.WriteHeader(&tar.Header{Name: "a.txt", Mode: 0o644, Size: 6, ModTime: time.Unix(1700000000, 0)})
	tw.Write([]byte("hello\n"))
	tw.Close()
	f.Add(tb.Bytes())
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	w, _ := zw.Create("a.txt")
	w.Write([]byte("hello\n"))
	zw.Close()
	f.Add(zb.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) { fuzzPair(t, data, "x") })
}

// FuzzAr: ar archives (static libraries, .deb), GNU and BSD names.
func FuzzAr(f *testing.F) {
	f.Add([]byte("!<arch>\n//                                              8         `\nlong.o/\n\n/0              0           0     0     644     4         `\nab\n\nb.o/            0           0     0     644     2         `\nhi"))
	f.Add([]byte("!<arch>\n#1/8            0           0     0     644     10        `\nname.o\x00\x00hi"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzPair(t, data, "lib.a") })
}

// FuzzELF: ELF files (section tables, notes, DWARF).
func FuzzELF(f *testing.F) {
	if b, err := os.ReadFile("/bin/true"); err == nil && len(b) < 1<<20 {
		f.Add(b)
	}
	f.Add([]byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x3e\x00"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzPair(t, data, "x.o") })
}

// FuzzPyc: Python bytecode headers.
func FuzzPyc(f *testing.F) {
	f.Add([]byte("\xcb\x0d\x0d\x0a\x00\x00\x00\x00\x00\x5e\x6a\x69\x10\x00\x00\x00\xe3code"))
	f.Add([]byte("\x55\x0d\x0d\x0a\x01\x00\x00\x00hashhash\xe3code"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzPair(t, data, "x.pyc") })
}

// FuzzCpio: cpio archives (newc, crc, odc) and what follows the trailer.
func FuzzCpio(f *testing.F) {
	f.Add([]byte("070701000000010000a1a4000000000000000000000001000000000000000600000000000000000000000000000000000000060000000068656c6c6f000000776f726c640a0000070701000000000000000000000000000000000000000100000000000000000000000000000000000000000000000b00000000TRAILER!!!\x00\x00\x00\x00"))
	f.Add([]byte("0707070000000000000000000000000000000000010000000000000000000001300000000000TRAILER!!!\x00"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzPair(t, data, "initrd.cpio") })
}
