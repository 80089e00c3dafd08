package repo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Change is what a revision view covers: the commits from the merge base
// of Base and Head to Head. A Change comes from OpenChange.
type Change struct {
	// Base and Head as given; their full hashes.
	Base, Head         string
	BaseHash, HeadHash string
	// MB is the merge base once MergeBase has returned: it is found in the
	// background while the view opens.
	MB      string
	mbReady <-chan struct{}
	mbErr   error
	// Commits is the number of commits from the merge base to Head, once
	// CountCommits has run.
	Commits int
	entries []ChangeEntry
	// ready is closed once entries are read (in the background: see
	// OpenChange).
	ready   <-chan struct{}
	counted bool
}

// Entries are the changed paths, sorted. They are read in the background
// while the view opens; Entries waits for them (when that read failed,
// the view's Err says so and Entries is empty).
func (c *Change) Entries() []ChangeEntry {
	<-c.ready
	return c.entries
}

// MergeBase waits for the change's merge base and returns it; a change
// whose ends share no history gives a *MergeBaseError. The view's readers
// fail with the same error (Repo.Err).
func (c *Change) MergeBase() (string, error) {
	<-c.mbReady
	return c.MB, c.mbErr
}

// MergeBaseReady is closed once MergeBase would not wait.
func (c *Change) MergeBaseReady() <-chan struct{} { return c.mbReady }

// ChangeEntry is one path a change touches.
type ChangeEntry struct {
	Path string
	// Status is git's: A added, M modified, D deleted, T type changed.
	Status           string
	OldMode, NewMode string
	OldBlob, NewBlob string
	// Added and Removed are line counts; Binary when git cannot count.
	// Zero until Change.CountLines.
	Added, Removed int
	Binary         bool
}

// Entry returns the change's entry for path.
func (c *Change) Entry(p string) (ChangeEntry, bool) {
	entries := c.Entries()
	i, ok := slices.BinarySearchFunc(entries, p, func(e ChangeEntry, p string) int { return strings.Compare(e.Path, p) })
	if !ok {
		return ChangeEntry{}, false
	}
	return entries[i], true
}

type treeEntry struct {
	mode, oid string
	size      int64
}

func (e treeEntry) info(name string) fs.FileInfo {
	fi := &fileInfo{name: name, size: e.size}
	switch e.mode {
	case "120000":
		fi.mode = fs.ModeSymlink | 0o777
	case "160000":
		fi.mode = fs.ModeDir | 0o755
	case "100755":
		fi.mode = 0o755
	default:
		fi.mode = 0o644
	}
	return fi
}

