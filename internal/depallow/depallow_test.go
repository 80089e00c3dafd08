package depallow

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func summary(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%d %s %s", f.Line, f.Kind, f.Package))
	}
	return out
}

func TestCargo(t *testing.T) {
	lk, err := ParseCargoLock("Cargo.lock", mustRead(t, "Cargo.lock"))
	if err != nil {
		t.Fatal(err)
	}
	got := summary(Check(lk, Policy{Allow: []string{"libc", "log@0.4.*", "evil", "pinned", "other"}}))
	want := []string{
		"19 unknown log@0.3.9",
		"25 duplicate log",
		"31 unpinned-git evil@1.0.0",
		"36 source pinned@1.0.0",
		"41 source other@1.0.0",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got = summary(Check(lk, Policy{Allow: []string{"*"}, Registries: []string{"sparse+https://my.registry.example/"}, AllowDuplicates: []string{"log"}}))
	want = []string{"31 unpinned-git evil@1.0.0", "36 source pinned@1.0.0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("with registries (-want +got):\n%s", diff)
	}
}

func TestGo(t *testing.T) {
	lk, err := ParseGoMod("go.mod", mustRead(t, "go.mod"), mustRead(t, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	got := summary(Check(lk, Policy{Allow: []string{"github.com/pelletier/*", "golang.org/x/*", "example.org/forked"}}))
	want := []string{
		"9 unknown example.org/nosum@v1.0.0",
		"9 unhashed example.org/nosum@v1.0.0",
		"12 source example.org/forked@v1.0.0",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := ParseGoMod("go.mod", []byte("module x\nrequire (\n"), nil); err == nil {
		t.Error("bad go.mod parsed")
	}
}

func TestNpm(t *testing.T) {
	lk, err := ParseNpmLock("package-lock.json", mustRead(t, "package-lock.v3.json"))
	if err != nil {
		t.Fatal(err)
	}
	got := summary(Check(lk, Policy{Allow: []string{"left-pad", "@scope/*", "from-git", "mirror@1.*"}}))
	want := []string{
		"20 duplicate left-pad",
		"24 unpinned-git from-git@0.1.0",
		"28 source mirror@1.0.0",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("v3 (-want +got):\n%s", diff)
	}
	lk, err = ParseNpmLock("package-lock.json", mustRead(t, "package-lock.v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	got = summary(Check(lk, Policy{Allow: []string{"a", "b@1.*", "g"}}))
	want = []string{
		"9 unknown b@2.0.0",
		"15 duplicate b",
		"19 source g@github:acme/g#0123456789abcdef0123456789abcdef01234567",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("v1 (-want +got):\n%s", diff)
	}
	if _, err := ParseNpmLock("package-lock.json", []byte("{\n  \"packages\": {,\n}")); err == nil {
		t.Error("bad JSON parsed")
	} else if want := "package-lock.json:2:16"; err.Error()[:len(want)] != want {
		t.Errorf("error %q lacks position %s", err, want)
	}
}

func TestMatch(t *testing.T) {
	for _, tt := range []struct {
		glob, s string
		want    bool
	}{
		{"serde", "serde", true}, {"serde", "serde_json", false}, {"serde*", "serde_json", true},
		{"golang.org/x/*", "golang.org/x/mod/v2", true}, {"*", "", true}, {"a*b*c", "abxd", false}, {"a*b*c", "a-b-c", true},
	} {
		if got := match(tt.glob, tt.s); got != tt.want {
			t.Errorf("match(%q, %q) = %v", tt.glob, tt.s, got)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, n := range []string{"Cargo.lock", "go.mod", "package-lock.v3.json", "package-lock.v1.json"} {
		if b, err := os.ReadFile(filepath.Join("testdata", n)); err == nil {
			f.Add(uint8(len(n)), string(b))
		}
	}
	f.Fuzz(func(t *testing.T, k uint8, src string) {
		fuzzlimit.Default(t, func() {
			var lk *Lock
			var err error
			switch k % 3 {
			case 0:
				lk, err = ParseCargoLock("Cargo.lock", []byte(src))
			case 1:
				lk, err = ParseGoMod("go.mod", []byte(src), []byte(src))
			default:
				lk, err = ParseNpmLock("package-lock.json", []byte(src))
			}
			if err == nil {
				Check(lk, Policy{Allow: []string{"a*"}})
			}
		})
	})
}
