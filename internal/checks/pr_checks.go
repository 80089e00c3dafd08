package checks

import (
	"context"
	"fmt"
	"slices"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/lockdiff"
	"github.com/nixgate/nixgate/internal/pr"
	"github.com/nixgate/nixgate/internal/repo"
)

// PRLockLabel enforces R6's review of lock changes in `nixgate pr`.
var PRLockLabel = &check.Check{
	ID:       "pr-lock-label",
	Title:    "flake.lock changed without the dependency-update label",
	Severity: check.High,
	Rules:    []string{"R2", "R6"},
	Why:      "A lock change moves every pinned dependency it touches: it is a supply-chain change and gets its own review.",
	Remediation: "Review the lock delta in the report, then add the `dependency-update` label (or the policy's " +
		"[pr] lock-label), or split the lock update into its own pull request.",
	Scope: check.ScopePR,
	Run:   runPRLockLabel,
}

func runPRLockLabel(ctx context.Context, p *check.Pass) error {
	in, ok := p.Input.(*pr.Input)
	if !ok || len(in.Locks) == 0 {
		return nil
	}
	label := in.LockLabel
	if label == "" {
		label = lockdiff.Label
	}
	if slices.Contains(in.Labels, label) {
		return nil
	}
	l := in.Locks[0]
	p.Reportf(check.Location{Path: l.Path}, "label:"+label,
		"changes %s without the `%s` label: a lock change is a supply-chain change and needs its review", l.Path, label)
	return nil
}

// PRReviewPath lists the security-sensitive paths a change touches.
var PRReviewPath = &check.Check{
	ID:       "pr-review-path",
	Title:    "The change touches a security-sensitive path",
	Severity: check.Info,
	Rules:    []string{"R2"},
	Why: "Changes to dependency pins, CI, signing and policy configuration decide what gets built and trusted; " +
		"they need a security reviewer even when every gate passes.",
	Remediation: "Ask a security reviewer to approve the change; tune the list with [pr] sensitive-paths and " +
		"extra-sensitive-paths in nixgate.toml.",
	Scope: check.ScopePR,
	Run:   runPRReviewPath,
}

func runPRReviewPath(ctx context.Context, p *check.Pass) error {
	in, ok := p.Input.(*pr.Input)
	if !ok || p.Repo == nil || p.Repo.Change == nil {
		return nil
	}
	globs := in.Sensitive
	if globs == nil {
		globs = pr.DefaultSensitive
	}
	for _, e := range p.Repo.Change.Entries() {
		for _, g := range globs {
			if repo.Match(g, e.Path) {
				what := map[string]string{"A": "adds", "D": "deletes", "T": "changes the type of"}[e.Status]
				if what == "" {
					what = "changes"
				}
				p.Reportf(check.Location{Path: e.Path}, "review:"+g,
					"needs security review: the change %s %s (matches %s)", what, e.Path, g)
				break
			}
		}
	}
	return nil
}

// LockDeltaInput is implemented by run inputs that carry lock deltas
// (nixgate pr, nixgate lock diff).
type LockDeltaInput interface {
	LockDeltas() []lockdiff.FileDelta
}

// LockChangeRisk turns what a lock delta flags into findings.
var LockChangeRisk = &check.Check{
	ID:       "lock-change-risk",
	Title:    "A flake.lock change moves a dependency somewhere suspicious",
	Severity: check.High,
	Rules:    []string{"R6"},
	Why: "A lock update can point an input at another owner's fork, switch its branch, downgrade it, or keep a " +
		"revision while its content hash changes: each is how a supply-chain attack looks in a diff, and none " +
		"shows in Nix's own update message.",
	Remediation: "Check each flagged input against its upstream (the owner, branch and revision it should have), " +
		"then accept the change with its review; revert an update you cannot explain.",
	Scope: check.ScopePR,
	Run:   runLockChangeRisk,
}

func runLockChangeRisk(ctx context.Context, p *check.Pass) error {
	in, ok := p.Input.(LockDeltaInput)
	if !ok {
		return nil
	}
	for _, l := range in.LockDeltas() {
		if l.Delta == nil {
			if l.Unavailable != "" {
				p.ReportSeverity(check.Medium, check.Finding{Location: check.Location{Path: l.Path}, Key: "unavailable",
					Message: l.Unavailable})
			}
			continue
		}
		for _, c := range l.Delta.Changes {
			for _, f := range c.Flags {
				sev := riskSeverity(f.Risk)
				p.ReportSeverity(sev, check.Finding{Location: check.Location{Path: l.Path},
					Key:     fmt.Sprintf("%s:%s:%s", c.Input, f.Code, f.Message),
					Message: fmt.Sprintf("input '%s' (%s): %s", c.Input, c.Kind, f.Message)})
			}
		}
	}
	return nil
}

// riskSeverity maps a lock-delta risk to a finding severity.
func riskSeverity(r lockdiff.Risk) check.Severity {
	switch r {
	case lockdiff.Critical:
		return check.Critical
	case lockdiff.High:
		return check.High
	case lockdiff.Medium:
		return check.Medium
	case lockdiff.Low:
		return check.Low
	}
	return check.Info
}
