package checks

import (
	"context"
	"fmt"
	"slices"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/secrets"
)

// SecretFileNotIgnored enforces R4 on file names.
var SecretFileNotIgnored = &check.Check{
	ID:       "secret-file-not-ignored",
	Title:    "A secret-bearing file is tracked or not ignored",
	Severity: check.High,
	Rules:    []string{"R4"},
	Why: "Files such as .env, id_ed25519, key files, kubeconfigs with tokens, or the plaintext source of a " +
		"sealed manifest exist to hold secrets; one `git add .` away from a leak when .gitignore does not cover them.",
	Remediation: "Add the suggested pattern to .gitignore; when the file is already tracked, `git rm --cached` it " +
		"and rotate what it held. Files under test directories (tests/, testdata/, fixtures/…, as secret-leak's " +
		"default test-paths) are reported at low: test suites commit keys on purpose.",
	Scope: check.ScopeRepo,
	Run:   runSecretFileNotIgnored,
}

func runSecretFileNotIgnored(ctx context.Context, p *check.Pass) error {
	names := scanFiles(p)
	var kubeconfigs []string
	for _, name := range names {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		kind, pattern, ok := secrets.SecretFile(name)
		if !ok {
			var sealed string
			if sealed, pattern, ok = secrets.UnsealedTwin(name, p.Repo.Exists); ok {
				kind = "plaintext source of " + sealed
			}
		}
		if !ok {
			continue
		}
		if kind == "kubeconfig" {
			kubeconfigs = append(kubeconfigs, name)
			continue
		}
		if fi, err := p.Repo.Lstat(name); err != nil || fi.Size() == 0 {
			continue
		}
		report(p, name, kind, pattern)
	}
	// A kubeconfig matters when it holds a credential.
	if len(kubeconfigs) > 0 {
		empty, err := secrets.NewRuleset(nil, nil)
		if err != nil {
			return err
		}
		for _, name := range kubeconfigs {
			data, err := p.Repo.ReadFile(name)
			if err != nil {
				continue
			}
			k, err := empty.Kubernetes(name, data)
			if err != nil || !slices.ContainsFunc(k.Manifests, func(m secrets.Manifest) bool { return m.Kind == "Config" && m.Literal }) {
				continue
			}
			_, pattern, _ := secrets.SecretFile(name)
			report(p, name, "kubeconfig with credentials", pattern)
		}
	}
	return nil
}

func report(p *check.Pass, name, kind, pattern string) {
	f := check.Finding{Location: check.Location{Path: name}, Key: "file:" + name}
	if p.Repo.IsTracked(name) {
		f.Message = fmt.Sprintf("%s (%s) is tracked: `git rm --cached %s` and add `%s` to .gitignore", name, kind, name, pattern)
	} else {
		f.Message = fmt.Sprintf("%s (%s) is present and not ignored: add `%s` to .gitignore", name, kind, pattern)
	}
	if inTestPath(name, DefaultTestPaths) {
		f.Message += " (a test fixture)"
		p.ReportSeverity(check.Low, f)
		return
	}
	p.Report(f)
}
