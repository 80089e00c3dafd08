package checks

import (
	"context"
	"fmt"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/ciscan"
	"github.com/nixgate/nixgate/internal/repo"
)

// CISignsOptions tunes ci-signs.
type CISignsOptions struct {
	Files []string `toml:"files" doc:"more CI definitions (globs) besides .github/workflows, .gitlab-ci.yml, .buildkite, .ci, Jenkinsfile and .circleci"`
}

// CISigns enforces R11's "CI builds but never signs".
var CISigns = &check.Check{
	ID:       "ci-signs",
	Title:    "CI signs, deploys or handles signing keys",
	Severity: check.High,
	Rules:    []string{"R11"},
	Why: "Signing is a separate offline ceremony: a CI runner that holds a signing key (Secure Boot, Nix cache, " +
		"cosign, GPG) hands it to every change that can alter the pipeline, and whatever CI signs is trusted " +
		"without anyone having looked at it.",
	Remediation: "Let CI build and publish unsigned artifacts with their provenance; sign them offline " +
		"(nixgate sign) after review, and remove signing keys from CI secrets.",
	Scope:   check.ScopeRepo,
	Options: &CISignsOptions{},
	Run:     runCISigns,
}

func runCISigns(ctx context.Context, p *check.Pass) error {
	opts := p.Options.(*CISignsOptions)
	files := p.Repo.Files()
	extra := map[string]bool{}
	for _, f := range files {
		for _, g := range opts.Files {
			if repo.Match(g, f) {
				extra[f] = true
			}
		}
	}
	read := func(name string) ([]byte, error) { return p.Repo.ReadFile(name) }
	fs, err := ciscan.SignsExtra(files, extra, read, p.Skip)
	if err != nil {
		return err
	}
	for _, f := range fs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		msg := f.Message
		if f.Step != "" {
			msg = fmt.Sprintf("%s: %s", f.Step, msg)
		}
		sev := p.Check.Severity
		if f.Kind == "deploy" {
			sev = check.Medium
		}
		p.ReportSeverity(sev, check.Finding{Location: check.Location{Path: f.Path, Line: f.Line}, Key: f.Key, Message: msg})
	}
	return nil
}
