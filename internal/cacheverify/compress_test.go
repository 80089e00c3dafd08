package cacheverify_test

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/nix-community/go-nix/pkg/nixbase32"
	"github.com/ulikunitz/xz"

	"github.com/nixgate/nixgate/internal/cacheverify"
	"github.com/nixgate/nixgate/internal/narinfo"
)

// TestCompressions copies paths with `nix copy --to
// 'file://DIR?compression=C&secret-key=...'` for every compression Nix
// writes and nixgate reads: every path verifies, the label matches the
// bytes, and Nix agrees.
func TestCompressions(t *testing.T) {
	f := getFixture(t)
	for _, c := range cacheverify.Compressions {
		t.Run(c, func(t *testing.T) {
			dir := filepath.Join(f.root, "compression-"+c)
			uri := "file://" + dir
			args := append([]string{"nix", xf, "nix-command", "copy", "--store", f.store, "--to", uri + "?compression=" + c + "&secret-key=" + f.secret["a"]},
				f.storePaths("lib", "app", "sig-abc")...)
			if _, err := f.run("", args...); err != nil {
				t.Fatal(err)
			}
			keys, _ := narinfo.ParseKeys([]string{f.public["a"]})
			res := verify(t, f, uri, cacheverify.Config{All: true, Decider: &cacheverify.SignaturePolicy{Keys: keys, Require: 1}})
			if len(res.Paths) != 3 {
				t.Fatalf("%d paths, want 3", len(res.Paths))
			}
			for _, p := range res.Paths {
				if p.Verdict != cacheverify.OK || p.NarChecked != cacheverify.NarFull || p.Compression != c || p.Detected != c {
					t.Errorf("%s: %s (%v), checked %s, label %s, detected %s", p.StorePath, p.Verdict, p.Problems, p.NarChecked, p.Compression, p.Detected)
				}
			}
			// Nix 2.8 writes lzma but aborts reading it back (libarchive
			// does not recognise the stream): nixgate reads it.
			if ok, msg := f.nixVerify(uri, 0, f.paths["app"]); !ok && c != "lzma" {
				t.Errorf("nix store verify: %s", msg)
			}
		})
	}
}

// TestHarmoniaEncoding serves an uncompressed cache the way harmonia
// does: `Compression: none` narinfos and NARs sent with Content-Encoding:
// zstd. It verifies.
func TestHarmoniaEncoding(t *testing.T) {
	f := getFixture(t)
	dir := filepath.Join(f.root, "harmonia")
	args := append([]string{"nix", xf, "nix-command", "copy", "--store", f.store, "--to", "file://" + dir + "?compression=none&secret-key=" + f.secret["a"]},
		f.storePaths("lib", "app")...)
	if _, err := f.run("", args...); err != nil {
		t.Fatal(err)
	}
	var encoded atomic.Int32
	fs := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, ".nar") || !strings.Contains(r.Header.Get("Accept-Encoding"), "zstd") {
			fs.ServeHTTP(w, r)
			return
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(r.URL.Path)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		enc, _ := zstd.NewWriter(nil)
		w.Header().Set("Content-Encoding", "zstd")
		w.Write(enc.EncodeAll(b, nil))
		encoded.Add(1)
	}))
	defer srv.Close()
	keys, _ := narinfo.ParseKeys([]string{f.public["a"]})
	res := verify(t, f, srv.URL, cacheverify.Config{Paths: f.storePaths("lib", "app"), Decider: &cacheverify.SignaturePolicy{Keys: keys, Require: 1}})
	for _, p := range res.Paths {
		if p.Verdict != cacheverify.OK || p.NarChecked != cacheverify.NarFull {
			t.Errorf("%s: %s %v", p.StorePath, p.Verdict, p.Problems)
		}
	}
	if encoded.Load() != 2 {
		t.Errorf("%d NARs sent zstd-encoded, want 2", encoded.Load())
	}
}

// zstdBomb is a zstd frame that decodes to prefix followed by n zero
// bytes: one raw block, then RLE blocks of 128 KiB (4 bytes each).
func zstdBomb(prefix []byte, n int64) []byte {
	const block = 128 << 10
	b := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, (17 - 10) << 3} // magic, no content size, 128 KiB window
	hdr := func(last bool, typ, size int) {
		v := uint32(size)<<3 | uint32(typ)<<1
		if last {
			v |= 1
		}
		b = append(b, byte(v), byte(v>>8), byte(v>>16))
	}
	hdr(false, 0, len(prefix))
	b = append(b, prefix...)
	for n > 0 {
		k := min(n, block)
		n -= k
		hdr(n == 0, 1, int(k))
		b = append(b, 0)
	}
	return b
}

// zstdCache is a file:// cache of one path whose .nar.zst is file, signed
// by both fixture keys, with a NarSize of 1,024 bytes.
func zstdCache(t *testing.T, f *fixture, name string, file []byte) string {
	t.Helper()
	return smallCache(t, f, name, file, "zstd", ".nar.zst")
}

