// Package secrets finds secrets in files and in git history: a keyword
// prefilter (one Aho-Corasick pass per chunk) decides which rules run and
// where, then RE2 regexps, entropy thresholds, offline validators (GitHub
// checksums, Nix signing keys, bech32) and allowlists decide. Encoded text
// (base64, hex, percent-encoding) is decoded and scanned to a bounded
// depth; matches across shell line continuations are found. Files are
// streamed in chunks, so memory stays flat whatever their size; binary
// files are skipped by content. Kubernetes manifests (YAML or JSON) are
// parsed: base64 data values are decoded and scanned, sealed and
// sops-encrypted values skipped.
package secrets

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	// Secret is the secret itself. It is never printed: use Redacted.
	Secret   string         `json:"-"`
	Severity check.Severity `json:"severity"`
	// Note qualifies the finding ("checksum invalid", "base64-decoded").
	Note   string `json:"note,omitempty"`
	Commit string `json:"commit,omitempty"`
	Author string `json:"author,omitempty"`
	// Known names a well-known public test key (nixpkgs' snakeoil keys):
	// such a finding is reported at Info.
	Known string `json:"known,omitempty"`
	// Context is the finding's line with the secret and every other
	// token-like run masked; with the rule, the path and Ordinal it is the
	// finding's identity (see Key). It never holds the secret.
	Context string `json:"-"`
	// Ordinal counts the earlier findings of the same rule and context in
	// the same input, so that two keys on identical lines stay distinct.
	Ordinal int `json:"-"`
	// Found, in a history scan, is the finding's line and the line above
	// it in the commit, where its inline suppressions are read.
	Found *check.FoundLines `json:"-"`
}

// Key is the finding's identity for check fingerprints and baselines: the
// rule and a hash of the masked line and ordinal. It depends on where the
// secret is written, never on the secret, so it cannot confirm a guess;
// it does not include the line number, so it survives line shifts and
// rebases.
func (f Finding) Key() string {
	h := sha256.New()
	h.Write([]byte(f.RuleID))
	h.Write([]byte{0})
	h.Write([]byte(f.Context))
	h.Write([]byte{0})
	h.Write([]byte(strconv.Itoa(f.Ordinal)))
	return f.RuleID + ":" + hex.EncodeToString(h.Sum(nil))[:32]
}

// ID is the short fingerprint shown with a finding: a hash of its path and
// Key (location-derived, see Key).
func (f Finding) ID() string {
	h := sha256.Sum256([]byte(f.Path + "\x00" + f.Key()))
	return hex.EncodeToString(h[:])[:12]
}

// Redacted shows a secret's first characters (for long secrets only), its
// length and the finding's location-derived fingerprint, never the secret
// whole and never a hash of it.
func (f Finding) Redacted() string {
	return Redact(f.Secret) + ", fp:" + f.ID() + ")"
}

// Redact renders a secret for humans without its fingerprint: a prefix
// when the secret is long enough that the prefix (usually the token's
// type marker) leaves it unguessable, and its length. The result ends
// inside an open parenthesis so that a caller may add more.
func Redact(secret string) string {
	n := utf8.RuneCountInString(secret)
	keep := 0
	switch {
	case n >= 24:
		keep = 6
	case n >= 16:
		keep = 4
	}
	prefix := string([]rune(secret)[:keep])
	return fmt.Sprintf("%s… (%d chars", safePrefix(prefix), n)
}

// safePrefix keeps a prefix printable.
func safePrefix(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '.'
		}
		return r
	}, s)
}

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
	// MaxDecodeDepth bounds how many layers of encoding (base64, hex,
	// percent) are decoded; 0 turns decoding off. NewRuleset sets
	// DefaultDecodeDepth.
	MaxDecodeDepth int

	m        *matcher
	kwRules  [][]int32 // keyword index -> rules
	always   []int32   // regex rules without keywords
	pathOnly []int32   // rules with a path and no regex
	// pathFilters holds the global allowlists' path regexps with their
	// suffix test, by regexp.
	pathFilters map[*regexp.Regexp]*pathFilter
}

