package checks

import "testing"

func TestMatchInput(t *testing.T) {
	for _, tc := range []struct {
		pattern, input string
		want           bool
	}{
		{"nixpkgs", "nixpkgs", true},
		{"nixpkgs", "a/nixpkgs", false},
		{"*", "nixpkgs", true},
		{"*", "a/nixpkgs", false},
		{"*/nixpkgs", "a/nixpkgs", true},
		{"**", "a/b/c", true},
		{"home-manager/**", "home-manager/nixpkgs", true},
		{"home-manager/**", "home-manager", true},
		{"home-manager/**", "nixpkgs", false},
	} {
		if got := matchInput(tc.pattern, tc.input); got != tc.want {
			t.Errorf("matchInput(%q, %q) = %v", tc.pattern, tc.input, got)
		}
	}
}