// OpenChange opens the tree of head as a revision view whose Files are the
// paths the change from the merge base of base and head adds or modifies.
// Reads come from git's objects, not the work tree. Unknown revisions give
// an error wrapping ErrUnknownRevision; a merge base that cannot be found
// (a shallow clone) is an error that says so.
func OpenChange(ctx context.Context, dir, base, head string) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if head == "" {
		head = "HEAD"
	}
	// Both ends and the merge base are asked of git at once (the merge
	// base is taken of the revisions as given, so that it need not wait for
	// them). The view opens once the ends are known: the merge base, then
	// the diff, are read in the background (a history scan needs only the
	// ends; MergeBase and Entries wait). The head's whole tree is listed
	// only if a reader asks for a file outside the change (full). None of
	// these git calls needs the repository's filter configuration
	// (objectsOnly).
	mergeBase := func() ([]byte, error) { return nil, nil }
	if ValidRevision(base) == nil && ValidRevision(head) == nil {
		mergeBase = StartGit(ctx, abs, "merge-base", "--end-of-options", base, head)
	}
	bh, hh, err := resolvePair(ctx, abs, base, head)
	if err != nil {
		mergeBase()
		return nil, err
	}
	mbDone, done := make(chan struct{}), make(chan struct{})
	c := &Change{Base: base, Head: head, BaseHash: bh, HeadHash: hh, mbReady: mbDone, ready: done}
	r := &Repo{Dir: abs, IsGit: true, Rev: hh, Limits: DefaultLimits(), cat: &catFile{dir: abs}, treeDone: done, Change: c}
	r.changed = map[string]treeEntry{}
	r.treeCtx = ctx
	go func() {
		defer close(done)
		mbOut, mbErr := mergeBase()
		if mbErr != nil || len(bytes.TrimSpace(mbOut)) == 0 {
			c.mbErr = ctx.Err()
			if c.mbErr == nil {
				c.mbErr = noMergeBase(ctx, abs, base, head)
			}
			r.treeErr = c.mbErr
			close(mbDone)
			return
		}
		mb := strings.TrimSpace(string(mbOut))
		c.MB = mb
		close(mbDone)
		raw, err := Git(ctx, abs, "diff-tree", "-r", "-z", "--raw", "--no-renames", "--no-abbrev", "--no-ext-diff", "--no-textconv", "--end-of-options", mb, hh)
		if err != nil {
			r.treeErr = fmt.Errorf("diff %s..%s: %w", base, head, err)
			return
		}
		c.entries = parseDiffTree(raw)
		for _, e := range c.entries {
			if e.Status != "D" {
				r.scope = append(r.scope, e.Path)
				r.changed[e.Path] = treeEntry{mode: e.NewMode, oid: e.NewBlob, size: -1}
			}
		}
	}()
	return r, nil
}

// OpenRange opens a revision view for a scan of the history from base to
// head: the commits reachable from head and not from base, or head's whole
// history when base is "". The history is the content (a history scan
// reads it itself, naming the ends to git as given), so the view's Files
// are empty and no diff is read; a file asked for by name (a rule file the
// policy names) comes from head's tree, listed on first use. The ends are
// checked as revisions (never options) but not resolved: when a scan of
// the range fails, CheckRange says whether the range was the cause.
func OpenRange(ctx context.Context, dir, base, head string) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if head == "" {
		head = "HEAD"
	}
	for _, rev := range []string{base, head} {
		if rev == "" {
			continue
		}
		if err := ValidRevision(rev); err != nil {
			return nil, err
		}
	}
	return &Repo{Dir: abs, IsGit: true, Rev: head, Limits: DefaultLimits(), cat: &catFile{dir: abs},
		changed: map[string]treeEntry{}, treeCtx: ctx}, nil
}

// CheckRange says what is wrong with a range of history, if anything: an
// end that names no commit (ErrUnknownRevision, ErrNotGit), or a base that
// shares no history with the head (*MergeBaseError). A command calls it
// when a scan of an OpenRange view failed.
func CheckRange(ctx context.Context, dir, base, head string) error {
	if head == "" {
		head = "HEAD"
	}
	if base == "" {
		_, err := ResolveCommit(ctx, dir, head)
		return err
	}
	bh, hh, err := resolvePair(ctx, dir, base, head)
	if err != nil {
		return err
	}
	if out, err := Git(ctx, dir, "merge-base", "--end-of-options", bh, hh); err != nil || len(bytes.TrimSpace(out)) == 0 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return noMergeBase(ctx, dir, base, head)
	}
	return nil
}

// noMergeBase says why the ends of a change have no merge base.
func noMergeBase(ctx context.Context, abs, base, head string) error {
	why := "they share no history"
	if shallow, _ := Git(ctx, abs, "rev-parse", "--is-shallow-repository"); strings.TrimSpace(string(shallow)) == "true" {
		why = "the clone is shallow and does not reach the base"
	}
	return &MergeBaseError{Base: base, Head: head, Why: why}
}