// DefaultDecodeDepth is the default MaxDecodeDepth.
const DefaultDecodeDepth = 3

// NewRuleset compiles rules and global allowlists.
func NewRuleset(rules []*Rule, global []Allowlist) (*Ruleset, error) {
	rs := &Ruleset{Rules: rules, Allowlists: global, MaxDecodeDepth: DefaultDecodeDepth}
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
		r.index = i
		seen[r.ID] = true
		switch {
		case !r.hasRegex():
			rs.pathOnly = append(rs.pathOnly, int32(i))
		case len(r.Keywords) == 0:
			rs.always = append(rs.always, int32(i))
		}
		if !r.hasRegex() {
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
	rs.pathFilters = map[*regexp.Regexp]*pathFilter{}
	for _, a := range global {
		for _, p := range a.Paths {
			f := newPathFilter(p)
			rs.pathFilters[p] = &f
		}
	}
	return rs, nil
}

// compiledDefault is nixgate's own rules, compiled once per process.
var compiledDefault = sync.OnceValues(func() (*Ruleset, error) {
	return NewRuleset(DefaultRules(), DefaultAllowlists())
})

// Default returns nixgate's own rules and allowlists, compiled once per
// process and shared by every caller: it must not be changed (see
// WithDecodeDepth). The first call compiles them.
func Default() (*Ruleset, error) { return compiledDefault() }

// WithDecodeDepth returns a copy of rs that decodes to depth n. The copy
// shares the compiled rules.
func (rs *Ruleset) WithDecodeDepth(n int) *Ruleset {
	c := *rs
	c.MaxDecodeDepth = n
	return &c
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
	// contextMax bounds the text of a finding's line kept (masked) as its
	// identity, on each side of the secret.
	contextMax = 200
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
	// per input
	ordinals     map[string]int
	decodeBudget int
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
			if f := rs.pathFilters[p]; f != nil {
				if f.match(path) {
					return true
				}
			} else if p.MatchString(path) {
				return true
			}
		}
	}
	return false
}

// decodeBudgetPerInput bounds the bytes decoded (at every depth together)
// for one input, so that a file of nothing but base64 costs a bounded
// amount of work beyond its plain scan.
const decodeBudgetPerInput = 16 << 20

