package rebuild

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nixgate/nixgate/internal/nixcli"
)

// binaryCache is a local binary cache holding subst.nix's dep as built
// with the marker "cache", signed with a fresh key.
type binaryCache struct {
	dir     string // the directory of subst.nix
	url     string // file:///...
	key     string // the public key it is signed with
	wrong   string // another public key
	depPath string
}

func nixOut(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// newBinaryCache builds dep into a scratch chroot store with the marker
// visible in the sandbox and copies it to a file:// cache, signed.
func newBinaryCache(t *testing.T) *binaryCache {
	t.Helper()
	x := "--extra-experimental-features"
	c := &binaryCache{dir: casesDir(t)}
	tmp := tempDir(t)
	secret := nixOut(t, "", "nix", x, "nix-command", "key", "generate-secret", "--key-name", "nixgate-test-1")
	c.key = nixOut(t, secret, "nix", x, "nix-command", "key", "convert-secret-to-public")
	wrong := nixOut(t, "", "nix", x, "nix-command", "key", "generate-secret", "--key-name", "nixgate-test-1")
	c.wrong = nixOut(t, wrong, "nix", x, "nix-command", "key", "convert-secret-to-public")
	if c.key == c.wrong {
		t.Fatal("two generated keys are equal")
	}
	skFile := filepath.Join(tmp, "secret-key")
	if err := os.WriteFile(skFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(tmp, "marker")
	if err := os.Mkdir(marker, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(marker, "origin"), []byte("cache\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	scratch := filepath.Join(tmp, "scratch")
	c.depPath = nixOut(t, "", "nix-build", "--store", scratch, "--no-out-link",
		"--option", "sandbox", "true", "--option", "substituters", "",
		"--option", "extra-sandbox-paths", "/marker="+marker,
		filepath.Join(c.dir, "subst.nix"), "-A", "dep")
	if b, err := os.ReadFile(filepath.Join(scratch, c.depPath, "origin")); err != nil || string(b) != "cache\n" {
		t.Fatalf("the cache's dep says %q, %v; want cache", b, err)
	}
	c.url = "file://" + filepath.Join(tmp, "cache")
	nixOut(t, "", "nix", x, "nix-command", "copy", "--store", scratch, "--to", c.url+"?secret-key="+skFile, c.depPath)
	return c
}

// origins reads the origin file of an output on every builder.
func origins(t *testing.T, o OutputReport) []string {
	t.Helper()
	var got []string
	for _, h := range o.Hashes {
		b, err := os.ReadFile(filepath.Join(h.realPath, "origin"))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.TrimSpace(string(b)))
	}
	return got
}

// TestSubstituteInputs runs a rebuild of subst.nix's target with
// --substitute-inputs on two fresh chroot stores: dep, its input, comes
// from a signed local binary cache when the cache's key is trusted, is
// built when it is not, and target is built on both builders either way.
func TestSubstituteInputs(t *testing.T) {
	needNix(t)
	c := newBinaryCache(t)
	file := filepath.Join(c.dir, "subst.nix")

	t.Run("signed", func(t *testing.T) {
		t.Parallel()
		in, _ := ParseInstallable(file, []string{"target"})
		var progress bytes.Buffer
		rep, err := Run(ctx(t), Options{Installables: []Installable{in}, TempDir: tempDir(t), Keep: true, Progress: &progress,
			SubstituteInputs: &InputSubstitution{Substituters: []string{c.url}, TrustedPublicKeys: []string{c.key}}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != Reproducible || len(rep.Outputs) != 1 {
			t.Fatalf("verdict %s, outputs %+v\n%s", rep.Verdict, rep.Outputs, progress.String())
		}
		// target was built on both builders from the substituted dep.
		if diff := cmp.Diff([]string{"cache", "cache"}, origins(t, rep.Outputs[0])); diff != "" {
			t.Errorf("target's origin on a, b (-want +got):\n%s", diff)
		}
		for _, h := range rep.Outputs[0].Hashes {
			if h.NixRecord != "match" {
				t.Errorf("%s: nix record %q", h.Builder, h.NixRecord)
			}
		}
		if diff := cmp.Diff(&SubstitutionReport{Substituters: []string{c.url}, TrustedPublicKeys: []string{c.key}}, rep.Substitution); diff != "" {
			t.Errorf("substitution (-want +got):\n%s", diff)
		}
		for _, b := range rep.Builders {
			in := b.Inputs
			if in == nil {
				t.Fatalf("builder %s: no inputs report", b.Name)
			}
			want := &InputsReport{
				Inputs:           []InputReport{{Drv: in.Inputs[0].Drv, Output: "out", Path: c.depPath, Status: InputSubstituted, From: c.url}},
				Substituted:      1,
				SubstitutedPaths: []nixcli.Substitution{{Path: c.depPath, From: c.url}},
				BuiltDerivations: []string{},
			}
			if diff := cmp.Diff(want, in); diff != "" {
				t.Errorf("builder %s inputs (-want +got):\n%s", b.Name, diff)
			}
			// Nix's record: dep carries the cache's signature, target was
			// built here.
			infos, err := nixcli.QueryValid(ctx(t), b.URI, []string{c.depPath, rep.Outputs[0].Path})
			if err != nil {
				t.Fatal(err)
			}
			dep, target := infos[c.depPath], infos[rep.Outputs[0].Path]
			if dep.Ultimate || len(dep.Signatures) != 1 || !strings.HasPrefix(dep.Signatures[0], "nixgate-test-1:") {
				t.Errorf("builder %s: dep ultimate %v, signatures %v; want substituted and signed", b.Name, dep.Ultimate, dep.Signatures)
			}
			if !target.Ultimate {
				t.Errorf("builder %s: target not built here: %+v", b.Name, target)
			}
		}
		var text bytes.Buffer
		if err := Write(&text, "text", rep); err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{
			"inputs substituted from " + c.url + " where available, signatures required; the outputs under test were built with substituters off\n",
			"inputs: 1 substituted, 0 built, 0 already present\n",
		} {
			if !strings.Contains(text.String(), s) {
				t.Errorf("text report lacks %q:\n%s", s, text.String())
			}
		}
		var js bytes.Buffer
		if err := Write(&js, "json", rep); err != nil {
			t.Fatal(err)
		}
		var back struct {
			Substitution struct{ Substituters []string }
			Builders     []struct {
				Inputs struct{ Substituted, Built int }
			}
		}
		if err := json.Unmarshal(js.Bytes(), &back); err != nil {
			t.Fatal(err)
		}
		if len(back.Substitution.Substituters) != 1 || len(back.Builders) != 2 || back.Builders[1].Inputs.Substituted != 1 {
			t.Errorf("json: %s", js.String())
		}
		var md bytes.Buffer
		if err := Write(&md, "markdown", rep); err != nil || !strings.Contains(md.String(), "Inputs substituted from") {
			t.Errorf("markdown (%v):\n%s", err, md.String())
		}
	})

	// A cache whose signatures are not by a trusted key: Nix refuses its
	// substitute and builds dep; the run goes on and says so.
	t.Run("untrusted-key", func(t *testing.T) {
		t.Parallel()
		in, _ := ParseInstallable(file, []string{"target"})
		rep, err := Run(ctx(t), Options{Installables: []Installable{in}, TempDir: tempDir(t), Keep: true,
			SubstituteInputs: &InputSubstitution{Substituters: []string{c.url}, TrustedPublicKeys: []string{c.wrong}}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != Reproducible || len(rep.Outputs) != 1 {
			t.Fatalf("verdict %s, outputs %+v", rep.Verdict, rep.Outputs)
		}
		if diff := cmp.Diff([]string{"built", "built"}, origins(t, rep.Outputs[0])); diff != "" {
			t.Errorf("target's origin on a, b (-want +got):\n%s", diff)
		}
		for _, b := range rep.Builders {
			in := b.Inputs
			if in == nil || in.Substituted != 0 || in.Built != 1 || len(in.Inputs) != 1 || in.Inputs[0].Status != InputBuilt {
				t.Fatalf("builder %s inputs %+v, want dep built", b.Name, in)
			}
			if diff := cmp.Diff([]nixcli.Substitution{{Path: c.depPath, From: c.url}}, in.Refused); diff != "" {
				t.Errorf("builder %s refused (-want +got):\n%s", b.Name, diff)
			}
			if diff := cmp.Diff([]string{in.Inputs[0].Drv}, in.BuiltDerivations); diff != "" {
				t.Errorf("builder %s built (-want +got):\n%s", b.Name, diff)
			}
		}
		var text bytes.Buffer
		Write(&text, "text", rep)
		if want := "refused " + c.depPath + " from " + c.url + ": not signed by a trusted key (built instead)"; !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	})

	// dep under test itself: never substituted, even though the cache
	// has it and its key is trusted.
	t.Run("input-under-test", func(t *testing.T) {
		t.Parallel()
		in, _ := ParseInstallable(file, []string{"dep", "target"})
		rep, err := Run(ctx(t), Options{Installables: []Installable{in}, TempDir: tempDir(t), Keep: true,
			SubstituteInputs: &InputSubstitution{Substituters: []string{c.url}, TrustedPublicKeys: []string{c.key}}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != Reproducible || len(rep.Outputs) != 2 {
			t.Fatalf("verdict %s, outputs %+v", rep.Verdict, rep.Outputs)
		}
		for _, o := range rep.Outputs {
			if diff := cmp.Diff([]string{"built", "built"}, origins(t, o)); diff != "" {
				t.Errorf("%s origin on a, b (-want +got):\n%s", o.Path, diff)
			}
		}
		for _, b := range rep.Builders {
			if b.Inputs == nil || len(b.Inputs.Inputs) != 0 || len(b.Inputs.SubstitutedPaths) != 0 {
				t.Errorf("builder %s inputs %+v, want none", b.Name, b.Inputs)
			}
		}
	})

	// dep under test and in the closure of top's input target: realising
	// target would substitute dep, so the builder stops and says why.
	t.Run("under-test-in-input-closure", func(t *testing.T) {
		t.Parallel()
		in, _ := ParseInstallable(file, []string{"dep", "top"})
		rep, err := Run(ctx(t), Options{Installables: []Installable{in}, TempDir: tempDir(t),
			SubstituteInputs: &InputSubstitution{Substituters: []string{c.url}, TrustedPublicKeys: []string{c.key}}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != BuildFailed {
			t.Fatalf("verdict %s, want %s", rep.Verdict, BuildFailed)
		}
		for _, b := range rep.Builders {
			if want := c.depPath + ", an output under test, was realised with the inputs"; !strings.Contains(b.Error, want) {
				t.Errorf("builder %s error %q, want %q", b.Name, b.Error, want)
			}
		}
	})

	// Without --substitute-inputs nothing is substituted.
	t.Run("off", func(t *testing.T) {
		t.Parallel()
		in, _ := ParseInstallable(file, []string{"target"})
		rep, err := Run(ctx(t), Options{Installables: []Installable{in}, TempDir: tempDir(t), Keep: true})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Substitution != nil || rep.Builders[0].Inputs != nil {
			t.Errorf("substitution report without the option: %+v %+v", rep.Substitution, rep.Builders[0].Inputs)
		}
		if diff := cmp.Diff([]string{"built", "built"}, origins(t, rep.Outputs[0])); diff != "" {
			t.Errorf("target's origin on a, b (-want +got):\n%s", diff)
		}
	})
}

func TestInputSubstitutionValidate(t *testing.T) {
	tests := []struct {
		name string
		s    InputSubstitution
		bad  bool
	}{
		{"configured", InputSubstitution{}, false},
		{"file", InputSubstitution{Substituters: []string{"file:///srv/cache"}, TrustedPublicKeys: []string{"cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="}}, false},
		{"space", InputSubstitution{Substituters: []string{"file:///a b"}}, true},
		{"not-url", InputSubstitution{Substituters: []string{"/srv/cache"}}, true},
		{"key-no-name", InputSubstitution{TrustedPublicKeys: []string{"6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="}}, true},
		{"key-short", InputSubstitution{TrustedPublicKeys: []string{"k:AAAA"}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.s.Validate(); (err != nil) != tc.bad {
				t.Errorf("Validate() = %v, want error %v", err, tc.bad)
			}
		})
	}
}
