package checks

import (
	"context"
	"time"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/flakelock"
)

// LockNixpkgsStaleOptions tunes lock-nixpkgs-stale.
type LockNixpkgsStaleOptions struct {
	Days  int      `toml:"days" doc:"maximum age in days of a locked nixpkgs revision"`
	Names []string `toml:"names" doc:"input names that count as nixpkgs besides inputs fetching NixOS/nixpkgs"`
}

// timeNow is the clock of the time-dependent lock checks.
var timeNow = time.Now

// SetClock sets the clock of the time-dependent lock checks (stale
// nixpkgs, branch support, conditions) and returns a function that puts
// the previous one back: a test of another package whose golden reports
// hold their verdicts ("is 399 days old") must not age with the
// calendar. Not safe to call while checks run.
func SetClock(now func() time.Time) (restore func()) {
	prev := timeNow
	timeNow = now
	return func() { timeNow = prev }
}

// LockNixpkgsStale enforces R5: pinned is not frozen.
var LockNixpkgsStale = &check.Check{
	ID:       "lock-nixpkgs-stale",
	Title:    "A locked nixpkgs revision is old",
	Severity: check.Medium,
	Rules:    []string{"R5"},
	Why: "nixpkgs ships security fixes every day; a lock that has not moved for weeks builds " +
		"with known-vulnerable packages. Every input fetching NixOS/nixpkgs counts, whatever its type or name.",
	Remediation: "Run `nix flake update nixpkgs` (or `nix flake lock --update-input nixpkgs` on older Nix), " +
		"review the delta with `nixgate lock diff`, and commit.",
	Scope:   check.ScopeRepo,
	Options: &LockNixpkgsStaleOptions{Days: 30},
	Run:     runLockNixpkgsStale,
}

func runLockNixpkgsStale(ctx context.Context, p *check.Pass) error {
	opts := p.Options.(*LockNixpkgsStaleOptions)
	now := timeNow()
	limit := time.Duration(opts.Days) * 24 * time.Hour
	return forEachNode(ctx, p, func(lf *lockFile, u flakelock.NodeUse) {
		if !nixpkgsLike(u, opts.Names) {
			return
		}
		lm := u.Node.Locked.LastModified
		if lm <= 1 { // store paths carry 1, relative paths 0: no date
			return
		}
		t := time.Unix(lm, 0).UTC()
		if age := now.Sub(t); age > limit {
			p.Reportf(nodeLoc(lf, u), inputKey(u),
				"nixpkgs input %s is %d days old (last modified %s, limit %d days)",
				inputName(u), int(age.Hours()/24), t.Format(time.DateOnly), opts.Days)
		}
	})
}
