package secrets

import (
	"fmt"
	"hash/fnv"
	"math"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/nixgate/nixgate/internal/check"
)

// Rule detects one kind of secret.
type Rule struct {
	ID          string
	Description string
	// Regex finds candidates. When it has capture groups, the secret is
	// group SecretGroup, or the first non-empty group when SecretGroup is 0.
	// nixgate's own rules leave it nil and give the expression's source
	// (expr) instead: see analyzed.
	Regex       *regexp.Regexp
	SecretGroup int
	// Entropy, when not zero, is the Shannon entropy (bits per byte) the
	// secret must exceed.
	Entropy float64
	// Keywords: the rule runs only where one of them occurs
	// (case-insensitively). A rule without keywords runs on every line.
	Keywords []string
	// Path, when set, restricts the rule to matching paths; a rule with a
	// Path and no Regex reports the file itself.
	Path       *regexp.Regexp
	Allowlists []Allowlist
	// Severity of a finding; zero means High.
	Severity check.Severity
	// Verify, when set, inspects a candidate: it may reject it (OK
	// false) or lower its severity with a note (a GitHub token whose
	// checksum does not validate).
	Verify func(m *Match) Verdict
	// KeyMaterial marks rules whose secret is a private key: a match is
	// compared with the well-known public test keys (publishedKey).
	KeyMaterial bool
	// Generic rules yield to a specific rule that matched the same text.
	Generic bool
	// Samples for tests: templates of true and false positives (see the
	// package test); never literal tokens.
	TP, FP []string

	// expr is the source of a regexp compiled on first use (nixgate's own
	// rules); exprOnce guards the compilation.
	expr     string
	exprOnce sync.Once
	// ready guards what analyze derives from the regexp (span, gate,
	// windows, the name group): done on first use, since most rules of a
	// set never see their keyword in a given scan, and their regexps and
	// analyses are most of the cost of starting one.
	ready sync.Once

	span span
	// index is the rule's place in its rule set: of two rules that find
	// the same text, the first one listed reports it.
	index int
	// gateBoundary and gateLineStart: the regexp asserts a word boundary
	// or a line start before its keyword.
	gateBoundary, gateLineStart bool
	// gateWin is the longest text the gate is run on.
	gateWin int
	// pre, when set, is tested at each keyword hit (with the hit's
	// offset) before the rule's gate and regexp.
	pre func(data []byte, start int) bool
	// nameGroup is the index of the regexp's group named "name" (the name
	// a secret is assigned to), or 0.
	nameGroup int
	// maxWin is the largest window that Go's regexp still searches with its
	// backtracker (much faster than its NFA) for this rule's program.
	maxWin int
	// gateSrc is set (by buildGate, in analyzed) when the rule has a gate:
	// gateSubs, printed and compiled on first use, since most rules of a
	// set never see their keyword in a given scan, and compiling every
	// gate would double the cost of starting one. It does not change
	// after analyzed: scanners read it concurrently. A gate taken from
	// derivedTable has its source in gateSrc, gateWin already set, and
	// no gateSubs.
	gateSrc  string
	gateSubs []*syntax.Regexp
	gateOnce sync.Once
	// gate, when set, is the rule's regexp anchored at the position of a
	// keyword: a cheap test run at each keyword hit before the rule's
	// regexp searches the window around it (see buildGate).
	gate *regexp.Regexp
}

// Match is what a rule's Verify function sees of a candidate.
type Match struct {
	Secret string
	// Name is the text of the regexp's group named "name", when it has
	// one: the variable, key or field the secret is assigned to.
	Name string
	// Text is the whole match; Before and After are up to 64 bytes of its
	// line on each side.
	Text, Before, After string
	Path                string
}

// Verdict is what a rule's Verify function says about a candidate.
type Verdict struct {
	OK       bool
	Severity check.Severity // zero: the rule's severity
	Note     string
}

// Allowlist suppresses findings. With Condition "AND" every listed
// criterion must match; otherwise any one suffices.
type Allowlist struct {
	Description string
	Condition   string
	Commits     []string
	Paths       []*regexp.Regexp
	// RegexTarget is "secret" (default), "match" or "line".
	RegexTarget string
	Regexes     []*regexp.Regexp
	StopWords   []string
}

