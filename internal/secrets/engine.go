// Package secrets finds secrets in files and in git history: a keyword
// prefilter (one Aho-Corasick pass per chunk) decides which rules run and
// where, then RE2 regexps, entropy thresholds, offline validators (GitHub
// checksums, Nix signing keys) and allowlists decide. Files are streamed in
// chunks, so memory stays flat whatever their size; binary files are skipped
// by content. Kubernetes manifests are parsed: base64 data values are
// decoded and scanned, sealed values skipped.
package secrets

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/nixgate/nixgate/internal/check"
)

// Finding is one secret found.
type Finding struct {
	RuleID      string `json:"ruleId"`
	Description string `json:"description"`
	Path        string `json:"path"`
	Line        int    `json:"line,omitempty"`
	Column      int    `json:"column,omitempty"`
	// Secret is the secret itself. It is never printed: use Redacted and
	// Key.
	Secret   string         `json:"-"`
	Severity check.Severity `json:"severity"`
	// Note qualifies the finding ("checksum invalid", "base64-decoded
	// from data.TOKEN").
	Note   string `json:"note,omitempty"`
	Commit string `json:"commit,omitempty"`
	Author string `json:"author,omitempty"`
}

// Redacted shows a secret's first characters, its length and a short
// fingerprint of its content, never the secret whole.
func (f Finding) Redacted() string { return Redact(f.Secret) }

// Redact renders a secret for humans: a short prefix, its length and a
// fingerprint.
func Redact(secret string) string {
	n := utf8.RuneCountInString(secret)
	keep := 0
	switch {
	case n >= 24:
		keep = 6
	case n >= 12:
		keep = 4
	case n >= 8:
		keep = 2
	}
	prefix := string([]rune(secret)[:keep])
	return fmt.Sprintf("%s… (%d chars, sha256:%s)", prefix, n, Fingerprint(secret)[:12])
}

