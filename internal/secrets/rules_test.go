package secrets

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"regexp"
	"strings"
	"testing"
)

func defaultRuleset(t testing.TB) *Ruleset {
	t.Helper()
	rs, err := NewRuleset(DefaultRules(), DefaultAllowlists())
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func scanString(t testing.TB, rs *Ruleset, path, content string) []Finding {
	t.Helper()
	var out []Finding
	if _, err := rs.NewScanner().File(Input{Path: path}, strings.NewReader(content), int64(len(content)), func(f Finding) { out = append(out, f) }); err != nil {
		t.Fatalf("scan %s: %v", path, err)
	}
	return out
}

// TestRuleSamples: every rule finds each of its true-positive samples, in
// several surroundings, and stays silent on its false-positive samples.
func TestRuleSamples(t *testing.T) {
	rs := defaultRuleset(t)
	providers := map[string]bool{}
	for _, r := range rs.Rules {
		providers[r.ID] = true
		t.Run(r.ID, func(t *testing.T) {
			if len(r.Keywords) == 0 {
				t.Errorf("rule %s has no keywords: it would run on every line", r.ID)
			}
			if len(r.TP) == 0 || len(r.FP) == 0 {
				t.Fatalf("rule %s needs true- and false-positive samples", r.ID)
			}
			g := newGen(uint64(len(r.ID)) * 7919)
			path := "sample.txt"
			if r.Path != nil {
				path = "sample.dhall"
			}
			for _, tpl := range r.TP {
				for _, wrap := range []string{"%s", "value = \"%s\"\n", "# comment\nexport X='%s'\n", "  - %s\n"} {
					sample := strings.Replace(wrap, "%s", g.render(t, tpl), 1)
					got := scanString(t, rs, path, sample)
					found := false
					for _, f := range got {
						if f.RuleID == r.ID {
							found = true
						}
					}
					if !found {
						t.Errorf("true positive %q (from %q) not found by %s; got %v", sample, tpl, r.ID, ids(got))
					}
				}
			}
			for _, tpl := range r.FP {
				sample := g.render(t, tpl)
				for _, f := range scanString(t, rs, path, sample) {
					t.Errorf("false positive %q (from %q): %s", sample, tpl, f.Message())
				}
			}
		})
	}
	if len(providers) < 60 {
		t.Errorf("want at least 60 default rules, have %d", len(providers))
	}
}

func ids(fs []Finding) []string {
	var s []string
	for _, f := range fs {
		s = append(s, f.RuleID+"@"+f.Path)
	}
	return s
}

// TestDocExampleKey: the Nix manual's example signing key is the example
// in documentation (info) and a key everyone holds anywhere else (the
// rule's own severity, said so).
func TestDocExampleKey(t *testing.T) {
	rs := defaultRuleset(t)
	// The manual's key, as the corpus quotes it.
	data, err := os.ReadFile("testdata/corpus/pos/nix-signing-key-inline.nix")
	if err != nil {
		t.Fatal(err)
	}
	key := regexp.MustCompile(`cache\.example\.org-0:[A-Za-z0-9+/=]+`).Find(data)
	if key == nil {
		t.Fatal("no key in the corpus file")
	}
	for _, c := range []struct {
		path, sev, note string
	}{
		{"doc/manual/key-generate-secret.md", "info", "documentation example: the Nix manual's example key"},
		{"nix/cache.nix", "critical", "example key cache.example.org-0: published, everyone holds it"},
	} {
		fs := scanString(t, rs, c.path, "secret-key = \""+string(key)+"\"\n")
		if len(fs) != 1 {
			t.Fatalf("%s: %d findings, want 1: %+v", c.path, len(fs), fs)
		}
		if got := fs[0].Severity.String(); got != c.sev || !strings.Contains(fs[0].Note, c.note) {
			t.Errorf("%s: %s (%s), want %s (%s)", c.path, got, fs[0].Note, c.sev, c.note)
		}
	}
}

// TestBuiltinRulesCompile: nixgate's own rules compile their regexps on
// first use, so their expressions are checked here: each compiles, its
// secret group exists, and the keyword read from the parsed expression is
// the compiled regexp's literal prefix.
func TestBuiltinRulesCompile(t *testing.T) {
	n := 0
	for _, r := range DefaultRules() {
		if r.expr == "" {
			continue
		}
		n++
		re, err := regexp.Compile(r.expr)
		if err != nil {
			t.Errorf("%s: %v", r.ID, err)
			continue
		}
		if r.SecretGroup > re.NumSubexp() {
			t.Errorf("%s: secretGroup %d but the regex has %d groups", r.ID, r.SecretGroup, re.NumSubexp())
		}
		trimmed := strings.TrimPrefix(r.expr, `\b`)
		want, _ := regexp.MustCompile(trimmed).LiteralPrefix()
		if got := literalPrefix(trimmed); got != want {
			t.Errorf("%s: literal prefix %q, regexp says %q", r.ID, got, want)
		}
	}
	if n < 100 {
		t.Errorf("%d rules with expressions; want the built-in set (100+)", n)
	}
}

func TestLiteralPrefix(t *testing.T) {
	for _, expr := range []string{
		`ghp_[0-9a-zA-Z]{36}`, `(ghp_)x`, `(?:xox)[baprs]-`, `(?i)abc`, `(?i)_-1abc`, `abc(?i)def`,
		`a{3}b`, `a{2,}b`, `a{2,4}b`, `(ab)+c`, `\Aab(c)`, `^(ab)c`, `a?b`, `a|b`, `abc|abd`, `\babc`, `^abc`, `(?m)^abc`, `(a)(b)(c+)`, `((ab)c)d*`, ``, `x*`,
		`AKIA[A-Z2-7]{16}`, `-----BEGIN[ A-Z]*PRIVATE KEY-----`, `\x{FFFD}a`, `é(?i:é)`, `[a]bc`,
	} {
		want, _ := regexp.MustCompile(expr).LiteralPrefix()
		if got := literalPrefix(expr); got != want {
			t.Errorf("%q: %q, regexp says %q", expr, got, want)
		}
	}
}

// TestPublicKey holds both ways publicKey derives a key (without the base
// point table, then with it) to crypto/ed25519, and NixKeyPair to a
// generated Nix key and a signature-shaped string.
func TestPublicKey(t *testing.T) {
	keyChecks.Store(0)
	seed := make([]byte, ed25519.SeedSize)
	for i := 0; i < 40; i++ {
		if _, err := rand.Read(seed); err != nil {
			t.Fatal(err)
		}
		want := ed25519.NewKeyFromSeed(seed)
		if got := publicKey(seed); !bytes.Equal(got, want[ed25519.SeedSize:]) {
			t.Fatalf("derivation %d: public key %x, want %x", i+1, got, want[ed25519.SeedSize:])
		}
		if !NixKeyPair(want) {
			t.Fatalf("derivation %d: a generated key is not a key pair", i+1)
		}
		bad := bytes.Clone(want)
		bad[63] ^= 1
		if NixKeyPair(bad) {
			t.Fatalf("derivation %d: a key with a wrong public half passes", i+1)
		}
	}
	if n := keyChecks.Load(); n <= 16 {
		t.Fatalf("only %d derivations: the table path was not reached", n)
	}
}
