// Package repo gives checks read-only access to a repository: the file list
// from git, file contents through an os.Root confined to the tree (or, for a
// change, from git's objects at the change's head), and the git status.
// Nothing in the repository is ever executed: git runs with a fixed
// configuration (see Command). Every read is bounded: only regular files
// are read (a FIFO or a device is refused, never opened for a blocking
// read), and each kind of file has a size limit (see Limits).
package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Repo is a directory under check, usually a git work tree, or the tree of
// a commit (a change's head, for nixgate pr).
type Repo struct {
	// Dir is the absolute path of the root.
	Dir string
	// IsGit is true when Dir is inside a git work tree.
	IsGit bool
	// Rev is the commit whose tree a revision view reads; "" for the work
	// tree.
	Rev string
	// Change is the change a revision view covers (nixgate pr); nil
	// otherwise.
	Change *Change
	// Limits caps reads per kind of file.
	Limits Limits

	root *os.Root
	dirs *dirRoots // roots of the directories read in (work trees)
	// lstats remembers each Lstat of the work tree: the secret scan and
	// unchecked-file both ask for every file.
	lstats    sync.Map             // string -> lstatResult
	scope     []string             // what checks look at, sorted
	all       []string             // every file, sorted (the scope is a subset)
	tracked   []string             // sorted, slash-separated, relative to Dir
	untracked []string             // untracked and not ignored, sorted
	nested    []string             // nested repositories git lists as untracked directories
	modes     map[string]string    // work tree; a revision view's are in entries
	entries   map[string]treeEntry // revision view
	// changed, in a change view, holds the change's files (from its diff)
	// until the whole tree is needed (see full): most runs ask only for
	// those, and listing a large tree costs more than the diff.
	changed  map[string]treeEntry
	fullOnce sync.Once
	fullMu   sync.Mutex
	fullErr  error
	treeCtx  context.Context
	cat      *catFile
	// treeDone, when not nil, is closed once what is read in the
	// background (a change view's diff: scope and changed; OpenWalk's
	// walk) is there (see wait); treeErr is its error.
	treeDone chan struct{}
	treeErr  error
	// walking, for OpenWalk, holds the files as the walk finds them.
	walking *walkStream
	// sizes holds the sizes of entries listed without one (see sized).
	sizeMu sync.Mutex
	sizes  map[string]int64
}

// File is an open file of the repository.
type File interface {
	io.ReadCloser
	Stat() (fs.FileInfo, error)
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
	r := &Repo{Dir: abs, root: root, dirs: newDirRoots(), modes: map[string]string{}, Limits: DefaultLimits()}
	if _, err := r.Git(ctx, "rev-parse", "--is-inside-work-tree"); err == nil {
		r.IsGit = true
		if err := r.listGit(ctx); err != nil {
			root.Close()
			return nil, err
		}
	} else {
		var ge *GitError
		if errors.As(err, &ge) && strings.Contains(ge.Stderr, "dubious ownership") {
			root.Close()
			return nil, err
		}
		if err := r.walk(ctx, nil); err != nil {
			root.Close()
			return nil, err
		}
	}
	r.all = mergeSorted(r.tracked, r.untracked)
	r.scope = r.all
	return r, nil
}

// Close releases the root and the object reader.
func (r *Repo) Close() error {
	r.wait()
	if r.cat != nil {
		r.cat.close()
	}
	if r.dirs != nil {
		r.dirs.close()
	}
	if r.root != nil {
		return r.root.Close()
	}
	return nil
}

func mergeSorted(a, b []string) []string {
	all := make([]string, 0, len(a)+len(b))
	all = append(all, a...)
	all = append(all, b...)
	slices.Sort(all)
	return slices.Compact(all)
}

func (r *Repo) listGit(ctx context.Context) error {
	out, err := r.Git(ctx, "ls-files", "-z", "--stage", "--full-name", "--", ".")
	if err != nil {
		return err
	}
	prefix, err := r.Git(ctx, "rev-parse", "--show-prefix")
	if err != nil {
		return err
	}
	r.tracked, r.modes = parseLsFilesStage(out, strings.TrimSpace(string(prefix)))
	out, err = r.Git(ctx, "ls-files", "-z", "--others", "--exclude-standard", "--", ".")
	if err != nil {
		return err
	}
	r.untracked, r.nested = parseLsFilesOthers(out)
	return nil
}

