package nixlex

import (
	"slices"
	"testing"
)

func TestReadFlake(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		inputs    bool
		templates []string
	}{
		{"inputs attr", `{ inputs.nixpkgs.url = "github:NixOS/nixpkgs"; outputs = { self, nixpkgs }: { }; }`, true, nil},
		{"inputs set", `{ description = "x"; inputs = { a.url = "github:o/a"; }; outputs = inputs: { }; }`, true, nil},
		{"none", `{ description = "a template"; outputs = { self }: { packages = { }; }; }`, false, nil},
		{"underscore", `{ outputs = _: { lib.x = 1; }; }`, false, nil},
		{"registry args", `{ outputs = { self, nixpkgs, ... }: { }; }`, true, nil},
		{"at pattern", `{ outputs = inputs@{ self, flake-utils }: { }; }`, true, nil},
		{"inputs only in body", `{ outputs = { self }: let inputs = 1; in { x = inputs.a; }; }`, false, nil},
		{"let file", `let x = 1; in { outputs = _: { }; }`, true, nil},
		{"templates", `{ outputs = { self }: { templates = { default = self.templates.rust; rust = { path = ./templates/rust; description = "Rust"; }; go.path = ./templates/go; }; templates.c.path = ./c; }; }`,
			false, []string{"./templates/rust", "./templates/go", "./c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ReadFlake(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			if s.HasInputs != tc.inputs || !slices.Equal(s.Templates, tc.templates) {
				t.Errorf("ReadFlake = %+v, want inputs %v templates %v", s, tc.inputs, tc.templates)
			}
		})
	}
}
