package secrets

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/repo"
)

// Range names the commits of a history scan: those reachable from Until
// (default HEAD) and not from Since (default: none, the whole history).
type Range struct {
	Since, Until string
}

func (r Range) spec() string {
	if r.Since == "" {
		return r.until()
	}
	return r.Since + ".." + r.until()
}

func (r Range) until() string {
	if r.Until == "" {
		return "HEAD"
	}
	return r.Until
}

func (r Range) validate() error {
	for _, rev := range []string{r.Since, r.Until} {
		if rev == "" {
			continue
		}
		if err := repo.ValidRevision(rev); err != nil {
			return err
		}
		if strings.Contains(rev, "..") {
			return fmt.Errorf("revision %q: a range is given as Since and Until: %w", rev, repo.ErrUnknownRevision)
		}
	}
	return nil
}

// Added is the text a commit added to one file.
type Added struct {
	Commit, Author, Path string
	text                 bytes.Buffer
	lines                []int  // line in the new file of each added line
	blob                 []byte // the new file, for a Kubernetes manifest
	// above holds the line above an added line whose line above is not
	// the part's previous one, when it holds a suppression comment: a
	// finding's suppressions are read from the commit's text (found).
	above map[int]string
	index lineIndex // of text, built for the first finding
}

// reset empties a for the pool.
func (a *Added) reset() {
	a.text.Reset()
	a.lines, a.blob, a.above = a.lines[:0], nil, nil
	a.index = lineIndex{}
}

// found is the text of added line n (a line of the new file) and of the
// line above it, as the commit has them.
func (a *Added) found(n int) *check.FoundLines {
	i, ok := slices.BinarySearch(a.lines, n)
	if !ok {
		return &check.FoundLines{}
	}
	if a.index.text == nil {
		a.index = lineIndex{text: a.text.Bytes()}
	}
	f := &check.FoundLines{Line: a.index.line(i + 1)}
	if i > 0 && a.lines[i-1] == n-1 {
		f.Above = a.index.line(i)
	} else {
		f.Above = a.above[n]
	}
	return f
}

// lineIndex finds the lines of a text by number, indexing it on first use.
type lineIndex struct {
	text   []byte
	starts []int
}

// line returns line n (from 1) without its line break, or "".
func (x *lineIndex) line(n int) string {
	if x.starts == nil {
		x.starts = append(x.starts, 0)
		for i, c := range x.text {
			if c == '\n' {
				x.starts = append(x.starts, i+1)
			}
		}
	}
	if n < 1 || n > len(x.starts) {
		return ""
	}
	lo, hi := x.starts[n-1], len(x.text)
	if n < len(x.starts) {
		hi = x.starts[n] - 1
	}
	return string(x.text[lo:hi])
}

// gitLowMemory keeps git's own memory small while it reads a long history:
// its delta base cache and pack windows default to sizes meant for
// interactive use (96 MiB and more). The cache is what saves time: at
// 12 MiB, devenv's 1.4 MiB Cargo.nix versions rebuilt their delta chains
// (cat-file 22% slower than at 20 MiB); mapped pack data is touched once,
// so 8 MiB of it costs nothing. git's peak stays under nixgate's own (52 MB
// on devenv's whole history).
var gitLowMemory = []string{"-c", "core.deltaBaseCacheLimit=20m", "-c", "core.packedGitWindowSize=1m", "-c", "core.packedGitLimit=8m"}

// ScanHistory scans the lines each commit of a range added, reporting the
// commit and author of each finding: OpenHistory, then History.Scan.
func (rs *Ruleset) ScanHistory(ctx context.Context, dir string, rg Range, sink Sink) error {
	h, err := OpenHistory(ctx, dir, rg)
	if err != nil {
		return err
	}
	defer h.Close()
	return h.Scan(rs, sink)
}

// History is a range of commits being read for a scan: its `git log`
// stream and the `git cat-file --batch` that serves its blobs, both
// started by OpenHistory so that git works while the caller gets its
// rules ready.
type History struct {
	ctx    context.Context
	cancel context.CancelFunc
	spec   string
	rg     Range
	dir    string
	cmd    *exec.Cmd
	out    io.ReadCloser
	stderr bytes.Buffer
	blobs  *blobReader
	done   bool
}

// ErrNoSharedHistory is the error of a history scan of a range whose ends
// share no commit (such as a base on an unrelated branch, or beyond the
// reach of a shallow clone): the range would be all of the head's history.
var ErrNoSharedHistory = errors.New("the range's ends share no history")

// OpenHistory starts reading the commits of rg in the repository at dir.
// The caller scans them with Scan and closes the History either way.
//
// The history is read as one `git log --raw` stream (each commit's
// changed files with their old and new blobs) and one `git cat-file
// --batch` that serves the blobs; no process is started per commit.
func OpenHistory(ctx context.Context, dir string, rg Range) (*History, error) {
	if err := rg.validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	h := &History{ctx: ctx, cancel: cancel, spec: rg.spec(), rg: rg, dir: dir, blobs: &blobReader{ctx: ctx, dir: dir}}
	args := append(append([]string{}, gitLowMemory...), "log", "--reverse", "--raw", "-c", "--root", "--no-renames", "--no-abbrev", "-z",
		"--no-ext-diff", "--no-textconv", "--format=%x01%H %P%x02%an <%ae>")
	if rg.Since != "" {
		// Parents before children: a parent the scan has not seen yet is
		// outside the range, so the ends share history (sharedHistory).
		args = append(args, "--topo-order")
	}
	args = append(args, "--end-of-options", h.spec, "--")
	h.cmd = repo.Command(ctx, dir, args...)
	h.cmd.Stderr = &limitedBuffer{b: &h.stderr, n: 64 << 10}
	out, err := h.cmd.StdoutPipe()
	if err == nil {
		err = h.cmd.Start()
	}
	if err != nil {
		cancel()
		return nil, err
	}
	growPipe(out)
	h.out = out
	// git cat-file starts now too: its start-up overlaps the log's first
	// commits. A failure to start shows at the first blob read.
	h.blobs.mu.Lock()
	h.blobs.start()
	h.blobs.mu.Unlock()
	return h, nil
}