type span int

const (
	spanLine  span = iota // matches stay on one line
	spanNear              // matches may reach the next line or two
	spanBlock             // matches may run over many lines (PEM blocks)
)

// analyze classifies how far a regexp can reach across lines.
func analyze(t *syntax.Regexp) span {
	var walk func(t *syntax.Regexp, unbounded bool) span
	walk = func(t *syntax.Regexp, unbounded bool) span {
		s := spanLine
		switch t.Op {
		case syntax.OpAnyChar:
			if unbounded {
				return spanBlock
			}
			return spanNear
		case syntax.OpCharClass:
			for i := 0; i+1 < len(t.Rune); i += 2 {
				if t.Rune[i] <= '\n' && '\n' <= t.Rune[i+1] {
					if unbounded {
						return spanBlock
					}
					return spanNear
				}
			}
		case syntax.OpLiteral:
			for _, r := range t.Rune {
				if r == '\n' {
					s = spanNear
				}
			}
		}
		for _, sub := range t.Sub {
			u := unbounded
			switch t.Op {
			case syntax.OpStar, syntax.OpPlus:
				u = true
			case syntax.OpRepeat:
				// A bounded repeat reaches a few lines at most.
				u = unbounded || t.Max < 0 || t.Max > 256
			}
			s = max(s, walk(sub, u))
		}
		return s
	}
	return walk(t, false)
}

func (r *Rule) prepare() error {
	if r.ID == "" {
		return fmt.Errorf("rule without id")
	}
	if !r.hasRegex() && r.Path == nil {
		return fmt.Errorf("rule %s: neither regex nor path", r.ID)
	}
	if r.Severity == check.Info {
		r.Severity = check.High
	}
	if r.Regex != nil && r.SecretGroup > r.Regex.NumSubexp() {
		return fmt.Errorf("rule %s: secretGroup %d but the regex has %d groups", r.ID, r.SecretGroup, r.Regex.NumSubexp())
	}
	for i, k := range r.Keywords {
		r.Keywords[i] = strings.ToLower(k)
	}
	return nil
}

// hasRegex reports whether the rule searches content (rather than only
// naming files by their path).
func (r *Rule) hasRegex() bool { return r.expr != "" || r.Regex != nil }

// regex returns the rule's regexp, compiling a built-in rule's on first
// use (its expression is checked by the package's tests).
func (r *Rule) regex() *regexp.Regexp {
	if r.expr != "" {
		r.exprOnce.Do(func() { r.Regex = regexp.MustCompile(r.expr) })
	}
	return r.Regex
}

// analyzed derives, once, what the scanner needs of the rule's regexp
// beyond the regexp itself: how far it reaches across lines, its gate
// (buildGate), the window its program is searched in, and its name
// group. A scanner calls it before it reads any of these. It reads the
// parsed expression, so a rule whose gate decides every hit never
// compiles its whole regexp (regex does that when a window is searched).
//
// A built-in rule takes these, and its gate's source and window, from
// derivedTable (rules_gen.go, what analyze and gateWindow give for each
// built-in rule), so that its first hit compiles only the gate: the
// analysis parsed and compiled the expression, and the gate was compiled
// twice, which in a short scan was a tenth of the process's CPU
// (home-manager's last 100 commits: 17 rules analysed, 11 gates, 2.2 ms;
// with the table, 31 interleaved rounds, 40.5 -> 39.2 ms wall and 58.1
// -> 56.3 ms CPU; an empty range 14.8 -> 13.9 ms CPU). A rule the table
// does not know (a gitleaks rule; a built-in rule changed since the table
// was written, which TestRulesGenerated fails on) is analysed here.
func (r *Rule) analyzed() *Rule {
	r.ready.Do(func() {
		if r.expr != "" {
			if d, ok := derivedTable[derivedKey(r.expr, r.Keywords)]; ok {
				r.span, r.maxWin, r.nameGroup = d.span, d.maxWin, d.nameGroup
				r.gateBoundary, r.gateLineStart = d.gateBoundary, d.gateLineStart
				if d.gate != "" {
					r.gateSrc, r.gateWin = d.gate, d.gateWin
				}
				return
			}
		}
		r.analyze()
	})
	return r
}

