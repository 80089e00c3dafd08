package lockdiff

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

type msgEntry struct {
	kind, input string
	lines       []string // the described references, as Nix printed them
}

var entryRe = regexp.MustCompile(`^• (Added|Removed|Updated) input '([^']*)'`)

// parseMessage reads Nix's "Flake lock file updates:" list.
func parseMessage(t *testing.T, text string) []msgEntry {
	var out []msgEntry
	for _, l := range strings.Split(text, "\n") {
		if m := entryRe.FindStringSubmatch(l); m != nil {
			out = append(out, msgEntry{kind: strings.ToLower(m[1]), input: m[2]})
			continue
		}
		if !strings.HasPrefix(l, " ") {
			continue // the message's own text, trailers
		}
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "→"))
		if len(out) > 0 && (strings.HasPrefix(l, "'") || strings.HasPrefix(l, "follows '")) {
			out[len(out)-1].lines = append(out[len(out)-1].lines, l)
		}
	}
	if len(out) == 0 {
		t.Fatal("no entries in the commit message")
	}
	return out
}

var narHashQuery = regexp.MustCompile(`[?&]narHash=[^'&]*`)

func pairs(t *testing.T) []string {
	files, _ := filepath.Glob("testdata/pairs/*.commit-msg.txt")
	if len(files) != 21 {
		t.Fatalf("want 21 pairs, have %d", len(files))
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(f, ".commit-msg.txt"))
	}
	return names
}

func diffPair(t *testing.T, base string) *Report {
	t.Helper()
	a, err := os.ReadFile(base + ".before.lock")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(base + ".after.lock")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Diff(a, b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestNixMessages checks that every change Nix's own update message lists
// appears in the report, with the same references.
func TestNixMessages(t *testing.T) {
	for _, base := range pairs(t) {
		t.Run(filepath.Base(base), func(t *testing.T) {
			msg, err := os.ReadFile(base + ".commit-msg.txt")
			if err != nil {
				t.Fatal(err)
			}
			r := diffPair(t, base)
			byInput := map[string]Change{}
			for _, c := range r.Changes {
				byInput[c.Input] = c
			}
			for _, e := range parseMessage(t, string(msg)) {
				c, ok := byInput[e.input]
				if !ok {
					t.Errorf("%s input '%s' missing from the report", e.kind, e.input)
					continue
				}
				if c.Kind != e.kind {
					t.Errorf("input '%s': kind %s, Nix says %s", e.input, c.Kind, e.kind)
				}
				var got []string
				if c.Old != nil && c.Kind == Updated {
					got = append(got, c.Old.describe())
				}
				if c.New != nil && c.Kind != Removed {
					got = append(got, c.New.describe())
				}
				want := e.lines
				// Nix before 2.19 printed no narHash.
				if !strings.Contains(string(msg), "narHash=") {
					for i := range got {
						got[i] = narHashQuery.ReplaceAllString(got[i], "")
					}
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("input '%s' (-nix +nixgate):\n%s", e.input, diff)
				}
			}
		})
	}
}

func hasFlag(r *Report, input, code string) *Flag {
	for _, c := range r.Changes {
		if c.Input != input {
			continue
		}
		for i, f := range c.Flags {
			if f.Code == code {
				return &c.Flags[i]
			}
		}
	}
	return nil
}

// TestNixMissesBranchSwitch: Nix's message for NixOS/nix 233bd250d1 shows a
// plain revision bump; the original moved from nixos-25.05-small to
// nixos-25.05.
func TestNixMissesBranchSwitch(t *testing.T) {
	r := diffPair(t, "testdata/pairs/NixOS__nix__233bd250d1")
	f := hasFlag(r, "nixpkgs", FlagRefChange)
	if f == nil {
		t.Fatalf("no branch switch reported: %+v", r.Changes)
	}
	if !strings.Contains(f.Message, "nixos-25.05-small → nixos-25.05") {
		t.Errorf("message = %q", f.Message)
	}
	if r.HighRisk() {
		t.Errorf("a branch switch within a release is not high risk")
	}
}

func TestOwnerChangeInCorpus(t *testing.T) {
	r := diffPair(t, "testdata/pairs/nix-community__infra__6a24ef02f9")
	if hasFlag(r, "hercules-ci-agent/pre-commit-hooks-nix", FlagSourceChange) == nil {
		t.Errorf("owner change hercules-ci -> cachix not flagged")
	}
	if !r.HighRisk() {
		t.Errorf("owner change must be high risk")
	}
}

// goldenPairs have golden reports in every format.
var goldenPairs = []string{"DeterminateSystems__flake-checker__5ccb4c3e90", "NixOS__nix__233bd250d1",
	"nix-community__infra__3ba9c7dbb9", "nix-community__infra__6a24ef02f9"}

// TestRealFlags: what nixgate flags in real update commits, each a change a
// reviewer must look at (and nothing critical: no real update kept a rev
// while its content changed).
func TestRealFlags(t *testing.T) {
	want := map[string][]string{
		"nix-community__infra__09e1670f5d":      {"nixpkgs-update source-change"},
		"nix-community__infra__b2ff78ca2e":      {"hercules-ci-effects source-change", "nix-darwin source-change"},
		"nix-community__lanzaboote__fd956c4864": {"nixpkgs-test source-change"},
		"nix-community__infra__506323a884":      {"nixpkgs type-change"},
		"NixOS__nix__c316f1557d":                {"nixpkgs downgrade"},
		"nix-community__infra__6a24ef02f9":      {"hercules-ci-agent/pre-commit-hooks-nix source-change"},
	}
	for _, base := range pairs(t) {
		name := filepath.Base(base)
		r := diffPair(t, base)
		var high []string
		for _, c := range r.Changes {
			for _, f := range c.Flags {
				if f.Risk >= High {
					high = append(high, c.Input+" "+f.Code)
				}
				if f.Risk == Critical {
					t.Errorf("%s: critical %s on %s in a real update", name, f.Code, c.Input)
				}
			}
		}
		if d := cmp.Diff(want[name], high); d != "" {
			t.Errorf("%s: high-risk flags (-want +got):\n%s", name, d)
		}
	}
}

func TestGolden(t *testing.T) {
	for _, g := range goldenPairs {
		base := filepath.Join("testdata", "pairs", g)
		r := diffPair(t, base)
		for _, f := range []struct {
			ext   string
			write func(*bytes.Buffer) error
		}{
			{"txt", func(b *bytes.Buffer) error { return r.WriteText(b) }},
			{"md", func(b *bytes.Buffer) error { return r.WriteMarkdown(b) }},
			{"json", func(b *bytes.Buffer) error { return r.WriteJSON(b) }},
		} {
			name := filepath.Join("testdata", "golden", filepath.Base(base)+"."+f.ext)
			t.Run(filepath.Base(name), func(t *testing.T) {
				var b bytes.Buffer
				if err := f.write(&b); err != nil {
					t.Fatal(err)
				}
				if *update {
					os.MkdirAll(filepath.Dir(name), 0o755)
					if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(name)
				if err != nil {
					t.Fatalf("%v (run with -update)", err)
				}
				if diff := cmp.Diff(string(want), b.String()); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			})
		}
	}
}