// Close stops git if the scan did not finish, and waits for it.
func (h *History) Close() {
	h.cancel()
	if !h.done {
		io.Copy(io.Discard, h.out)
		h.cmd.Wait()
		h.done = true
	}
	h.blobs.close()
}

// Scan scans the lines each commit of the history added.
//
// Rather than have git compute diffs, the lines a commit added are the
// lines of the new blob that the old blob does not hold (compared by
// hash, counting repeats): a line moved within a file is not added, a
// line copied is. A merge adds the lines of the new blob that none of its
// parents' versions holds. The previous version of each file is usually the new
// version of an earlier commit of the scan, kept hashed in a bounded
// cache, so most blobs are read once. The added lines are scanned on
// every CPU. A Kubernetes manifest is parsed from the new blob, so that
// its encoded values are decoded; only findings on added lines are
// reported, and manifests whose kind line was added go to sink.Manifest.
func (h *History) Scan(rs *Ruleset, sink Sink) error {
	ctx, cancel, out, blobs := h.ctx, h.cancel, h.out, h.blobs
	var mu sync.Mutex // serialises sink calls
	locked := Sink{Stats: sink.Stats}
	if sink.Finding != nil {
		locked.Finding = func(f Finding) { mu.Lock(); sink.Finding(f); mu.Unlock() }
	}
	if sink.Manifest != nil {
		locked.Manifest = func(m Manifest) { mu.Lock(); sink.Manifest(m); mu.Unlock() }
	}
	pool := &sync.Pool{New: func() any { return new(Added) }}
	work := make(chan *Added, 2*runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	// The first error stops the scan. It can come from a worker, the
	// stream, or the merge-base check of sharedHistory, whose goroutine
	// may still run when the scan ends: the error is read under errMu,
	// and one that comes later is not needed (the verdict below says the
	// same).
	var scanErr error
	var errMu sync.Mutex
	fail := func(err error) {
		errMu.Lock()
		defer errMu.Unlock()
		if scanErr == nil {
			scanErr = err
			cancel()
		}
	}
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := rs.NewScanner()
			for a := range work {
				if ctx.Err() == nil {
					if err := rs.scanAdded(sc, a, locked); err != nil {
						fail(err)
					}
				}
				a.reset()
				pool.Put(a)
			}
		}()
	}
	d := newDiffer(blobs)
	d.pool = pool
	emit := func(a *Added) error {
		if sink.Stats != nil {
			sink.Stats.Files.Add(1)
			sink.Stats.Bytes.Add(int64(a.text.Len()))
		}
		select {
		case work <- a:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// A blob too large to hold is scanned streaming, its findings less
	// those its previous version had.
	large := func(c change) error { return rs.scanLarge(ctx, blobs, c, locked) }
	shared := h.sharedHistory(fail)
	perr := d.stream(ctx, fail, out, shared.commit, func(c change) bool { return !rs.SkipPath(c.path) }, emit, large)
	close(work)
	wg.Wait()
	// failed is the scan's first error if there was one, else err: a
	// context cancelled by fail is never reported in place of the error
	// that cancelled it (fail records it first).
	failed := func(err error) error {
		errMu.Lock()
		defer errMu.Unlock()
		if scanErr != nil {
			return scanErr
		}
		return err
	}
	if err := failed(perr); err != nil {
		return err
	}
	h.done = true
	if err := h.cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return failed(ctx.Err())
		}
		return fmt.Errorf("git log %s: %s", h.spec, oneLine(h.stderr.String()))
	}
	if err := ctx.Err(); err != nil {
		return failed(err)
	}
	return shared.verdict()
}

// sharedHistory watches the commits of a range with a base (listed
// parents first) for one whose parent is outside the range: the ends then
// share history. The first commit shows it at once, unless it is a root;
// only then is git asked for the merge base, so that a base on an
// unrelated history stops the scan early.
type sharedHistory struct {
	h      *History
	fail   func(error)
	seen   map[string]bool
	shared bool
}

func (h *History) sharedHistory(fail func(error)) *sharedHistory {
	return &sharedHistory{h: h, fail: fail, seen: map[string]bool{}}
}

func (s *sharedHistory) commit(hash, parents string) error {
	if s.h.rg.Since == "" || s.shared {
		return nil
	}
	if len(s.seen) == 0 && parents == "" {
		go func() {
			if _, err := repo.Git(s.h.ctx, s.h.dir, "merge-base", "--end-of-options", s.h.rg.Since, s.h.rg.until()); err != nil && s.h.ctx.Err() == nil {
				s.fail(s.unrelated())
			}
		}()
	}
	for _, p := range strings.Fields(parents) {
		if !s.seen[p] {
			s.shared = true
			s.seen = nil
			return nil
		}
	}
	s.seen[hash] = true
	return nil
}

// verdict is the error of a range whose commits all lie outside the
// base's history.
func (s *sharedHistory) verdict() error {
	if s.h.rg.Since != "" && !s.shared && len(s.seen) > 0 {
		return s.unrelated()
	}
	return nil
}

func (s *sharedHistory) unrelated() error { return fmt.Errorf("%s: %w", s.h.spec, ErrNoSharedHistory) }

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(s), "fatal: ", "")), " ")
}

