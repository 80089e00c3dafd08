package hostaudit_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/checks"
	"github.com/nixgate/nixgate/internal/hostaudit"
)

// audit writes files under a fresh root and runs every host check on it.
func audit(t *testing.T, files map[string]string, env map[string]string) *check.Result {
	t.Helper()
	dir := t.TempDir()
	for p, body := range files {
		h := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(h), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(h, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h, err := hostaudit.Collect(context.Background(), hostaudit.Options{Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	h.Env = env
	res := check.Run(context.Background(), checks.InScope(check.ScopeHost), nil, check.Target{Input: h}, nil)
	for _, e := range res.Errors {
		t.Errorf("check %s errored: %s", e.CheckID, e.Error)
	}
	return res
}

func has(res *check.Result, id, substr string) bool {
	return slices.ContainsFunc(res.Findings, func(f check.Finding) bool {
		return f.CheckID == id && strings.Contains(f.Message, substr)
	})
}

const groups = "root:x:0:\nwheel:x:10:alice,bob\ntrusted:x:500:carol\nnixbld:x:30000:\n"

// TestCorpus runs the host checks on each real-world nix.conf sample as an
// image's /etc/nix/nix.conf and asserts that the known problems show.
func TestCorpus(t *testing.T) {
	want := map[string][][2]string{
		"01-debian-nix-bin-2.8.0_etc-nix-nix.conf":        {{"host-sandbox", "sandbox = false"}},
		"09-NixOS-nix-docker-image_nix.conf":              {{"host-sandbox", "sandbox = false"}},
		"11-a-h-devcontainer_nix.conf":                    {{"host-sandbox", "sandbox = false"}},
		"12-levonk-nix-config_etc-nix-nix.conf":           {{"host-accept-flake-config", "accept-flake-config = true"}},
		"07-cachix-install-nix-action_generated-nix.conf": {{"host-readable-credentials", "access-tokens in /etc/nix/nix.conf"}, {"host-trusted-users", "runner"}},
		"03-nix-community-infra_build-box_nix.conf": {
			{"host-trusted-users", "@wheel (members: alice, bob)"}, {"host-trusted-users", "@trusted (members: carol)"}, {"host-trusted-users", "contains nix:"},
		},
		"13-bryango-chezroot_etc-nix-nix.conf":                   {{"host-trusted-users", "@wheel"}},
		"17-macunha1-configuration.nix_cachix-install.dhall.txt": {{"host-config-quoting", "nix.conf has no quoting"}},
		"14-coinmetrics-cardano-fullnode_nix.conf":               {{"host-substituters", "https://cache.nixos.org has no key"}},
		"02-nixos-default-generated_nix.conf":                    {{"host-allowed-users", "allowed-users contains *"}},
	}
	ents, err := os.ReadDir("testdata/corpus")
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 21 {
		t.Fatalf("%d samples, want 21", len(ents))
	}
	for _, e := range ents {
		t.Run(e.Name(), func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata/corpus", e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			res := audit(t, map[string]string{"/etc/nix/nix.conf": string(b), "/etc/group": groups}, nil)
			for _, w := range want[e.Name()] {
				if !has(res, w[0], w[1]) {
					t.Errorf("missing %s finding containing %q; got:", w[0], w[1])
					for _, f := range res.Findings {
						t.Logf("  %s %s: %s", f.CheckID, f.Location, f.Message)
					}
				}
			}
		})
	}
}

func TestAdvisories(t *testing.T) {
	advs, err := hostaudit.Advisories()
	if err != nil {
		t.Fatal(err)
	}
	ids := func(impl, v string) []string {
		var out []string
		for _, m := range hostaudit.MatchVersion(advs, impl, v) {
			if !m.Unknown && !m.Uncertain {
				out = append(out, m.Advisory.ID)
			}
		}
		return out
	}
	for _, tt := range []struct {
		impl, v string
		want    []string
	}{
		{"nix", "2.8.0", []string{"CVE-2024-27297", "CVE-2024-38531", "CVE-2024-47174", "CVE-2025-46415", "CVE-2025-46416", "CVE-2025-52991", "CVE-2025-52992", "CVE-2025-52993"}},
		{"nix", "2.24.9", []string{"CVE-2025-46415", "CVE-2025-46416", "CVE-2025-52991", "CVE-2025-52992", "CVE-2025-52993", "CVE-2026-39860", "CVE-2026-44028"}},
		{"nix", "2.29.1", []string{"CVE-2026-39860", "CVE-2026-44028"}},
		{"nix", "2.34.7", nil},
		{"lix", "2.93.0", []string{"CVE-2025-46415", "CVE-2025-46416", "CVE-2025-52991", "CVE-2025-52992", "CVE-2025-52993", "CVE-2026-44028"}},
		{"lix", "2.95.2", nil},
	} {
		if got := ids(tt.impl, tt.v); !slices.Equal(got, tt.want) {
			t.Errorf("%s %s: got %v, want %v", tt.impl, tt.v, got, tt.want)
		}
	}
	if len(advs) < 10 {
		t.Errorf("%d advisories, want the 10 of the issue", len(advs))
	}
}
