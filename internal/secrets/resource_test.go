package secrets

import (
	"regexp"
	"regexp/syntax"
	"testing"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

// TestSourceMatchesString holds source to (*syntax.Regexp).String: on every
// default rule, each rule's whole expression and each part of its top
// level, the two texts parse to the same expression.
func TestSourceMatchesString(t *testing.T) {
	var exprs []string
	for _, r := range DefaultRules() {
		if r.hasRegex() {
			exprs = append(exprs, r.regex().String())
		}
		if r.Path != nil {
			exprs = append(exprs, r.Path.String())
		}
	}
	exprs = append(exprs, `(?i)a[^b]c`, `(?s).x(?-s:.)`, `(?m)^a$`, `\Aa\z`, `a$`, `(?U)a+b*?`, `a{2,}b{3}c{1,4}`,
		`(?P<name>x)|()`, `[^\x00-\x{10FFFF}]`, `\bq\B`, `é[ü-ÿ]\x00\n\\\]`, `(?:)`, `x{0}`)
	for _, e := range exprs {
		sameExpr(t, e)
	}
}

func sameExpr(t *testing.T, e string) {
	t.Helper()
	tree, err := syntax.Parse(e, syntax.Perl)
	if err != nil {
		return
	}
	subs := []*syntax.Regexp{tree}
	if tree.Op == syntax.OpConcat || tree.Op == syntax.OpAlternate {
		subs = append(subs, tree.Sub...)
	}
	for _, s := range subs {
		want, err := syntax.Parse(s.String(), syntax.Perl)
		if err != nil {
			continue
		}
		src := source(s)
		got, err := syntax.Parse(src, syntax.Perl)
		if err != nil {
			t.Fatalf("source(%s) = %q does not parse: %v", e, src, err)
		}
		if !got.Simplify().Equal(want.Simplify()) {
			// Parsing may group differently; the programs must agree.
			pg, _ := syntax.Compile(got.Simplify())
			pw, _ := syntax.Compile(want.Simplify())
			if pg.String() != pw.String() {
				t.Errorf("source(%s part %s) = %q, parses to another expression than String's %q", e, s, src, s.String())
			}
		}
		if _, err := regexp.Compile(src); err != nil {
			t.Errorf("source(%s) = %q does not compile: %v", e, src, err)
		}
	}
}

// FuzzSource holds source to String on any expression.
func FuzzSource(f *testing.F) {
	for _, s := range []string{`(?i)a[^b]c`, `x{2,5}?`, `(?P<n>a|b)+`, `[[:alpha:]]\d\S`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, e string) {
		if len(e) > 256 {
			return
		}
		fuzzlimit.Default(t, func() { sameExpr(t, e) })
	})
}
