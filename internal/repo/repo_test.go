package repo

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"vendor/**", "vendor/a/b.go", true},
		{"vendor/**", "src/vendor/a.go", false},
		{"**/testdata/**", "internal/x/testdata/a.txt", true},
		{"**/testdata/**", "testdata/a.txt", true},
		{"testdata", "internal/x/testdata/a.txt", true},
		{"*.min.js", "web/app.min.js", true},
		{"*.min.js", "web/app.js", false},
		{"docs/*.md", "docs/a.md", true},
		{"docs/*.md", "docs/sub/a.md", false},
		{"build", "build/x.o", true},
		{"/build", "build/x.o", true},
		{"src/*", "src/a/b.c", true},
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.name); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func write(t *testing.T, dir, name, data string) {
	p := filepath.Join(dir, name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOpenGit(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.txt", "a")
	write(t, dir, "sub/b.txt", "b")
	write(t, dir, ".gitignore", "ignored.txt\n")
	git(t, dir, "init", "-q")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", "x")
	write(t, dir, "new.txt", "n")
	write(t, dir, "ignored.txt", "i")
	outside := t.TempDir()
	write(t, outside, "secret.txt", "s")
	if err := os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(dir, "escape")); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "add", "escape")

	r, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.IsGit || !slices.Equal(r.Tracked(), []string{".gitignore", "a.txt", "escape", "sub/b.txt"}) || !slices.Equal(r.Untracked(), []string{"new.txt"}) {
		t.Errorf("tracked %v untracked %v", r.Tracked(), r.Untracked())
	}
	if r.Mode("escape") != "120000" || r.Mode("a.txt") != "100644" {
		t.Errorf("modes: %q %q", r.Mode("escape"), r.Mode("a.txt"))
	}
	// A symlink leading outside the root is never followed.
	if _, err := r.ReadFile("escape"); err == nil {
		t.Error("read through a symlink that leaves the repository")
	}
	if target, err := r.Readlink("escape"); err != nil || target != filepath.Join(outside, "secret.txt") {
		t.Errorf("Readlink = %q, %v", target, err)
	}
	st, err := Status(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || st[0].Path != "escape" || st[1].Path != "new.txt" {
		t.Errorf("status = %+v", st)
	}

	// A subdirectory of a repository is checked on its own.
	sub, err := Open(context.Background(), filepath.Join(dir, "sub"))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if !slices.Equal(sub.Files(), []string{"b.txt"}) {
		t.Errorf("sub files = %v", sub.Files())
	}
}

func TestOpenPlainDirectory(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a/b.txt", "b")
	write(t, dir, ".git-not/x", "x")
	r, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.IsGit || !slices.Equal(r.Files(), []string{".git-not/x", "a/b.txt"}) {
		t.Errorf("files = %v", r.Files())
	}
}
