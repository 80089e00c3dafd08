package checks

import (
	"context"
	"fmt"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/flakelock"
)

// LockNixpkgsBranchOptions tunes lock-nixpkgs-branch.
type LockNixpkgsBranchOptions struct {
	Branches map[string]string `toml:"branches" doc:"branch statuses overriding the shipped list: supported, rolling, beta, eol or unsupported"`
	Names    []string          `toml:"names" doc:"input names that count as nixpkgs besides inputs fetching NixOS/nixpkgs"`
	Unknown  bool              `toml:"report-unknown" doc:"also report branches that are neither a release nor a rolling branch"`
}

// LockNixpkgsBranch enforces R5: nixpkgs follows a branch that gets fixes.
var LockNixpkgsBranch = &check.Check{
	ID:       "lock-nixpkgs-branch",
	Title:    "nixpkgs follows an unsupported branch",
	Severity: check.High,
	Rules:    []string{"R5"},
	Why: "A NixOS release gets security fixes for about seven months; after that, updating the lock " +
		"brings nothing. nixgate ships the release list with support dates; a release newer than the list counts as supported.",
	Remediation: "Move the input to a supported release (e.g. nixos-25.11) or a rolling branch " +
		"(nixos-unstable) in flake.nix and re-lock; override a branch's status under [checks.lock-nixpkgs-branch.branches].",
	Scope:   check.ScopeRepo,
	Options: &LockNixpkgsBranchOptions{Unknown: true},
	Run:     runLockNixpkgsBranch,
}

func runLockNixpkgsBranch(ctx context.Context, p *check.Pass) error {
	opts := p.Options.(*LockNixpkgsBranchOptions)
	data := flakelock.Branches()
	overrides := map[string]flakelock.BranchStatus{}
	for b, s := range opts.Branches {
		st, err := flakelock.ParseStatus(s)
		if err != nil {
			return fmt.Errorf("option branches.%s: %w", b, err)
		}
		overrides[b] = st
	}
	now := timeNow()
	return forEachNode(ctx, p, func(lf *lockFile, u flakelock.NodeUse) {
		if !nixpkgsLike(u, opts.Names) {
			return
		}
		b := u.Node.Branch()
		if b == "" {
			return
		}
		st, why := data.Status(b, now)
		if o, ok := overrides[b]; ok {
			st, why = o, "status set by the policy"
		}
		key := "input:" + u.PathString() + ":" + b
		switch st {
		case flakelock.EOL:
			p.Reportf(nodeLoc(lf, u), key, "nixpkgs input %s follows %s: %s", inputName(u), b, why)
		case flakelock.Unknown:
			if opts.Unknown {
				p.ReportSeverity(check.Medium, check.Finding{Location: nodeLoc(lf, u), Key: key,
					Message: fmt.Sprintf("nixpkgs input %s follows %q: %s", inputName(u), b, why)})
			}
		}
	})
}