// analyze is analyzed's work for a rule that derivedTable does not know.
func (r *Rule) analyze() {
	src := r.expr
	if src == "" {
		if r.Regex == nil {
			return
		}
		src = r.Regex.String()
	}
	r.span, r.maxWin = spanBlock, 1024
	t, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return // not for a compiled regexp, nor a built-in rule (tested)
	}
	r.nameGroup = max(0, slices.Index(t.CapNames(), "name"))
	r.span = analyze(t)
	r.gateSrc = buildGate(r, t)
	if prog, err := syntax.Compile(t.Simplify()); err == nil && len(prog.Inst) > 0 {
		r.maxWin = max(256, 256*1024/len(prog.Inst)-1)
	}
}

// derived is what analyzed finds in a built-in rule: its reach, windows,
// name group, and its gate's source and window ("" when it has none).
type derived struct {
	span                        span
	maxWin, nameGroup, gateWin  int
	gateBoundary, gateLineStart bool
	gate                        string
}

// derivedKey names a rule in derivedTable: the analysis depends on the
// expression and on the keywords (buildGate).
func derivedKey(expr string, keywords []string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(expr))
	for _, k := range keywords {
		h.Write([]byte{0})
		h.Write([]byte(k))
	}
	return h.Sum64()
}

// entropy is the Shannon entropy of s in bits per byte.
func entropy(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	var h float64
	n := float64(len(s))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// allowed reports whether an allowlist suppresses a candidate.
func (a *Allowlist) allowed(path, commit, secret, match, line string) bool {
	type crit struct{ set, ok bool }
	var cs []crit
	if len(a.Commits) > 0 {
		ok := false
		for _, c := range a.Commits {
			if c != "" && commit != "" && strings.HasPrefix(commit, c) {
				ok = true
			}
		}
		cs = append(cs, crit{true, ok})
	}
	if len(a.Paths) > 0 {
		ok := false
		for _, p := range a.Paths {
			if p.MatchString(path) {
				ok = true
				break
			}
		}
		cs = append(cs, crit{true, ok})
	}
	if len(a.Regexes) > 0 {
		target := secret
		switch a.RegexTarget {
		case "match":
			target = match
		case "line":
			target = line
		}
		ok := false
		for _, re := range a.Regexes {
			if re.MatchString(target) {
				ok = true
				break
			}
		}
		cs = append(cs, crit{true, ok})
	}
	if len(a.StopWords) > 0 {
		ok := false
		ls := strings.ToLower(secret)
		for _, w := range a.StopWords {
			if w != "" && strings.Contains(ls, strings.ToLower(w)) {
				ok = true
				break
			}
		}
		cs = append(cs, crit{true, ok})
	}
	if len(cs) == 0 {
		return false
	}
	if strings.EqualFold(a.Condition, "AND") {
		for _, c := range cs {
			if !c.ok {
				return false
			}
		}
		return true
	}
	for _, c := range cs {
		if c.ok {
			return true
		}
	}
	return false
}

// buildGate derives from a rule's regexp an anchored test for a match
// starting at a keyword hit. It applies to regexps of the form
// [optional bounded prefix of a character class] KEYWORDS REST, where every
// keyword of the rule is matched by KEYWORDS (a literal or an alternation):
// the secret-assignment shape of most provider rules. The gate is then
// ^(?:KEYWORDS REST), tried where a keyword starts; the full regexp runs
// only around hits that pass.
func buildGate(r *Rule, t *syntax.Regexp) string {
	if r.span == spanBlock || len(r.Keywords) == 0 {
		return ""
	}
	subs := []*syntax.Regexp{t}
	if t.Op == syntax.OpConcat {
		subs = t.Sub
	}
	i := 0
	if len(subs) > 1 {
		switch p := subs[0]; p.Op {
		case syntax.OpRepeat, syntax.OpStar, syntax.OpQuest:
			if p.Min == 0 && (p.Sub[0].Op == syntax.OpCharClass || p.Sub[0].Op == syntax.OpAnyCharNotNL) {
				i = 1
			}
		}
	}
	// Zero-width assertions stay in the gate.
	// Leading assertions are checked against the byte before the keyword
	// (in the gate's own input they would always hold).
	j := i
	for j < len(subs) && (subs[j].Op == syntax.OpWordBoundary || subs[j].Op == syntax.OpBeginText || subs[j].Op == syntax.OpBeginLine) {
		switch subs[j].Op {
		case syntax.OpWordBoundary:
			r.gateBoundary = true
		default:
			r.gateLineStart = true
		}
		j++
	}
	if j >= len(subs) {
		return ""
	}
	head := subs[j]
	for head.Op == syntax.OpCapture {
		head = head.Sub[0]
	}
	if head.Op != syntax.OpLiteral && head.Op != syntax.OpAlternate {
		return ""
	}
	headRe, err := regexp.Compile(`^(?:` + source(head) + `)`)
	if err != nil {
		return ""
	}
	for _, k := range r.Keywords {
		loc := headRe.FindStringIndex(k)
		if loc == nil || loc[1] == 0 {
			return ""
		}
	}
	// The source is written on first use (getGate): printing a parsed
	// regexp costs more than compiling it.
	r.gateSubs = subs[j:]
	return "lazy"
}

// getGate compiles the rule's gate on first use, with the longest input
// the backtracking matcher handles for it; nil when the rule has none.
func (r *Rule) getGate() *regexp.Regexp {
	if r.gateSrc == "" {
		return nil
	}
	r.gateOnce.Do(func() {
		// gateSrc stays as prepare left it: scanners read it without
		// the Once.
		src := r.gateSrc
		if r.gateSubs != nil {
			src = r.gateSource()
		}
		g, err := regexp.Compile(src)
		if err != nil {
			return
		}
		if r.gateSubs != nil {
			r.gateWin = gateWindow(src)
		}
		r.gate = g
	})
	return r.gate
}

// gateSource prints the gate that buildGate found.
func (r *Rule) gateSource() string {
	var b strings.Builder
	b.WriteString("^(?:")
	for _, s := range r.gateSubs {
		b.WriteString(source(s))
	}
	b.WriteString(")")
	return b.String()
}

// gateWindow is the longest text a gate is run on: as long as Go's
// backtracker takes for its program, within gateSpan.
func gateWindow(src string) int {
	if t, err := syntax.Parse(src, syntax.Perl); err == nil {
		if prog, err := syntax.Compile(t.Simplify()); err == nil && len(prog.Inst) > 0 {
			return max(160, min(gateSpan, 256*1024/len(prog.Inst)-1))
		}
	}
	return gateSpan
}

// literalPrefix is the literal text every match of expr starts with, as
// regexp's LiteralPrefix gives it, read from the parsed expression
// without compiling it: runes matched exactly (through groups), up to
// the first operator that is not a plain literal. expr must be valid.
func literalPrefix(expr string) string {
	t, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return ""
	}
	var b strings.Builder
	var walk func(t *syntax.Regexp) bool // false: the prefix ends here
	walk = func(t *syntax.Regexp) bool {
		switch t.Op {
		case syntax.OpEmptyMatch:
			return true
		case syntax.OpLiteral:
			for _, r := range t.Rune {
				if t.Flags&syntax.FoldCase != 0 && unicode.SimpleFold(r) != r || r == utf8.RuneError {
					return false
				}
				b.WriteRune(r)
			}
			return true
		case syntax.OpCapture:
			return walk(t.Sub[0])
		case syntax.OpPlus:
			// One repetition comes before the loop.
			walk(t.Sub[0])
			return false
		case syntax.OpConcat:
			for _, s := range t.Sub {
				if !walk(s) {
					return false
				}
			}
			return true
		}
		return false
	}
	t = t.Simplify()
	if t.Op == syntax.OpBeginText || t.Op == syntax.OpConcat && t.Sub[0].Op == syntax.OpBeginText {
		// Anchored: regexp may run it one-pass, whose prefix it reads
		// differently. No built-in rule is; compiling costs only these.
		p, _ := regexp.MustCompile(expr).LiteralPrefix()
		return p
	}
	walk(t)
	return b.String()
}
