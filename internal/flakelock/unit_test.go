package flakelock

import (
	"testing"
	"time"
)

func TestMutableURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"https://channels.nixos.org/nixos-unstable/nixexprs.tar.xz", true},
		{"https://nixos.org/channels/nixos-24.05/nixexprs.tar.xz", true},
		{"https://releases.nixos.org/nixos/unstable/nixos-26.05pre969196.46db2e09e1d3/nixexprs.tar.xz", false},
		{"https://github.com/NixOS/nixpkgs/archive/nixos-24.05.tar.gz", true},
		{"https://github.com/NixOS/nixpkgs/archive/46db2e09e1d3f113a13c0d7b81e2f221c63b8ce9.tar.gz", false},
		{"https://codeberg.org/nadevko/kasumi/archive/master.tar.gz", true},
		{"https://codeberg.org/api/v1/repos/nadevko/kasumi/archive/cc0a6826be2c4c4c6a419d7b420980b5d58bebca.tar.gz", false},
		{"https://github.com/o/r/archive/v1.2.3.tar.gz", true},
		{"https://flakehub.com/f/NixOS/nixpkgs/0.1", true},
		{"https://api.flakehub.com/f/pinned/NixOS/nixpkgs/0.2505.811874%2Brev-daf6dc47aa4b44791372d6139ab7b25269184d55/019a3494/source.tar.gz", false},
		{"https://example.org/hello/latest.tar.gz", true},
		{"https://example.org/hello-2.12.tar.gz", false},
	} {
		if got, why := MutableURL(tc.url); got != tc.want {
			t.Errorf("MutableURL(%s) = %v (%s), want %v", tc.url, got, why, tc.want)
		}
	}
}

func TestBranches(t *testing.T) {
	d := Branches()
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		branch string
		want   BranchStatus
	}{
		{"nixos-unstable", Rolling},
		{"nixpkgs-unstable", Rolling},
		{"nixos-26.05", Supported},
		{"nixos-26.05-small", Supported},
		{"nixpkgs-26.05-darwin", Supported},
		{"nixos-26.11", Beta},
		{"nixos-25.05", EOL},
		{"release-22.05", EOL},
		{"nixos-27.05", Supported},
		{"nixos-17.09", EOL},
		{"feature-x", Unknown},
	} {
		if got, why := d.Status(tc.branch, now); got != tc.want {
			t.Errorf("Status(%s) = %s (%s), want %s", tc.branch, got, why, tc.want)
		}
	}
}

func TestBranchOfCorpusNodes(t *testing.T) {
	c := corpus(t)
	for _, tc := range []struct{ lock, node, want string }{
		{"NixOS__nix__233bd250d1", "nixpkgs", "nixos-25.05"},
		{"DeterminateSystems__flake-checker__5ccb4c3e90", "nixpkgs", "nixos-25.05"},
		{"nadevko__dotfiles__6e712beddb", "nixpkgs_2", "nixos-unstable"},
		{"Vskilet__nixos-config__003c085ccd", "nixpkgs", "nixos-22.05"},
	} {
		l, err := Parse(c[tc.lock])
		if err != nil {
			t.Fatal(err)
		}
		n := l.Nodes[tc.node]
		if n == nil {
			t.Fatalf("%s: no node %s", tc.lock, tc.node)
		}
		if !n.IsNixpkgs() {
			t.Errorf("%s %s: not recognised as nixpkgs", tc.lock, tc.node)
		}
		if got := n.Branch(); got != tc.want {
			t.Errorf("%s %s: Branch() = %q, want %q", tc.lock, tc.node, got, tc.want)
		}
	}
}