// parseLsFilesStage reads `git ls-files -z --stage --full-name`: the
// tracked paths (relative to prefix, sorted, each once) and their modes.
func parseLsFilesStage(out []byte, prefix string) ([]string, map[string]string) {
	var tracked []string
	modes := map[string]string{}
	for _, rec := range bytes.Split(out, []byte{0}) {
		// <mode> SP <object> SP <stage> TAB <path>
		meta, p, ok := bytes.Cut(rec, []byte{'\t'})
		if !ok || len(p) == 0 {
			continue
		}
		name, ok := strings.CutPrefix(string(p), prefix)
		if !ok || name == "" {
			continue
		}
		if _, dup := modes[name]; dup {
			continue // unmerged paths appear once per stage
		}
		mode, _, _ := bytes.Cut(meta, []byte{' '})
		modes[name] = string(mode)
		tracked = append(tracked, name)
	}
	slices.Sort(tracked)
	return tracked, modes
}

// parseLsFilesOthers reads `git ls-files -z --others --exclude-standard`:
// untracked files (sorted) and nested repositories (listed with a
// trailing slash; git does not descend into them, nor does nixgate).
func parseLsFilesOthers(out []byte) (untracked, nested []string) {
	for _, p := range bytes.Split(out, []byte{0}) {
		switch {
		case len(p) == 0:
		case bytes.HasSuffix(p, []byte{'/'}):
			nested = append(nested, strings.TrimSuffix(string(p), "/"))
		default:
			untracked = append(untracked, string(p))
		}
	}
	slices.Sort(untracked)
	slices.Sort(nested)
	return untracked, nested
}

// Files lists the files checks look at, sorted: in a work tree the
// tracked and untracked-not-ignored files; in a change's view, the files
// the change adds or modifies. The slice is the caller's.
func (r *Repo) Files() []string { r.wait(); return slices.Clone(r.scope) }

// AllFiles lists every file of the tree, sorted, for lookups of context
// (a sibling flake.nix, a sealed twin) beyond the checked scope.
func (r *Repo) AllFiles() []string { r.full(); return slices.Clone(r.all) }

// Exists reports whether the tree has a file name (in or out of scope).
func (r *Repo) Exists(name string) bool {
	if _, ok := r.changedEntry(name); ok {
		return true
	}
	r.full()
	_, ok := slices.BinarySearch(r.all, name)
	return ok
}

// InScope reports whether name is one of Files.
func (r *Repo) InScope(name string) bool {
	r.wait()
	_, ok := slices.BinarySearch(r.scope, name)
	return ok
}

// Tracked lists the files git tracks (nil outside git). In a revision
// view every file of the tree is tracked.
func (r *Repo) Tracked() []string { r.full(); return r.tracked }

// Untracked lists files that are neither tracked nor ignored; outside git,
// every file.
func (r *Repo) Untracked() []string { r.wait(); return r.untracked }

// Nested lists nested git repositories below the root that git reports as
// untracked directories; nixgate does not look inside them.
func (r *Repo) Nested() []string { r.wait(); return r.nested }

// IsTracked reports whether git tracks name.
func (r *Repo) IsTracked(name string) bool {
	if _, ok := r.changedEntry(name); ok {
		return true
	}
	r.full()
	_, ok := slices.BinarySearch(r.tracked, name)
	return ok
}

// Mode is git's mode of a tracked path ("100644", "100755", "120000" for
// a symlink, "160000" for a submodule), or "" when untracked.
func (r *Repo) Mode(name string) string {
	if r.isView() {
		e, _ := r.entry(name)
		return e.mode
	}
	return r.modes[name]
}

// Lstat describes name without following a final symlink.
func (r *Repo) Lstat(name string) (fs.FileInfo, error) {
	if r.isView() {
		e, ok := r.entry(name)
		if !ok {
			return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
		}
		e, err := r.sized(name, e)
		if err != nil {
			return nil, err
		}
		return e.info(name), nil
	}
	if v, ok := r.lstats.Load(name); ok {
		st := v.(lstatResult)
		return st.fi, st.err
	}
	fi, err := r.lstat(name)
	err = mapErr(err)
	r.lstats.Store(name, lstatResult{fi, err})
	return fi, err
}

type lstatResult struct {
	fi  fs.FileInfo
	err error
}

// Readlink reads the target of a symlink.
func (r *Repo) Readlink(name string) (string, error) {
	if r.isView() {
		e, ok := r.entry(name)
		if !ok || e.mode != "120000" {
			return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
		}
		b, err := r.blob(e, 4096)
		return string(b), err
	}
	t, err := r.root.Readlink(filepath.FromSlash(name))
	return t, mapErr(err)
}

// Open opens a regular file for reading, following symlinks only while they
// stay inside the root. A file that is not regular (a FIFO, a device, a
// socket, a directory) gives a *NotRegularError without blocking, and one
// over its kind's limit a *TooLargeError.
func (r *Repo) Open(name string) (File, error) {
	return r.open(name, true)
}

