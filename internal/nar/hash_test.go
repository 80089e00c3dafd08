package nar

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	gonar "github.com/nix-community/go-nix/pkg/nar"

	"github.com/nixgate/nixgate/internal/nixcli"
)

// variedTree writes a tree meant to catch any difference between dumpPath
// and Nix: every node type, empty files and directories, sizes around the
// 8-byte padding, the buffer size and the buffers in flight,
// framing that straddles buffers, names that sort differently by bytes
// than by any other rule, and names with unusual bytes.
func variedTree(t testing.TB, dotdot bool) string {
	t.Helper()
	sized := func(n int, seed byte) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = seed + byte(i*7+i/251)
		}
		return string(b)
	}
	files := map[string]file{
		"empty":                     {},
		"emptydir":                  {dir: true},
		"nested/emptydir/deeper":    {dir: true},
		"nested/a/b/c/d.txt":        {content: "deep\n"},
		"exec.sh":                   {content: "#!/bin/sh\necho hi\n", exec: true},
		"exec-empty":                {exec: true},
		"link-rel":                  {link: "exec.sh"},
		"link-abs":                  {link: "/nix/store/0c0wa3p2hm0rkfn1z4vvw3mbvks5ba1z-glibc-2.39/lib"},
		"link-dangling":             {link: "does/not/exist"},
		"link-dir":                  {link: "nested"},
		"link-long":                 {link: strings.Repeat("x/", 300) + "end"},
		"nested/link-up":            {link: "../exec.sh"},
		"a/x":                       {content: "a directory named a sorts before a-b"},
		"a-b":                       {content: "a-b"},
		"a.txt":                     {content: "a.txt"},
		"a0":                        {content: "a0"},
		"B":                         {content: "B"},
		"name with spaces":          {content: "spaces"},
		"new\nline":                 {content: "newline in name"},
		"tab\there":                 {content: "tab"},
		"\x01ctrl":                  {content: "control byte"},
		"high\xff\xfebytes":         {content: "not UTF-8"},
		"ünïcødé-名前":                {content: "UTF-8"},
		"-dash":                     {content: "leading dash"},
		".hidden":                   {content: "dot file"},
		strings.Repeat("n", 255):    {content: "longest name"},
		"sizes/7":                   {content: sized(7, 1)},
		"sizes/8":                   {content: sized(8, 2)},
		"sizes/9":                   {content: sized(9, 3)},
		"sizes/4095":                {content: sized(4095, 4)},
		"sizes/chunk-minus-1":       {content: sized(dumpChunk-1, 5)},
		"sizes/chunk":               {content: sized(dumpChunk, 6), exec: true},
		"sizes/chunk-plus-3":        {content: sized(dumpChunk+3, 7)},
		"sizes/mib-plus-5":          {content: sized(1<<20+5, 8)},
		"sizes/two-chunks-minus-13": {content: sized(2*dumpChunk-13, 9)},
		"sizes/queue-plus-11":       {content: sized((dumpQueue+2)*dumpChunk+11, 10)},
	}
	// Small files whose framing straddles buffer boundaries.
	for i := range 3000 {
		files[fmt.Sprintf("many/%04d", i)] = file{content: sized(i%701, byte(i)), exec: i%5 == 0}
	}
	if dotdot {
		files["..dots"] = file{content: "two dots"}
	}
	return writeTree(t, files)
}