// Fingerprint is the hex SHA-256 of a secret: the identity of a finding
// that survives rebases and line shifts.
func Fingerprint(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Key is the content key of a finding for check fingerprints.
func (f Finding) Key() string { return f.RuleID + ":" + Fingerprint(f.Secret)[:32] }

// Message is a one-line description of a finding that never shows the
// secret whole.
func (f Finding) Message() string {
	m := fmt.Sprintf("%s: %s", f.RuleID, f.Redacted())
	if f.Note != "" {
		m += " (" + f.Note + ")"
	}
	return m
}

// Ruleset is a compiled set of rules with global allowlists. It is safe
// for concurrent use.
type Ruleset struct {
	Rules      []*Rule
	Allowlists []Allowlist
	// GitleaksAllow honours gitleaks' inline `gitleaks:allow` comments (a
	// rule set read from a gitleaks configuration sets it).
	GitleaksAllow bool

	m        *matcher
	kwRules  [][]int32 // keyword index -> rules
	always   []int32   // regex rules without keywords
	pathOnly []int32   // rules with a path and no regex
}

// NewRuleset compiles rules and global allowlists.
func NewRuleset(rules []*Rule, global []Allowlist) (*Ruleset, error) {
	rs := &Ruleset{Rules: rules, Allowlists: global}
	var kws []string
	index := map[string]int{}
	seen := map[string]bool{}
	for i, r := range rules {
		if err := r.prepare(); err != nil {
			return nil, err
		}
		if seen[r.ID] {
			return nil, fmt.Errorf("duplicate rule id %q", r.ID)
		}
		seen[r.ID] = true
		switch {
		case r.Regex == nil:
			rs.pathOnly = append(rs.pathOnly, int32(i))
		case len(r.Keywords) == 0:
			rs.always = append(rs.always, int32(i))
		}
		if r.Regex == nil {
			continue
		}
		for _, k := range r.Keywords {
			if k == "" {
				continue
			}
			j, ok := index[k]
			if !ok {
				j = len(kws)
				index[k] = j
				kws = append(kws, k)
				rs.kwRules = append(rs.kwRules, nil)
			}
			if !slices.Contains(rs.kwRules[j], int32(i)) {
				rs.kwRules[j] = append(rs.kwRules[j], int32(i))
			}
		}
	}
	rs.m = newMatcher(kws)
	return rs, nil
}

// Rule returns the rule with an ID, or nil.
func (rs *Ruleset) Rule(id string) *Rule {
	for _, r := range rs.Rules {
		if r.ID == id {
			return r
		}
	}
	return nil
}

const (
	chunkSize = 1 << 20  // bytes read at a time
	keepSize  = 64 << 10 // tail carried to the next chunk: the longest match
	blockMax  = 32 << 10 // how far a multi-line rule looks past its keyword
	sniffSize = 8000     // bytes inspected for NUL, as git does
	// A one-line match is searched from nearBefore bytes before its
	// keyword to nearAfter bytes after it.
	nearBefore = 160
	nearAfter  = 512
	// gateSpan bounds the text a rule's gate reads from a keyword.
	gateSpan = 1024
)

// ErrBinary is returned by Scan for content that looks binary.
var ErrBinary = errors.New("binary content")

// Input is one thing to scan.
type Input struct {
	Path   string
	Commit string
	// Skip, when set, says a 1-based line must not be scanned (sealed or
	// separately decoded values of a Kubernetes manifest).
	Skip func(line int) bool
	// LineMap, when set, maps a 1-based line of the content to the line
	// reported (added lines of a diff).
	LineMap func(line int) int
}

// Scanner holds the per-goroutine buffers of a scan.
type Scanner struct {
	rs  *Ruleset
	buf []byte
	// scratch state reused across chunks
	windows [][]window
	active  []int32
	pathOK  []int8 // per rule: 0 unknown, 1 yes, -1 no
}

type window struct{ lo, hi int }

// NewScanner returns a Scanner for one goroutine.
func (rs *Ruleset) NewScanner() *Scanner {
	return &Scanner{rs: rs, windows: make([][]window, len(rs.Rules)), pathOK: make([]int8, len(rs.Rules))}
}

// SkipPath reports whether a global allowlist excludes a whole path.
func (rs *Ruleset) SkipPath(path string) bool {
	for i := range rs.Allowlists {
		a := &rs.Allowlists[i]
		if strings.EqualFold(a.Condition, "AND") && (len(a.Regexes) > 0 || len(a.StopWords) > 0 || len(a.Commits) > 0) {
			continue
		}
		for _, p := range a.Paths {
			if p.MatchString(path) {
				return true
			}
		}
	}
	return false
}

// Scan reads r to the end and reports every finding. Content that looks
// binary yields ErrBinary and no finding.
func (s *Scanner) Scan(in Input, r io.Reader, emit func(Finding)) error {
	rs := s.rs
	for i := range s.pathOK {
		s.pathOK[i] = 0
	}
	for _, i := range rs.pathOnly {
		rule := rs.Rules[i]
		if rule.Path.MatchString(in.Path) && !s.ruleSkipsPath(rule, in) {
			emit(Finding{RuleID: rule.ID, Description: rule.Description, Path: in.Path, Secret: in.Path, Severity: rule.Severity})
		}
	}
	if s.buf == nil {
		s.buf = make([]byte, chunkSize)
	}
	buf := s.buf
	carry, ownedFrom, baseLine := 0, 0, 1
	first := true
	for {
		n, err := io.ReadFull(r, buf[carry:])
		eof := false
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			eof = true
		case err != nil:
			return err
		}
		end := carry + n
		data := buf[:end]
		if first {
			first = false
			if bytes.IndexByte(data[:min(end, sniffSize)], 0) >= 0 {
				return ErrBinary
			}
		}
		ownedTo := end
		if !eof {
			cut := end - keepSize
			if nl := bytes.LastIndexByte(data[:cut], '\n'); nl >= ownedFrom {
				cut = nl + 1
			}
			ownedTo = cut
		}
		s.scanChunk(in, data, ownedFrom, ownedTo, baseLine, emit)
		if eof {
			return nil
		}
		// The next chunk starts one line before the owned end, so that a
		// match reaching back a line is still seen.
		start := ownedTo
		if ownedTo > 0 {
			if nl := bytes.LastIndexByte(data[:ownedTo-1], '\n'); nl >= 0 && ownedTo-(nl+1) <= keepSize {
				start = nl + 1
			}
		}
		baseLine += bytes.Count(data[:start], []byte{'\n'})
		carry = copy(buf, data[start:end])
		ownedFrom = ownedTo - start
	}
}