// resolvePair resolves a change's two ends to commits with one
// `git cat-file --batch-check` (one start-up instead of two rev-parse).
// When either is not a commit, ResolveCommit says which and why.
func resolvePair(ctx context.Context, abs, base, head string) (string, string, error) {
	if ValidRevision(base) == nil && ValidRevision(head) == nil { // no newline, which would end a request
		cmd := Command(ctx, abs, "cat-file", "--batch-check=%(objectname) %(objecttype)")
		cmd.Stdin = strings.NewReader(base + "^{commit}\n" + head + "^{commit}\n")
		if out, err := cmd.Output(); err == nil {
			lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
			var hashes []string
			for _, l := range lines {
				if h, typ, ok := strings.Cut(l, " "); ok && typ == "commit" && len(h) >= 40 && strings.Trim(h, "0123456789abcdef") == "" {
					hashes = append(hashes, h)
				}
			}
			if len(lines) == 2 && len(hashes) == 2 {
				return hashes[0], hashes[1], nil
			}
		}
	}
	bh, err := ResolveCommit(ctx, abs, base)
	if err != nil {
		return "", "", fmt.Errorf("base: %w", err)
	}
	hh, err := ResolveCommit(ctx, abs, head)
	if err != nil {
		return "", "", fmt.Errorf("head: %w", err)
	}
	return bh, hh, nil
}

// CountCommits fills Commits, the number of commits from the merge base to
// Head. It is not part of OpenChange: only the pr report shows it.
func (c *Change) CountCommits(ctx context.Context, dir string) error {
	mb, err := c.MergeBase()
	if err != nil {
		return err
	}
	n, err := Git(ctx, dir, "rev-list", "--count", "--end-of-options", mb+".."+c.HeadHash)
	if err != nil {
		return err
	}
	c.Commits, err = strconv.Atoi(strings.TrimSpace(string(n)))
	return err
}

// CountLines fills the entries' Added, Removed and Binary. It is not part
// of OpenChange: git computes the counts by diffing every changed blob,
// which only the pr report needs (a history scan of a large range would
// pay for it twice).
func (c *Change) CountLines(ctx context.Context, dir string) error {
	if c.counted {
		return nil
	}
	mb, err := c.MergeBase()
	if err != nil {
		return err
	}
	num, err := Git(ctx, dir, "diff-tree", "-r", "-z", "--numstat", "--no-renames", "--no-ext-diff", "--no-textconv", "--end-of-options", mb, c.HeadHash)
	if err != nil {
		return err
	}
	setCounts(c.Entries(), num)
	c.counted = true
	return nil
}

// MergeBaseError says why a change has no merge base.
type MergeBaseError struct{ Base, Head, Why string }

func (e *MergeBaseError) Error() string {
	return fmt.Sprintf("no merge base of %s and %s: %s", e.Base, e.Head, e.Why)
}

// OpenRevision opens the whole tree of a commit as a revision view.
func OpenRevision(ctx context.Context, dir, rev string) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	h, err := ResolveCommit(ctx, abs, rev)
	if err != nil {
		return nil, err
	}
	return openTree(ctx, abs, h)
}

func openTree(ctx context.Context, abs, commit string) (*Repo, error) {
	r := &Repo{Dir: abs, IsGit: true, Rev: commit, Limits: DefaultLimits(), cat: &catFile{dir: abs}}
	if err := r.listTree(ctx); err != nil {
		return nil, err
	}
	r.scope = r.all
	return r, nil
}

// listTree reads the tree of the view's commit. Sizes are read when asked
// for (see sized): `ls-tree -l` would look up every blob of the tree.
func (r *Repo) listTree(ctx context.Context) error {
	out, err := Git(ctx, r.Dir, "ls-tree", "-r", "-z", "--full-tree", "--end-of-options", r.Rev)
	if err != nil {
		r.entries = map[string]treeEntry{}
		return err
	}
	r.entries = parseLsTree(out)
	r.tracked = make([]string, 0, len(r.entries))
	for name := range r.entries {
		r.tracked = append(r.tracked, name)
	}
	slices.Sort(r.tracked)
	r.all = r.tracked
	return nil
}

