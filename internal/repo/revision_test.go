package repo

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// changeRepo makes a repository whose branch "feature" changes two files
// of main and leaves the rest (a subdirectory among them) as it was.
func changeRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	write(t, dir, "a.txt", "a\n")
	write(t, dir, "same/kept.txt", strings.Repeat("k", 1000))
	write(t, dir, "same/deeper/x.txt", "x")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "base")
	git(t, dir, "checkout", "-q", "-b", "feature")
	write(t, dir, "a.txt", "a\nmore\n")
	write(t, dir, "new/b.txt", strings.Repeat("b", 5000))
	if err := os.Symlink("../a.txt", filepath.Join(dir, "new", "link")); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "change")
	return dir
}

// TestOpenChangeView: the view's scope is what the change adds or modifies;
// the rest of the head's tree is there for lookups; sizes, modes, contents
// and limits are the head's, read without `ls-tree -l`.
func TestOpenChangeView(t *testing.T) {
	dir := changeRepo(t)
	r, err := OpenChange(context.Background(), dir, "main", "feature")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, want := strings.Join(r.Files(), " "), "a.txt new/b.txt new/link"; got != want {
		t.Errorf("Files = %q, want %q", got, want)
	}
	if got, want := strings.Join(r.AllFiles(), " "), "a.txt new/b.txt new/link same/deeper/x.txt same/kept.txt"; got != want {
		t.Errorf("AllFiles = %q, want %q", got, want)
	}
	if err := r.Change.CountCommits(context.Background(), dir); err != nil || r.Change.Commits != 1 || len(r.Change.Entries()) != 3 {
		t.Errorf("change: %d commits (%v), %d entries", r.Change.Commits, err, len(r.Change.Entries()))
	}
	if r.Change.BaseHash == r.Change.HeadHash || r.Change.MB != r.Change.BaseHash || len(r.Change.HeadHash) != 40 {
		t.Errorf("ends: base %s head %s merge base %s", r.Change.BaseHash, r.Change.HeadHash, r.Change.MB)
	}
	for name, size := range map[string]int64{"a.txt": 7, "new/b.txt": 5000, "same/kept.txt": 1000, "same/deeper/x.txt": 1, "new/link": 8} {
		fi, err := r.Lstat(name)
		if err != nil {
			t.Fatalf("Lstat %s: %v", name, err)
		}
		if fi.Size() != size {
			t.Errorf("Lstat %s: size %d, want %d", name, fi.Size(), size)
		}
	}
	if fi, _ := r.Lstat("new/link"); fi.Mode()&fs.ModeSymlink == 0 || r.Mode("new/link") != "120000" {
		t.Errorf("new/link: mode %v, git mode %q", fi.Mode(), r.Mode("new/link"))
	}
	if _, err := r.Lstat("nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Lstat of a missing file: %v", err)
	}
	if !r.Exists("same/kept.txt") || r.InScope("same/kept.txt") || !r.IsTracked("same/kept.txt") {
		t.Error("same/kept.txt: want in the tree, out of the scope, tracked")
	}
	// A symlink is followed inside the tree.
	data, err := r.ReadFile("new/link")
	if err != nil || string(data) != "a\nmore\n" {
		t.Errorf("ReadFile new/link = %q, %v", data, err)
	}
	// The limit applies before the read, from the object's size.
	r.Limits[KindText] = 4096
	var tl *TooLargeError
	if _, err := r.ReadFile("new/b.txt"); !errors.As(err, &tl) || tl.Size != 5000 || tl.Path != "new/b.txt" {
		t.Errorf("ReadFile over the limit: %v", err)
	}
	if head, err := r.ReadHead("new/b.txt", 3); err != nil || string(head) != "bbb" {
		t.Errorf("ReadHead = %q, %v", head, err)
	}
	if err := r.Err(); err != nil {
		t.Errorf("Err = %v", err)
	}
}

// TestOpenChangeTreeError: when the head's tree cannot be read (an object
// is missing) although the change's diff can, the change's own files still
// read (the tree is listed only for files outside the change); a lookup
// outside it lists the tree, fails, and the view says so in Err rather
// than showing an empty tree as if it were the truth.
func TestOpenChangeTreeError(t *testing.T) {
	dir := changeRepo(t)
	out, err := exec.Command("git", "-C", dir, "rev-parse", "feature:same/deeper").Output()
	if err != nil {
		t.Fatal(err)
	}
	oid := strings.TrimSpace(string(out))
	// The subtree is the same on both sides, so diff-tree never opens it;
	// ls-tree -r does.
	if err := os.Remove(filepath.Join(dir, ".git", "objects", oid[:2], oid[2:])); err != nil {
		t.Fatal(err)
	}
	r, err := OpenChange(context.Background(), dir, "main", "feature")
	if err != nil {
		t.Fatalf("OpenChange: %v", err)
	}
	defer r.Close()
	if got := strings.Join(r.Files(), " "); got != "a.txt new/b.txt new/link" {
		t.Errorf("Files = %q: the scope comes from the diff", got)
	}
	if b, err := r.ReadFile("new/link"); err != nil || string(b) != "a\nmore\n" {
		t.Errorf("ReadFile(new/link) = %q, %v: the change's files need no tree listing", b, err)
	}
	if err := r.Err(); err != nil {
		t.Fatalf("Err = %v before anything outside the change was asked for", err)
	}
	if r.entries != nil {
		t.Error("the whole tree was listed for the change's own files")
	}
	if r.Exists("same/kept.txt") {
		t.Error("Exists(same/kept.txt) on a tree that could not be listed")
	}
	if err := r.Err(); err == nil || !strings.Contains(err.Error(), "read the tree of feature") {
		t.Fatalf("Err = %v, want the tree's error", err)
	}
	if _, err := r.ReadFile("same/kept.txt"); err == nil {
		t.Error("ReadFile outside the change succeeded on a view whose tree failed")
	}
}

