// Package nar hashes and compares Nix archives: the NAR serialisation of
// a store path, a directory or a .nar file. Diff walks two trees in NAR
// order and explains every difference down to the file and byte, naming
// the usual causes of unreproducible builds.
package nar

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Node types, as in a NAR.
const (
	Regular   = "regular"
	Directory = "directory"
	Symlink   = "symlink"
)

// Entry is one node of a tree, in NAR terms.
type Entry struct {
	Path       string // "/" for the root, else "/a/b"
	Type       string // Regular, Directory or Symlink
	Size       int64  // regular files
	Executable bool   // regular files
	Target     string // symlinks
}

// Tree is a tree read in NAR order: Next returns the entries one by one
// (io.EOF at the end); after Next returns a regular file, Read reads its
// contents.
type Tree interface {
	Next() (*Entry, error)
	io.Reader
	Close() error
}

// narMagic is how a NAR file starts: the length-prefixed "nix-archive-1".
var narMagic = []byte("\x0d\x00\x00\x00\x00\x00\x00\x00nix-archive-1")

// StoreDir is the logical Nix store directory.
const StoreDir = "/nix/store"

// Open opens path as a tree: a directory or store path is walked, a NAR
// file is read as the archive it holds, any other file is a one-file tree.
// A symbolic link given as path (a `result` link) is followed, unless path
// is itself a store path.
func Open(path string) (Tree, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&os.ModeSymlink != 0 && !isStorePath(path) {
		resolved, err := filepath.EvalSymlinks(path)
		if err != nil {
			return nil, err
		}
		path = resolved
		if fi, err = os.Lstat(path); err != nil {
			return nil, err
		}
	}
	if fi.Mode().IsRegular() {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		br := bufio.NewReaderSize(f, 256<<10)
		head, _ := br.Peek(len(narMagic))
		if bytes.Equal(head, narMagic) {
			// The strict parser (strict.go), bounded by the file's size:
			// a file claiming more bytes than the NAR holds fails at once.
			r := NewReader(br, Limits{Size: fi.Size()})
			return &narTree{r: r, f: f, name: path}, nil
		}
		f.Close()
	}
	return newDirTree(path)
}

// isStorePath reports whether p names a store path directly (its parent
// is a directory called nix/store).
func isStorePath(p string) bool {
	return strings.HasSuffix(filepath.Dir(filepath.Clean(p)), StoreDir)
}

// narTree reads a NAR file or stream with the strict parser.
type narTree struct {
	r    *Reader
	f    *os.File
	name string
}

func (t *narTree) Next() (*Entry, error) {
	e, err := t.r.Next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("read nar %s: %w", t.name, err)
	}
	return e, nil
}

func (t *narTree) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("read nar %s: %w", t.name, err)
	}
	return n, err
}

func (t *narTree) Close() error {
	if t.f == nil {
		return nil
	}
	return t.f.Close()
}

// NewNARTree reads a NAR stream (for example the output of `nix store
// dump-path`) as a tree, with the strict parser.
func NewNARTree(r io.Reader, name string) (Tree, error) {
	return &narTree{r: NewReader(r, Limits{}), name: name}, nil
}

// dirTree walks a file system tree depth first, children sorted by name:
// the NAR order.
type dirTree struct {
	root  string
	stack []dirFrame
	first bool
	cur   *os.File
}

type dirFrame struct {
	rel   string // "" for the root
	names []string
}

func newDirTree(root string) (*dirTree, error) {
	return &dirTree{root: root, first: true}, nil
}

func (t *dirTree) closeCur() {
	if t.cur != nil {
		t.cur.Close()
		t.cur = nil
	}
}

func (t *dirTree) entry(rel string) (*Entry, error) {
	full := t.root + rel
	if rel == "/" {
		full = t.root
	}
	fi, err := os.Lstat(full)
	if err != nil {
		return nil, err
	}
	e := &Entry{Path: rel}
	switch m := fi.Mode(); {
	case m&os.ModeSymlink != 0:
		e.Type = Symlink
		if e.Target, err = os.Readlink(full); err != nil {
			return nil, err
		}
	case m.IsDir():
		e.Type = Directory
		d, err := os.Open(full)
		if err != nil {
			return nil, err
		}
		names, err := d.Readdirnames(-1)
		d.Close()
		if err != nil {
			return nil, fmt.Errorf("read directory %s: %w", full, err)
		}
		sortNames(names)
		r := rel
		if r == "/" {
			r = ""
		}
		t.stack = append(t.stack, dirFrame{rel: r, names: names})
	case m.IsRegular():
		e.Type = Regular
		e.Size = fi.Size()
		e.Executable = m&syscall.S_IXUSR != 0
		if t.cur, err = os.Open(full); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%s: unsupported file type %s (a NAR holds regular files, directories and symlinks)", full, m.Type())
	}
	return e, nil
}

func (t *dirTree) Next() (*Entry, error) {
	t.closeCur()
	if t.first {
		t.first = false
		return t.entry("/")
	}
	for len(t.stack) > 0 {
		top := &t.stack[len(t.stack)-1]
		if len(top.names) == 0 {
			t.stack = t.stack[:len(t.stack)-1]
			continue
		}
		name := top.names[0]
		top.names = top.names[1:]
		return t.entry(top.rel + "/" + name)
	}
	return nil, io.EOF
}

func (t *dirTree) Read(p []byte) (int, error) {
	if t.cur == nil {
		return 0, io.EOF
	}
	return t.cur.Read(p)
}

func (t *dirTree) Close() error {
	t.closeCur()
	t.stack = nil
	return nil
}

// sortNames sorts names bytewise, the order of a NAR directory.
func sortNames(names []string) {
	slices.Sort(names) // strings compare bytewise in Go
}

// comparePaths orders two NAR paths the way a NAR lists them: component
// by component ("/a/b" comes before "/a.txt").
func comparePaths(a, b string) int {
	for {
		if a == b {
			return 0
		}
		ai, bi := strings.IndexByte(a[1:], '/'), strings.IndexByte(b[1:], '/')
		var ac, bc string
		if a == "/" || a == "" {
			return -1
		}
		if b == "/" || b == "" {
			return 1
		}
		if ai < 0 {
			ac = a[1:]
		} else {
			ac = a[1 : ai+1]
		}
		if bi < 0 {
			bc = b[1:]
		} else {
			bc = b[1 : bi+1]
		}
		if ac != bc {
			if ac < bc {
				return -1
			}
			return 1
		}
		// Same first component: continue with the rest.
		if ai < 0 {
			return -1 // a is a prefix (ancestor) of b
		}
		if bi < 0 {
			return 1
		}
		a, b = a[ai+1:], b[bi+1:]
	}
}
