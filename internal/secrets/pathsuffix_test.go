package secrets

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

func TestPathSuffixes(t *testing.T) {
	for _, c := range []struct {
		re   string
		want []string
		fold bool
	}{
		{`(?:^|/)go\.(?:sum|work\.sum)$`, []string{"go.sum", "go.work.sum"}, false},
		{`(?:^|/)(?:yarn\.lock|Cargo\.lock)$`, []string{"Cargo.lock", "yarn.lock"}, false},
		{`(?i)\.(?:png|jpe?g)$`, []string{".jpeg", ".jpg", ".png"}, true},
		{`\.min\.[jc]ss?$`, []string{".min.cs", ".min.css", ".min.js", ".min.jss"}, false},
		{`^vendor/`, nil, false},
		{`(?:^|/)node_modules(?:/.*)?$`, nil, false},
		{`a*$`, nil, false},
		{`x?$`, nil, false},
	} {
		got, fold := pathSuffixes(regexp.MustCompile(c.re))
		if fold {
			for i := range got {
				got[i] = strings.ToLower(got[i]) // the parser keeps folded literals in upper case
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) || fold != c.fold && got != nil {
			t.Errorf("pathSuffixes(%s) = %q, fold %v; want %q, fold %v", c.re, got, fold, c.want, c.fold)
		}
	}
}

// TestPathFilterDefaults runs the default allowlists' filters against
// their regexps on the paths of this repository's kinds.
func TestPathFilterDefaults(t *testing.T) {
	paths := []string{"go.sum", "x/go.sum", "x/go.sum.bak", "ago.sum", "flake.lock", "a/b/Cargo.lock", "Cargo.lock.orig", "src/main.rs", "", "/"}
	for _, a := range DefaultAllowlists() {
		for _, re := range a.Paths {
			f := newPathFilter(re)
			if f.suffixes == nil {
				t.Errorf("%s: no suffixes", re)
			}
			for _, p := range paths {
				if f.match(p) != re.MatchString(p) {
					t.Errorf("%s on %q: filter %v, regexp %v", re, p, f.match(p), re.MatchString(p))
				}
			}
		}
	}
}

// TestPathFilterFoldsUnicode: (?i)k matches the Kelvin sign, three bytes
// long; the suffix test must not turn that path down.
func TestPathFilterFoldsUnicode(t *testing.T) {
	re := regexp.MustCompile(`(?i)\.k$`)
	f := newPathFilter(re)
	if p := "a.\u212a"; !re.MatchString(p) || !f.match(p) {
		t.Errorf("%s on %q: filter %v, regexp %v", re, p, f.match(p), re.MatchString(p))
	}
}

// FuzzPathFilter: the suffix test never turns down a path the regexp
// matches.
func FuzzPathFilter(f *testing.F) {
	f.Add(`(?:^|/)go\.(?:sum|work\.sum)$`, "a/go.sum")
	f.Add(`(?i)\.(?:png|jpe?g)$`, "X.JPEG")
	f.Add(`[ab]c?(?:d|e)$`, "bd")
	f.Add(`(?i)k$`, "a\u212a")
	f.Fuzz(func(t *testing.T, expr, path string) {
		if len(expr) > 200 {
			return
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return
		}
		fuzzlimit.Default(t, func() {
			pf := newPathFilter(re)
			if pf.match(path) != re.MatchString(path) {
				t.Fatalf("%s on %q: filter %v, regexp %v (suffixes %q)", expr, path, pf.match(path), re.MatchString(path), pf.suffixes)
			}
		})
	})
}