// wait waits for a tree read in the background (OpenChange).
func (r *Repo) wait() {
	if r.treeDone != nil {
		<-r.treeDone
	}
}

// isView reports whether the repository is a revision view (its files
// come from git's objects). A change view's entries are written by full
// while readers run: changed, set when the view opens, answers for it.
func (r *Repo) isView() bool { return r.changed != nil || r.entries != nil }

// changedEntry looks name up among a change view's files.
func (r *Repo) changedEntry(name string) (treeEntry, bool) {
	r.wait()
	e, ok := r.changed[name]
	return e, ok
}

// entry looks name up in a revision view: among the change's files, then
// in the whole tree.
func (r *Repo) entry(name string) (treeEntry, bool) {
	if e, ok := r.changedEntry(name); ok {
		return e, true
	}
	r.full()
	e, ok := r.entries[name]
	return e, ok
}

// full makes sure entries, tracked and all hold the whole tree: a change
// view lists it on the first call.
func (r *Repo) full() {
	r.wait()
	if r.changed == nil {
		return
	}
	r.fullOnce.Do(func() {
		if err := r.listTree(r.treeCtx); err != nil {
			r.fullMu.Lock()
			r.fullErr = fmt.Errorf("read the tree of %s: %w", r.treeName(), err)
			r.fullMu.Unlock()
		}
	})
}

// treeName names the commit of a revision view as the user gave it.
func (r *Repo) treeName() string {
	if r.Change != nil {
		return r.Change.Head
	}
	return r.Rev
}

// Err is the error of reading the tree in the background, if any: the
// checks that ran saw an empty tree, and their results do not count
// (check.Run reports each as errored).
func (r *Repo) Err() error {
	r.wait()
	r.fullMu.Lock()
	defer r.fullMu.Unlock()
	return errors.Join(r.treeErr, r.fullErr)
}

// openBlob opens a file of a revision view, following symlinks inside the
// tree. Unless sized, a file over its kind's limit opens with its first
// limit bytes (a head, as for the work tree).
func (r *Repo) openBlob(name string, sized bool) (File, error) {
	cur := name
	for hops := 0; ; hops++ {
		e, ok := r.entry(cur)
		if !ok {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		switch e.mode {
		case "120000":
			if hops == 40 {
				return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("too many levels of symbolic links")}
			}
			t, err := r.blob(e, 4096)
			if err != nil {
				return nil, err
			}
			target := string(t)
			if path.IsAbs(target) {
				return nil, &fs.PathError{Op: "open", Path: name, Err: ErrEscapes}
			}
			next := path.Join(path.Dir(cur), target)
			if next == ".." || strings.HasPrefix(next, "../") {
				return nil, &fs.PathError{Op: "open", Path: name, Err: ErrEscapes}
			}
			cur = next
			continue
		case "160000":
			return nil, &NotRegularError{Path: name, What: "a submodule"}
		}
		e, err := r.sized(cur, e)
		if err != nil {
			return nil, err
		}
		lim := r.Limits.For(name)
		if sized && e.size > lim {
			return nil, &TooLargeError{Path: name, Size: e.size, Limit: lim, Kind: KindOf(name)}
		}
		var data []byte
		if sized {
			data, err = r.blob(e, lim)
		} else {
			data, err = r.cat.readPrefix(e.oid, lim)
		}
		if err != nil {
			return nil, err
		}
		return &blobFile{Reader: bytes.NewReader(data), fi: e.info(name)}, nil
	}
}

func (r *Repo) blob(e treeEntry, limit int64) ([]byte, error) {
	return r.cat.read(e.oid, limit)
}

type blobFile struct {
	*bytes.Reader
	fi fs.FileInfo
}

func (b *blobFile) Close() error               { return nil }
func (b *blobFile) Stat() (fs.FileInfo, error) { return b.fi, nil }

// catFile is one `git cat-file --batch` process, shared by the readers of a
// revision view.
type catFile struct {
	dir   string
	mu    sync.Mutex
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Reader
	start error
}

