package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPreCommitHook runs the hook of .pre-commit-hooks.yaml with the real
// pre-commit (`pre-commit try-repo` on this repository): a commit that
// stages a compiled binary is refused, and a clean one passes. pre-commit
// builds nixgate from this checkout with its golang language support.
func TestPreCommitHook(t *testing.T) {
	pc, err := exec.LookPath("pre-commit")
	if err != nil {
		t.Fatalf("pre-commit is not installed (make test installs the Debian package): %v", err)
	}
	self, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(self, ".git")); err != nil {
		t.Fatalf("this test runs from a git checkout of nixgate: %v", err)
	}
	dir := t.TempDir()
	home := t.TempDir()
	goenv := func(name string) string {
		out, _ := exec.Command("go", "env", name).Output()
		return strings.TrimSpace(string(out))
	}
	// An empty global configuration of the test's own: never /dev/null,
	// which a git that writes its global configuration would replace.
	gitconfig := filepath.Join(t.TempDir(), "gitconfig")
	os.WriteFile(gitconfig, nil, 0o644)
	env := append(os.Environ(), "PRE_COMMIT_HOME="+home, "GIT_CONFIG_GLOBAL="+gitconfig, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org",
		// Reuse this machine's module and build caches: pre-commit's own
		// GOPATH would download every module again.
		"GOMODCACHE="+goenv("GOMODCACHE"), "GOCACHE="+goenv("GOCACHE"), "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
	run := func(name string, args ...string) (string, error) {
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(name string, args ...string) {
		if out, err := run(name, args...); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	must("git", "init", "-q", "-b", "main")
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("hello\n"), 0o644)
	must("git", "add", "README.md")
	out, err := run(pc, "try-repo", self, "nixgate", "--verbose")
	if err != nil || !strings.Contains(out, "Passed") {
		t.Fatalf("a clean commit: %v\n%s", err, out)
	}
	must("git", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "init")
	elf := "\x7fELF\x02\x01\x01\x00" + strings.Repeat("\x00", 56)
	os.WriteFile(filepath.Join(dir, "tool"), []byte(elf), 0o755)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not staged\n"), 0o644)
	must("git", "add", "tool")
	out, err = run(pc, "try-repo", self, "nixgate", "--verbose")
	if err == nil || !strings.Contains(out, "compiled binary is tracked: tool") || strings.Contains(out, "notes.txt") {
		t.Fatalf("a commit staging a binary: want the hook to fail on it alone (err %v)\n%s", err, out)
	}
}
