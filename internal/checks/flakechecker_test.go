package checks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/policy"
	"github.com/nixgate/nixgate/internal/repo"
)

// runLockChecks runs every repository lock check on a repository holding
// one flake.lock, under the policy text (the built-in default when empty),
// and returns the findings as "SEVERITY check-id: message".
func runLockChecks(t *testing.T, lock []byte, policyText string) []string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "flake.lock", lock)
	writeFile(t, dir, "flake.nix", []byte("{ inputs.nixpkgs.url = \"github:NixOS/nixpkgs\"; outputs = _: { }; }\n"))
	gitInit(t, dir, nil)
	all := InScope(check.ScopeRepo)
	p := policy.Default(All())
	if policyText != "" {
		var err error
		if p, err = policy.Parse("nixgate.toml", []byte(policyText), All()); err != nil {
			t.Fatal(err)
		}
	}
	var lockChecks []*check.Check
	for _, c := range all {
		if strings.HasPrefix(c.ID, "lock-") {
			lockChecks = append(lockChecks, c)
		}
	}
	ctx := context.Background()
	r, err := repo.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res := check.Run(ctx, lockChecks, p.Settings, check.Target{Repo: r}, nil)
	for _, e := range res.Errors {
		t.Errorf("%s errored: %s", e.CheckID, e.Error)
	}
	var out []string
	for _, f := range res.Findings {
		out = append(out, fmt.Sprintf("%s %s: %s", f.Severity, f.CheckID, f.Message))
	}
	return out
}

func failing(fs []string) []string {
	var out []string
	for _, f := range fs {
		if strings.HasPrefix(f, "high ") || strings.HasPrefix(f, "critical ") {
			out = append(out, f)
		}
	}
	return out
}

// TestFlakeCheckerFixtures: each of flake-checker's own fixtures gets the
// same or a stricter verdict from nixgate's default policy (flake-checker's
// expectations are those of its src/flake.rs tests, run with
// check_outdated off; nixgate's default also judges age, which only makes
// it stricter).
func TestFlakeCheckerFixtures(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata/flake-checker", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	files, _ := filepath.Glob("testdata/flake-checker/*.lock")
	if len(files) != 12 {
		t.Fatalf("want flake-checker's 12 fixtures, have %d", len(files))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			got := runLockChecks(t, read(name), "")
			t.Logf("%d findings, %d failing", len(got), len(failing(got)))
			for _, g := range got {
				t.Log("  " + g)
			}
			switch name {
			case "flake.dirty.0.lock", "flake.dirty.1.lock":
				// flake-checker: Disallowed ref and NonUpstream owner on
				// input nixpkgs. nixgate must fail on the owner and name
				// the branch.
				fails := strings.Join(failing(got), "\n")
				if !strings.Contains(fails, "input 'nixpkgs'") {
					t.Errorf("flake-checker fails this lock on nixpkgs; nixgate's failing findings:\n%s", fails)
				}
				ref := map[string]string{"flake.dirty.0.lock": "this-should-fail", "flake.dirty.1.lock": "probably-nefarious"}[name]
				if !slices.ContainsFunc(got, func(s string) bool {
					return strings.Contains(s, "lock-nixpkgs-branch") && strings.Contains(s, ref)
				}) {
					t.Errorf("the disallowed branch %q is not reported", ref)
				}
				if name == "flake.dirty.0.lock" && !slices.ContainsFunc(got, func(s string) bool {
					return strings.HasPrefix(s, "high lock-nixpkgs-owner") && strings.Contains(s, "bitcoin-miner-org")
				}) {
					t.Errorf("the fork's owner is not reported by lock-nixpkgs-owner")
				}
			case "flake.explicit-keys.0.lock":
				// flake-checker with keys nixpkgs,nixpkgs-alt: NonUpstream
				// on nixpkgs-alt; nixgate needs no keys for a fork.
				if !slices.ContainsFunc(failing(got), func(s string) bool {
					return strings.Contains(s, "lock-nixpkgs-owner") && strings.Contains(s, "'nixpkgs-alt'")
				}) {
					t.Errorf("nixpkgs-alt (seems-pretty-shady/nixpkgs) not failed")
				}
			}
		})
	}
	// flake-checker's missing_nixpkgs_keys: an error naming the keys.
	for _, tc := range []struct {
		lock string
		keys string
		want []string
	}{
		{"flake.clean.0.lock", `["nixpkgs", "foo", "bar"]`, []string{`"foo"`, `"bar"`}},
		{"flake.clean.1.lock", `["nixpkgs", "nixpkgs-other"]`, []string{`"nixpkgs-other"`}},
	} {
		got := failing(runLockChecks(t, read(tc.lock), "[lock]\nnixpkgs-keys = "+tc.keys+"\n"))
		for _, w := range tc.want {
			if !slices.ContainsFunc(got, func(s string) bool {
				return strings.Contains(s, "lock-condition: no nixpkgs input "+w)
			}) {
				t.Errorf("%s with keys %s: missing key %s not reported: %v", tc.lock, tc.keys, w, got)
			}
		}
	}
	// flake-checker's cel_conditions on flake.cel.0.lock: its own test
	// condition holds (written with all(): see the flakelock tests), the
	// inverted owner test fails.
	for _, tc := range []struct {
		cond string
		fail bool
	}{
		{"['nixos-unstable', 'nixos-unstable-small', 'nixpkgs-unstable'].all(rev, supportedRefs.contains(rev)) && owner == 'NixOS' && gitRef == 'nixos-unstable' && supportedRefs.contains(gitRef) && has(numDaysOld) && numDaysOld > 0", false},
		{"has(gitRef) && has(numDaysOld) && has(owner) && has(supportedRefs) && supportedRefs.contains(gitRef) && owner != 'NixOS'", true},
	} {
		got := runLockChecks(t, read("flake.cel.0.lock"), fmt.Sprintf("[lock]\ncondition = %q\n", tc.cond))
		failed := slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "lock-condition:") })
		if failed != tc.fail {
			t.Errorf("condition %s: failed = %v, want %v (%v)", tc.cond, failed, tc.fail, got)
		}
	}
	// The fixture file itself, as flake-checker's Rust interpreter takes
	// it, is no standard CEL (a list && a bool): the policy says where.
	_, err := policy.Parse("nixgate.toml", []byte(fmt.Sprintf("[lock]\ncondition = %q\n", strings.TrimSpace(string(read("cel-condition.cel"))))), All())
	if err == nil || !strings.Contains(err.Error(), "nixgate.toml:2:1: lock.condition:") {
		t.Errorf("cel-condition.cel: err = %v, want a positioned policy error", err)
	}
}