func (c *catFile) read(oid string, limit int64) ([]byte, error) {
	return c.get(oid, limit, false)
}

// readPrefix reads at most the first limit bytes of an object.
func (c *catFile) readPrefix(oid string, limit int64) ([]byte, error) {
	return c.get(oid, limit, true)
}

// get reads an object: whole when it is at most limit bytes; else its
// first limit bytes when prefix is set, or a *TooLargeError.
func (c *catFile) get(oid string, limit int64, prefix bool) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil && c.start == nil {
		cmd := Command(context.Background(), c.dir, "cat-file", "--batch")
		cmd.Stderr = io.Discard
		in, err := cmd.StdinPipe()
		if err == nil {
			var out io.ReadCloser
			if out, err = cmd.StdoutPipe(); err == nil {
				if err = cmd.Start(); err == nil {
					c.cmd, c.in, c.out = cmd, in, bufio.NewReaderSize(out, 64<<10)
				}
			}
		}
		c.start = err
	}
	if c.start != nil {
		return nil, fmt.Errorf("git cat-file: %w", c.start)
	}
	if _, err := io.WriteString(c.in, oid+"\n"); err != nil {
		return nil, fmt.Errorf("git cat-file: %w", err)
	}
	hdr, err := c.out.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("git cat-file: %w", err)
	}
	f := strings.Fields(hdr)
	if len(f) != 3 {
		return nil, fmt.Errorf("git cat-file %s: %s", oid, strings.TrimSpace(hdr))
	}
	size, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || size < 0 {
		return nil, fmt.Errorf("git cat-file %s: bad size %q", oid, f[2])
	}
	if size > limit {
		var head []byte
		if prefix {
			head = make([]byte, limit)
			if _, err := io.ReadFull(c.out, head); err != nil {
				return nil, fmt.Errorf("git cat-file: %w", err)
			}
		}
		// Skip the rest without keeping it.
		if _, err := io.CopyN(io.Discard, c.out, size-int64(len(head))+1); err != nil {
			return nil, fmt.Errorf("git cat-file: %w", err)
		}
		if prefix {
			return head, nil
		}
		return nil, &TooLargeError{Path: oid, Size: size, Limit: limit, Kind: KindText}
	}
	data := make([]byte, size+1)
	if _, err := io.ReadFull(c.out, data); err != nil {
		return nil, fmt.Errorf("git cat-file: %w", err)
	}
	return data[:size], nil
}

func (c *catFile) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd != nil {
		c.in.Close()
		c.cmd.Process.Kill()
		c.cmd.Wait()
		c.cmd = nil
	}
}

// ReadBlob reads a blob by object name through the view's object reader,
// up to limit bytes.
func (r *Repo) ReadBlob(oid string, limit int64) ([]byte, error) {
	if r.cat == nil {
		r.cat = &catFile{dir: r.Dir}
	}
	return r.cat.read(oid, limit)
}

// ReadAt reads the file p (relative to dir) as it is in commit, up to limit
// bytes; fs.ErrNotExist when the commit has no such file.
func ReadAt(ctx context.Context, dir, commit, p string, limit int64) ([]byte, error) {
	spec := commit + ":./" + strings.TrimPrefix(path.Clean(filepath.ToSlash(p)), "./")
	oid, err := Git(ctx, dir, "rev-parse", "--verify", "--quiet", "--end-of-options", spec)
	if err != nil || len(bytes.TrimSpace(oid)) == 0 {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &fs.PathError{Op: "read", Path: p, Err: fs.ErrNotExist}
	}
	id := strings.TrimSpace(string(oid))
	size, err := Git(ctx, dir, "cat-file", "-s", id)
	if err != nil {
		return nil, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(size)), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("git cat-file -s %s: %w", id, err)
	}
	if n > limit {
		return nil, &TooLargeError{Path: p, Size: n, Limit: limit, Kind: KindOf(p)}
	}
	return Git(ctx, dir, "cat-file", "blob", id)
}

