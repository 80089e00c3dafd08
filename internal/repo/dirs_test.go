package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestDirRoots reads a tree through the directories' roots, with the
// cache room for every directory, for one, and for none: the answers
// must be those of the repository's root in each case, symlinks included.
func TestDirRoots(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "top.txt", "top")
	write(t, dir, "a/b/c.txt", "c")
	write(t, dir, "a/d.txt", "d")
	write(t, dir, "x/.git/config", "not listed")
	write(t, dir, "x/y/z.txt", "z")
	outside := t.TempDir()
	write(t, outside, "secret.txt", "outside")
	for _, l := range []struct{ name, target string }{
		{"a/b/over", "../../x/y/z.txt"},                   // up and over, inside the tree
		{"a/b/out", filepath.Join(outside, "secret.txt")}, // absolute, outside
		{"a/b/up", "../../../secret.txt"},                 // relative, outside
		{"a/linkdir", "../x/y"},                           // a directory symlink, not walked
	} {
		if err := os.Symlink(l.target, filepath.Join(dir, l.name)); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"a/b/c.txt", "a/b/out", "a/b/over", "a/b/up", "a/d.txt", "a/linkdir", "top.txt", "x/y/z.txt"}
	for _, max := range []int{1024, 1, 0} {
		r, err := Open(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		r.dirs.close()
		r.dirs.max = max
		r.untracked = nil
		if err := r.walk(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.untracked, want) {
			t.Errorf("max %d: walk = %v, want %v", max, r.untracked, want)
		}
		if n := len(r.dirs.m); n > max {
			t.Errorf("max %d: %d roots kept", max, n)
		}
		read := func(name string) (string, error) {
			f, err := r.Open(name)
			if err != nil {
				return "", err
			}
			defer f.Close()
			b, err := io.ReadAll(f)
			return string(b), err
		}
		for name, content := range map[string]string{"top.txt": "top", "a/b/c.txt": "c", "a/b/over": "z", "a/linkdir/z.txt": "z"} {
			if got, err := read(name); err != nil || got != content {
				t.Errorf("max %d: read %s = %q, %v; want %q", max, name, got, err, content)
			}
		}
		for _, name := range []string{"a/b/out", "a/b/up", "a/b/missing", "../secret.txt", "a/../../secret.txt"} {
			if got, err := read(name); err == nil {
				t.Errorf("max %d: read %s = %q, want an error", max, name, got)
			}
		}
		fi, err := r.Lstat("a/b/over")
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("max %d: Lstat a/b/over = %v, %v; want a symlink", max, fi, err)
		}
		if _, err := r.Lstat("a/b/nothing"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("max %d: Lstat of a missing file: %v", max, err)
		}
		r.Close()
		if len(r.dirs.m) != 0 {
			t.Errorf("max %d: Close left %d roots open", max, len(r.dirs.m))
		}
	}
}

// TestFilesAsFound: a walk in the background hands over every file once,
// and a failed walk ends the stream (no reader waits forever) with its
// error in Err.
func TestFilesAsFound(t *testing.T) {
	dir := t.TempDir()
	var want []string
	for i := 0; i < 30; i++ {
		name := fmt.Sprintf("d%02d/sub/f%d.txt", i%7, i)
		want = append(want, name)
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "top.txt"), nil, 0o644)
	want = append(want, "top.txt")
	slices.Sort(want)
	r, err := OpenWalk(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []string
	for n := range r.FilesAsFound() {
		if _, err := r.Lstat(n); err != nil {
			t.Errorf("Lstat(%s) while walking: %v", n, err)
		}
		got = append(got, n)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) || !slices.Equal(r.Files(), want) {
		t.Errorf("FilesAsFound = %v\nFiles = %v\nwant %v", got, r.Files(), want)
	}
	if err := r.Err(); err != nil {
		t.Errorf("Err = %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r2, err := OpenWalk(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	n := 0
	for range r2.FilesAsFound() {
		n++
	}
	if !errors.Is(r2.Err(), context.Canceled) || n > len(want) {
		t.Errorf("cancelled walk: %d files, Err = %v; want context.Canceled", n, r2.Err())
	}
}