// ScanBytes scans content already in memory.
func (s *Scanner) ScanBytes(in Input, data []byte, emit func(Finding)) error {
	return s.Scan(in, bytes.NewReader(data), emit)
}

func (s *Scanner) ruleSkipsPath(rule *Rule, in Input) bool {
	for i := range rule.Allowlists {
		a := &rule.Allowlists[i]
		if len(a.Paths) == 0 || strings.EqualFold(a.Condition, "AND") && (len(a.Regexes) > 0 || len(a.StopWords) > 0 || len(a.Commits) > 0) {
			continue
		}
		if a.allowed(in.Path, in.Commit, "", "", "") {
			return true
		}
	}
	return false
}

// ruleApplies reports whether a rule runs on the input's path (cached per
// input).
func (s *Scanner) ruleApplies(i int32, in Input) bool {
	switch s.pathOK[i] {
	case 1:
		return true
	case -1:
		return false
	}
	rule := s.rs.Rules[i]
	ok := (rule.Path == nil || rule.Path.MatchString(in.Path)) && !s.ruleSkipsPath(rule, in)
	if ok {
		s.pathOK[i] = 1
	} else {
		s.pathOK[i] = -1
	}
	return ok
}

type candidate struct {
	rule       *Rule
	start, end int // of the match, in the chunk
	sstart     int // of the secret, in the chunk
	send       int
	f          Finding
}

func (s *Scanner) scanChunk(in Input, data []byte, ownedFrom, ownedTo, baseLine int, emit func(Finding)) {
	rs := s.rs
	s.active = s.active[:0]
	add := func(ri int32, w window) {
		ws := s.windows[ri]
		if len(ws) == 0 {
			s.active = append(s.active, ri)
		} else if last := &ws[len(ws)-1]; w.lo <= last.hi && w.lo >= last.lo {
			// Windows of one-line rules stay small enough for the
			// backtracker; block windows merge freely.
			rule := rs.Rules[ri]
			if rule.span == spanBlock || max(last.hi, w.hi)-last.lo <= rule.maxWin {
				last.hi = max(last.hi, w.hi)
				return
			}
		}
		s.windows[ri] = append(ws, w)
	}
	lineStart := func(p int) int { return bytes.LastIndexByte(data[:p], '\n') + 1 }
	lineEnd := func(p int) int {
		if i := bytes.IndexByte(data[p:], '\n'); i >= 0 {
			return p + i
		}
		return len(data)
	}
	var lastLo, lastHi = -1, -1 // cached line bounds of the last hit
	rs.m.scan(data, func(kw, start int) {
		if start >= ownedTo+blockMax {
			return
		}
		if start < lastLo || start >= lastHi {
			lastLo, lastHi = lineStart(start), lineEnd(start)
		}
		for _, ri := range rs.kwRules[kw] {
			if !s.ruleApplies(ri, in) {
				continue
			}

			var w window
			switch rs.Rules[ri].span {
			case spanLine:
				// A match lies near its keyword: long lines (minified
				// code, data) are not searched whole for each hit.
				w = window{max(lastLo, start-nearBefore), min(lastHi, start+nearAfter)}
			case spanNear:
				// A match may reach the next line or two.
				hi := lastHi
				for k := 0; k < 2 && hi < len(data); k++ {
					hi = lineEnd(hi + 1)
				}
				w = window{max(lastLo, start-nearBefore), min(hi, start+nearAfter)}
			default:
				w = window{lastLo, min(len(data), start+blockMax)}
				if w.hi < len(data) {
					w.hi = lineEnd(w.hi)
				}
			}
			if g := rs.Rules[ri].gate; g != nil && !g.Match(data[start:min(w.hi, start+gateSpan)]) {
				continue
			}
			add(ri, w)
		}
	})
	for _, ri := range rs.always {
		if s.ruleApplies(ri, in) {
			add(ri, window{0, len(data)})
		}
	}
	if len(s.active) == 0 {
		return
	}
	var cands []candidate
	for _, ri := range s.active {
		rule := rs.Rules[ri]
		ws := s.windows[ri]
		slices.SortFunc(ws, func(a, b window) int { return a.lo - b.lo })
		var seen map[int]bool // match starts: windows may overlap
		for i, w := range ws {
			if rule.span == spanBlock && i+1 < len(ws) && ws[i+1].lo <= w.hi {
				ws[i+1].lo, ws[i+1].hi = w.lo, max(w.hi, ws[i+1].hi)
				continue
			}
			for _, m := range rule.Regex.FindAllSubmatchIndex(data[w.lo:w.hi], -1) {
				ms, me := w.lo+m[0], w.lo+m[1]
				if ms < ownedFrom || ms >= ownedTo || ms == me {
					continue
				}
				if seen[ms] {
					continue
				}
				if seen == nil {
					seen = map[int]bool{}
				}
				seen[ms] = true
				if c, ok := s.evaluate(in, rule, data, w.lo, m); ok {
					cands = append(cands, c)
				}
			}
		}
		s.windows[ri] = ws[:0]
	}
	// Generic rules yield to specific ones on the same text.
	keep := make([]candidate, 0, len(cands))
	for _, c := range cands {
		if c.rule.Generic && slices.ContainsFunc(cands, func(o candidate) bool {
			return !o.rule.Generic && o.start < c.send && c.sstart < o.end
		}) {
			continue
		}
		keep = append(keep, c)
	}
	slices.SortFunc(keep, func(a, b candidate) int { return a.sstart - b.sstart })
	line, pos := baseLine, 0
	for _, c := range keep {
		line += bytes.Count(data[pos:c.sstart], []byte{'\n'})
		pos = c.sstart
		if in.Skip != nil && in.Skip(line) {
			continue
		}
		c.f.Line = line
		if in.LineMap != nil {
			c.f.Line = in.LineMap(line)
		}
		c.f.Column = c.sstart - lineStart(c.sstart) + 1
		emit(c.f)
	}
}

