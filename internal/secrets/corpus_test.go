package secrets

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nixgate/nixgate/internal/check"
)

// TestCorpus checks every MUST of testdata/corpus/EXPECTED.md (a copy of
// ../shared/corpus/secrets) is found and every MUST NOT stays silent.
func TestCorpus(t *testing.T) {
	rs := defaultRuleset(t)
	var got []string
	var manifests []Manifest
	err := rs.ScanDir(context.Background(), "testdata/corpus", Sink{
		Finding: func(f Finding) {
			if f.Path != "EXPECTED.md" { // the documentation of the corpus quotes it
				got = append(got, fmt.Sprintf("%s:%d %s %s", f.Path, f.Line, f.RuleID, f.Severity))
			}
		},
		Manifest: func(m Manifest) { manifests = append(manifests, m) },
		Error:    func(name string, err error) { t.Errorf("%s: %v", name, err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range Exposures(manifests) {
		kind := "kubernetes-secret-manifest"
		if e.SealedIn != "" {
			kind = "kubernetes-unsealed-secret"
		}
		got = append(got, fmt.Sprintf("%s:%d %s", e.Manifest.Path, e.Manifest.Line, kind))
	}
	slices.Sort(got)
	want := []string{
		// pos/: 24 content findings
		"pos/.env:3 connection-url-password high",
		"pos/.env:4 github-pat critical",
		"pos/.env:5 aws-access-key-id high",
		"pos/.env:6 aws-secret-access-key critical",
		"pos/.env:7 nix-signing-key critical",
		"pos/age-keys.txt:4 age-secret-key critical",
		"pos/aws/credentials:3 aws-access-key-id high",
		"pos/aws/credentials:4 aws-secret-access-key critical",
		"pos/cache-priv-key.pem:1 nix-signing-key critical",
		"pos/gh-app-installation-legacy.sh:3 github-app-installation critical",
		"pos/gh-app-installation-stateless.txt:2 github-app-installation-stateless critical",
		"pos/gh-classic-pat.env:2 github-pat critical",
		"pos/gh-fine-grained-pat.txt:2 github-fine-grained-pat critical",
		"pos/gh-oauth-user-server.json:3 github-oauth critical",
		"pos/gh-oauth-user-server.json:4 github-user-to-server critical",
		"pos/id_ed25519:1 openssh-private-key critical",
		"pos/k8s/ghcr-pull-secret.yaml:2 kubernetes-secret-manifest",
		"pos/k8s/ghcr-pull-secret.yaml:8 github-pat critical",
		"pos/k8s/secret-stringdata.yaml:2 kubernetes-secret-manifest",
		"pos/k8s/secret-stringdata.yaml:8 github-pat critical",
		// The corpus also holds neg/secret.sealed.yaml with the same name.
		"pos/k8s/secret.orig.yaml:4 kubernetes-unsealed-secret",
		"pos/k8s/secret.orig.yaml:11 github-pat critical",
		"pos/nix-signing-key-inline.nix:3 nix-signing-key critical",
		"pos/rsa-private-key.pem:1 private-key critical",
		// edge/: checksum-invalid GitHub tokens warn, ghr_ fails closed,
		// only the key (not the signature) of the same shape is reported.
		"edge/gh-checksum-invalid.txt:2 github-pat low",
		"edge/gh-docs-examples.txt:2 github-oauth low",
		"edge/gh-docs-examples.txt:3 github-refresh-token critical",
		"edge/nix-signature-vs-key.txt:4 nix-signing-key critical",
	}
	slices.Sort(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("corpus findings (-want +got):\n%s", d)
	}
	// Nothing at all in neg/.
	for _, g := range got {
		if strings.HasPrefix(g, "neg/") {
			t.Errorf("MUST NOT: %s", g)
		}
	}
	// The path finding: .env is secret-bearing whatever it holds.
	if _, pat, ok := SecretFile("pos/.env"); !ok || pat != ".env" {
		t.Errorf("SecretFile(pos/.env) = %q, %v", pat, ok)
	}
	// Every corpus file is covered by this test.
	filepath.WalkDir("testdata/corpus", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "EXPECTED.md") {
			return err
		}
		rel, _ := filepath.Rel("testdata/corpus", p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "pos/") && !slices.ContainsFunc(want, func(w string) bool { return strings.HasPrefix(w, rel+":") }) {
			t.Errorf("positive corpus file %s has no expectation", rel)
		}
		return nil
	})
	_ = check.Low
}