// parseDiffTree reads `git diff-tree -r -z --raw` into the change's
// entries, sorted by path (their line counts come from setCounts).
func parseDiffTree(raw []byte) []ChangeEntry {
	var entries []ChangeEntry
	fields := strings.Split(string(raw), "\x00")
	for i := 0; i+1 < len(fields); i += 2 {
		// :<old mode> SP <new mode> SP <old blob> SP <new blob> SP <status>
		meta := strings.Fields(strings.TrimPrefix(fields[i], ":"))
		if len(meta) < 5 || meta[4] == "" || fields[i+1] == "" {
			break
		}
		entries = append(entries, ChangeEntry{Path: fields[i+1], OldMode: meta[0], NewMode: meta[1],
			OldBlob: meta[2], NewBlob: meta[3], Status: meta[4][:1]})
	}
	slices.SortStableFunc(entries, func(a, b ChangeEntry) int { return strings.Compare(a.Path, b.Path) })
	return slices.CompactFunc(entries, func(a, b ChangeEntry) bool { return a.Path == b.Path })
}

// setCounts gives entries their line counts from `git diff-tree -r -z
// --numstat` of the same range.
func setCounts(entries []ChangeEntry, num []byte) {
	counts := parseNumstat(num)
	for i := range entries {
		n := counts[entries[i].Path]
		entries[i].Added, entries[i].Removed, entries[i].Binary = n[0], n[1], n[2] == 1
	}
}

