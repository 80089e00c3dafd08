package flakeout

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

// show is what nix flake show --json printed for a flake with packages,
// a dev shell, a NixOS configuration and legacyPackages (Nix 2.8).
const show = `{"packages":{"x86_64-linux":{"default":{"name":"anchor-image","type":"derivation"},"uki":{"name":"anchor-uki","type":"derivation"}}},
"devShells":{"x86_64-linux":{"default":{"name":"anchor-shell","type":"derivation"}}},
"nixosConfigurations":{"anchor":{"type":"nixos-configuration"}},
"legacyPackages":{"x86_64-linux":{}},
"lib":{"type":"unknown"}}`

func TestFind(t *testing.T) {
	o, err := ParseShow([]byte(show))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		attr string
		want Lookup
	}{
		{"packages.x86_64-linux.uki", Lookup{Found: true, Type: "derivation", Name: "anchor-uki"}},
		{`packages."x86_64-linux".default`, Lookup{Found: true, Type: "derivation", Name: "anchor-image"}},
		{"packages.x86_64-linux", Lookup{Found: true}},
		{"packages.aarch64-linux.uki", Lookup{}},
		{"packages.x86_64-linux.uki.extra", Lookup{}},
		{"nixosConfigurations.anchor", Lookup{Found: true, Type: "nixos-configuration"}},
		{"legacyPackages.x86_64-linux.hello", Lookup{Unknown: "nix flake show does not evaluate legacyPackages"}},
		{"checks", Lookup{}},
	} {
		if d := cmp.Diff(tc.want, o.Find(tc.attr)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.attr, d)
		}
	}
	if got := o.Nearest("packages.aarch64-linux.uki", 3); !cmp.Equal(got, []string{"packages.x86_64-linux.default", "packages.x86_64-linux.uki"}) {
		t.Errorf("nearest: %q", got)
	}
	if _, err := ParseShow([]byte(`[1]`)); err == nil {
		t.Error("a JSON array parsed as a flake's outputs")
	}
	if _, err := ParseShow([]byte(`null`)); err == nil {
		t.Error("null parsed as a flake's outputs")
	}
}

func TestProvides(t *testing.T) {
	d, err := ParseDevshell([]byte(`{"storeDir":"/nix/store","path":["/nix/store/x-jq/bin","/usr/bin"],"tools":{"jq":"/nix/store/x-jq/bin/jq","tokei":"","sh":"/usr/bin/sh","evil":"/nix/storeevil/bin/x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	for tool, want := range map[string]bool{"jq": true, "tokei": false, "sh": false, "evil": false, "absent": false} {
		if _, ok := d.Provides(tool); ok != want {
			t.Errorf("%s: provides %v, want %v", tool, ok, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(show))
	f.Add([]byte(`{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":{"type":"derivation"}}}}}}}}}}}`))
	f.Add([]byte(`{"tools":{"a":""},"storeDir":""}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzlimit.Default(t, func() {
			if o, err := ParseShow(data); err == nil {
				o.Attrs()
				o.Nearest("packages.x86_64-linux.default", 3)
				o.Find(`packages."x".y`)
			}
			if d, err := ParseDevshell(data); err == nil {
				d.Provides("jq")
			}
		})
	})
}
