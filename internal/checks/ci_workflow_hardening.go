package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/ciscan"
	"github.com/nixgate/nixgate/internal/repo"
)

// CIWorkflowHardeningOptions tunes ci-workflow-hardening.
type CIWorkflowHardeningOptions struct {
	AllowUnpinned []string `toml:"allow-unpinned" doc:"actions (globs such as \"actions/*\") that may be referenced by tag"`
}

// CIWorkflowHardening enforces R11 and R7 in GitHub Actions workflows.
var CIWorkflowHardening = &check.Check{
	ID:       "ci-workflow-hardening",
	Title:    "GitHub workflow can be taken over",
	Severity: check.Medium,
	Rules:    []string{"R11", "R7"},
	Why: "A workflow runs with the repository's token and secrets: an action referenced by a movable tag, " +
		"a pull_request_target job that checks out the contributor's code, an issue title expanded into a shell " +
		"script, a write-all token, a disabled Nix sandbox or a curl | sh installer each let someone else's code " +
		"run with those privileges or poison the build.",
	Remediation: "Pin actions to a full commit SHA (with the tag in a comment), pass untrusted values through env:, " +
		"never check out the head of a pull request in pull_request_target or workflow_run jobs, set top-level " +
		"permissions to contents: read, keep sandbox = true, and download installers with a pinned hash.",
	Scope:   check.ScopeRepo,
	Options: &CIWorkflowHardeningOptions{},
	Run:     runCIWorkflowHardening,
}

var hardeningSeverity = map[string]check.Severity{
	"untrusted-checkout": check.Critical,
	"merged-checkout":    check.Info,
	"injection":          check.High,
	"sandbox-off":        check.High,
	"curl-pipe-shell":    check.Medium,
	"unpinned-action":    check.Medium,
}

func runCIWorkflowHardening(ctx context.Context, p *check.Pass) error {
	opts := p.Options.(*CIWorkflowHardeningOptions)
	for _, f := range p.Repo.Files() {
		if !ciscan.IsWorkflow(f) || p.Skip(f) {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		data, err := p.Repo.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read %s: %w", f, err)
		}
		fs, err := ciscan.Harden(f, data)
		if err != nil {
			p.ReportSeverity(check.High, check.Finding{Location: check.Location{Path: f}, Key: "parse",
				Message: fmt.Sprintf("workflow does not parse, so it is not checked: %v", err)})
			continue
		}
		for _, fd := range fs {
			if fd.Kind == "unpinned-action" && allowedUnpinned(opts.AllowUnpinned, strings.TrimPrefix(fd.Key, "unpinned-action:")) {
				continue
			}
			sev, ok := hardeningSeverity[fd.Kind]
			if !ok {
				sev = check.Medium
				if fd.Key == "permissions:missing" {
					sev = check.Low
				} else if fd.Kind == "permissions" {
					sev = check.High
				}
			}
			msg := fd.Message
			if fd.Step != "" {
				msg = fd.Step + ": " + msg
			}
			p.ReportSeverity(sev, check.Finding{Location: check.Location{Path: f, Line: fd.Line}, Key: fd.Key, Message: msg})
		}
	}
	return nil
}

func allowedUnpinned(globs []string, action string) bool {
	for _, g := range globs {
		if repo.Match(g, action) {
			return true
		}
	}
	return false
}
