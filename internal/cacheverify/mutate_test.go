package cacheverify_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/nixgate/nixgate/internal/cacheverify"
	"github.com/nixgate/nixgate/internal/nar"
)

// mutation is one path of the mutated cache: what is done to it and the
// verdict nixgate must give.
type mutation struct {
	name    string
	want    string
	signers []string
	// pre changes signed fields or the NAR (before signing); post changes
	// unsigned fields and Sig lines (after).
	pre  func(t *testing.T, dir string, n *narinfoFile)
	post func(t *testing.T, f *fixture, dir string, n *narinfoFile)
}

var ab = []string{"a", "b"}

// withTree rewrites a path's NAR through its tree.
func withTree(edit func(root *node)) func(t *testing.T, dir string, n *narinfoFile) {
	return func(t *testing.T, dir string, n *narinfoFile) {
		root := parseTree(t, readNAR(t, dir, n))
		edit(root)
		replaceNAR(t, dir, n, serialise(root))
	}
}

func withNAR(edit func(t *testing.T, b []byte) []byte) func(t *testing.T, dir string, n *narinfoFile) {
	return func(t *testing.T, dir string, n *narinfoFile) {
		replaceNAR(t, dir, n, edit(t, readNAR(t, dir, n)))
	}
}

func addToInt(n *narinfoFile, k string, d int) {
	v, _ := strconv.Atoi(n.get(k))
	n.set(k, strconv.Itoa(v+d))
}

var mutations = []mutation{
	{name: "lib", want: cacheverify.OK, signers: ab},
	{name: "app", want: cacheverify.OK, signers: ab},
	{name: "hidden", want: cacheverify.HiddenReference, signers: ab},
	{name: "needs-gone", want: cacheverify.MissingReference, signers: ab},
	// 3 keys in mixed subsets, --require 2.
	{name: "sig-abc", want: cacheverify.OK, signers: []string{"a", "b", "c"}},
	{name: "sig-ab", want: cacheverify.OK, signers: ab},
	{name: "sig-bc", want: cacheverify.OK, signers: []string{"b", "c"}},
	{name: "sig-a", want: cacheverify.Untrusted, signers: []string{"a"}},
	{name: "sig-none", want: cacheverify.Untrusted},
	{name: "sig-a-x", want: cacheverify.Untrusted, signers: []string{"a", "x"}},
	// A duplicated Sig line never counts twice.
	{name: "sig-dup", want: cacheverify.Untrusted, signers: []string{"a"}, post: func(t *testing.T, f *fixture, dir string, n *narinfoFile) {
		n.add("Sig", n.get("Sig"))
	}},
	// The same signature spelled without its base64 padding: Nix 2.8
	// decodes it to the same bytes and counts it as a second signature.
	{name: "sig-respelled", want: cacheverify.Forged, signers: []string{"a"}, post: func(t *testing.T, f *fixture, dir string, n *narinfoFile) {
		n.add("Sig", strings.TrimRight(n.get("Sig"), "="))
	}},
	// A made-up signature claiming trusted key c, next to two valid ones.
	{name: "forged", want: cacheverify.Forged, signers: ab, post: func(t *testing.T, f *fixture, dir string, n *narinfoFile) {
		n.add("Sig", randomSig("key-c"))
	}},
	// A signed field changed after signing.
	{name: "forged-narsize", want: cacheverify.Forged, signers: ab, post: func(t *testing.T, f *fixture, dir string, n *narinfoFile) {
		addToInt(n, "NarSize", 1)
	}},
	// NarSize±1, signed: the signer lied about the size.
	{name: "narsize-plus", want: cacheverify.NarSizeMismatch, signers: ab, pre: func(t *testing.T, dir string, n *narinfoFile) { addToInt(n, "NarSize", 1) }},
	{name: "narsize-minus", want: cacheverify.NarSizeMismatch, signers: ab, pre: func(t *testing.T, dir string, n *narinfoFile) { addToInt(n, "NarSize", -1) }},
	// One flipped byte of a file's contents; the unsigned FileHash and
	// FileSize are updated to the new file, as a cache's writer can.
	{name: "nar-flip", want: cacheverify.NarHashMismatch, signers: ab, post: func(t *testing.T, f *fixture, dir string, n *narinfoFile) {
		b := readNAR(t, dir, n)
		i := bytes.Index(b, []byte("nar-flip\n"))
		b[i] ^= 0x20
		putFile(t, dir, n, xzBytes(t, b), ".nar.xz")
	}},
	{name: "filehash", want: cacheverify.FileHashMismatch, signers: ab, post: func(t *testing.T, f *fixture, dir string, n *narinfoFile) {
		n.set("FileHash", base32Hash([]byte("another file")))
	}},
	{name: "filesize", want: cacheverify.FileSizeMismatch, signers: ab, post: func(t *testing.T, f *fixture, dir string, n *narinfoFile) {
		addToInt(n, "FileSize", 1)
	}},
	// xz bytes labelled zstd.
	{name: "label-zstd", want: cacheverify.CompressionMismatch, signers: ab, post: func(t *testing.T, f *fixture, dir string, n *narinfoFile) {
		n.set("Compression", "zstd")
	}},
	{name: "label-lz4", want: cacheverify.UnsupportedCompression, signers: ab, post: func(t *testing.T, f *fixture, dir string, n *narinfoFile) {
		n.set("Compression", "lz4")
	}},
	// The compressed stream cut in half; FileHash/FileSize describe the
	// cut file.
	{name: "truncated", want: cacheverify.NarMalformed, signers: ab, post: func(t *testing.T, f *fixture, dir string, n *narinfoFile) {
		b, err := os.ReadFile(filepath.Join(dir, n.get("URL")))
		if err != nil {
			t.Fatal(err)
		}
		putFile(t, dir, n, b[:len(b)/2], ".nar.xz")
	}},
	// Malformed NARs signed by trusted keys (a buggy or hostile builder):
	// NarHash and NarSize match, only the strict walk sees them.
	{name: "padding", want: cacheverify.NarMalformed, signers: ab, pre: withNAR(func(t *testing.T, b []byte) []byte {
		pat := append([]byte{2, 0, 0, 0, 0, 0, 0, 0, 'a', '\n'}, make([]byte, 6)...)
		i := bytes.Index(b, pat)
		if i < 0 {
			t.Fatal("no d/a contents in the NAR")
		}
		b[i+len(pat)-1] = 1
		return b
	})},
	{name: "unsorted", want: cacheverify.NarMalformed, signers: ab, pre: withTree(func(r *node) {
		d := r.child("d")
		d.entries[0], d.entries[1] = d.entries[1], d.entries[0]
	})},
	{name: "duplicate", want: cacheverify.NarMalformed, signers: ab, pre: withTree(func(r *node) { r.child("d").entries[1].name = "a" })},
	{name: "dotdot", want: cacheverify.NarMalformed, signers: ab, pre: withTree(func(r *node) { r.child("d").entries[0].name = ".." })},
	{name: "slash", want: cacheverify.NarMalformed, signers: ab, pre: withTree(func(r *node) { r.child("d").entries[2].name = "c/x" })},
	{name: "deep", want: cacheverify.NarMalformed, signers: ab, pre: withTree(func(r *node) {
		n := &node{typ: nar.Regular, contents: []byte("bottom\n")}
		for i := 0; i < 10000; i++ {
			n = &node{typ: nar.Directory, entries: []entry{{"d", n}}}
		}
		*r = *n
	})},
	{name: "trailing", want: cacheverify.NarMalformed, signers: ab, pre: withNAR(func(t *testing.T, b []byte) []byte {
		return append(b, "trailing"...)
	})},
	// URL escapes: the NAR itself is fine and sits outside the cache.
	{name: "url-dotdot", want: cacheverify.URLEscape, signers: ab, post: func(t *testing.T, f *fixture, dir string, n *narinfoFile) {
		out := filepath.Join(filepath.Dir(dir), "outside")
		os.MkdirAll(out, 0o755)
		name := filepath.Base(n.get("URL"))
		if err := os.Rename(filepath.Join(dir, n.get("URL")), filepath.Join(out, name)); err != nil {
			t.Fatal(err)
		}
		n.set("URL", "../outside/"+name)
	}},
	{name: "url-absolute", want: cacheverify.URLEscape, signers: ab, post: func(t *testing.T, f *fixture, dir string, n *narinfoFile) {
		n.set("URL", "file://"+filepath.Join(dir, n.get("URL")))
	}},
	// The narinfo filed under another hash.
	{name: "renamed", want: cacheverify.StorePathMismatch, signers: ab, post: func(t *testing.T, f *fixture, dir string, n *narinfoFile) {
		n.write(t)
		to := filepath.Join(dir, renamedHash(f)+".narinfo")
		if err := os.Rename(n.path, to); err != nil {
			t.Fatal(err)
		}
		n.path = to
	}},
	// A second StorePath line (Nix takes the last one).
	{name: "malformed", want: cacheverify.NarinfoMalformed, signers: ab, post: func(t *testing.T, f *fixture, dir string, n *narinfoFile) {
		n.add("StorePath", n.get("StorePath"))
	}},
}

