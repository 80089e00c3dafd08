package repo

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// ownedCache holds, per directory, whether git will find a repository
// there that the current user owns.
var ownedCache sync.Map // dir -> bool

// ownedWorkTree reports whether the repository git finds from dir is the
// current user's in each path git's ownership check looks at (the work
// tree's top and its .git directory). git then never reads safe.directory
// for it, and the user's entries need not be read (one git start-up
// fewer, first in line). Anything else says no, and the entries are read
// as before: a .git file (a linked worktree or a submodule), a directory
// on the way up that could be a bare repository, a path that cannot be
// read, another owner. A wrong yes could only make git refuse a
// repository the user trusts, never accept one the user does not: no
// entry is ever added.
func ownedWorkTree(dir string) bool {
	if v, ok := ownedCache.Load(dir); ok {
		return v.(bool)
	}
	ok := findOwned(dir)
	ownedCache.Store(dir, ok)
	return ok
}

func findOwned(dir string) bool {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	// git works from the real path (it changes into the directory and asks
	// for its name), so a symlinked path is judged by its target.
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return false
	}
	for d := abs; ; {
		fi, err := os.Lstat(filepath.Join(d, ".git"))
		switch {
		case err == nil:
			return fi.IsDir() && ownedByUser(fi) && pathOwned(d)
		case !errors.Is(err, fs.ErrNotExist):
			return false
		case mayBeBare(d):
			return false
		}
		parent := filepath.Dir(d)
		if parent == d {
			return false
		}
		d = parent
	}
}

// mayBeBare says whether d has what git looks for in a git directory.
func mayBeBare(d string) bool {
	for _, n := range []string{"HEAD", "objects", "refs"} {
		if _, err := os.Lstat(filepath.Join(d, n)); err == nil {
			return true
		}
	}
	return false
}

func pathOwned(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && ownedByUser(fi)
}