// evaluate decides whether a regexp match is a finding.
func (s *Scanner) evaluate(in Input, rule *Rule, data []byte, off int, m []int) (candidate, bool) {
	ms, me := off+m[0], off+m[1]
	ss, se := ms, me
	if len(m) > 2 {
		if rule.SecretGroup > 0 {
			if m[2*rule.SecretGroup] < 0 {
				return candidate{}, false
			}
			ss, se = off+m[2*rule.SecretGroup], off+m[2*rule.SecretGroup+1]
		} else {
			for g := 1; 2*g < len(m); g++ {
				if m[2*g] >= 0 && m[2*g+1] > m[2*g] {
					ss, se = off+m[2*g], off+m[2*g+1]
					break
				}
			}
		}
	}
	secret := string(data[ss:se])
	if rule.Entropy > 0 {
		if entropy(secret) <= rule.Entropy {
			return candidate{}, false
		}
		if strings.HasPrefix(rule.ID, "generic") && !strings.ContainsAny(secret, "0123456789") {
			return candidate{}, false
		}
	}
	f := Finding{RuleID: rule.ID, Description: rule.Description, Path: in.Path, Secret: secret, Severity: rule.Severity, Commit: in.Commit}
	if rule.Verify != nil {
		v := rule.Verify(secret)
		if !v.OK {
			return candidate{}, false
		}
		if v.Severity != check.Info {
			f.Severity = v.Severity
		}
		f.Note = v.Note
	}
	match := string(data[ms:me])
	var line string
	lineOf := func() string {
		if line == "" {
			lo := bytes.LastIndexByte(data[:ms], '\n') + 1
			hi := me
			if i := bytes.IndexByte(data[me:], '\n'); i >= 0 {
				hi = me + i
			} else {
				hi = len(data)
			}
			line = string(data[lo:hi])
		}
		return line
	}
	if s.rs.GitleaksAllow && strings.Contains(lineOf(), "gitleaks:allow") {
		return candidate{}, false
	}
	for _, lists := range [][]Allowlist{rule.Allowlists, s.rs.Allowlists} {
		for i := range lists {
			a := &lists[i]
			l := ""
			if a.RegexTarget == "line" {
				l = lineOf()
			}
			if a.allowed(in.Path, in.Commit, secret, match, l) {
				return candidate{}, false
			}
		}
	}
	return candidate{rule: rule, start: ms, end: me, sstart: ss, send: se, f: f}, true
}