// open is Open; sized false skips the size limit, for readers that read
// a bounded head of the file themselves.
func (r *Repo) open(name string, sized bool) (File, error) {
	if r.isView() {
		return r.openBlob(name, sized)
	}
	// O_NONBLOCK: opening a FIFO must not wait for a writer. It has no
	// effect on the regular files that are then read.
	f, err := r.openFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY)
	if err != nil {
		return nil, mapErr(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &NotRegularError{Path: name, What: describeMode(fi.Mode())}
	}
	if lim := r.Limits.For(name); sized && fi.Size() > lim {
		f.Close()
		return nil, &TooLargeError{Path: name, Size: fi.Size(), Limit: lim, Kind: KindOf(name)}
	}
	return &limitedFile{File: f, r: io.LimitReader(f, r.Limits.For(name)), fi: fi}, nil
}

// limitedFile reads no more than the limit even when the file grows.
type limitedFile struct {
	*os.File
	r  io.Reader
	fi fs.FileInfo // from the open: Stat asks no more of the system
}

func (f *limitedFile) Read(p []byte) (int, error) { return f.r.Read(p) }

func (f *limitedFile) Stat() (fs.FileInfo, error) { return f.fi, nil }

// ReadFile reads a whole file; see Open.
func (r *Repo) ReadFile(name string) ([]byte, error) {
	f, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	lim := r.Limits.For(name)
	// Sized by the open's stat, so that the file comes in one read (and
	// one that sees its end) unless it grew since.
	size := int64(512)
	if fi, err := f.Stat(); err == nil {
		size = min(fi.Size(), lim) + 1
	}
	data, err := readAllSized(io.LimitReader(f, lim+1), int(size))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > lim {
		return nil, &TooLargeError{Path: name, Size: int64(len(data)), Limit: lim, Kind: KindOf(name)}
	}
	return data, nil
}

// ReadHead reads at most n bytes from the start of a file.
func (r *Repo) ReadHead(name string, n int) ([]byte, error) {
	// The head is bounded by n: a file over its kind's limit still shows
	// its first bytes (whether it is binary, its shebang).
	f, err := r.open(name, false)
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

// DescribeMode names a file type in a few words ("a FIFO", "a character
// device"), for errors about files that are not regular.
func DescribeMode(m fs.FileMode) string { return describeMode(m) }

func describeMode(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	}
	return "not a regular file (" + m.String() + ")"
}

// mapErr turns os.Root's escape error into ErrEscapes.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if strings.Contains(err.Error(), "path escapes from parent") {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return &fs.PathError{Op: pe.Op, Path: pe.Path, Err: ErrEscapes}
		}
		return ErrEscapes
	}
	return err
}

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

// Git runs git in the root with the fixed configuration (see Command) and
// returns its standard output.
func (r *Repo) Git(ctx context.Context, args ...string) ([]byte, error) {
	return Git(ctx, r.Dir, args...)
}

// fileInfo describes a tree entry of a revision view.
type fileInfo struct {
	name string
	size int64
	mode fs.FileMode
}

func (fi *fileInfo) Name() string       { return path.Base(fi.name) }
func (fi *fileInfo) Size() int64        { return fi.size }
func (fi *fileInfo) Mode() fs.FileMode  { return fi.mode }
func (fi *fileInfo) ModTime() time.Time { return time.Time{} }
func (fi *fileInfo) IsDir() bool        { return fi.mode.IsDir() }
func (fi *fileInfo) Sys() any           { return nil }

// OpenWalk opens dir without git: the file list is every file under dir
// (symlinks not followed, .git directories skipped). The walk runs in the
// background: Files and the other lists wait for it, FilesAsFound yields
// files as it finds them (so that a scan need not wait for the last
// directory), and Err says whether it failed.
func OpenWalk(ctx context.Context, dir string) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	r := &Repo{Dir: abs, root: root, dirs: newDirRoots(), modes: map[string]string{}, Limits: DefaultLimits(),
		walking: newWalkStream(), treeDone: done}
	go func() {
		defer close(done)
		defer r.walking.finish()
		if err := r.walk(ctx, r.walking); err != nil {
			r.treeErr = err
		}
		slices.Sort(r.untracked)
		r.all = r.untracked
		r.scope = r.all
	}()
	return r, nil
}

// FilesAsFound yields the files of Files: while a walk runs in the
// background (OpenWalk), each as soon as the walk finds it, in the walk's
// order; otherwise Files, sorted. When the walk fails, the files found
// before are yielded and Err has the error.
func (r *Repo) FilesAsFound() iter.Seq[string] {
	if r.walking == nil {
		return slices.Values(r.Files())
	}
	return r.walking.all
}

// readAllSized is io.ReadAll starting with room for size bytes.
func readAllSized(r io.Reader, size int) ([]byte, error) {
	b := make([]byte, 0, max(size, 512))
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}