// Scan reads r to the end and reports every finding. Content that looks
// binary yields ErrBinary and no finding.
func (s *Scanner) Scan(in Input, r io.Reader, emit func(Finding)) error {
	rs := s.rs
	for i := range s.pathOK {
		s.pathOK[i] = 0
	}
	clear(s.ordinals)
	s.decodeBudget = decodeBudgetPerInput
	for _, i := range rs.pathOnly {
		rule := rs.Rules[i]
		if rule.Path.MatchString(in.Path) && !s.ruleSkipsPath(rule, in) {
			emit(Finding{RuleID: rule.ID, Description: rule.Description, Path: in.Path, Secret: in.Path, Severity: rule.Severity, Context: "path"})
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
			if nl := bytes.LastIndexByte(data[ownedFrom:cut], '\n'); nl >= 0 {
				cut = ownedFrom + nl + 1
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
			lo := max(0, ownedTo-1-keepSize)
			if nl := bytes.LastIndexByte(data[lo:ownedTo-1], '\n'); nl >= 0 {
				start = lo + nl + 1
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

// candidate is a match that passed a rule's checks, before it is placed.
type candidate struct {
	rule   *Rule
	ms, me int // the match, in the text scanned
	ss, se int // the secret (for a decoded secret: the encoded span)
	secret string
	sev    check.Severity
	note   string
	known  string
}

func (s *Scanner) scanChunk(in Input, data []byte, ownedFrom, ownedTo, baseLine int, emit func(Finding)) {
	cands := s.match(in, data, ownedFrom, ownedTo, false)
	if bytes.Contains(data[ownedFrom:ownedTo], []byte("\\\n")) || bytes.Contains(data[ownedFrom:ownedTo], []byte("\\\r\n")) {
		cands = s.continued(in, data, ownedFrom, ownedTo, cands)
	}
	if s.rs.MaxDecodeDepth > 0 {
		cands = s.decoded(in, data, ownedFrom, ownedTo, cands, 1)
	}
	cands = resolve(cands)
	if len(cands) == 0 {
		return
	}
	s.place(in, data, baseLine, cands, emit)
}

// match runs the rules over data and returns the candidates whose match
// starts in [from, to). lineRulesOnly leaves out multi-line rules (for
// joined continuation lines, which those rules already saw).
func (s *Scanner) match(in Input, data []byte, from, to int, lineRulesOnly bool) []candidate {
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
	var gcands []candidate
	gated := map[int32]map[int]bool{}
	// lineEnd finds the end of the line holding p, looking no further
	// than limit.
	lineEnd := func(p, limit int) int {
		limit = min(limit, len(data))
		if p >= limit {
			return limit
		}
		if i := bytes.IndexByte(data[p:limit], '\n'); i >= 0 {
			return p + i
		}
		return limit
	}
	// The line bounds of a hit, cached while hits stay on one line. The
	// searches are bounded (nearBefore back, blockMax forward), so a
	// one-line 30 MB file costs no more than many short lines: when no
	// newline is found within nearBefore, cLo is the search's start,
	// which gives every later hit on the line the same window start
	// (start-nearBefore) as the true line start would.
	cStart, cLo, cHi, cHiExact := -1, 0, 0, false
	rs.m.scan(data, func(kw, start int) {
		if start >= to+blockMax {
			return
		}
		if start < cStart || start >= cHi || !cHiExact && start+nearAfter > cHi {
			cStart = start
			lo := max(0, start-nearBefore)
			cLo = lo
			if i := bytes.LastIndexByte(data[lo:start], '\n'); i >= 0 {
				cLo = lo + i + 1
			}
			hi := min(len(data), start+blockMax)
			cHi, cHiExact = hi, hi == len(data)
			if i := bytes.IndexByte(data[start:hi], '\n'); i >= 0 {
				cHi, cHiExact = start+i, true
			}
		}
		lastLo, lastHi := cLo, cHi
		for _, ri := range rs.kwRules[kw] {
			rule := rs.Rules[ri].analyzed()
			if lineRulesOnly && rule.span == spanBlock || !s.ruleApplies(ri, in) {
				continue
			}
			var w window
			switch rule.span {
			case spanLine:
				// A match lies near its keyword: long lines (minified
				// code, data) are not searched whole for each hit.
				w = window{max(lastLo, start-nearBefore), min(lastHi, start+nearAfter)}
			case spanNear:
				// A match may reach the next line or two.
				hi := lastHi
				for k := 0; k < 2 && hi < len(data) && hi < start+nearAfter; k++ {
					hi = lineEnd(hi+1, start+nearAfter)
				}
				w = window{max(lastLo, start-nearBefore), min(hi, start+nearAfter)}
			default:
				w = window{max(lastLo, start-nearBefore), min(len(data), start+blockMax)}
				w.hi = lineEnd(w.hi, w.hi+nearAfter)
			}
			if rule.pre != nil && !rule.pre(data, start) {
				continue
			}
			if g := rule.getGate(); g != nil {
				// The gate is the rule's regexp from the keyword on: its
				// match is the rule's match (less an optional prefix that
				// holds no group), so the window need not be searched.
				if start > 0 && (rule.gateBoundary && isWordByte(data[start-1]) || rule.gateLineStart && data[start-1] != '\n') {
					continue
				}
				// The rest of the keyword's line (or next lines, for a rule
				// that reaches them), short enough for the backtracker (much
				// faster than the NFA).
				ghi := min(lastHi, start+rule.gateWin)
				if rule.span == spanNear {
					ghi = lastHi
					for k := 0; k < 2 && ghi < len(data) && ghi < start+rule.gateWin; k++ {
						ghi = lineEnd(ghi+1, start+rule.gateWin)
					}
					ghi = min(ghi, start+rule.gateWin)
				}
				m := g.FindSubmatchIndex(data[start:ghi])
				if m == nil || start < from || start >= to {
					continue
				}
				if gated[ri] == nil {
					gated[ri] = map[int]bool{}
				}
				if !gated[ri][start] {
					gated[ri][start] = true
					if c, ok := s.evaluate(in, rule, data, start, m); ok {
						gcands = append(gcands, c)
					}
				}
				continue
			}
			add(ri, w)
		}
	})
	for _, ri := range rs.always {
		if (!lineRulesOnly || rs.Rules[ri].analyzed().span != spanBlock) && s.ruleApplies(ri, in) {
			add(ri, window{0, len(data)})
		}
	}
	if len(s.active) == 0 {
		return gcands
	}
	cands := gcands
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
			for _, m := range rule.regex().FindAllSubmatchIndex(data[w.lo:w.hi], -1) {
				ms, me := w.lo+m[0], w.lo+m[1]
				if ms < from || ms >= to || ms == me {
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
	return cands
}

// resolve settles candidates that found the same text: a generic rule's
// candidate yields to a specific rule's candidate that overlaps it, and of
// specific candidates of the same span the first rule listed wins.
func resolve(cands []candidate) []candidate {
	if len(cands) < 2 {
		return cands
	}
	keep := cands[:0:0]
	for i, c := range cands {
		drop := false
		for j, o := range cands {
			if i == j {
				continue
			}
			if c.rule.Generic && !o.rule.Generic && o.ms < c.se && c.ss < o.me && o.ss < c.se && c.ss < o.se {
				drop = true
				break
			}
			if c.rule.Generic == o.rule.Generic && c.ss == o.ss && c.se == o.se &&
				(o.rule.index < c.rule.index || o.rule.index == c.rule.index && j < i) {
				drop = true
				break
			}
		}
		if !drop {
			keep = append(keep, c)
		}
	}
	return keep
}

// place sorts candidates by position, gives them lines, columns, contexts
// and ordinals, and emits those on lines that are not skipped.
func (s *Scanner) place(in Input, data []byte, baseLine int, cands []candidate, emit func(Finding)) {
	slices.SortStableFunc(cands, func(a, b candidate) int { return a.ss - b.ss })
	line, pos, lineStart := baseLine, 0, bytes.LastIndexByte(data[:cands[0].ss], '\n')+1
	for i, c := range cands {
		if i > 0 && c.ss == cands[i-1].ss && c.rule == cands[i-1].rule {
			continue // the same secret found twice (a joined line and its own)
		}
		if n := bytes.Count(data[pos:c.ss], []byte{'\n'}); n > 0 {
			line += n
			lineStart = pos + bytes.LastIndexByte(data[pos:c.ss], '\n') + 1
		}
		pos = c.ss
		if in.Skip != nil && in.Skip(line) {
			continue
		}
		f := Finding{RuleID: c.rule.ID, Description: c.rule.Description, Path: in.Path, Secret: c.secret,
			Severity: c.sev, Note: c.note, Commit: in.Commit, Known: c.known, Line: line}
		if in.LineMap != nil {
			f.Line = in.LineMap(line)
		}
		f.Column = c.ss - lineStart + 1
		f.Context = maskedContext(data, lineStart, c.ss, c.se)
		s.ordinal(&f)
		emit(f)
	}
}

func (s *Scanner) ordinal(f *Finding) {
	if s.ordinals == nil {
		s.ordinals = map[string]int{}
	}
	k := f.RuleID + "\x00" + f.Context
	f.Ordinal = s.ordinals[k]
	s.ordinals[k]++
}

// maskedContext is the text around a secret on its line (at most
// contextMax bytes on each side) with the secret and every other
// token-like run replaced by "…" and blanks collapsed.
func maskedContext(data []byte, lineStart, ss, se int) string {
	lo := max(lineStart, ss-contextMax)
	hi := se
	end := min(len(data), se+contextMax)
	if i := bytes.IndexByte(data[se:end], '\n'); i >= 0 {
		end = se + i
	}
	if i := bytes.IndexByte(data[ss:se], '\n'); i >= 0 {
		// A multi-line secret: its first line is context enough.
		hi, end = ss+i, ss+i
	}
	var b strings.Builder
	b.Write(maskTokens(data[lo:ss]))
	b.WriteString("…")
	b.Write(maskTokens(data[hi:end]))
	return strings.Join(strings.Fields(b.String()), " ")
}

// maskTokens replaces every run of token characters of 12 or more that
// mixes letters and digits (a key, a hash, another secret) with "…".
func maskTokens(b []byte) []byte {
	out := make([]byte, 0, len(b))
	i := 0
	for i < len(b) {
		if !isTokenByte(b[i]) {
			out = append(out, b[i])
			i++
			continue
		}
		j := i
		letters, digits := false, false
		for j < len(b) && isTokenByte(b[j]) {
			c := b[j]
			switch {
			case c >= '0' && c <= '9':
				digits = true
			case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
				letters = true
			}
			j++
		}
		if j-i >= 12 && letters && digits || j-i >= 32 {
			out = append(out, "…"...)
		} else {
			out = append(out, b[i:j]...)
		}
		i = j
	}
	return out
}

func isWordByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
}

func isTokenByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' || c == '_' || c == '-' || c == '.' || c == '~'
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
				if g == rule.nameGroup {
					continue
				}
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
	c := candidate{rule: rule, ms: ms, me: me, ss: ss, se: se, secret: secret, sev: rule.Severity}
	if rule.Verify != nil {
		mt := &Match{Secret: secret, Text: string(data[ms:me]), Path: in.Path}
		if rule.nameGroup > 0 && 2*rule.nameGroup+1 < len(m) && m[2*rule.nameGroup] >= 0 {
			mt.Name = string(data[off+m[2*rule.nameGroup] : off+m[2*rule.nameGroup+1]])
		}
		lo := max(0, ms-64)
		if i := bytes.LastIndexByte(data[lo:ms], '\n'); i >= 0 {
			lo += i + 1
		}
		mt.Before = string(data[lo:ms])
		hi := min(len(data), me+64)
		if i := bytes.IndexByte(data[me:hi], '\n'); i >= 0 {
			hi = me + i
		}
		mt.After = string(data[me:hi])
		v := rule.Verify(mt)
		if !v.OK {
			return candidate{}, false
		}
		if v.Severity != check.Info {
			c.sev = v.Severity
		}
		c.note = v.Note
	}
	if rule.KeyMaterial {
		switch name, docExample := publishedKey(secret); {
		case name == "":
		case !docExample:
			c.known = name
			c.sev = check.Info
			c.note = joinNote("well-known public test key: "+name, c.note)
		case isDocumentation(in.Path):
			c.known = name
			c.sev = check.Info
			c.note = joinNote("documentation example: "+name, c.note)
		default:
			c.note = joinNote(name+": published, everyone holds it", c.note)
		}
	}
	match := string(data[ms:me])
	var line string
	lineOf := func() string {
		if line == "" {
			lo := max(0, ms-4096)
			if i := bytes.LastIndexByte(data[lo:ms], '\n'); i >= 0 {
				lo += i + 1
			}
			hi := min(len(data), me+4096)
			if i := bytes.IndexByte(data[me:hi], '\n'); i >= 0 {
				hi = me + i
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
	return c, true
}

func joinNote(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}
