package secrets

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// gitCmd is git in dir with a fixed identity and no user or system
// configuration, so a fresh machine without user.name runs it alike.
func gitCmd(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Mallory", "GIT_AUTHOR_EMAIL=mallory@example.org",
		"GIT_COMMITTER_NAME=Mallory", "GIT_COMMITTER_EMAIL=mallory@example.org", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	return cmd
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitCmd(dir, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func commit(t *testing.T, dir string, files map[string]string, msg string) string {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if content == "" {
			os.Remove(p)
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, dir, "add", "-A")
	git(t, dir, "-c", "commit.gpgsign=false", "commit", "-q", "-m", msg)
	return git(t, dir, "rev-parse", "HEAD")
}

// historyFindings scans a range with the default rules and returns each
// finding as line formats it, sorted.
func historyFindings(t *testing.T, dir string, rg Range, line func(Finding) string) []string {
	t.Helper()
	var got []string
	if err := defaultRuleset(t).ScanHistory(context.Background(), dir, rg, Sink{Finding: func(f Finding) { got = append(got, line(f)) }}); err != nil {
		t.Fatalf("%+v: %v", rg, err)
	}
	slices.Sort(got)
	return got
}

func TestScanHistory(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	g := newGen(42)
	tok := g.render(t, "{gh:ghp}")
	nixKey := g.render(t, "{nixkey:cache.example.org-1}")
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	base := commit(t, dir, map[string]string{"README.md": "hello\n", "app.env": "A=1\nB=2\n"}, "base")
	c1 := commit(t, dir, map[string]string{"app.env": "A=1\nTOKEN=" + tok + "\nB=2\n"}, "add token")
	c2 := commit(t, dir, map[string]string{"app.env": "A=1\nB=2\n", "deploy/s.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cache\ndata:\n  key: " +
		base64.StdEncoding.EncodeToString([]byte(nixKey)) + "\n"}, "remove token, add a Secret")
	commit(t, dir, map[string]string{"notes.txt": "nothing\n", "bin.dat": "\x00\x01" + tok}, "binary")

	rs := defaultRuleset(t)
	var got []string
	var ms []string
	err := rs.ScanHistory(context.Background(), dir, Range{Since: base}, Sink{
		Finding: func(f Finding) {
			got = append(got, fmt.Sprintf("%s:%d %s %s %s", f.Path, f.Line, f.RuleID, f.Commit[:7], f.Author))
		},
		Manifest: func(m Manifest) { ms = append(ms, fmt.Sprintf("%s:%d %s %s", m.Path, m.Line, m.Kind, m.Name)) },
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	want := []string{
		"app.env:2 github-pat " + c1[:7] + " Mallory <mallory@example.org>",
		"deploy/s.yaml:6 nix-signing-key " + c2[:7] + " Mallory <mallory@example.org>",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"deploy/s.yaml:2 Secret cache"}, ms); d != "" {
		t.Errorf("manifests (-want +got):\n%s", d)
	}
	// The range excludes the base: nothing before it is reported, and an
	// empty range reports nothing.
	got = nil
	if err := rs.ScanHistory(context.Background(), dir, Range{Since: "HEAD", Until: "HEAD"}, Sink{Finding: func(f Finding) { got = append(got, f.RuleID) }}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("empty range: %v", got)
	}
	if err := rs.ScanHistory(context.Background(), dir, Range{Since: "no-such-rev"}, Sink{}); err == nil {
		t.Error("bad revision: want an error")
	}
}

// TestHistoryChanges: what counts as added. A line moved within a file is
// not added again; a line removed and later restored is; a file renamed
// is added under its new name; quoted paths come out as paths; a
// submodule's gitlink is skipped; the whole history (no Since) starts at
// the root commit; option-looking revisions are refused.
func TestHistoryChanges(t *testing.T) {
	g := newGen(43)
	tok := g.render(t, "{gh:ghp}")
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	root := commit(t, dir, map[string]string{"a.env": "X=1\nT=" + tok + "\nY=2\n"}, "root")
	moved := commit(t, dir, map[string]string{"a.env": "T=" + tok + "\nX=1\nY=2\n"}, "move the line")
	removed := commit(t, dir, map[string]string{"a.env": "X=1\nY=2\n"}, "remove it")
	restored := commit(t, dir, map[string]string{"a.env": "X=1\nY=2\nT=" + tok + "\n"}, "restore it")
	quoted := commit(t, dir, map[string]string{"with space/q\"uote.env": "T=" + tok + "\n"}, "quoted path")
	sub := t.TempDir()
	git(t, sub, "init", "-q", "-b", "main")
	commit(t, sub, map[string]string{"README": "x\n"}, "sub")
	git(t, dir, "-c", "protocol.file.allow=always", "submodule", "add", "-q", sub, "vendor/sub")
	git(t, dir, "-c", "commit.gpgsign=false", "commit", "-q", "-m", "submodule")
	_ = moved
	_ = removed

	got := historyFindings(t, dir, Range{}, func(f Finding) string { return fmt.Sprintf("%s:%d %s", f.Path, f.Line, f.Commit[:7]) })
	want := []string{
		"a.env:2 " + root[:7],
		"a.env:3 " + restored[:7],
		"with space/q\"uote.env:1 " + quoted[:7],
	}
	slices.Sort(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	rs := defaultRuleset(t)
	for _, rg := range []Range{{Since: "--output=x"}, {Until: "-p"}, {Since: "a..b"}, {Since: "HEAD\n"}} {
		if err := rs.ScanHistory(context.Background(), dir, rg, Sink{}); err == nil {
			t.Errorf("%+v: want an error", rg)
		}
	}
}

// TestAddedLines: the comparison of two versions of a file.
func TestAddedLines(t *testing.T) {
	d := newDiffer(nil)
	cases := []struct{ old, new, want string }{
		{"", "a\nb\n", "1:a 2:b"},
		{"a\nb\nc\n", "a\nb\nc\nd\n", "4:d"},
		{"a\nb\nc\n", "z\na\nb\nc\n", "1:z"},
		{"a\nb\nc\n", "a\nc\nb\n", ""},              // moved
		{"a\nb\n", "a\nb\nb\n", "3:b"},              // a repeat is added
		{"a\nb", "a\nb\nc", "3:c"},                  // no final newline
		{"x\ny\nz\n", "x\nq\nz\n", "2:q"},           // changed in the middle
		{"a\na\na\n", "a\na\n", ""},                 // removed only
		{"k=1\n", "k=1\nk=2\nk=1\n", "2:k=2 3:k=1"}, // one old k=1 matches one new
	}
	for _, c := range cases {
		var got []string
		err := d.added(change{path: "f"}, []byte(c.old), []byte(c.new), func(a *Added) error {
			for i, l := range strings.Split(strings.TrimSuffix(a.text.String(), "\n"), "\n") {
				got = append(got, fmt.Sprintf("%d:%s", a.lines[i], l))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("%q -> %q: added %q, want %q", c.old, c.new, g, c.want)
		}
	}
}

// TestAddedLinesEdits: versions of a generated file with lines changed in
// place, inserted, deleted and moved, far apart: the lines found added
// are exactly the multiset difference, whatever the walk in step pairs.
func TestAddedLinesEdits(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 8))
	base := make([]string, 3000)
	for i := range base {
		base[i] = fmt.Sprintf("line %d = %d", i, rnd.IntN(50)) // repeats too
		if i%97 == 0 {
			base[i] = "# nixgate:ignore secret-leak -- a comment above"
		}
	}
	for round := 0; round < 200; round++ {
		next := slices.Clone(base)
		for e := rnd.IntN(12); e >= 0; e-- {
			i := rnd.IntN(len(next))
			switch rnd.IntN(5) {
			case 4:
				next = slices.Insert(next, i, "# nixgate:ignore secret-leak -- new", fmt.Sprintf("below %d", rnd.IntN(100)))
			case 0:
				next[i] = fmt.Sprintf("changed %d", rnd.IntN(100))
			case 1:
				next = slices.Insert(next, i, fmt.Sprintf("inserted %d", rnd.IntN(100)), "line 1 = 1")
			case 2:
				next = slices.Delete(next, i, min(len(next), i+1+rnd.IntN(20)))
			case 3:
				j := rnd.IntN(len(next))
				next[i], next[j] = next[j], next[i]
			}
		}
		checkAdded(t, []byte(strings.Join(base, "\n")+"\n"), []byte(strings.Join(next, "\n")+"\n"))
		base = next
	}
}

// TestFoundLines: a finding in a history scan takes its suppressions from
// the commit's text: its own line, and the line above whether or not the
// commit added it; a line above without a comment is not kept.
func TestFoundLines(t *testing.T) {
	old := "a\n# nixgate:ignore secret-leak -- kept\nb\nc\n"
	nb := "a\n# nixgate:ignore secret-leak -- kept\nTOKEN=1\nb\n# nixgate:ignore secret-leak -- added\nTOKEN=2\nc\nTOKEN=3"
	var parts []*Added
	if err := newDiffer(nil).added(change{path: "f"}, []byte(old), []byte(nb), func(a *Added) error {
		parts = append(parts, a)
		return nil
	}); err != nil || len(parts) != 1 {
		t.Fatalf("added: %v, %d parts", err, len(parts))
	}
	a := parts[0]
	for _, c := range []struct {
		line        int
		text, above string
	}{
		{3, "TOKEN=1", "# nixgate:ignore secret-leak -- kept"},
		{5, "# nixgate:ignore secret-leak -- added", ""},
		{6, "TOKEN=2", "# nixgate:ignore secret-leak -- added"},
		{8, "TOKEN=3", ""}, // above is "c": nothing to keep
		{4, "", ""},        // not added
	} {
		if f := a.found(c.line); f.Line != c.text || f.Above != c.above {
			t.Errorf("found(%d) = %q above %q, want %q above %q", c.line, f.Line, f.Above, c.text, c.above)
		}
	}
	x := lineIndex{text: []byte("x\n\ny")}
	for n, want := range []string{"", "x", "", "y", ""} {
		if got := x.line(n); got != want {
			t.Errorf("line(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestDifferEviction: a blob that has served as a change's old version
// leaves the cache before blobs not yet compared against, whatever their
// age; otherwise the oldest goes first, and a blob cached again is a new
// entry.
func TestDifferEviction(t *testing.T) {
	d := newDiffer(&blobReader{})
	blob := func() []byte { return make([]byte, 1<<20) }
	for _, id := range []string{"a", "b", "c", "d"} {
		d.put(id, blob())
	}
	if _, ok := d.old("b"); !ok {
		t.Fatal("b is not cached")
	}
	cached := func() string {
		var ids []string
		for id := range d.cache {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		return strings.Join(ids, "")
	}
	d.put("e", blob())
	if got := cached(); got != "acde" {
		t.Errorf("after e: cached %q, want the used b gone first", got)
	}
	d.put("f", blob())
	if got := cached(); got != "cdef" {
		t.Errorf("after f: cached %q, want the oldest, a, gone", got)
	}
	// b again: a new entry (its stale "used" mark does not count), and c,
	// the oldest, makes room for it.
	d.put("b", blob())
	if got := cached(); got != "bdef" {
		t.Errorf("after b again: cached %q, want c gone", got)
	}
	d.old("e")
	d.put("g", blob())
	if got := cached(); got != "bdfg" {
		t.Errorf("after g: cached %q, want the used e gone before the older d", got)
	}
	if d.held > cacheBytes {
		t.Errorf("held %d bytes, over %d", d.held, cacheBytes)
	}
}

// TestDifferPins: a pinned blob (one a pending change will read from the
// cache) stays past the budget while others go, leaves once unpinned, and
// goes anyway when pinned blobs alone would hold more than cacheHard.
func TestDifferPins(t *testing.T) {
	d := newDiffer(&blobReader{})
	blob := func() []byte { return make([]byte, 1<<20) }
	d.put("a", blob())
	d.pin("a")
	d.pin("a") // two changes will read it
	for _, id := range []string{"b", "c", "d", "e", "f"} {
		d.put(id, blob())
	}
	if _, ok := d.cache["a"]; !ok {
		t.Fatal("pinned a was evicted")
	}
	if _, ok := d.cache["b"]; ok {
		t.Error("b, unpinned and the oldest, is still cached")
	}
	d.unpin("a")
	d.put("g", blob())
	if _, ok := d.cache["a"]; !ok {
		t.Fatal("a, still pinned once, was evicted")
	}
	d.unpin("a")
	d.put("h", blob())
	if _, ok := d.cache["a"]; ok {
		t.Error("a, unpinned and the oldest, is still cached")
	}
	if len(d.pins) != 0 {
		t.Errorf("pins left: %v", d.pins)
	}
	// Everything pinned: the cache holds up to cacheHard, no more.
	for i := 0; i < 3*cacheHard>>20; i++ {
		id := fmt.Sprint("p", i)
		d.pin(id)
		d.put(id, blob())
		if d.held > cacheHard {
			t.Fatalf("held %d bytes with pinned blobs, over %d", d.held, cacheHard)
		}
	}
	if d.held <= cacheBytes {
		t.Errorf("held %d bytes, want pinned blobs kept past the %d budget", d.held, cacheBytes)
	}
}

// TestHistoryCacheOverflow: files too large for the blob cache to hold
// together (and one too large to cache at all) are compared right when
// the stream asks for their old versions again or compares them after the
// stream: each token is reported once, at the commit that added it, and a
// line kept from the previous version never is.
func TestHistoryCacheOverflow(t *testing.T) {
	g := newGen(44)
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	filler := func(n int, tag string) string {
		var b strings.Builder
		for i := 0; b.Len() < n; i++ {
			fmt.Fprintf(&b, "%s line %d of filler text that is not a secret\n", tag, i)
		}
		return b.String()
	}
	files := map[string]string{}
	sizes := map[string]int{"a.txt": 1_500_000, "b.txt": 1_500_000, "c.txt": 1_500_000, "huge.txt": 2_500_000}
	for name, n := range sizes {
		files[name] = filler(n, name)
	}
	commit(t, dir, files, "base")
	var want []string
	for round := 0; round < 3; round++ {
		for _, name := range []string{"a.txt", "b.txt", "c.txt", "huge.txt"} {
			tok := g.render(t, "{gh:ghp}")
			files[name] = "TOKEN_" + fmt.Sprint(round) + "=" + tok + "\n" + files[name]
			c := commit(t, dir, map[string]string{name: files[name]}, name)
			want = append(want, fmt.Sprintf("%s:1 %s", name, c[:7]))
		}
	}
	got := historyFindings(t, dir, Range{}, func(f Finding) string { return fmt.Sprintf("%s:%d %s", f.Path, f.Line, f.Commit[:7]) })
	slices.Sort(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
}

// TestHistoryBoundary: a range with merges scans the commits of every
// merged branch but none of the boundary (the commits outside the range
// that git lists with it), and a base that shares no history with the
// head fails the scan with ErrNoSharedHistory instead of scanning the
// head's whole history.
func TestHistoryBoundary(t *testing.T) {
	g := newGen(45)
	tok := func() string { return g.render(t, "{gh:ghp}") }
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	commit(t, dir, map[string]string{"root.env": "T=" + tok() + "\n"}, "root")
	git(t, dir, "checkout", "-q", "-b", "side")
	side := commit(t, dir, map[string]string{"side.env": "T=" + tok() + "\n"}, "side")
	git(t, dir, "checkout", "-q", "main")
	base := commit(t, dir, map[string]string{"base.env": "T=" + tok() + "\n"}, "base")
	main := commit(t, dir, map[string]string{"main.env": "T=" + tok() + "\n"}, "main")
	git(t, dir, "-c", "commit.gpgsign=false", "merge", "-q", "--no-edit", "side")
	got := historyFindings(t, dir, Range{Since: base}, func(f Finding) string { return f.Path + " " + f.Commit[:7] })
	want := []string{"main.env " + main[:7], "side.env " + side[:7]}
	slices.Sort(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	git(t, dir, "checkout", "-q", "--orphan", "unrelated")
	git(t, dir, "rm", "-q", "-rf", ".")
	unrelated := commit(t, dir, map[string]string{"u.env": "T=" + tok() + "\n"}, "unrelated")
	rs := defaultRuleset(t)
	err := rs.ScanHistory(context.Background(), dir, Range{Since: base, Until: unrelated}, Sink{})
	if !errors.Is(err, ErrNoSharedHistory) {
		t.Errorf("unrelated base: error %v, want ErrNoSharedHistory", err)
	}
	// A root merged in (its commit comes first, parentless) does not make
	// the range unrelated: the main line still leads back to the base.
	git(t, dir, "checkout", "-q", "main")
	git(t, dir, "-c", "commit.gpgsign=false", "merge", "-q", "--no-edit", "--allow-unrelated-histories", "unrelated")
	got = historyFindings(t, dir, Range{Since: base}, func(f Finding) string { return f.Path })
	if d := cmp.Diff([]string{"main.env", "side.env", "u.env"}, got); d != "" {
		t.Errorf("a root merged into the range: findings (-want +got):\n%s", d)
	}
	// An empty range is not an unrelated one.
	if err := rs.ScanHistory(context.Background(), dir, Range{Since: main, Until: main}, Sink{}); err != nil {
		t.Errorf("empty range: %v", err)
	}
}

// TestCommonEnds holds commonPrefix and commonSuffix to a byte-by-byte
// reference on files of up to 20 KB that differ at one place, near the
// block sizes the search steps through (4096, 512, 64) and far from them.
func TestCommonEnds(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	naivePrefix := func(a, b []byte) int {
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		if i == len(a) && i == len(b) {
			return i
		}
		return bytes.LastIndexByte(a[:i], '\n') + 1
	}
	naiveSuffix := func(a, b []byte) int {
		i := 0
		for i < len(a) && i < len(b) && a[len(a)-1-i] == b[len(b)-1-i] {
			i++
		}
		for i > 0 && !((len(a)-i == 0 || a[len(a)-i-1] == '\n') && (len(b)-i == 0 || b[len(b)-i-1] == '\n')) {
			i--
		}
		return i
	}
	for round := 0; round < 2000; round++ {
		a := make([]byte, rnd.IntN(20000))
		for i := range a {
			a[i] = "ab\n"[rnd.IntN(3)]
		}
		b := bytes.Clone(a)
		if len(b) > 0 {
			var at int
			switch k := []int{4096, 512, 64}[rnd.IntN(3)]; {
			case rnd.IntN(2) == 0 && len(b) > k+1:
				at = k*rnd.IntN(len(b)/k) + rnd.IntN(3) - 1 // near a block edge
				at = max(0, min(len(b)-1, at))
			default:
				at = rnd.IntN(len(b))
			}
			switch rnd.IntN(3) {
			case 0:
				b[at] = 'z'
			case 1:
				b = slices.Insert(b, at, 'q', '\n')
			default:
				b = slices.Delete(b, at, at+1)
			}
		}
		if got, want := commonPrefix(a, b), naivePrefix(a, b); got != want {
			t.Fatalf("round %d: commonPrefix %d, want %d", round, got, want)
		}
		if got, want := commonSuffix(a, b), naiveSuffix(a, b); got != want {
			t.Fatalf("round %d: commonSuffix %d, want %d", round, got, want)
		}
	}
}

// TestHistorySHA256: a repository with SHA-256 object names is scanned
// like any other (its changes were once skipped as malformed, and a scan
// of a leak passed), in a range and as a whole history, packed or loose;
// a change entry of no known shape fails the scan.
func TestHistorySHA256(t *testing.T) {
	g := newGen(44)
	tok := g.render(t, "{gh:ghp}")
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main", "--object-format=sha256")
	base := commit(t, dir, map[string]string{"a.env": "X=1\n"}, "base")
	leak := commit(t, dir, map[string]string{"a.env": "X=1\nT=" + tok + "\n"}, "leak")
	commit(t, dir, map[string]string{"b.env": "T=" + tok + "\n", "a.env": "T=" + tok + "\nX=1\n"}, "copy and move")
	if len(leak) != 64 {
		t.Fatalf("commit %q: not a SHA-256 name", leak)
	}
	line := func(f Finding) string { return fmt.Sprintf("%s:%d %s", f.Path, f.Line, f.Commit[:12]) }
	want := []string{"a.env:2 " + leak[:12], "b.env:1 " + git(t, dir, "rev-parse", "HEAD")[:12]}
	for _, layout := range []string{"loose", "packed"} {
		if layout == "packed" {
			git(t, dir, "repack", "-adq")
		}
		if d := cmp.Diff(want, historyFindings(t, dir, Range{Since: base}, line)); d != "" {
			t.Errorf("%s, since the base (-want +got):\n%s", layout, d)
		}
		if d := cmp.Diff(want, historyFindings(t, dir, Range{}, line)); d != "" {
			t.Errorf("%s, whole history (-want +got):\n%s", layout, d)
		}
	}

	bad := "\x01" + leak + "\x02A <a@b>\x00\n:100644 100644 1234 5678 M\x00a.env\x00"
	err := parseRawLog(strings.NewReader(bad), func(string, string) error { return nil }, func(change) error { return nil })
	if err == nil || !strings.Contains(err.Error(), leak) {
		t.Errorf("an entry with short object names: error %v, want one naming commit %s", err, leak)
	}
}

// TestRawLogLongTokens: a path, author or parent list longer than the
// stream's 64 KiB buffer is read whole (such a change was once skipped,
// and an author that long left the commit unseen); one beyond
// maxRawToken fails. A real commit with a 70 KiB path is scanned.
func TestRawLogLongTokens(t *testing.T) {
	id := func(c byte) string { return strings.Repeat(string(c), 40) }
	longPath := strings.Repeat("d/", 50<<10) + "leak.env"
	longAuthor := strings.Repeat("A", 100<<10) + " <a@b>"
	stream := "\x01" + id('c') + " " + id('p') + "\x02" + longAuthor + "\x00\n:100644 100644 " + id('1') + " " + id('2') + " M\x00" + longPath + "\x00" +
		":100644 100644 " + id('3') + " " + id('4') + " M\x00short.env\x00"
	var got []change
	var commits []string
	err := parseRawLog(strings.NewReader(stream), func(h, p string) error { commits = append(commits, h+" "+p); return nil },
		func(c change) error { got = append(got, c); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(commits) != 1 || commits[0] != id('c')+" "+id('p') {
		t.Fatalf("commits %.100q", commits)
	}
	if len(got) != 2 || got[0].path != longPath || got[0].author != longAuthor || got[0].newID != id('2') || got[1].path != "short.env" || got[1].commit != id('c') {
		t.Fatalf("changes: %d, first path %d bytes, author %d bytes", len(got), len(got[0].path), len(got[0].author))
	}
	tooLong := "\x01" + id('c') + "\x02A\x00\n:100644 100644 " + id('1') + " " + id('2') + " M\x00" + strings.Repeat("x", maxRawToken+1) + "\x00"
	err = parseRawLog(strings.NewReader(tooLong), func(string, string) error { return nil }, func(change) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("a path over %d bytes: error %v", maxRawToken, err)
	}

	// In a repository: a path no file system holds, committed through
	// the index.
	g := newGen(45)
	tok := g.render(t, "{gh:ghp}")
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	base := commit(t, dir, map[string]string{"README": "x\n"}, "base")
	blob := filepath.Join(t.TempDir(), "blob")
	os.WriteFile(blob, []byte("T="+tok+"\n"), 0o644)
	oid := git(t, dir, "hash-object", "-w", blob)
	deep := strings.Repeat(strings.Repeat("d", 1000)+"/", 70) + "leak.env"
	git(t, dir, "update-index", "--add", "--cacheinfo", "100644,"+oid+","+deep)
	git(t, dir, "-c", "commit.gpgsign=false", "commit", "-q", "-m", "deep path")
	found := historyFindings(t, dir, Range{Since: base}, func(f Finding) string { return fmt.Sprintf("%d %d %s", len(f.Path), f.Line, f.RuleID) })
	if want := []string{fmt.Sprintf("%d 1 github-pat", len(deep))}; !slices.Equal(found, want) {
		t.Errorf("a %d-byte path: findings %q, want %q", len(deep), found, want)
	}
}

// TestHistoryMerges: what a merge commit adds is scanned too, as lines that
// none of its parents holds (an "evil merge": a secret written while
// resolving a conflict). Lines a merge takes from a parent stay with the
// commits that added them, and a clean merge adds nothing. gitleaks reads
// `git log -p`, which shows no diff for a merge.
func TestHistoryMerges(t *testing.T) {
	g := newGen(46)
	tokB, tokEvil, tokOther := g.render(t, "{gh:ghp}"), g.render(t, "{gh:ghp}"), g.render(t, "{gh:ghp}")
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	base := commit(t, dir, map[string]string{"a.env": "X=1\nY=2\n", "b.txt": "b\n"}, "base")
	git(t, dir, "checkout", "-q", "-b", "side")
	side := commit(t, dir, map[string]string{"a.env": "X=1\nB=" + tokB + "\nY=2\n"}, "side adds a token")
	git(t, dir, "checkout", "-q", "main")
	commit(t, dir, map[string]string{"a.env": "X=1\nA=1\nY=2\n"}, "main changes the same line")
	// A conflict, resolved by keeping both sides and writing a new token.
	if out, err := gitCmd(dir, "merge", "-q", "side").CombinedOutput(); err == nil || !strings.Contains(string(out), "CONFLICT") {
		t.Fatalf("merge of side: want a conflict, got %v\n%s", err, out)
	}
	os.WriteFile(filepath.Join(dir, "a.env"), []byte("X=1\nA=1\nB="+tokB+"\nE="+tokEvil+"\nY=2\n"), 0o644)
	git(t, dir, "add", "a.env")
	git(t, dir, "-c", "commit.gpgsign=false", "commit", "-q", "--no-edit")
	evil := git(t, dir, "rev-parse", "HEAD")
	// A clean merge of a branch that added a token in its own commit.
	git(t, dir, "checkout", "-q", "-b", "other", base)
	other := commit(t, dir, map[string]string{"c.env": "T=" + tokOther + "\n"}, "other adds a token")
	git(t, dir, "checkout", "-q", "main")
	git(t, dir, "-c", "commit.gpgsign=false", "merge", "-q", "--no-edit", "other")

	line := func(f Finding) string { return fmt.Sprintf("%s:%d %s", f.Path, f.Line, f.Commit[:7]) }
	want := []string{"a.env:2 " + side[:7], "a.env:4 " + evil[:7], "c.env:1 " + other[:7]}
	slices.Sort(want)
	for _, rg := range []Range{{Since: base}, {}} {
		if d := cmp.Diff(want, historyFindings(t, dir, rg, line)); d != "" {
			t.Errorf("%+v (-want +got):\n%s", rg, d)
		}
	}
	// Since the side branch: its version of a.env was never read in the
	// range, so it is asked of git; its token is still not the merge's.
	want = []string{"a.env:4 " + evil[:7], "c.env:1 " + other[:7]}
	if d := cmp.Diff(want, historyFindings(t, dir, Range{Since: side}, line)); d != "" {
		t.Errorf("since the side branch (-want +got):\n%s", d)
	}

	// An octopus merge's entry names every parent's version.
	id := func(c byte) string { return strings.Repeat(string(c), 40) }
	c, ok, err := parseRawMeta([]byte(":::100644 100644 000000 100644 " + id('1') + " " + id('2') + " " + zeroID + " " + id('4') + " MMA"))
	if err != nil || !ok || c.oldID != id('1') || !slices.Equal(c.others, []string{id('2'), zeroID}) || c.newID != id('4') {
		t.Errorf("octopus entry: %+v %v %v", c, ok, err)
	}
	if _, _, err := parseRawMeta([]byte("::100644 100644 100644 " + id('1') + " " + id('2') + " " + id('3') + " M")); err == nil {
		t.Error("a merge entry with one status letter for two parents: want an error")
	}
}

// TestHistoryMergeEvicted: a merge whose other parent's version of a file
// has left the blob cache (large files committed in between) reads it
// again, and still reports only what the merge added.
func TestHistoryMergeEvicted(t *testing.T) {
	g := newGen(47)
	tokSide, tokEvil := g.render(t, "{gh:ghp}"), g.render(t, "{gh:ghp}")
	filler := func(n int, tag string) []string {
		var lines []string
		for i, size := 0, 0; size < n; i++ {
			l := fmt.Sprintf("%s line %d of filler text that is not a secret", tag, i)
			lines = append(lines, l)
			size += len(l) + 1
		}
		return lines
	}
	join := func(lines []string) string { return strings.Join(lines, "\n") + "\n" }
	a := filler(1_500_000, "a")
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	base := commit(t, dir, map[string]string{"a.txt": join(a)}, "base")
	git(t, dir, "checkout", "-q", "-b", "side")
	sideA := slices.Insert(slices.Clone(a), 10, "TOKEN="+tokSide)
	side := commit(t, dir, map[string]string{"a.txt": join(sideA)}, "side")
	git(t, dir, "checkout", "-q", "main")
	mainA := slices.Insert(slices.Clone(a), len(a)-10, "main=1")
	commit(t, dir, map[string]string{"a.txt": join(mainA)}, "main")
	for _, name := range []string{"b.txt", "c.txt", "d.txt"} {
		commit(t, dir, map[string]string{name: join(filler(1_500_000, name))}, name)
	}
	git(t, dir, "-c", "commit.gpgsign=false", "merge", "-q", "--no-edit", "side")
	merged := strings.Replace(git(t, dir, "show", "HEAD:a.txt")+"\n", "main=1\n", "main=1\nEVIL="+tokEvil+"\n", 1)
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte(merged), 0o644)
	git(t, dir, "add", "a.txt")
	git(t, dir, "-c", "commit.gpgsign=false", "commit", "-q", "--amend", "--no-edit")
	evil := git(t, dir, "rev-parse", "HEAD")
	line := func(f Finding) string { return fmt.Sprintf("%s:%d %s", f.Path, f.Line, f.Commit[:7]) }
	evilLine := slices.Index(strings.Split(merged, "\n"), "EVIL="+tokEvil) + 1
	want := []string{"a.txt:11 " + side[:7], fmt.Sprintf("a.txt:%d %s", evilLine, evil[:7])}
	slices.Sort(want)
	for _, rg := range []Range{{Since: base}, {}} {
		if d := cmp.Diff(want, historyFindings(t, dir, rg, line)); d != "" {
			t.Errorf("%+v (-want +got):\n%s", rg, d)
		}
	}
}
