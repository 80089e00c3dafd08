package nar

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

// narBuilder writes NAR tokens by hand, so that tests can write what no
// writer produces.
type narBuilder struct{ b []byte }

func (n *narBuilder) u64(v uint64) *narBuilder {
	n.b = binary.LittleEndian.AppendUint64(n.b, v)
	return n
}

func (n *narBuilder) s(ss ...string) *narBuilder {
	for _, s := range ss {
		n.u64(uint64(len(s)))
		n.b = append(n.b, s...)
		n.b = append(n.b, make([]byte, pad8(uint64(len(s))))...)
	}
	return n
}

func (n *narBuilder) raw(b ...byte) *narBuilder { n.b = append(n.b, b...); return n }

func newNAR() *narBuilder { return (&narBuilder{}).s("nix-archive-1") }

// file appends a regular file node.
func (n *narBuilder) file(content string) *narBuilder {
	return n.s("(", "type", "regular", "contents", content, ")")
}

// dir appends a directory node with the given entries, each a name and
// a function writing its node.
func (n *narBuilder) dir(entries ...any) *narBuilder {
	n.s("(", "type", "directory")
	for i := 0; i < len(entries); i += 2 {
		n.s("entry", "(", "name", entries[i].(string), "node")
		entries[i+1].(func(*narBuilder))(n)
		n.s(")")
	}
	return n.s(")")
}

func fileNode(c string) func(*narBuilder) { return func(n *narBuilder) { n.file(c) } }

func readAll(t *testing.T, b []byte, lim Limits) ([]Entry, error) {
	t.Helper()
	var out []Entry
	_, err := Validate(bytes.NewReader(b), lim, func(e *Entry, r *Reader) error {
		out = append(out, *e)
		return nil
	})
	return out, err
}

// TestStrictMatchesWriter parses what nixgate's writer (which matches
// `nix-store --dump`, see dump tests) produces for a tree with every node
// type and compares it with the directory walk.
func TestStrictMatchesWriter(t *testing.T) {
	root := writeTree(t, map[string]file{
		"a.txt":      {content: "hello\n"},
		"bin/run":    {content: "#!/bin/sh\n", exec: true},
		"bin/link":   {link: "run"},
		"empty":      {dir: true},
		"z/deep/x":   {content: strings.Repeat("x", 100000)},
		"..dotdot":   {content: "a name starting with two dots is fine"},
		"zero-bytes": {content: ""},
	})
	var buf bytes.Buffer
	if _, err := dumpPath(&buf, root); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, buf.Bytes(), Limits{Size: int64(buf.Len())})
	if err != nil {
		t.Fatal(err)
	}
	dt, _ := newDirTree(root)
	var want []Entry
	for {
		e, err := dt.Next()
		if err != nil {
			break
		}
		want = append(want, *e)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("entries (-dir walk +nar):\n%s", d)
	}
	// Contents come through Read and WriteTo.
	r := NewReader(bytes.NewReader(buf.Bytes()), Limits{})
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if e.Path == "/z/deep/x" {
			var c bytes.Buffer
			if _, err := io.Copy(&c, r); err != nil || c.Len() != 100000 {
				t.Fatalf("contents of %s: %d bytes, %v", e.Path, c.Len(), err)
			}
		}
	}
}

