// Package repo gives checks read-only access to a repository: the file list
// from git, file contents through an os.Root (so that no symlink leads
// outside the tree), and the git status. Nothing in the repository is ever
// executed: git runs with hooks, fsmonitor and external helpers disabled.
package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Repo is a directory under check, usually a git work tree.
type Repo struct {
	// Dir is the absolute path of the root.
	Dir string
	// IsGit is true when Dir is inside a git work tree.
	IsGit bool

	root      *os.Root
	tracked   []string // sorted, slash-separated, relative to Dir
	untracked []string // untracked and not ignored, sorted
	modes     map[string]string
}

// Open opens dir. In a git work tree the file list comes from git
// (tracked files, and untracked files that are not ignored); elsewhere
// from a walk of the tree that skips .git.
func Open(ctx context.Context, dir string) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, err
	}
	r := &Repo{Dir: abs, root: root, modes: map[string]string{}}
	if _, err := r.Git(ctx, "rev-parse", "--is-inside-work-tree"); err == nil {
		r.IsGit = true
		if err := r.listGit(ctx); err != nil {
			root.Close()
			return nil, err
		}
		return r, nil
	}
	if err := r.walk(); err != nil {
		root.Close()
		return nil, err
	}
	return r, nil
}

// Close releases the root.
func (r *Repo) Close() error { return r.root.Close() }

func (r *Repo) listGit(ctx context.Context) error {
	out, err := r.Git(ctx, "ls-files", "-z", "--stage", "--full-name", "--", ".")
	if err != nil {
		return err
	}
	prefix, err := r.Git(ctx, "rev-parse", "--show-prefix")
	if err != nil {
		return err
	}
	pfx := strings.TrimSpace(string(prefix))
	seen := map[string]bool{}
	for _, rec := range bytes.Split(out, []byte{0}) {
		if len(rec) == 0 {
			continue
		}
		// <mode> SP <object> SP <stage> TAB <path>
		meta, p, ok := bytes.Cut(rec, []byte{'\t'})
		if !ok {
			continue
		}
		name := strings.TrimPrefix(string(p), pfx)
		if seen[name] {
			continue // unmerged paths appear once per stage
		}
		seen[name] = true
		r.tracked = append(r.tracked, name)
		if mode, _, ok := bytes.Cut(meta, []byte{' '}); ok {
			r.modes[name] = string(mode)
		}
	}
	out, err = r.Git(ctx, "ls-files", "-z", "--others", "--exclude-standard", "--", ".")
	if err != nil {
		return err
	}
	for _, p := range bytes.Split(out, []byte{0}) {
		if len(p) > 0 {
			r.untracked = append(r.untracked, string(p))
		}
	}
	slices.Sort(r.tracked)
	slices.Sort(r.untracked)
	return nil
}

func (r *Repo) walk() error {
	return fs.WalkDir(r.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return fs.SkipDir
			}
			return nil
		}
		r.untracked = append(r.untracked, p)
		return nil
	})
}

// Tracked lists the files git tracks (nil outside git).
func (r *Repo) Tracked() []string { return r.tracked }

// Untracked lists files that are neither tracked nor ignored; outside git,
// every file.
func (r *Repo) Untracked() []string { return r.untracked }

// Files lists tracked and untracked-not-ignored files, sorted.
func (r *Repo) Files() []string {
	all := make([]string, 0, len(r.tracked)+len(r.untracked))
	all = append(all, r.tracked...)
	all = append(all, r.untracked...)
	slices.Sort(all)
	return slices.Compact(all)
}

// IsTracked reports whether git tracks name.
func (r *Repo) IsTracked(name string) bool {
	_, ok := slices.BinarySearch(r.tracked, name)
	return ok
}

// Mode is git's index mode of a tracked path ("100644", "100755", "120000"
// for a symlink, "160000" for a submodule), or "" when untracked.
func (r *Repo) Mode(name string) string { return r.modes[name] }

// Lstat describes name without following a final symlink.
func (r *Repo) Lstat(name string) (fs.FileInfo, error) { return r.root.Lstat(filepath.FromSlash(name)) }

// Readlink reads the target of a symlink.
func (r *Repo) Readlink(name string) (string, error) {
	return r.root.Readlink(filepath.FromSlash(name))
}

// Open opens a file for reading. Symlinks are followed only while they stay
// inside the root.
func (r *Repo) Open(name string) (*os.File, error) { return r.root.Open(filepath.FromSlash(name)) }

// ReadFile reads a whole file; see Open.
func (r *Repo) ReadFile(name string) ([]byte, error) {
	f, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// ReadHead reads at most n bytes from the start of a file.
func (r *Repo) ReadHead(name string, n int) ([]byte, error) {
	f, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	k, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:k], nil
}

// FS is the tree as an fs.FS confined to the root.
func (r *Repo) FS() fs.FS { return r.root.FS() }

// Match reports whether name matches a glob: path.Match syntax per segment,
// "**" for any number of segments, and a pattern without a slash matching
// the base name at any depth (as in .gitignore).
func Match(pattern, name string) bool {
	if !strings.Contains(pattern, "/") {
		ok, _ := path.Match(pattern, path.Base(name))
		if ok {
			return true
		}
		// A bare directory name also covers everything below it.
		for _, seg := range strings.Split(path.Dir(name), "/") {
			if ok, _ := path.Match(pattern, seg); ok && seg != "." {
				return true
			}
		}
		return false
	}
	return matchSegs(strings.Split(strings.TrimPrefix(pattern, "/"), "/"), strings.Split(name, "/"))
}

func matchSegs(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			if len(rest) == 0 {
				return true
			}
			for i := 0; i <= len(name); i++ {
				if matchSegs(rest, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	// A pattern naming a directory covers everything below it.
	return true
}

// Git runs git in the root with everything that could execute repository
// code or configuration turned off, and returns its standard output.
func (r *Repo) Git(ctx context.Context, args ...string) ([]byte, error) {
	return Git(ctx, r.Dir, args...)
}

// Git runs git in dir; see Repo.Git.
func Git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	base := []string{
		"-C", dir,
		"-c", "core.fsmonitor=false",
		"-c", "core.hooksPath=/dev/null",
		"-c", "core.quotePath=false",
		"-c", "diff.external=",
		"-c", "safe.directory=" + dir,
		"--no-pager",
	}
	cmd := exec.CommandContext(ctx, "git", append(base, args...)...)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0", "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return out, fmt.Errorf("git %s: %s", strings.Join(args, " "), msg)
	}
	return out, nil
}
