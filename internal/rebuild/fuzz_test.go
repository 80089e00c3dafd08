package rebuild

import (
	"strings"
	"testing"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

// FuzzParseBuilder: any --builder value is a builder or an error.
func FuzzParseBuilder(f *testing.F) {
	for _, s := range []string{"local", "ssh-ng://root@127.0.0.1?ssh-key=/k", "ssh://h", "/tmp/store", "s3://b", "", "ssh-ng://"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fuzzlimit.Default(t, func() {
			b, err := ParseBuilder(s)
			if err == nil && b.Kind == "" {
				t.Fatalf("ParseBuilder(%q) = %+v without a kind", s, b)
			}
			if err == nil && b.Kind == Remote && !strings.HasPrefix(b.URI, "ssh-ng://") {
				t.Fatalf("remote builder %q", b.URI)
			}
		})
	})
}

// FuzzParseInstallable: any installable and attribute is classified or
// refused, never a panic.
func FuzzParseInstallable(f *testing.F) {
	for _, s := range []string{"/nix/store/x.drv", ".#pkg", "github:o/r#x", "./x.nix", "path:/src", "a:b", ""} {
		f.Add(s, "attr")
	}
	f.Fuzz(func(t *testing.T, raw, attr string) {
		fuzzlimit.Default(t, func() {
			var attrs []string
			if attr != "" {
				attrs = []string{attr}
			}
			if i, err := ParseInstallable(raw, attrs); err == nil {
				_ = i.String()
			}
		})
	})
}

// FuzzParseVaryArgs: --vary lists and --arg / --argstr pairs.
func FuzzParseVaryArgs(f *testing.F) {
	f.Add("time,cores", "n=1", "s=x")
	f.Add("all", "=", "bad name=1")
	f.Fuzz(func(t *testing.T, vary, arg, argstr string) {
		fuzzlimit.Default(t, func() {
			if v, err := ParseVary([]string{vary}); err == nil {
				for _, x := range v {
					if !strings.Contains(strings.Join(AllVariations, " "), x) {
						t.Fatalf("ParseVary(%q) gave %q", vary, x)
					}
				}
			}
			if as, err := ParseArgs([]string{arg}, []string{argstr}); err == nil {
				i := Installable{Raw: "/x.nix", Kind: KindFile, Args: as}
				_ = i.String()
			}
		})
	})
}