// smallCache is a file:// cache of one path whose NAR file (compressed
// as label says, named with ext) is file, signed by both fixture keys,
// with a NarSize of 1,024 bytes.
func smallCache(t *testing.T, f *fixture, name string, file []byte, label, ext string) string {
	t.Helper()
	dir := filepath.Join(f.root, name)
	if err := os.MkdirAll(filepath.Join(dir, "nar"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "nix-cache-info"), []byte("StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 30\n"), 0o644)
	h := make([]byte, 20)
	rand.Read(h)
	storePath := "/nix/store/" + nixbase32.EncodeToString(h) + "-" + name
	n := &narinfoFile{path: filepath.Join(dir, hashOf(storePath)+".narinfo")}
	n.add("StorePath", storePath)
	putFile(t, dir, n, file, ext)
	n.set("Compression", label)
	n.set("NarHash", base32Hash(make([]byte, 1024)))
	n.set("NarSize", "1024")
	n.set("References", "")
	n.write(t)
	f.sign(t, dir, "a", storePath)
	f.sign(t, dir, "b", storePath)
	return dir
}

// TestZstdWindowBomb: files of a few bytes whose zstd frame declares a
// 64 MiB window, or a single segment of 64 MiB, behind a NarSize of 1 KiB:
// the decoder is held to the NAR's size and allocates kilobytes; the path
// fails.
func TestZstdWindowBomb(t *testing.T) {
	f := getFixture(t)
	raw := func(fhd byte, fields ...byte) []byte {
		b := append([]byte{0x28, 0xb5, 0x2f, 0xfd, fhd}, fields...)
		return append(b, 0x01|8<<3, 0, 0, 0, 0, 0, 0, 0, 0, 0) // one last raw block of 8 bytes: too short a NAR
	}
	for name, file := range map[string][]byte{
		"window":         raw(0x00, 16<<3),       // 2^26 bytes of window, no content size
		"window-and-fcs": raw(0x40, 16<<3, 0, 0), // ... and 256 bytes of content
		"single-segment": raw(0xa0, 0, 0, 0, 4),  // one segment of 64 MiB
	} {
		t.Run(name, func(t *testing.T) {
			dir := zstdCache(t, f, name, file)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			res := verify(t, f, "file://"+dir, cacheverify.Config{All: true})
			runtime.ReadMemStats(&after)
			if len(res.Paths) != 1 || res.Paths[0].Verdict == cacheverify.OK {
				t.Fatalf("%s: %+v", name, res.Paths)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
				t.Errorf("%s: allocated %d MiB for a %d-byte file", name, alloc>>20, len(file))
			}
		})
	}
}

// TestXZDictionary: an xz file of a few hundred bytes whose block header
// asks for a 4 GiB dictionary, behind a NarSize of 1 KiB: the window
// grows with the output, so it costs kilobytes (a decoder that allocates
// the dictionary first would take 4 GiB); the path fails on its hash.
func TestXZDictionary(t *testing.T) {
	f := getFixture(t)
	var buf bytes.Buffer
	w, err := xz.WriterConfig{DictCap: 4096, CheckSum: xz.CRC32}.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(strings.Repeat("a", 1024)))
	w.Close()
	file := buf.Bytes()
	// The first block header follows the 12-byte stream header: size,
	// flags, the LZMA2 filter (id 0x21, one byte of properties), padding,
	// CRC32.
	h := file[12 : 12+(int(file[12])+1)*4]
	i := bytes.Index(h, []byte{0x21, 0x01})
	if i < 0 {
		t.Fatalf("no LZMA2 filter in the block header % x", h)
	}
	h[i+2] = 40 // 4 GiB - 1
	binary.LittleEndian.PutUint32(h[len(h)-4:], crc32.ChecksumIEEE(h[:len(h)-4]))
	dir := smallCache(t, f, "xz-dictionary", file, "xz", ".nar.xz")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res := verify(t, f, "file://"+dir, cacheverify.Config{All: true})
	runtime.ReadMemStats(&after)
	if len(res.Paths) != 1 || res.Paths[0].Verdict != cacheverify.NarHashMismatch {
		t.Fatalf("%+v", res.Paths)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("allocated %d MiB for a %d-byte file", alloc>>20, len(file))
	}
}

// TestZstdBomb: a NAR whose one file claims 4 GiB of zeros, zstd
// compressed to 128 KiB, behind a 1 KiB NarSize: decoding stops at
// NarSize+1 bytes, and costs neither time nor memory.
func TestZstdBomb(t *testing.T) {
	f := getFixture(t)
	w := &narWriter{}
	w.strs("nix-archive-1", "(", "type", "regular", "contents")
	w.b = binary.LittleEndian.AppendUint64(w.b, 4<<30)
	file := zstdBomb(w.b, 4<<30)
	dir := zstdCache(t, f, "bomb", file)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	res := verify(t, f, "file://"+dir, cacheverify.Config{All: true})
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if len(res.Paths) != 1 || res.Paths[0].Verdict != cacheverify.NarSizeMismatch {
		t.Fatalf("bomb: %+v", res.Paths)
	}
	if d := res.Paths[0].Problems[0].Detail; !strings.Contains(d, "decoding stopped at byte 1025") {
		t.Errorf("detail %q", d)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("4 GiB zstd bomb (%d bytes compressed): %v, %d MiB allocated", len(file), elapsed, alloc>>20)
	if elapsed > 5*time.Second {
		t.Errorf("took %v", elapsed)
	}
	if alloc > 64<<20 {
		t.Errorf("allocated %d MiB", alloc>>20)
	}
	if !bytes.HasPrefix(file, []byte{0x28, 0xb5, 0x2f, 0xfd}) || len(file) > 256<<10 {
		t.Errorf("the bomb is %d bytes", len(file))
	}
}