// TestOpenStagedSizes: the index view reads sizes from the objects when
// asked, so that limits apply before a read.
func TestOpenStagedSizes(t *testing.T) {
	dir := changeRepo(t)
	write(t, dir, "staged.txt", strings.Repeat("s", 300))
	git(t, dir, "add", "staged.txt")
	r, err := OpenStaged(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := strings.Join(r.Files(), " "); got != "staged.txt" {
		t.Errorf("Files = %q", got)
	}
	for name, size := range map[string]int64{"staged.txt": 300, "same/kept.txt": 1000} {
		if fi, err := r.Lstat(name); err != nil || fi.Size() != size {
			t.Errorf("Lstat %s: %v, %v; want size %d", name, fi, err, size)
		}
	}
	f, err := r.Open("staged.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if data, _ := io.ReadAll(f); len(data) != 300 {
		t.Errorf("read %d bytes", len(data))
	}
}

// TestParseLsTree reads both of ls-tree's forms.
func TestParseLsTree(t *testing.T) {
	oid := strings.Repeat("e", 40)
	with := parseLsTree([]byte("100644 blob " + oid + "      12\ta b.txt\x00160000 commit " + oid + "       -\tlib\x00"))
	if e := with["a b.txt"]; e.size != 12 || e.mode != "100644" || e.oid != oid {
		t.Errorf("with -l: %+v", e)
	}
	if e := with["lib"]; e.size != 0 || e.mode != "160000" {
		t.Errorf("submodule: %+v", e)
	}
	without := parseLsTree([]byte("100755 blob " + oid + "\tbin/run\x00"))
	if e := without["bin/run"]; e.size != -1 || e.mode != "100755" {
		t.Errorf("without -l: %+v", e)
	}
	if bad := parseLsTree([]byte("100644 blob\tx\x00100644 blob " + oid + " 1 2\ty\x00")); len(bad) != 0 {
		t.Errorf("malformed records parsed: %v", bad)
	}
}

// TestObjectsOnly: the git commands that read objects alone skip the
// filter configuration; anything that may convert work-tree files keeps it.
func TestObjectsOnly(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want bool
	}{
		{[]string{"rev-parse", "--verify", "HEAD"}, true},
		{[]string{"-c", "core.deltaBaseCacheLimit=12m", "log", "--raw"}, true},
		{[]string{"cat-file", "--batch"}, true},
		{[]string{"cat-file", "--batch-check=%(objectsize)"}, true},
		{[]string{"cat-file", "--filters", "HEAD:a"}, false},
		{[]string{"cat-file", "--textconv", "HEAD:a"}, false},
		{[]string{"cat-file", "--batch", "--path=a"}, false},
		{[]string{"status", "--porcelain"}, false},
		{[]string{"ls-files", "-z"}, false},
		{[]string{"diff", "--cached"}, false},
		{[]string{"archive", "HEAD"}, false},
		{[]string{"-c", "x=y"}, false},
		{nil, false},
	} {
		if got := objectsOnly(tt.args); got != tt.want {
			t.Errorf("objectsOnly(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
}

// TestOpenChangeEnds: each end that is not a commit is named, whichever
// way it fails.
func TestOpenChangeEnds(t *testing.T) {
	dir := changeRepo(t)
	for _, tt := range []struct{ base, head, want string }{
		{"nope", "feature", "base: "},
		{"main", "nope", "head: "},
		{"main", "feature^{tree}", "head: "},
		{"main", "feature:a.txt", "head: "},
		{"main\nfeature", "feature", "base: "},
	} {
		r, err := OpenChange(context.Background(), dir, tt.base, tt.head)
		if err == nil {
			r.Close()
			t.Errorf("OpenChange(%q, %q) succeeded", tt.base, tt.head)
			continue
		}
		if !errors.Is(err, ErrUnknownRevision) || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("OpenChange(%q, %q) = %v, want %q... wrapping ErrUnknownRevision", tt.base, tt.head, err, tt.want)
		}
	}
	// Any revision syntax rev-parse takes.
	r, err := OpenChange(context.Background(), dir, "feature~1", "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := strings.Join(r.Files(), " "); got != "a.txt new/b.txt new/link" {
		t.Errorf("feature~1..HEAD: Files = %q", got)
	}
}
