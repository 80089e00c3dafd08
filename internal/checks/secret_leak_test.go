package checks

import (
	"context"
	"encoding/hex"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/repo"
	"github.com/nixgate/nixgate/internal/secrets"
)

// rot13 turns the private keys of the regression excerpts back into
// themselves: they are public test keys, stored rotated so that the
// repository holds no literal private key block.
func rot13(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			c = 'a' + (c-'a'+13)%26
		case c >= 'A' && c <= 'Z':
			c = 'A' + (c-'A'+13)%26
		}
		out[i] = c
	}
	return out
}

// TestRealRepositories runs the secret checks with the default policy on
// excerpts of public Nix repositories (testdata/realrepos, quoted from the
// repositories named in each archive's comment; a section named *.rot13
// is stored rotated, *.hex in hex). The default gate (fail-on high) must
// pass on every one: their placeholders, code, documentation, test
// fixtures and well-known public test keys are not leaks. The findings
// that remain (at info or low) are listed in each archive's want section.
func TestRealRepositories(t *testing.T) {
	files, _ := filepath.Glob("testdata/realrepos/*.txtar")
	if len(files) == 0 {
		t.Fatal("no regression excerpts")
	}
	total, findings := 0, 0
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			var wants []want
			for _, f := range ar.Files {
				name, data := f.Name, f.Data
				switch {
				case name == "want":
					for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
						if l = strings.TrimSpace(l); l != "" {
							wants = append(wants, parseWant(t, l))
						}
					}
					continue
				case strings.HasSuffix(name, ".rot13"):
					name, data = strings.TrimSuffix(name, ".rot13"), rot13(data)
				case strings.HasSuffix(name, ".hex"):
					name = strings.TrimSuffix(name, ".hex")
					if data, err = hex.DecodeString(strings.Join(strings.Fields(string(data)), "")); err != nil {
						t.Fatalf("%s: %v", f.Name, err)
					}
				}
				writeFile(t, dir, name, data)
				total++
			}
			ctx := context.Background()
			r, err := repo.OpenWalk(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			cs := []*check.Check{SecretLeak, K8sSecretManifest}
			settings := map[string]check.Settings{}
			for _, c := range cs {
				s := check.Settings{Enabled: true, Severity: c.Severity}
				if c.Options != nil {
					s.Options = cloneOptions(c.Options)
				}
				settings[c.ID] = s
			}
			res := check.Run(ctx, cs, settings, check.Target{Repo: r}, nil)
			for _, e := range res.Errors {
				t.Errorf("check errored: %s", e.Error)
			}
			got := slices.Clone(res.Findings)
			findings += len(got)
			for _, f := range got {
				if f.Severity >= check.High {
					t.Errorf("the default gate fails: %s %s %s", f.Location, f.Severity, f.Message)
				}
			}
			for _, w := range wants {
				i := slices.IndexFunc(got, func(f check.Finding) bool {
					return w.path == f.Location.Path && (w.line == 0 || w.line == f.Location.Line) &&
						w.re.MatchString(f.Severity.String()+" "+f.Message)
				})
				if i < 0 {
					t.Errorf("missing finding %s", w.src)
					continue
				}
				got = slices.Delete(got, i, i+1)
			}
			for _, f := range got {
				t.Errorf("unexpected finding %s: %s %s", f.Location, f.Severity, f.Message)
			}
		})
	}
	t.Logf("%d excerpt files, %d findings, none at or above high", total, findings)
}

// TestSecretRulesetShared: default options share the rules compiled once
// (with their own decode depth); disabling a rule builds a set of its own
// and leaves the shared one whole.
func TestSecretRulesetShared(t *testing.T) {
	def := *SecretLeak.Options.(*SecretLeakOptions)
	a, _, err := SecretRuleset(nil, &def)
	if err != nil {
		t.Fatal(err)
	}
	def.MaxDecodeDepth = 0
	b, _, err := SecretRuleset(nil, &def)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Rules) == 0 || &a.Rules[0] != &b.Rules[0] || a.MaxDecodeDepth != 3 || b.MaxDecodeDepth != 0 {
		t.Errorf("default options: shared %v, depths %d and %d", &a.Rules[0] == &b.Rules[0], a.MaxDecodeDepth, b.MaxDecodeDepth)
	}
	def.DisableRules = []string{"github-pat"}
	c, _, err := SecretRuleset(nil, &def)
	if err != nil {
		t.Fatal(err)
	}
	if c.Rule("github-pat") != nil || a.Rule("github-pat") == nil || len(c.Rules) != len(a.Rules)-1 {
		t.Errorf("disable-rules: own set has github-pat %v, shared has it %v", c.Rule("github-pat") != nil, a.Rule("github-pat") != nil)
	}
}

// TestHistoryManifestsHandOver: in a history scan, k8s-secret-manifest
// reports the Secret manifests secret-leak's scan read (one read of the
// history for both), and when that scan fails it fails too instead of
// waiting for manifests that never come.
func TestHistoryManifestsHandOver(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "deploy/db.yaml", []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: correct-horse-battery-staple-9\n"))
	gitInit(t, dir, nil)
	ctx := context.Background()
	r, err := repo.OpenRange(ctx, dir, "", "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	run := func(settings map[string]check.Settings) *check.Result {
		in := SecretScan{History: &secrets.Range{Until: r.Rev}, Manifests: NewHistoryManifests()}
		done := make(chan *check.Result, 1)
		go func() {
			done <- check.Run(ctx, []*check.Check{SecretLeak, K8sSecretManifest}, settings, check.Target{Repo: r, Input: in}, nil)
		}()
		select {
		case res := <-done:
			return res
		case <-time.After(20 * time.Second):
			t.Fatal("the checks did not end")
			return nil
		}
	}
	res := run(nil)
	if len(res.Errors) > 0 {
		t.Fatalf("errors: %v", res.Errors)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.CheckID+": "+f.Message)
	}
	if len(got) != 1 || !strings.HasPrefix(got[0], "k8s-secret-manifest: plain Kubernetes Secret db ") || !strings.Contains(got[0], " in commit ") {
		t.Errorf("findings: %q, want the plain Secret db with its commit", got)
	}
	// A rule file that cannot be read stops secret-leak before its scan.
	opts := cloneOptions(SecretLeak.Options).(*SecretLeakOptions)
	opts.GitleaksConfig = "missing.toml"
	res = run(map[string]check.Settings{"secret-leak": {Enabled: true, Severity: SecretLeak.Severity, Options: opts}})
	var failed []string
	for _, e := range res.Errors {
		failed = append(failed, e.CheckID)
	}
	slices.Sort(failed)
	if !slices.Equal(failed, []string{"k8s-secret-manifest", "secret-leak"}) {
		t.Errorf("errored checks: %q, want both", failed)
	}
}
