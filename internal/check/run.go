package check

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/nixgate/nixgate/internal/lazyre"
	"github.com/nixgate/nixgate/internal/repo"
)

// Settings is what a policy says about one check.
type Settings struct {
	Enabled  bool
	Severity Severity
	// Ignore holds path globs (see repo.Match) excluded for this check.
	Ignore []string
	// Options is a pointer to the check's options type, or nil.
	Options any
}

// Target is what a run looks at.
type Target struct {
	Repo  *repo.Repo
	Input any
	// Shared, when set, carries parsed inputs across runs on the same
	// target (nixgate ci runs several scopes); nil starts empty.
	Shared *Shared
}

// Suppressed is a finding a reviewer accepted, and why.
type Suppressed struct {
	Finding
	// Via is "inline" (a nixgate:ignore comment) or "baseline".
	Via    string `json:"via"`
	Reason string `json:"reason"`
}

// Errored is a check that could not complete.
type Errored struct {
	CheckID string `json:"checkId"`
	Error   string `json:"error"`
}

// Result is the outcome of running a set of checks.
type Result struct {
	// Checks are the checks that ran, sorted by ID.
	Checks     []*Check
	Findings   []Finding
	Suppressed []Suppressed
	Errors     []Errored
	// Warnings are problems with suppressions and the like, for stderr.
	Warnings []string
}

// Baseline is a file of accepted findings, each with the reason it was
// accepted.
type Baseline struct {
	// File names the baseline in findings about it.
	File    string
	Entries []BaselineEntry

	idx map[string]string
}

// BaselineEntry is one accepted finding.
type BaselineEntry struct {
	Fingerprint string
	CheckID     string
	Path        string
	Reason      string
	// Line is the entry's line in File (for findings about the entry).
	Line int
}

// reason returns why the finding with fingerprint fp was accepted.
func (b *Baseline) reason(fp string) (string, bool) {
	if b == nil {
		return "", false
	}
	if b.idx == nil {
		b.idx = make(map[string]string, len(b.Entries))
		for _, e := range b.Entries {
			if _, dup := b.idx[e.Fingerprint]; !dup {
				b.idx[e.Fingerprint] = e.Reason
			}
		}
	}
	r, ok := b.idx[fp]
	return r, ok
}

// Run runs every enabled check of checks on the target, in parallel, and
// applies ignore globs, inline suppressions and the baseline. A check that
// panics or returns an error is recorded as errored; the others go on.
func Run(ctx context.Context, checks []*Check, settings map[string]Settings, t Target, baseline *Baseline) *Result {
	res := &Result{}
	type out struct {
		findings []Finding
		err      error
	}
	outs := make([]out, len(checks))
	shared := t.Shared
	if shared == nil {
		shared = &Shared{}
	}
	var wg sync.WaitGroup
	for i, c := range checks {
		s := settingsOf(c, settings)
		if !s.Enabled {
			continue
		}
		res.Checks = append(res.Checks, c)
		p := &Pass{Check: c, Repo: t.Repo, Input: t.Input, Options: s.Options, Severity: s.Severity, Baseline: baseline, shared: shared}
		ignore := s.Ignore
		p.Skip = func(path string) bool {
			for _, g := range ignore {
				if repo.Match(g, path) {
					return true
				}
			}
			return false
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					outs[i].err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
				}
			}()
			err := c.Run(ctx, p)
			if err == nil && t.Repo != nil {
				// A tree read in the background failed: the check saw none.
				err = t.Repo.Err()
			}
			var kept []Finding
			for _, f := range p.findings {
				if f.Location.Path != "" && p.Skip(f.Location.Path) {
					continue
				}
				kept = append(kept, f)
			}
			outs[i] = out{kept, err}
		}()
	}
	wg.Wait()

	lines := newLineCache(t.Repo)
	for i, c := range checks {
		o := outs[i]
		if o.err != nil {
			res.Errors = append(res.Errors, Errored{CheckID: c.ID, Error: o.err.Error()})
		}
		for _, f := range o.findings {
			f.Fingerprint = fingerprint(f, lines)
			if reason, ok, warn := lines.inlineSuppression(f); warn != "" {
				res.Warnings = append(res.Warnings, warn)
			} else if ok {
				res.Suppressed = append(res.Suppressed, Suppressed{Finding: f, Via: "inline", Reason: reason})
				continue
			}
			if reason, ok := baseline.reason(f.Fingerprint); ok {
				res.Suppressed = append(res.Suppressed, Suppressed{Finding: f, Via: "baseline", Reason: reason})
				continue
			}
			res.Findings = append(res.Findings, f)
		}
	}
	slices.SortFunc(res.Checks, func(a, b *Check) int { return strings.Compare(a.ID, b.ID) })
	SortFindings(res.Findings)
	slices.SortFunc(res.Suppressed, func(a, b Suppressed) int { return compareFindings(a.Finding, b.Finding) })
	slices.SortFunc(res.Errors, func(a, b Errored) int { return strings.Compare(a.CheckID, b.CheckID) })
	slices.Sort(res.Warnings)
	res.Warnings = slices.Compact(res.Warnings)
	return res
}