// parseNumstat reads `git diff-tree -r -z --numstat`: added, removed and
// binary (1) by path.
func parseNumstat(num []byte) map[string][3]int {
	counts := map[string][3]int{}
	for _, rec := range strings.Split(string(num), "\x00") {
		// <added> TAB <removed> TAB <path>, "-" for binary files
		parts := strings.SplitN(rec, "\t", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "-" {
			counts[parts[2]] = [3]int{0, 0, 1}
			continue
		}
		a, _ := strconv.Atoi(parts[0])
		d, _ := strconv.Atoi(parts[1])
		counts[parts[2]] = [3]int{max(a, 0), max(d, 0), 0}
	}
	return counts
}

// parseLsTree reads `git ls-tree -r -z`, with or without -l: every entry
// of a tree. An entry listed without its size has size -1.
func parseLsTree(out []byte) map[string]treeEntry {
	entries := make(map[string]treeEntry, bytes.Count(out, []byte{0}))
	for len(out) > 0 {
		rec := out
		if i := bytes.IndexByte(out, 0); i >= 0 {
			rec, out = out[:i], out[i+1:]
		} else {
			out = nil
		}
		// <mode> SP <type> SP <object> [SP+ <size>] TAB <path>
		meta, p, ok := bytes.Cut(rec, []byte{'\t'})
		if !ok || len(p) == 0 {
			continue
		}
		mode, rest, ok1 := bytes.Cut(meta, []byte{' '})
		_, rest, ok2 := bytes.Cut(rest, []byte{' '})
		oid, size, sized := bytes.Cut(rest, []byte{' '})
		size = bytes.TrimLeft(size, " ")
		if !ok1 || !ok2 || len(mode) == 0 || len(oid) == 0 || sized && (len(size) == 0 || bytes.IndexByte(size, ' ') >= 0) {
			continue
		}
		n := int64(-1)
		if sized {
			n = parseSize(size)
		}
		entries[string(p)] = treeEntry{mode: internMode(mode), oid: string(oid), size: n}
	}
	return entries
}

// internMode returns git's common modes without allocating.
func internMode(m []byte) string {
	switch string(m) {
	case "100644":
		return "100644"
	case "100755":
		return "100755"
	case "120000":
		return "120000"
	case "160000":
		return "160000"
	}
	return string(m)
}

// parseSize reads ls-tree's decimal size; "-" (a submodule) and anything
// else that is not a size is 0.
func parseSize(b []byte) int64 {
	if len(b) > 18 {
		return 0
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// OpenStaged opens what is about to be committed in the git work tree dir
// (a pre-commit hook): Files are the paths the index adds or changes
// relative to HEAD (all of them before the first commit), and every read
// comes from the index, not the work tree.
func OpenStaged(ctx context.Context, dir string) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if _, err := Git(ctx, abs, "rev-parse", "--is-inside-work-tree"); err != nil {
		return nil, fmt.Errorf("%s: %w (%v)", dir, ErrNotGit, err)
	}
	top, err := Git(ctx, abs, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, err
	}
	abs = strings.TrimSpace(string(top))
	out, err := Git(ctx, abs, "ls-files", "-z", "--stage", "--full-name")
	if err != nil {
		return nil, err
	}
	r := &Repo{Dir: abs, IsGit: true, Rev: "index", entries: map[string]treeEntry{}, Limits: DefaultLimits()}
	for _, rec := range bytes.Split(out, []byte{0}) {
		meta, p, ok := bytes.Cut(rec, []byte{'\t'})
		if !ok || len(p) == 0 {
			continue
		}
		f := strings.Fields(string(meta)) // mode, object, stage
		if len(f) != 3 || f[2] != "0" {
			continue // unmerged entries are not about to be committed
		}
		name := string(p)
		r.entries[name] = treeEntry{mode: f[0], oid: f[1], size: -1}
		r.tracked = append(r.tracked, name)
	}
	slices.Sort(r.tracked)
	r.all = r.tracked
	r.cat = &catFile{dir: abs}
	// The staged change: against HEAD, or everything before the first commit.
	var changed []byte
	if _, err := ResolveCommit(ctx, abs, "HEAD"); err == nil {
		changed, err = Git(ctx, abs, "diff", "--cached", "--name-only", "-z", "--no-renames", "--diff-filter=ACMRT", "--no-ext-diff", "--no-textconv")
		if err != nil {
			r.Close()
			return nil, err
		}
		for _, p := range bytes.Split(changed, []byte{0}) {
			if len(p) > 0 {
				r.scope = append(r.scope, string(p))
			}
		}
		slices.Sort(r.scope)
	} else {
		r.scope = r.all
	}
	return r, nil
}

// sized returns a tree entry with its size. The sizes of a tree listed
// without them are read with one `git cat-file --batch-check`, so that
// limits apply before a read: first those of the scope's files (what
// checks ask for), then, when a file outside it is asked for, the rest.
func (r *Repo) sized(name string, e treeEntry) (treeEntry, error) {
	if e.size >= 0 {
		return e, nil
	}
	if e.mode == "160000" {
		e.size = 0
		return e, nil
	}
	r.sizeMu.Lock()
	defer r.sizeMu.Unlock()
	if n, ok := r.sizes[name]; ok {
		e.size = n
		return e, nil
	}
	names := r.scope
	if _, in := slices.BinarySearch(r.scope, name); !in || r.sizes != nil {
		r.full()
		names = r.tracked
	}
	if r.sizes == nil {
		r.sizes = map[string]int64{}
	}
	var in bytes.Buffer
	var asked []string
	for _, n := range names {
		if x, ok := r.entry(n); ok && x.size < 0 && x.mode != "160000" {
			if _, done := r.sizes[n]; !done {
				in.WriteString(x.oid + "\n")
				asked = append(asked, n)
			}
		}
	}
	cmd := Command(context.Background(), r.Dir, "cat-file", "--batch-check=%(objectsize)")
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		return e, fmt.Errorf("git cat-file --batch-check: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i, n := range asked {
		r.sizes[n] = 0 // a missing object reads as empty, and fails when read
		if i < len(lines) {
			if s, err := strconv.ParseInt(strings.TrimSpace(lines[i]), 10, 64); err == nil && s >= 0 {
				r.sizes[n] = s
			}
		}
	}
	e.size = r.sizes[name]
	return e, nil
}
