package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/ciscan"
	"github.com/nixgate/nixgate/internal/repo"
)

// CISignsOptions tunes ci-signs.
type CISignsOptions struct {
	Files        []string `toml:"files" doc:"more CI definitions (globs) besides .github/workflows, .gitlab-ci.yml, .buildkite, .ci, Jenkinsfile and .circleci"`
	AllowKeyless bool     `toml:"allow-keyless" doc:"accept keyless signing in CI (Sigstore: an ephemeral key certified for the job's OIDC identity, logged in Rekor); reported at info with the identity"`
}

// CISigns enforces R11's "CI builds but never signs".
var CISigns = &check.Check{
	ID:       "ci-signs",
	Title:    "CI signs, deploys or handles signing keys",
	Severity: check.High,
	Rules:    []string{"R11"},
	Why: "Signing is a separate offline ceremony: a CI runner that holds a signing key (Secure Boot, Nix cache, " +
		"cosign, GPG) hands it to every change that can alter the pipeline, and whatever CI signs is trusted " +
		"without anyone having looked at it. Keyless signing (cosign or GitHub attestations with the job's OIDC token) " +
		"leaves no key to steal, but still signs, as the workflow's identity, whatever the job built; both fail the rule " +
		"unless the policy accepts keyless signing. Credentials that sign no artifact are not reported: a GitHub App's " +
		"private key (it mints a bot token) and SSH deploy keys used for git.",
	Remediation: "Let CI build and publish unsigned artifacts with their provenance; sign them offline " +
		"(nixgate sign) after review, and remove signing keys from CI secrets. To accept keyless signing, set " +
		"allow-keyless = true under [checks.ci-signs] and verify signatures against the workflow identity the finding names.",
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
	fs, err := ciscan.ScanSigns(ciscan.SignsInput{Files: files, Extra: extra, Read: read, Skip: p.Skip,
		Repository: originProject(ctx, p.Repo)})
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
		switch {
		case f.Kind == "deploy", f.Kind == "secret-unknown":
			sev = check.Medium
		case f.Signing == "keyless" && opts.AllowKeyless:
			sev = check.Info
			msg += " (accepted: allow-keyless = true)"
		case f.Signing == "keyless":
			msg += "; R11 fails keyless signing too (allow-keyless = true accepts it)"
		}
		p.ReportSeverity(sev, check.Finding{Location: check.Location{Path: f.Path, Line: f.Line}, Key: f.Key, Message: msg})
	}
	return nil
}

// originProject is the GitHub or GitLab project ("owner/name") of the
// repository's origin remote, to name the identity of keyless signatures;
// "" when it is not a GitHub or GitLab URL (or in a change's view without
// a work tree).
func originProject(ctx context.Context, r *repo.Repo) string {
	if !r.IsGit {
		return ""
	}
	out, err := r.Git(ctx, "config", "--get", "remote.origin.url")
	if err != nil {
		return ""
	}
	u := strings.TrimSpace(string(out))
	for _, host := range []string{"github.com", "gitlab.com"} {
		i := strings.Index(u, host)
		if i < 0 {
			continue
		}
		rest := strings.TrimLeft(u[i+len(host):], ":/")
		rest = strings.TrimSuffix(strings.TrimSuffix(rest, "/"), ".git")
		if strings.Count(rest, "/") >= 1 && !strings.ContainsAny(rest, " \t\n@?#") {
			return rest
		}
	}
	return ""
}
