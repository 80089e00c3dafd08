package flakelock

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

// flake-checker's documented example conditions (its README) and its test
// condition, on an up-to-date NixOS/nixpkgs input and on a fork.
func TestConditions(t *testing.T) {
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	lock := func(owner, ref string, lm int64) *Node {
		t.Helper()
		l, err := Parse([]byte(oneInput(
			`{"type":"github","owner":"`+owner+`","repo":"nixpkgs","rev":"`+rev40+`","lastModified":`+itoa(lm)+`}`,
			`{"type":"github","owner":"`+owner+`","repo":"nixpkgs","ref":"`+ref+`"}`)))
		if err != nil {
			t.Fatal(err)
		}
		return l.Nodes["a"]
	}
	fresh := lock("NixOS", "nixos-unstable", now.Add(-3*24*time.Hour).Unix())
	fork := lock("bitcoin-miner-org", "this-should-fail", now.Add(-3*24*time.Hour).Unix())
	old := lock("NixOS", "nixos-24.05", now.Add(-400*24*time.Hour).Unix())
	d := Branches()
	for _, tc := range []struct {
		cond             string
		fresh, fork, old bool
	}{
		{"has(numDaysOld) && numDaysOld < 365", true, true, false},
		{"supportedRefs.contains(gitRef) && (has(numDaysOld) && numDaysOld < 30) && owner == 'NixOS'", true, false, false},
		{"supportedRefs.contains(gitRef) && (has(numDaysOld) && numDaysOld < 14) && owner == 'NixOS'", true, false, false},
		{`gitRef.contains("24.05")`, false, false, true},
		{"has(gitRef) && has(numDaysOld) && has(owner) && has(supportedRefs) && supportedRefs.contains(gitRef) && owner != 'NixOS'", false, false, false},
		// tests/cel-condition.cel, with its list && bool written as all():
		// standard CEL has no truthiness of lists.
		{"['nixos-unstable', 'nixos-unstable-small', 'nixpkgs-unstable'].all(rev, supportedRefs.contains(rev)) && owner == 'NixOS' && gitRef == 'nixos-unstable' && supportedRefs.contains(gitRef) && has(numDaysOld) && numDaysOld > 0", true, false, false},
		{"gitRef in refStatuses && refStatuses[gitRef] == 'unmaintained'", false, false, true},
		{"status != 'eol' && nixpkgs && type == 'github'", true, true, false},
	} {
		c, err := CompileCondition(tc.cond)
		if err != nil {
			t.Fatalf("%s: %v", tc.cond, err)
		}
		for _, x := range []struct {
			name string
			n    *Node
			want bool
		}{{"fresh", fresh, tc.fresh}, {"fork", fork, tc.fork}, {"old", old, tc.old}} {
			got, err := c.Eval(FactsOf(x.n, "a", d, now))
			if err != nil || got != x.want {
				t.Errorf("%s on %s = %v, %v; want %v", tc.cond, x.name, got, err, x.want)
			}
		}
	}
	// The fixture as flake-checker's Rust interpreter takes it is not CEL.
	if _, err := CompileCondition("['a'].map(r, true) && true"); err == nil {
		t.Error("list && bool compiled")
	}
	for _, bad := range []string{"numDaysOld <", "nope == 1", "numDaysOld + 1"} {
		_, err := CompileCondition(bad)
		if err == nil || !strings.Contains(err.Error(), ":") {
			t.Errorf("CompileCondition(%q) = %v, want a positioned error", bad, err)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func FuzzCondition(f *testing.F) {
	for _, s := range []string{
		"supportedRefs.contains(gitRef) && (has(numDaysOld) && numDaysOld < 30) && owner == 'NixOS'",
		`gitRef.contains("24.05")`, "has(a.b)", "[1,2].map(x, x*2).size() > 1", "refStatuses[gitRef] == 'stable'",
		strings.Repeat("(", 300) + "true" + strings.Repeat(")", 300),
	} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	l, err := Parse([]byte(oneInput(`{"type":"github","owner":"NixOS","repo":"nixpkgs","rev":"`+rev40+`","lastModified":1763600000}`, "")))
	if err != nil {
		f.Fatal(err)
	}
	facts := FactsOf(l.Nodes["a"], "a", Branches(), now)
	f.Fuzz(func(t *testing.T, src string) {
		fuzzlimit.Default(t, func() {
			if len(src) > 4096 {
				return // a policy value; the policy file itself is capped
			}
			start := time.Now()
			c, err := CompileCondition(src)
			if err == nil {
				_, _ = c.Eval(facts)
			} else if ce, ok := err.(*ConditionError); ok && (ce.Line < 1 || ce.Column < 1) {
				t.Fatalf("error without a position: %v", err)
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Fatalf("%d bytes took %v", len(src), el)
			}
		})
	})
}
