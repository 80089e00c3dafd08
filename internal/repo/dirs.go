package repo

import (
	"context"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"syscall"
)

// dirRoots keeps an os.Root open on each directory the repository has
// read in, so that a file's stat or open is one system call relative to
// its directory instead of an openat and a close per component of its
// path (os.Root walks every component to stay confined): on a tree of
// 4,600 files in 800 directories that walk was a third of a secret scan.
// A sub-root is itself confined, and to a smaller tree; an operation it
// refuses (a symlink up and over into a sibling directory) is retried on
// the repository's root, whose answer stands. At most max roots stay
// open, a quarter of the descriptors the process may hold.
type dirRoots struct {
	mu  sync.Mutex
	m   map[string]*os.Root
	max int
}

func newDirRoots() *dirRoots {
	n := 1024
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur/4 < uint64(n) {
		n = int(lim.Cur / 4)
	}
	return &dirRoots{m: map[string]*os.Root{}, max: n}
}

// keep records sub as the root of dir when there is room, and returns the
// root now kept for dir: sub, one kept before it, or nil when the cache is
// full. The caller still owns sub unless keep returns it.
func (d *dirRoots) keep(dir string, sub *os.Root) *os.Root {
	d.mu.Lock()
	defer d.mu.Unlock()
	if kept, ok := d.m[dir]; ok {
		return kept
	}
	if len(d.m) >= d.max {
		return nil
	}
	d.m[dir] = sub
	return sub
}

func (d *dirRoots) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, s := range d.m {
		s.Close()
		delete(d.m, k)
	}
}

// in returns the root to resolve slash-separated name in and name's path
// relative to it: the cached (or newly opened) root of its directory and
// its last element, or the repository's root and name itself.
func (r *Repo) in(name string) (*os.Root, string) {
	dir, base := path.Split(name)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" || base == "" || base == "." || base == ".." || r.dirs == nil {
		return r.root, name
	}
	r.dirs.mu.Lock()
	sub, ok := r.dirs.m[dir]
	full := len(r.dirs.m) >= r.dirs.max
	r.dirs.mu.Unlock()
	if ok {
		return sub, base
	}
	if full {
		return r.root, name
	}
	sub, err := r.root.OpenRoot(dir)
	if err != nil {
		return r.root, name
	}
	kept := r.dirs.keep(dir, sub)
	if kept != sub {
		sub.Close()
	}
	if kept == nil {
		return r.root, name
	}
	return kept, base
}

// lstat is the root's Lstat of name, through its directory's root.
func (r *Repo) lstat(name string) (fs.FileInfo, error) {
	sub, rel := r.in(name)
	fi, err := sub.Lstat(rel)
	if err != nil && sub != r.root {
		return r.root.Lstat(name)
	}
	return fi, err
}

// openFile is the root's OpenFile of name, through its directory's root.
func (r *Repo) openFile(name string, flag int) (*os.File, error) {
	sub, rel := r.in(name)
	f, err := sub.OpenFile(rel, flag, 0)
	if err != nil && sub != r.root {
		return r.root.OpenFile(name, flag, 0)
	}
	return f, err
}

// walkStream is the files of a walk running in the background, in the
// order it finds them (see Repo.FilesAsFound).
type walkStream struct {
	mu    sync.Mutex
	cond  sync.Cond
	names []string
	done  bool
}

func newWalkStream() *walkStream {
	s := &walkStream{}
	s.cond.L = &s.mu
	return s
}

func (s *walkStream) add(names []string) {
	s.mu.Lock()
	s.names = append(s.names, names...)
	s.mu.Unlock()
	s.cond.Broadcast()
}

func (s *walkStream) finish() {
	s.mu.Lock()
	s.done = true
	s.mu.Unlock()
	s.cond.Broadcast()
}

// all yields the names added, waiting for more until the walk finishes.
func (s *walkStream) all(yield func(string) bool) {
	for i := 0; ; i++ {
		s.mu.Lock()
		for i >= len(s.names) && !s.done {
			s.cond.Wait()
		}
		if i >= len(s.names) {
			s.mu.Unlock()
			return
		}
		n := s.names[i]
		s.mu.Unlock()
		if !yield(n) {
			return
		}
	}
}

// walk lists every file of the tree but .git directories in r.untracked,
// reading each directory through its own root (kept for later reads).
// With a stream, each directory's files are added to it as they are found.
func (r *Repo) walk(ctx context.Context, stream *walkStream) error {
	published := 0
	flush := func() {
		if stream != nil && published < len(r.untracked) {
			stream.add(r.untracked[published:])
			published = len(r.untracked)
		}
	}
	var walkDir func(d *os.Root, rel string) error
	walkDir = func(d *os.Root, rel string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := d.Open(".")
		if err != nil {
			return pathError(err, rel)
		}
		// Readdir stats each entry relative to the directory (fstatat,
		// confined like the root): the checks' Lstat of every file is then
		// answered from r.lstats. ReadDir would stat them too where the
		// file system does not type its directory entries.
		ents, err := f.Readdir(-1)
		f.Close()
		if err != nil {
			return pathError(err, rel)
		}
		slices.SortFunc(ents, func(a, b fs.FileInfo) int { return strings.Compare(a.Name(), b.Name()) })
		defer flush()
		for _, e := range ents {
			p := e.Name()
			if rel != "" {
				p = rel + "/" + p
			}
			if !e.IsDir() {
				r.untracked = append(r.untracked, p)
				r.lstats.Store(p, lstatResult{e, nil})
				continue
			}
			if e.Name() == ".git" {
				continue
			}
			sub, err := d.OpenRoot(e.Name())
			if err != nil {
				return pathError(err, p)
			}
			flush()
			kept := r.dirs.keep(p, sub) == sub
			err = walkDir(sub, p)
			if !kept {
				sub.Close()
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	return walkDir(r.root, "")
}

// pathError names the repository path rel in err, an *fs.PathError of
// an operation relative to a directory's root.
func pathError(err error, rel string) error {
	if pe, ok := err.(*fs.PathError); ok {
		if rel == "" {
			rel = "."
		}
		return &fs.PathError{Op: pe.Op, Path: rel, Err: pe.Err}
	}
	return err
}
