package repo

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOwnedWorkTree: safe.directory is left unread only for a repository
// of the user's own, found the way git finds it.
func TestOwnedWorkTree(t *testing.T) {
	dir := t.TempDir()
	r := filepath.Join(dir, "r")
	os.MkdirAll(filepath.Join(r, "sub", "deeper"), 0o755)
	git(t, r, "init", "-q")
	link := filepath.Join(dir, "link")
	if err := os.Symlink(r, link); err != nil {
		t.Fatal(err)
	}
	wt := filepath.Join(dir, "wt")
	os.MkdirAll(wt, 0o755)
	os.WriteFile(filepath.Join(wt, ".git"), []byte("gitdir: "+filepath.Join(r, ".git")+"\n"), 0o644)
	bare := filepath.Join(dir, "bare.git")
	git(t, dir, "init", "-q", "--bare", bare)
	os.MkdirAll(filepath.Join(bare, "inside"), 0o755)
	for _, tt := range []struct {
		dir  string
		want bool
	}{
		{r, true},
		{filepath.Join(r, "sub", "deeper"), true},
		{link, true},                           // judged by its target, as git does
		{wt, false},                            // a .git file: read the entries
		{filepath.Join(bare, "inside"), false}, // a bare repository on the way up
		{filepath.Join(dir, "missing"), false},
	} {
		if got := findOwned(tt.dir); got != tt.want {
			t.Errorf("findOwned(%s) = %v, want %v", tt.dir, got, tt.want)
		}
	}
	if os.Geteuid() != 0 {
		return
	}
	// Another user's repository: the entries are read, and without one
	// git refuses it with its own reason.
	other := filepath.Join(dir, "other")
	os.MkdirAll(other, 0o755)
	git(t, other, "init", "-q")
	write(t, other, "a.txt", "a\n")
	git(t, other, "add", "a.txt")
	git(t, other, "commit", "-q", "-m", "a")
	if err := filepath.Walk(other, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, 65534, 65534)
	}); err != nil {
		t.Fatal(err)
	}
	if findOwned(other) {
		t.Fatal("a repository owned by another user counts as the user's own")
	}
	_, err := Git(context.Background(), other, "rev-parse", "HEAD")
	if err == nil || !strings.Contains(err.Error(), "dubious ownership") {
		t.Fatalf("git on another user's repository: %v, want its dubious-ownership refusal", err)
	}
}