// limitedBuffer keeps the first n bytes written to it.
type limitedBuffer struct {
	b *bytes.Buffer
	n int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// maxAdded bounds the added text of one file handed to a scan at once:
// more is scanned in parts, so memory stays bounded whatever a commit
// adds.
const maxAdded = 4 << 20

// maxBlob is the largest blob compared line by line in memory; a larger
// one is scanned streaming (scanLarge).
const maxBlob = 16 << 20

// change is one file a commit changed, from `git log --raw -z`.
type change struct {
	commit, author, path string
	oldID, newID         string
	// others are a merge's versions of the file in its other parents
	// (zeroID where a parent has none): lines they hold are not added by
	// the merge.
	others  []string
	newMode string
	status  byte
}

const zeroID = "0000000000000000000000000000000000000000"

// maxRawToken bounds one path, author or parent list of a `git log` stream.
const maxRawToken = 1 << 20

// parseRawLog reads `git log --raw -z --format=%x01%H %P%x02AUTHOR` output,
// calls commit for each commit with its parents (space-separated) and fn
// for each changed file: added, modified or type-changed regular files
// (deletions, symlinks and submodules carry no content to scan). Paths
// come NUL-terminated, unquoted.
func parseRawLog(r io.Reader, commit func(hash, parents string) error, fn func(change) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	var hash, author string
	var meta, long []byte
	for {
		tok, err := br.ReadSlice(0)
		if errors.Is(err, bufio.ErrBufferFull) {
			// A token longer than the buffer: a long path, author or list
			// of parents (an octopus merge). It is gathered whole, up to
			// maxRawToken; a longer one fails the scan rather than be
			// skipped with the change it names.
			long = append(long[:0], tok...)
			for errors.Is(err, bufio.ErrBufferFull) {
				tok, err = br.ReadSlice(0)
				if len(long)+len(tok) > maxRawToken {
					return fmt.Errorf("git log, after commit %q: an entry longer than %d bytes", hash, maxRawToken)
				}
				long = append(long, tok...)
			}
			tok = long
		}
		if len(tok) == 0 && err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		tok = bytes.TrimSuffix(tok, []byte{0})
		tok = bytes.TrimLeft(tok, "\n")
		switch {
		case meta != nil:
			// The path of the entry whose metadata came before.
			c, ok, err := parseRawMeta(meta)
			meta = nil
			if err != nil {
				return fmt.Errorf("git log, commit %s: %w", hash, err)
			}
			if ok {
				c.commit, c.author, c.path = hash, author, string(tok)
				if err := fn(c); err != nil {
					return err
				}
			}
		case len(tok) > 0 && tok[0] == 1:
			h, a, _ := bytes.Cut(tok[1:], []byte{2})
			h, parents, _ := bytes.Cut(h, []byte{' '})
			hash, author = string(h), string(a)
			if err := commit(hash, string(parents)); err != nil {
				return err
			}
		case len(tok) > 0 && tok[0] == ':':
			meta = append(meta[:0:0], tok...)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// parseRawMeta reads ":OLDMODE NEWMODE OLDID NEWID STATUS", or a merge's
// combined entry (`-c`: one colon, mode and object per parent, then the
// merge's mode and object, and a status letter per parent, as in
// "::MODE1 MODE2 MODE ID1 ID2 ID MM"), and says whether the entry adds
// content to scan. Object names are SHA-1 (40 hex digits) or SHA-256
// (64); an entry of another shape is an error, never skipped, so that no
// change goes unscanned unnoticed.
func parseRawMeta(meta []byte) (change, bool, error) {
	parents := len(meta) - len(bytes.TrimLeft(meta, ":"))
	f := strings.Fields(string(meta[parents:]))
	bad := len(f) != 2*(parents+1)+1 || parents > 1 && len(f[len(f)-1]) != parents || f[len(f)-1] == ""
	for i := parents + 1; !bad && i <= 2*parents+1; i++ {
		bad = !objectName(f[i]) || len(f[i]) != len(f[parents+1])
	}
	if bad {
		return change{}, false, fmt.Errorf("unexpected change entry %q", truncate(string(meta), 200))
	}
	modes, ids, status := f[:parents+1], f[parents+1:2*parents+2], f[len(f)-1]
	c := change{newMode: modes[parents], newID: ids[parents], status: status[0]}
	if parents > 1 {
		// A merge is listed only for a file that differs from every
		// parent; what it adds is what none of them holds.
		c.status = 'M'
	}
	switch c.status {
	case 'A', 'M', 'T', 'C', 'R':
	default:
		return change{}, false, nil
	}
	if !strings.HasPrefix(c.newMode, "100") || isZeroID(c.newID) {
		return change{}, false, nil
	}
	for i := 0; i < parents; i++ {
		id := ids[i]
		if !strings.HasPrefix(modes[i], "100") || isZeroID(id) {
			id = zeroID // none, a symlink or a submodule before: no lines to compare
		}
		if i == 0 {
			c.oldID = id
		} else {
			c.others = append(c.others, id)
		}
	}
	return c, true, nil
}

// objectName reports whether s is a full object name, SHA-1 or SHA-256.
func objectName(s string) bool {
	return (len(s) == 40 || len(s) == 64) && strings.Trim(s, "0123456789abcdef") == ""
}

// isZeroID reports whether s is git's null object name (of either hash).
func isZeroID(s string) bool { return strings.Trim(s, "0") == "" }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// differ finds the lines a change added, with a cache of recent blobs (the
// previous version of a file is usually the new version of an earlier
// commit of the scan, so most blobs are read from git once).
type differ struct {
	blobs *blobReader
	seed  maphash.Seed
	cache map[string]cached // by blob ID
	// fresh holds the cached blobs in the order they were cached; used,
	// those that have since been the old version of a change, in the order
	// of that use. A version that has been compared against is rarely
	// needed again (only where branches fork from it), so used blobs
	// leave the cache first. Entries whose generation no longer matches
	// are stale and skipped.
	fresh, used []cacheRef
	next        uint64
	held        int        // bytes held
	pool        *sync.Pool // of *Added, or nil
	counts      lineCounts
	others      lineCounts // the lines of a merge's other parents (readOthers)
	// left, while a stream runs, hears of each blob that leaves the cache
	// (or was not kept), so that the change list asks for it again.
	left    chan string
	oldCopy []byte
	// pins counts, by blob ID, the changes the change list has sent on
	// that will read the blob from the cache: the cache keeps a pinned
	// blob past its budget (up to cacheHard), so that the change does not
	// find it gone and have both its versions read again after the stream.
	pinMu sync.Mutex
	pins  map[string]int
}

// lineCounts is a multiset of line hashes: an open-addressing table,
// reused from change to change (a Go map costs several times more per
// line, and changes compare millions of lines).
type lineCounts struct {
	keys []uint64
	cnt  []int32
	mask uint64
	n    int
}

func (t *lineCounts) reset(lines int) {
	size := 16
	for size < 2*lines {
		size <<= 1
	}
	if cap(t.keys) > 1<<16 && size <= 1<<16 {
		t.keys, t.cnt = nil, nil // a large table is not kept for small changes
	}
	if cap(t.keys) >= size {
		t.keys, t.cnt = t.keys[:size], t.cnt[:size]
		clear(t.cnt)
	} else {
		t.keys, t.cnt = make([]uint64, size), make([]int32, size)
	}
	t.mask, t.n = uint64(size-1), 0
}

func (t *lineCounts) add(h uint64) {
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		if t.cnt[i] == 0 {
			t.keys[i], t.cnt[i] = h, 1
			t.n++
			return
		}
		if t.keys[i] == h {
			t.cnt[i]++
			return
		}
	}
}

// grow makes room for lines distinct hashes, keeping those held.
func (t *lineCounts) grow(lines int) {
	if 2*lines <= len(t.keys) {
		return
	}
	keys, cnt := t.keys, t.cnt
	t.keys, t.cnt = nil, nil
	t.reset(lines)
	for i, c := range cnt {
		for ; c > 0; c-- {
			t.add(keys[i])
		}
	}
}

// has reports whether h is in the table.
func (t *lineCounts) has(h uint64) bool {
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		switch {
		case t.cnt[i] == 0:
			return false
		case t.keys[i] == h:
			return true
		}
	}
}

// take removes one h and reports whether there was one. A slot whose count
// falls to zero keeps its key (-1 marks it used up), so probes pass over it.
func (t *lineCounts) take(h uint64) bool {
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		switch c := t.cnt[i]; {
		case c == 0:
			return false
		case t.keys[i] == h && c > 0:
			t.cnt[i]--
			if t.cnt[i] == 0 {
				t.cnt[i] = -1
			}
			return true
		case t.keys[i] == h:
			return false
		}
	}
}

// cached is a blob in the cache: its content (nil: binary or empty) and
// when it was cached.
type cached struct {
	b   []byte
	gen uint64
}

// cacheRef names one caching of a blob.
type cacheRef struct {
	id  string
	gen uint64
}

// cacheBytes bounds the blob bytes held; cacheEntry is the largest blob
// worth keeping.
const (
	cacheBytes = 4 << 20
	cacheEntry = 2 << 20
	// cacheHard bounds the bytes held when pinned blobs (differ.pins)
	// fill the budget: beyond it, pinned blobs leave too. devenv's whole
	// history holds at most 8 MB.
	cacheHard = 12 << 20
)

func newDiffer(b *blobReader) *differ {
	return &differ{blobs: b, seed: maphash.MakeSeed(), cache: map[string]cached{}, pins: map[string]int{}}
}

func (d *differ) newAdded(c change) *Added {
	var a *Added
	if d.pool != nil {
		a = d.pool.Get().(*Added)
	} else {
		a = new(Added)
	}
	a.Commit, a.Author, a.Path = c.commit, c.author, c.path
	return a
}

// put keeps a blob (nil for one without lines to compare), dropping the
// oldest beyond the budget, and reports whether it is cached. A blob just
// read is kept without a copy: the reader's buffer becomes the cache's,
// and the reader takes a recycled one for its next read.
func (d *differ) put(id string, b []byte) bool {
	if _, ok := d.cache[id]; ok {
		return true
	}
	if len(b) > cacheEntry {
		d.gone(id)
		return false
	}
	for d.held+cap(b) > cacheBytes && d.evict(d.held+cap(b) > cacheHard) {
	}
	if b != nil {
		d.blobs.release(b)
	}
	d.next++
	d.cache[id] = cached{b, d.next}
	d.fresh = append(d.fresh, cacheRef{id, d.next})
	d.held += cap(b)
	return true
}

// evict drops the blob that is least likely to be needed again, and
// reports whether there was one. A pinned blob stays unless force is
// set.
func (d *differ) evict(force bool) bool {
	d.pinMu.Lock()
	defer d.pinMu.Unlock()
	for _, q := range []*[]cacheRef{&d.used, &d.fresh} {
		var kept []cacheRef
		for len(*q) > 0 {
			r := (*q)[0]
			*q = (*q)[1:]
			c, ok := d.cache[r.id]
			if !ok || c.gen != r.gen {
				continue // evicted already, or cached again since
			}
			if !force && d.pins[r.id] > 0 {
				kept = append(kept, r)
				continue
			}
			if kept != nil {
				*q = append(kept, *q...)
			}
			d.held -= cap(c.b)
			d.blobs.recycle(c.b)
			delete(d.cache, r.id)
			d.gone(r.id)
			return true
		}
		*q = kept
	}
	return false
}

// pin keeps a blob cached for one more change (the change list calls it
// for each blob a change will take from the cache); unpin releases it
// once the change is compared.
func (d *differ) pin(id string) {
	d.pinMu.Lock()
	d.pins[id]++
	d.pinMu.Unlock()
}

func (d *differ) unpin(id string) {
	d.pinMu.Lock()
	if d.pins[id]--; d.pins[id] <= 0 {
		delete(d.pins, id)
	}
	d.pinMu.Unlock()
}

// gone tells a running stream's change list that a blob is not cached. A
// full channel drops the news: the change then finds its old blob missing
// and is compared after the stream.
func (d *differ) gone(id string) {
	select {
	case d.left <- id:
	default:
	}
}

// old returns a cached blob as the old version of a change, which moves it
// to the front of the eviction order.
func (d *differ) old(id string) ([]byte, bool) {
	c, ok := d.cache[id]
	if ok {
		d.used = append(d.used, cacheRef{id, c.gen})
	}
	return c.b, ok
}

// stream finds the lines each change of a `git log --raw` stream (log)
// added, for the changes keep keeps. The blobs are asked of git cat-file
// as the changes come, and read back in order while git works ahead: the
// change list (this goroutine) decides which blobs a change needs and
// writes the requests, flushing them whenever it would wait (for more of
// the log, or for the reader), and a reader compares the versions. A
// change needs its new blob, and its old blob unless that is the new blob
// of an earlier change, still in the cache: the reader tells the list
// which blobs left the cache. A change whose old blob left the cache
// meanwhile (or was too large to keep) is compared after the stream, its
// blobs read again; so is a blob too large to hold (large). commit sees
// each commit; stop ends the stream early with an error (a failed read).
func (d *differ) stream(ctx context.Context, stop func(error), log io.Reader, commit func(hash, parents string) error,
	keep func(change) bool, emit func(*Added) error, large func(change) error) error {
	type item struct {
		c       change
		needOld bool
		asked   []bool // which of c.others were asked for (the rest are cached)
	}
	b := d.blobs
	b.mu.Lock()
	if err := b.start(); err != nil {
		b.mu.Unlock()
		return err
	}
	items := make(chan item, 256)
	d.left = make(chan string, 4096)
	var later, big []change
	read := make(chan error, 1)
	go func() {
		var err error
		for it := range items {
			if err == nil {
				if err = d.compare(it.c, it.needOld, it.asked, &later, &big, emit); err != nil {
					stop(err)
				}
			}
		}
		read <- err
	}()
	w := bufio.NewWriterSize(b.in, 64<<10)
	unflushed := false
	flush := func() error {
		if !unflushed {
			return nil
		}
		unflushed = false
		if err := w.Flush(); err != nil {
			return fmt.Errorf("git cat-file: %w", err)
		}
		return nil
	}
	ask := func(id string) {
		w.WriteString(id)
		w.WriteByte('\n')
		unflushed = true
	}
	held := map[string]bool{} // what the reader will have cached
	err := parseRawLog(readHook{log, flush}, commit, func(c change) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !keep(c) {
			return nil
		}
		for drained := false; !drained; {
			select {
			case id := <-d.left:
				delete(held, id)
			default:
				drained = true
			}
		}
		for _, id := range append([]string{c.oldID, c.newID}, c.others...) {
			if strings.ContainsAny(id, "\n\r") || id == "" {
				return fmt.Errorf("bad object name %q", id)
			}
		}
		needOld := c.oldID != zeroID && !held[c.oldID]
		if needOld {
			ask(c.oldID)
			held[c.oldID] = true
		} else if c.oldID != zeroID {
			d.pin(c.oldID)
		}
		var asked []bool
		for i, id := range c.others {
			if i == 0 {
				asked = make([]bool, len(c.others))
			}
			if id != zeroID && !held[id] {
				ask(id) // read and dropped at once: not held
				asked[i] = true
			} else if id != zeroID {
				d.pin(id)
			}
		}
		ask(c.newID)
		held[c.newID] = true
		it := item{c, needOld, asked}
		select {
		case items <- it:
			return nil
		default:
		}
		// The reader is behind: it may wait for these requests.
		if err := flush(); err != nil {
			return err
		}
		select {
		case items <- it:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	werr := flush()
	close(items)
	rerr := <-read
	if werr != nil || rerr != nil {
		b.dead = true
	}
	b.mu.Unlock()
	d.left = nil
	switch {
	case rerr != nil:
		return rerr
	case err != nil:
		return err
	case werr != nil:
		return werr
	}
	for _, c := range later {
		ob, _, err := b.read(c.oldID, maxBlob)
		if err != nil {
			return err
		}
		if ob != nil && isBinary(ob) {
			ob = nil
		}
		ob = bytes.Clone(ob)
		if _, err := d.readOthers(c, ob, false, nil, func(id string) ([]byte, error) { b, _, err := b.read(id, maxBlob); return b, err }); err != nil {
			return err
		}
		nb, _, err := b.read(c.newID, maxBlob)
		if err != nil {
			return err
		}
		if nb == nil || isBinary(nb) {
			continue
		}
		if err := d.added(c, ob, nb, emit); err != nil {
			return err
		}
	}
	for _, c := range big {
		if err := large(c); err != nil {
			return err
		}
	}
	return nil
}

// readOthers reads a merge's versions of a file in its other parents
// (read gives each, valid until the next read) into the set of lines the
// merge does not add; for any other change the set is empty. Only the
// part of each version that differs from the first parent's (old, whole
// lines) is taken: a line of the common prefix or suffix is in old, so
// the comparison with old has already counted it (a further copy of it in
// the merge is then reported, not missed). With skip the versions are
// read and dropped (the change is compared later). A version that was not
// asked for (asked, nil for all) comes from the cache; when it has left
// the cache, readOthers reports false, and the change is compared later.
func (d *differ) readOthers(c change, old []byte, skip bool, asked []bool, read func(id string) ([]byte, error)) (bool, error) {
	d.others.n = 0
	first, all := true, true
	for i, id := range c.others {
		if id == zeroID {
			continue
		}
		var b []byte
		if asked == nil || asked[i] {
			var err error
			if b, err = read(id); err != nil {
				return false, err
			}
		} else if cb, ok := d.old(id); ok {
			b = cb
		} else {
			all = false
		}
		if skip || !all || b == nil || isBinary(b) {
			continue // none, binary, or too large: its lines are not known
		}
		pre := commonPrefix(old, b)
		b = b[pre : len(b)-commonSuffix(old[pre:], b[pre:])]
		if len(b) == 0 {
			continue
		}
		lines := bytes.Count(b, []byte{'\n'}) + 1
		if first {
			d.others.reset(lines)
			first = false
		} else {
			d.others.grow(d.others.n + lines)
		}
		for len(b) > 0 {
			line := b
			if j := bytes.IndexByte(b, '\n'); j >= 0 {
				line, b = b[:j], b[j+1:]
			} else {
				b = nil
			}
			d.others.add(maphash.Bytes(d.seed, line))
		}
	}
	return all, nil
}

// compare reads a change's blobs (its old one first when the change list
// asked for it) and hands the lines it added to emit; a change to compare
// after the stream goes to later or big.
func (d *differ) compare(c change, needOld bool, asked []bool, later, big *[]change, emit func(*Added) error) error {
	defer d.unpinChange(c, needOld, asked)
	var old []byte
	haveOld := true
	if needOld {
		b, _, err := d.blobs.response(maxBlob)
		if err != nil {
			return err
		}
		if b != nil && !isBinary(b) {
			old = b
		}
		if !d.put(c.oldID, old) {
			// Too large to cache: keep it for this change only.
			d.oldCopy = append(d.oldCopy[:0], old...)
			old = d.oldCopy
		} else {
			old, _ = d.old(c.oldID)
		}
	} else if c.oldID != zeroID {
		old, haveOld = d.old(c.oldID)
	}
	haveOthers, err := d.readOthers(c, old, !haveOld, asked, func(string) ([]byte, error) { b, _, err := d.blobs.response(maxBlob); return b, err })
	if err != nil {
		return err
	}
	haveOld = haveOld && haveOthers
	nb, size, err := d.blobs.response(maxBlob)
	if err != nil {
		return err
	}
	switch {
	case nb == nil && size > maxBlob:
		*big = append(*big, c)
		d.put(c.newID, nil)
	case isBinary(nb):
		d.put(c.newID, nil)
	case !haveOld:
		*later = append(*later, c)
		d.put(c.newID, nb)
	default:
		if err := d.added(c, old, nb, emit); err != nil {
			return err
		}
		d.put(c.newID, nb)
	}
	return nil
}

// unpinChange releases the blobs the change list pinned for a change:
// its old version unless it was asked for, and the versions of a merge's
// other parents that were not.
func (d *differ) unpinChange(c change, needOld bool, asked []bool) {
	if !needOld && c.oldID != zeroID {
		d.unpin(c.oldID)
	}
	for i, id := range c.others {
		if id != zeroID && asked != nil && !asked[i] {
			d.unpin(id)
		}
	}
}

func isBinary(b []byte) bool { return bytes.IndexByte(b[:min(len(b), sniffSize)], 0) >= 0 }

// commonPrefix is the length of the longest common prefix of a and b made
// of whole lines.
func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	// Blocks of 4 KiB, then 512 and 64 bytes, then bytes: a large file
	// changed in one place costs a few dozen comparisons, not one per 64
	// bytes.
	for step := 4096; step >= 64; step /= 8 {
		for i+step <= n && bytes.Equal(a[i:i+step], b[i:i+step]) {
			i += step
		}
	}
	for i < n && a[i] == b[i] {
		i++
	}
	if i == len(a) && i == len(b) {
		return i
	}
	return bytes.LastIndexByte(a[:i], '\n') + 1
}

// commonSuffix is the length of the longest common suffix of a and b made
// of whole lines (a line break ends each but the last).
func commonSuffix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for step := 4096; step >= 64; step /= 8 { // as in commonPrefix
		for i+step <= n && bytes.Equal(a[len(a)-i-step:len(a)-i], b[len(b)-i-step:len(b)-i]) {
			i += step
		}
	}
	for i < n && a[len(a)-1-i] == b[len(b)-1-i] {
		i++
	}
	// Keep whole lines: the suffix starts after a line break.
	for i > 0 && !((len(a)-i == 0 || a[len(a)-i-1] == '\n') && (len(b)-i == 0 || b[len(b)-i-1] == '\n')) {
		i--
	}
	return i
}

// added hands the lines of a change's new blob nb that its old blob does
// not hold (counting repeats) to emit, in parts of at most maxAdded. Most
// changes are small: the common prefix and suffix are found by comparing
// bytes, and only the lines between them are compared as multisets, which
// gives the multiset difference of the whole files.
func (d *differ) added(c change, old, nb []byte, emit func(*Added) error) error {
	pre := commonPrefix(old, nb)
	suf := commonSuffix(old[pre:], nb[pre:])
	oldMid, newMid := old[pre:len(old)-suf], nb[pre:len(nb)-suf]
	if len(newMid) == 0 {
		return nil
	}
	counts := &d.counts
	counts.reset(bytes.Count(oldMid, []byte{'\n'}) + 1)
	for len(oldMid) > 0 {
		line := oldMid
		if j := bytes.IndexByte(oldMid, '\n'); j >= 0 {
			line, oldMid = oldMid[:j], oldMid[j+1:]
		} else {
			oldMid = nil
		}
		counts.add(maphash.Bytes(d.seed, line))
	}
	a := d.newAdded(c)
	var blob []byte
	if KubeName(c.path) && len(nb) <= kubeMax && bytes.Contains(nb, []byte("kind")) {
		blob = bytes.Clone(nb)
		a.blob = blob
	}
	lineNo := bytes.Count(nb[:pre], []byte{'\n'}) + 1
	prev := nb[:pre] // the line above, once trimmed to it
	if len(prev) > 0 {
		prev = prev[:len(prev)-1]
		prev = prev[bytes.LastIndexByte(prev, '\n')+1:]
	}
	prevAdded := false
	for len(newMid) > 0 {
		line := newMid
		if j := bytes.IndexByte(newMid, '\n'); j >= 0 {
			line, newMid = newMid[:j], newMid[j+1:]
		} else {
			newMid = nil
		}
		n := lineNo
		lineNo++
		above, aboveAdded := prev, prevAdded
		prev, prevAdded = line, false
		if counts.n > 0 || d.others.n > 0 {
			h := maphash.Bytes(d.seed, line)
			if counts.n > 0 && counts.take(h) || d.others.n > 0 && d.others.has(h) {
				continue
			}
		}
		prevAdded = true
		if (!aboveAdded || a.text.Len() == 0) && bytes.Contains(above, []byte(check.IgnoreMarker)) {
			if a.above == nil {
				a.above = map[int]string{}
			}
			a.above[n] = string(above)
		}
		a.text.Write(line)
		a.text.WriteByte('\n')
		a.lines = append(a.lines, n)
		if a.text.Len() >= maxAdded {
			if err := emit(a); err != nil {
				return err
			}
			a = d.newAdded(c)
			a.blob = blob
		}
	}
	if a.text.Len() > 0 {
		return emit(a)
	}
	if d.pool != nil {
		a.reset()
		d.pool.Put(a)
	}
	return nil
}

func (rs *Ruleset) scanAdded(sc *Scanner, a *Added, sink Sink) error {
	lineMap := func(l int) int {
		if l >= 1 && l <= len(a.lines) {
			return a.lines[l-1]
		}
		return 0
	}
	in := Input{Path: a.Path, Commit: a.Commit, LineMap: lineMap}
	emit := func(f Finding) {
		f.Author = a.Author
		f.Commit = a.Commit
		if f.Found == nil {
			f.Found = a.found(f.Line)
		}
		if sink.Finding != nil {
			sink.Finding(f)
		}
	}
	if a.blob != nil && bytes.Contains(a.text.Bytes(), []byte("kind")) && LooksKubernetes(a.Path, a.blob) {
		if k, _ := rs.Kubernetes(a.Path, a.blob); k != nil {
			added := make(map[int]bool, len(a.lines))
			for _, l := range a.lines {
				added[l] = true
			}
			for _, f := range k.Findings {
				if added[f.Line] {
					f.Commit = a.Commit
					emit(f)
				}
			}
			for _, m := range k.Manifests {
				if added[m.Line] && sink.Manifest != nil {
					m.Commit = a.Commit
					m.Found = a.found(m.Line)
					sink.Manifest(m)
				}
			}
			in.Skip = func(l int) bool { return k.Skip(lineMap(l)) }
		}
	}
	err := sc.ScanBytes(in, a.text.Bytes(), emit)
	if err == ErrBinary {
		return nil
	}
	return err
}

// scanLarge scans a blob larger than maxBlob streaming, and reports the
// findings (by rule and secret) that its previous version (and, for a
// merge, its other parents' versions) did not have.
func (rs *Ruleset) scanLarge(ctx context.Context, blobs *blobReader, c change, sink Sink) error {
	sc := rs.NewScanner()
	had := map[string]bool{}
	for _, id := range append([]string{c.oldID}, c.others...) {
		if id == zeroID {
			continue
		}
		err := blobs.stream(id, func(r io.Reader) error {
			return sc.Scan(Input{Path: c.path}, r, func(f Finding) { had[f.RuleID+"\x00"+f.Secret] = true })
		})
		if err != nil && err != ErrBinary {
			return err
		}
	}
	err := blobs.stream(c.newID, func(r io.Reader) error {
		return sc.Scan(Input{Path: c.path, Commit: c.commit}, r, func(f Finding) {
			if !had[f.RuleID+"\x00"+f.Secret] && sink.Finding != nil {
				f.Commit, f.Author = c.commit, c.author
				// Not held, as no file over 4 MiB is read for suppressions.
				f.Found = &check.FoundLines{}
				sink.Finding(f)
			}
		})
	})
	if err == ErrBinary {
		return nil
	}
	return err
}

// blobReader reads blobs through one `git cat-file --batch`, started on
// first use.
type blobReader struct {
	ctx       context.Context
	dir       string
	mu        sync.Mutex
	cmd       *exec.Cmd
	in        io.WriteCloser
	out       *bufio.Reader
	dead      bool
	buf       []byte
	free      [][]byte // recycled buffers (recycle)
	freeBytes int
	size      int64     // of the response whose header was read last, or -1
	pipe      io.Closer // git's output (startReading), closed after git exits
}

func (b *blobReader) start() error {
	if b.dead {
		return fmt.Errorf("git cat-file stopped")
	}
	if b.cmd != nil {
		return nil
	}
	args := append(append([]string{}, gitLowMemory...), "cat-file", "--batch")
	cmd := repo.Command(b.ctx, b.dir, args...)
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := startReading(b.ctx, cmd)
	if err != nil {
		in.Close()
		b.dead = true
		return err
	}
	b.pipe = out
	// A small buffer: a body larger than it is read from the pipe straight
	// into the blob's buffer, not copied through this one (a 1 MiB buffer
	// copied every blob of a 61 MB range once more: devenv's last 100
	// commits 147 -> 133 ms, its whole history 1.58 -> 1.39 s).
	b.cmd, b.in, b.out = cmd, in, bufio.NewReaderSize(out, 64<<10)
	return nil
}

// header asks for an object and reads its header: its size, or an error
// when it is missing.
func (b *blobReader) header(spec string) (int64, error) {
	if strings.ContainsAny(spec, "\n\r") || spec == "" {
		return -1, fmt.Errorf("bad object name %q", spec)
	}
	if err := b.start(); err != nil {
		return -1, err
	}
	if _, err := io.WriteString(b.in, spec+"\n"); err != nil {
		b.dead = true
		return -1, fmt.Errorf("git cat-file: %w", err)
	}
	return b.readHeader()
}

// readHeader reads the header of the next response.
func (b *blobReader) readHeader() (int64, error) {
	if b.dead {
		return -1, fmt.Errorf("git cat-file stopped")
	}
	hdr, err := b.out.ReadString('\n')
	if err != nil {
		b.dead = true
		return -1, fmt.Errorf("git cat-file: %w", err)
	}
	f := strings.Fields(hdr)
	b.size = -1
	if len(f) == 2 && (f[1] == "missing" || f[1] == "ambiguous") {
		// Content the range holds cannot be read (a damaged or partial
		// clone): the scan would be incomplete, so it fails.
		return -1, fmt.Errorf("git cat-file: object %s is %s", f[0], f[1])
	}
	if len(f) != 3 {
		b.dead = true
		return -1, fmt.Errorf("git cat-file: bad header %q", strings.TrimSpace(hdr))
	}
	size, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || size < 0 {
		b.dead = true
		return -1, fmt.Errorf("git cat-file: bad header %q", strings.TrimSpace(hdr))
	}
	b.size = size
	return size, nil
}

// readHook calls before ahead of each read: a buffered reader reads only
// when it has nothing left, that is, before it would wait.
type readHook struct {
	r      io.Reader
	before func() error
}

func (h readHook) Read(p []byte) (int, error) {
	if err := h.before(); err != nil {
		return 0, err
	}
	return h.r.Read(p)
}

// read returns a blob's content when it is at most limit bytes (the slice
// is valid until the next read), or nil and its size when it is larger.
func (b *blobReader) read(spec string, limit int64) ([]byte, int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.header(spec); err != nil {
		return nil, 0, err
	}
	return b.body(limit)
}

// response reads the next response whole (header and content).
func (b *blobReader) response(limit int64) ([]byte, int64, error) {
	if _, err := b.readHeader(); err != nil {
		return nil, 0, err
	}
	return b.body(limit)
}

// body reads the content of the response whose header was read last
// (and read without an error: a missing object has no content).
func (b *blobReader) body(limit int64) ([]byte, int64, error) {
	size := b.size
	if size > limit {
		if _, err := io.CopyN(io.Discard, b.out, size+1); err != nil {
			b.dead = true
			return nil, 0, err
		}
		return nil, size, nil
	}
	buf := b.buffer(int(size) + 1)
	if _, err := io.ReadFull(b.out, buf); err != nil {
		b.dead = true
		return nil, 0, err
	}
	return buf[:size], size, nil
}

// buffer returns the reader's buffer with room for n bytes: its own when
// that fits (big enough, and not much bigger: the cache counts capacity),
// else a recycled one that fits, else a new one.
func (b *blobReader) buffer(n int) []byte {
	if fits(b.buf, n) {
		return b.buf[:n]
	}
	b.recycle(b.buf)
	b.buf = nil
	best := -1
	for i, f := range b.free {
		if fits(f, n) && (best < 0 || cap(f) < cap(b.free[best])) {
			best = i
		}
	}
	if best >= 0 {
		b.buf = b.free[best]
		b.freeBytes -= cap(b.buf)
		b.free = append(b.free[:best], b.free[best+1:]...)
	} else {
		// Room to grow: the next version of a large file is usually a
		// little larger, and can then take this buffer over.
		extra := 0
		if n >= recycleMin {
			extra = n / 8
		}
		b.buf = make([]byte, n, n+extra)
	}
	return b.buf[:n]
}

func fits(p []byte, n int) bool { return cap(p) >= n && cap(p) <= 2*n+4096 }

// release hands the buffer holding the last content read (p) to the
// caller for good.
func (b *blobReader) release(p []byte) {
	if len(p) > 0 && cap(b.buf) > 0 && &b.buf[:1][0] == &p[:1][0] {
		b.buf = nil
	}
}

// Recycled buffers: those of at least recycleMin bytes, up to recycleBytes
// in all (the oldest go first). A history of large files (a 1.4 MiB
// Cargo.nix changed in every other commit) otherwise takes fresh memory,
// page faults and collections for every version it reads.
const (
	recycleMin   = 16 << 10
	recycleBytes = 4 << 20
)

// recycle keeps a buffer no longer used for a later read.
func (b *blobReader) recycle(p []byte) {
	if cap(p) < recycleMin || cap(p) > recycleBytes {
		return
	}
	b.free = append(b.free, p[:0])
	b.freeBytes += cap(p)
	for b.freeBytes > recycleBytes {
		b.freeBytes -= cap(b.free[0])
		b.free[0] = nil
		b.free = b.free[1:]
	}
}

// stream hands a blob's content to fn as a reader, whatever its size.
func (b *blobReader) stream(spec string, fn func(io.Reader) error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	size, err := b.header(spec)
	if err != nil {
		return err
	}
	lr := &io.LimitedReader{R: b.out, N: size}
	ferr := fn(lr)
	// Drain what fn left, and the trailing newline.
	if _, err := io.CopyN(io.Discard, b.out, lr.N+1); err != nil {
		b.dead = true
		return err
	}
	return ferr
}

func (b *blobReader) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd != nil {
		b.in.Close()
		io.Copy(io.Discard, b.out)
		b.cmd.Wait()
		b.pipe.Close()
		b.cmd = nil
	}
	b.dead = true
}