// renamedHash is the hash the "renamed" narinfo is filed under: its own
// with the first character changed.
func renamedHash(f *fixture) string {
	h := []byte(hashOf(f.paths["renamed"]))
	if h[0] == '0' {
		h[0] = '1'
	} else {
		h[0] = '0'
	}
	return string(h)
}

// requestPath is the store path to ask for a mutation by.
func requestPath(f *fixture, name string) string {
	if name == "renamed" {
		return "/nix/store/" + renamedHash(f) + "-renamed"
	}
	return f.paths[name]
}

var (
	mutOnce sync.Once
	mutDir  string
)

// mutatedCache applies every mutation to a copy of the base cache, signs
// with the real Nix, and returns its directory.
func mutatedCache(t *testing.T) (*fixture, string) {
	f := getFixture(t)
	mutOnce.Do(func() {
		dir := filepath.Join(f.root, "mutated")
		copyDir(t, f.base, dir)
		bySigner := map[string][]string{}
		for _, m := range mutations {
			n := readNarinfo(t, dir, f.paths[m.name])
			n.del("Sig")
			if m.pre != nil {
				m.pre(t, dir, n)
			}
			n.write(t)
			for _, k := range m.signers {
				bySigner[k] = append(bySigner[k], f.paths[m.name])
			}
		}
		for _, k := range []string{"a", "b", "c", "x"} {
			f.sign(t, dir, k, bySigner[k]...)
		}
		for _, m := range mutations {
			if m.post == nil {
				continue
			}
			n := readNarinfo(t, dir, f.paths[m.name])
			m.post(t, f, dir, n)
			n.write(t)
		}
		if err := os.Remove(filepath.Join(dir, hashOf(f.paths["gone"])+".narinfo")); err != nil {
			t.Fatal(err)
		}
		mutDir = dir
	})
	if mutDir == "" {
		t.Fatal("building the mutated cache failed")
	}
	return f, mutDir
}