// TestDumpMatchesGoNix checks that dumpPath writes exactly the bytes of
// go-nix's reference NAR writer, for a varied tree and for single files
// and links as the root. The tree has no name starting with "..": go-nix's
// writer rejects those ("additional header detected"), Nix does not
// (TestDumpMatchesNix has one).
func TestDumpMatchesGoNix(t *testing.T) {
	tree := variedTree(t, false)
	for name, p := range map[string]string{
		"tree":       tree,
		"subdir":     filepath.Join(tree, "nested"),
		"small file": filepath.Join(tree, "exec.sh"),
		"empty file": filepath.Join(tree, "empty"),
		"large file": filepath.Join(tree, "sizes/mib-plus-5"),
		"link":       filepath.Join(tree, "link-dangling"),
		"empty dir":  filepath.Join(tree, "emptydir"),
	} {
		t.Run(name, func(t *testing.T) {
			var want, got bytes.Buffer
			if err := gonar.DumpPath(&want, p); err != nil {
				t.Fatal(err)
			}
			n, err := dumpPath(&got, p)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(got.Len()) {
				t.Errorf("dumpPath returned size %d, wrote %d bytes", n, got.Len())
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("NAR differs from go-nix's at byte %d (%d vs %d bytes)", firstDiff(got.Bytes(), want.Bytes()), got.Len(), want.Len())
			}
			h, err := HashPath(p)
			if err != nil {
				t.Fatal(err)
			}
			if h.Digest != sha256.Sum256(want.Bytes()) || h.Size != int64(want.Len()) {
				t.Errorf("HashPath = %s (%d bytes), want the hash of go-nix's NAR", h.SRI(), h.Size)
			}
		})
	}
}

// TestDumpMatchesNix checks the varied tree against Nix itself: the NAR
// `nix-store --dump` writes, byte for byte, and `nix hash path`.
func TestDumpMatchesNix(t *testing.T) {
	if !nixcli.Available() {
		t.Skip("nix is not installed (apt-get install nix-bin; make deps does it)")
	}
	tree := variedTree(t, true)
	want, err := exec.Command("nix-store", "--dump", tree).Output()
	if err != nil {
		t.Fatalf("nix-store --dump: %v", err)
	}
	var got bytes.Buffer
	if _, err := dumpPath(&got, tree); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("NAR differs from nix-store --dump at byte %d (%d vs %d bytes)", firstDiff(got.Bytes(), want), got.Len(), len(want))
	}
	sri, err := nixcli.HashPath(context.Background(), tree)
	if err != nil {
		t.Fatal(err)
	}
	h, err := HashPath(tree)
	if err != nil {
		t.Fatal(err)
	}
	if h.SRI() != sri {
		t.Errorf("HashPath = %s, nix hash path = %s", h.SRI(), sri)
	}
}

func TestHashPathErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := HashPath(filepath.Join(dir, "missing")); err == nil {
		t.Error("HashPath of a missing path: no error")
	}
	fifo := filepath.Join(dir, "tree", "fifo")
	os.MkdirAll(filepath.Dir(fifo), 0o755)
	if err := exec.Command("mkfifo", fifo).Run(); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	// Nix refuses a FIFO too ("unsupported type").
	if _, err := HashPath(filepath.Dir(fifo)); err == nil || !strings.Contains(err.Error(), "unsupported file type") {
		t.Errorf("HashPath of a tree with a FIFO: %v, want an unsupported file type error", err)
	}
	unreadable := filepath.Join(dir, "unreadable")
	os.Mkdir(unreadable, 0o755)
	os.WriteFile(filepath.Join(unreadable, "f"), []byte("x"), 0o000)
	if os.Geteuid() != 0 { // root reads anything
		if _, err := HashPath(unreadable); err == nil {
			t.Error("HashPath of an unreadable file: no error")
		}
	}
}

// BenchmarkHashPath hashes the varied tree (about 30 MB).
func BenchmarkHashPath(b *testing.B) {
	tree := variedTree(b, true)
	h, err := HashPath(tree)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(h.Size)
	for b.Loop() {
		if _, err := HashPath(tree); err != nil {
			b.Fatal(err)
		}
	}
}

// truncater truncates a file at the first write it gets: the dumper is
// then still reading it (it runs at most a few buffers ahead).
type truncater struct {
	path string
	done bool
}

func (w *truncater) Write(p []byte) (int, error) {
	if !w.done {
		w.done = true
		if err := os.Truncate(w.path, 0); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// TestDumpTruncatedWhileRead: a file that shrinks while it is read is an
// error naming it, not a NAR with a short file.
func TestDumpTruncatedWhileRead(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(p, make([]byte, 40*dumpChunk), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := dumpPath(&truncater{path: p}, p)
	if err == nil || !strings.Contains(err.Error(), "file shrank while reading") || !strings.Contains(err.Error(), p) {
		t.Fatalf("dumpPath = %v, want the file-shrank error naming %s", err, p)
	}
}