func TestStrictRejects(t *testing.T) {
	deep := newNAR()
	for i := 0; i < 10000; i++ {
		deep.s("(", "type", "directory", "entry", "(", "name", "d", "node")
	}
	deep.file("x")
	for i := 0; i < 10000; i++ {
		deep.s(")", ")")
	}
	badPad := newNAR().s("(", "type", "regular", "contents").u64(3).raw('a', 'b', 'c', 0, 0, 1, 0, 0).s(")")
	badTokPad := newNAR().s("(").u64(4).raw('t', 'y', 'p', 'e', 0, 0, 0, 9).s("regular", "contents", "", ")")
	truncated := newNAR().s("(", "type", "regular", "contents").u64(10 << 30).raw([]byte("only a few bytes")...)
	cases := []struct {
		name   string
		nar    []byte
		lim    Limits
		reason string
		offset int64
	}{
		{"dot", newNAR().dir(".", fileNode("x")).b, Limits{}, `entry name "."`, 128},
		{"dotdot", newNAR().dir("..", fileNode("x")).b, Limits{}, `entry name ".."`, 128},
		{"empty name", newNAR().dir("", fileNode("x")).b, Limits{}, "empty entry name", 128},
		{"slash", newNAR().dir("a/b", fileNode("x")).b, Limits{}, `contains "/"`, 128},
		{"nul", newNAR().dir("a\x00b", fileNode("x")).b, Limits{}, "contains NUL", 128},
		{"duplicate", newNAR().dir("a", fileNode("1"), "a", fileNode("2")).b, Limits{}, `duplicate entry name "a"`, 0},
		{"unsorted", newNAR().dir("b", fileNode("1"), "a", fileNode("2")).b, Limits{}, `entries not sorted: "a" after "b"`, 0},
		{"padding", badPad.b, Limits{}, "non-zero padding after the file's contents", 101},
		{"token padding", badTokPad.b, Limits{}, "non-zero padding", 55},
		{"truncated 10 GB", truncated.b, Limits{}, "truncated", 0},
		{"10 GB beyond size", truncated.b, Limits{Size: int64(len(truncated.b))}, "file claims 10737418240 bytes", 88},
		{"trailing", append(newNAR().file("x").b, "garbage!"...), Limits{}, "trailing data after the root node (8 bytes)", 0},
		{"deep", deep.b, Limits{}, "nested deeper than 1024", 0},
		{"magic", (&narBuilder{}).s("nix-archive-2").file("x").b, Limits{}, `magic "nix-archive-2"`, 0},
		{"not a nar", []byte("hello, world, this is text"), Limits{}, "not a NAR", 0},
		{"unknown type", newNAR().s("(", "type", "fifo", ")").b, Limits{}, `unknown node type "fifo"`, 56},
		{"executable value", newNAR().s("(", "type", "regular", "executable", "yes", "contents", "", ")").b, Limits{}, `executable marker has the value "yes"`, 0},
		{"missing type", newNAR().s("(", ")").b, Limits{}, `expected "type", found ")"`, 0},
		{"out of order", newNAR().s("(", "type", "regular", "contents", "x", "executable", "", ")").b, Limits{}, `expected ")", found "executable"`, 0},
		{"empty target", newNAR().s("(", "type", "symlink", "target", "", ")").b, Limits{}, "empty symlink target", 0},
		{"long target", newNAR().s("(", "type", "symlink", "target", strings.Repeat("t", 5000), ")").b, Limits{}, "symlink target of 5000 bytes, longer than 4095", 0},
		{"long name", newNAR().dir(strings.Repeat("n", 256), fileNode("x")).b, Limits{}, "entry name of 256 bytes, longer than 255", 128},
		{"huge token", newNAR().u64(1 << 60).b, Limits{}, "a string of 1152921504606846976 bytes", 0},
		{"empty", nil, Limits{}, "truncated", 0},
		{"no root", newNAR().b, Limits{}, "truncated", 24},
		{"unclosed dir", newNAR().s("(", "type", "directory").b, Limits{}, "truncated", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			_, err := readAll(t, c.nar, c.lim)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a FormatError", err)
			}
			if !strings.Contains(fe.Reason, c.reason) {
				t.Errorf("reason %q does not contain %q", fe.Reason, c.reason)
			}
			if c.offset != 0 && fe.Offset != c.offset {
				t.Errorf("offset %d, want %d (%v)", fe.Offset, c.offset, err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestNarDiffRejectsMalformed: `nar diff` reads .nar files with the strict
// parser, so a NAR Nix would reject is an error, never "identical".
func TestNarDiffRejectsMalformed(t *testing.T) {
	dir := t.TempDir()
	good := newNAR().dir("a", fileNode("1"), "b", fileNode("2")).b
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	g := write("good.nar", good)
	if r, err := DiffPaths(g, write("good2.nar", good), Options{}); err != nil || !r.Identical {
		t.Fatalf("good vs good: %+v, %v", r, err)
	}
	truncated := newNAR().s("(", "type", "regular", "contents").u64(10 << 30).raw([]byte("short")...)
	for name, b := range map[string][]byte{
		"dotdot":    newNAR().dir("..", fileNode("1"), "b", fileNode("2")).b,
		"duplicate": newNAR().dir("a", fileNode("1"), "a", fileNode("1"), "b", fileNode("2")).b,
		"unsorted":  newNAR().dir("b", fileNode("2"), "a", fileNode("1")).b,
		"trailing":  append(slicesClone(good), make([]byte, 16)...),
		"truncated": truncated.b,
	} {
		p := write(name+".nar", b)
		for _, pair := range [][2]string{{g, p}, {p, p}} {
			_, err := DiffPaths(pair[0], pair[1], Options{})
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Errorf("%s: nar diff %s: err = %v, want a FormatError", name, pair, err)
			}
		}
	}
	// HashNAR reads with the same parser.
	if _, err := HashNAR(bytes.NewReader(append(slicesClone(good), 1)), nil); err == nil {
		t.Error("HashNAR accepted trailing data")
	}
}

func slicesClone(b []byte) []byte { return append([]byte(nil), b...) }

func FuzzStrictReader(f *testing.F) {
	f.Add(newNAR().dir("a", fileNode("1"), "b", func(n *narBuilder) {
		n.s("(", "type", "symlink", "target", "a", ")")
	}).b, int64(0))
	f.Add(newNAR().s("(", "type", "regular", "executable", "", "contents", "#!", ")").b, int64(200))
	f.Add(newNAR().dir("..", fileNode("x")).b, int64(0))
	f.Add([]byte("not a nar"), int64(5))
	f.Fuzz(func(t *testing.T, b []byte, size int64) {
		fuzzlimit.Default(t, func() {
			if size < 0 {
				size = 0
			}
			start := time.Now()
			r := NewReader(bytes.NewReader(b), Limits{Size: size})
			for i := 0; ; i++ {
				_, err := r.Next()
				if err != nil {
					break
				}
				io.Copy(io.Discard, r)
				if r.Offset() > int64(len(b)) {
					t.Fatalf("offset %d beyond the input's %d bytes", r.Offset(), len(b))
				}
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("%d bytes took %v", len(b), d)
			}
		})
	})
}