// SortFindings orders findings by path, line, column, check and message, so
// that every report is deterministic.
func SortFindings(fs []Finding) { slices.SortFunc(fs, compareFindings) }

func compareFindings(a, b Finding) int {
	return cmp.Or(
		strings.Compare(a.Location.Path, b.Location.Path),
		cmp.Compare(a.Location.Line, b.Location.Line),
		cmp.Compare(a.Location.Column, b.Location.Column),
		strings.Compare(a.CheckID, b.CheckID),
		strings.Compare(a.Message, b.Message),
		strings.Compare(a.Fingerprint, b.Fingerprint),
	)
}

// Max is the highest severity among findings, and false when there are none.
func (r *Result) Max() (Severity, bool) {
	if len(r.Findings) == 0 {
		return Info, false
	}
	m := Info
	for _, f := range r.Findings {
		m = max(m, f.Severity)
	}
	return m, true
}

// Fingerprint computes a finding's content-based fingerprint: it depends on
// the check, the path and the finding's key (or the flagged line's text),
// never on the line number, so it survives rebases and line shifts.
func fingerprint(f Finding, lines *lineCache) string {
	key := f.Key
	if key == "" && f.Location.Line > 0 {
		key = "line:" + strings.Join(strings.Fields(lines.text(f, 0)), " ")
	}
	if key == "" {
		key = "msg:" + f.Message
	}
	return Fingerprint(f.CheckID, f.Location.Path, key)
}

// Fingerprint hashes the parts of a finding's identity.
func Fingerprint(checkID, path, key string) string {
	h := sha256.New()
	for _, s := range []string{checkID, path, key} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// lineCache reads files once for suppression comments and fingerprints.
type lineCache struct {
	repo  *repo.Repo
	mu    sync.Mutex
	files map[string][]string
}

func newLineCache(r *repo.Repo) *lineCache { return &lineCache{repo: r, files: map[string][]string{}} }

const maxSuppressionScan = 4 << 20

func (c *lineCache) lines(path string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ls, ok := c.files[path]; ok {
		return ls
	}
	var ls []string
	if c.repo != nil && path != "" {
		if f, err := c.repo.Open(path); err == nil {
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
			n := 0
			for sc.Scan() {
				b := sc.Bytes()
				n += len(b)
				if n > maxSuppressionScan || bytes.IndexByte(b, 0) >= 0 {
					ls = nil
					break
				}
				ls = append(ls, sc.Text())
			}
			f.Close()
		}
	}
	c.files[path] = ls
	return ls
}

func (c *lineCache) line(path string, n int) string {
	ls := c.lines(path)
	if n < 1 || n > len(ls) {
		return ""
	}
	return ls[n-1]
}

// text is the finding's line (up 0) or the line above it (up 1): from
// what the check read when it says so (Finding.Found), else from the
// view's file.
func (c *lineCache) text(f Finding, up int) string {
	if f.Found != nil {
		if up == 0 {
			return f.Found.Line
		}
		return f.Found.Above
	}
	return c.line(f.Location.Path, f.Location.Line-up)
}

// IgnoreMarker starts an inline suppression comment.
const IgnoreMarker = "nixgate:ignore"

var ignoreRE = lazyre.New(IgnoreMarker + `\s+([a-z0-9-]+)(?:\s+--\s*(.*?))?\s*(?:\*/|-->)?\s*$`)

// inlineSuppression looks for `nixgate:ignore <check-id> -- <reason>` on the
// finding's line or the line above. A comment without a reason does not
// suppress and yields a warning.
func (c *lineCache) inlineSuppression(f Finding) (reason string, ok bool, warn string) {
	if f.Location.Line == 0 {
		return "", false, ""
	}
	for up := range 2 {
		n := f.Location.Line - up
		m := ignoreRE().FindStringSubmatch(c.text(f, up))
		if m == nil || m[1] != f.CheckID {
			continue
		}
		if strings.TrimSpace(m[2]) == "" {
			return "", false, fmt.Sprintf("%s:%d: nixgate:ignore %s has no reason (write `nixgate:ignore %s -- <reason>`); not suppressed", f.Location.Path, n, m[1], m[1])
		}
		return strings.TrimSpace(m[2]), true, ""
	}
	return "", false, ""
}
