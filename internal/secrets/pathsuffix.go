package secrets

import (
	"regexp"
	"regexp/syntax"
	"strings"
)

// pathFilter is a path allowlist regexp with the suffixes one of which
// every path it matches ends with (when they can be listed): a path
// without any is not run through the regexp. Allowlist paths are
// unanchored regexps like `(?:^|/)(?:yarn\.lock|go\.sum)$` that Go's
// engine tries at every position of every path; the suffix test turns
// them down for almost every file at the cost of a few comparisons.
type pathFilter struct {
	re       *regexp.Regexp
	suffixes []string // nil: unknown, run the regexp
	fold     bool     // compare suffixes case-insensitively
}

func newPathFilter(re *regexp.Regexp) pathFilter {
	f := pathFilter{re: re}
	f.suffixes, f.fold = pathSuffixes(re)
	return f
}

func (f *pathFilter) match(path string) bool {
	// A case-insensitive suffix is compared byte for byte in length, which
	// holds for ASCII only (the Kelvin sign folds to k in three bytes).
	if f.suffixes != nil && !(f.fold && !ascii(path)) {
		ok := false
		for _, s := range f.suffixes {
			if len(path) >= len(s) && (path[len(path)-len(s):] == s || f.fold && strings.EqualFold(path[len(path)-len(s):], s)) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return f.re.MatchString(path)
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// maxSuffixes bounds the suffix list of one regexp.
const maxSuffixes = 64

// pathSuffixes lists the suffixes one of which every match of re ends
// with: the strings the elements before its final `$` can match, as far
// back as they match finitely many. nil when re does not end in `$` or
// no such element precedes it.
func pathSuffixes(re *regexp.Regexp) ([]string, bool) {
	t, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return nil, false
	}
	t = t.Simplify()
	subs := []*syntax.Regexp{t}
	if t.Op == syntax.OpConcat {
		subs = t.Sub
	}
	if len(subs) < 2 || subs[len(subs)-1].Op != syntax.OpEndText {
		return nil, false
	}
	acc := []string{""}
	fold := false
	for i := len(subs) - 2; i >= 0; i-- {
		lang, f, ok := finite(subs[i])
		if !ok || len(lang)*len(acc) > maxSuffixes {
			break
		}
		acc = product(lang, acc)
		fold = fold || f
	}
	for _, s := range acc {
		if s == "" {
			return nil, false // some match may end anywhere
		}
	}
	return acc, fold
}

// finite lists the strings t matches when they are few; fold reports a
// case-insensitive literal among them.
func finite(t *syntax.Regexp) (lang []string, fold, ok bool) {
	switch t.Op {
	case syntax.OpLiteral:
		return []string{string(t.Rune)}, t.Flags&syntax.FoldCase != 0, true
	case syntax.OpEmptyMatch:
		return []string{""}, false, true
	case syntax.OpCharClass:
		n := 0
		for i := 0; i+1 < len(t.Rune); i += 2 {
			n += int(t.Rune[i+1]-t.Rune[i]) + 1
			if n > 16 {
				return nil, false, false
			}
		}
		for i := 0; i+1 < len(t.Rune); i += 2 {
			for r := t.Rune[i]; r <= t.Rune[i+1]; r++ {
				lang = append(lang, string(r))
			}
		}
		return lang, false, len(lang) > 0
	case syntax.OpCapture:
		return finite(t.Sub[0])
	case syntax.OpQuest:
		l, f, ok := finite(t.Sub[0])
		if !ok {
			return nil, false, false
		}
		return append(l, ""), f, true
	case syntax.OpConcat:
		lang = []string{""}
		for _, s := range t.Sub {
			l, f, ok := finite(s)
			if !ok || len(l)*len(lang) > maxSuffixes {
				return nil, false, false
			}
			lang, fold = product(lang, l), fold || f
		}
		return lang, fold, true
	case syntax.OpAlternate:
		for _, s := range t.Sub {
			l, f, ok := finite(s)
			if !ok || len(lang)+len(l) > maxSuffixes {
				return nil, false, false
			}
			lang, fold = append(lang, l...), fold || f
		}
		return lang, fold, true
	}
	return nil, false, false
}

func product(a, b []string) []string {
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, x+y)
		}
	}
	return out
}
