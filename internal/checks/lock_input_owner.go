package checks

import (
	"context"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/flakelock"
)

// LockInputOwnerOptions tunes lock-input-owner.
type LockInputOwnerOptions struct {
	Allow []string `toml:"allow" doc:"allowed sources: a host (\"git.lix.systems\"), host/owner (\"github.com/NixOS\", or \"github:NixOS\") or host/owner/repo; empty: the check reports nothing"`
}

// LockInputOwner enforces R5 with an allowlist of sources.
var LockInputOwner = &check.Check{
	ID:       "lock-input-owner",
	Title:    "A flake input comes from an owner not on the allowlist",
	Severity: check.Medium,
	Rules:    []string{"R5"},
	Why: "Every input's owner can push code into the build. An allowlist makes adding a new owner a " +
		"reviewed policy change rather than a line in a lock update. The owner checked is the locked one: what Nix fetches.",
	Remediation: "Replace the input with one from an allowed owner, or add the owner to the check's allow list " +
		"in nixgate.toml after review.",
	Scope:    check.ScopeRepo,
	Disabled: true,
	Options:  &LockInputOwnerOptions{},
	Run:      runLockInputOwner,
}

func runLockInputOwner(ctx context.Context, p *check.Pass) error {
	opts := p.Options.(*LockInputOwnerOptions)
	if len(opts.Allow) == 0 {
		return nil // no allowlist: nothing to enforce
	}
	allow := normalizeSources(opts.Allow)
	return forEachNode(ctx, p, func(lf *lockFile, u flakelock.NodeUse) {
		l := u.Node.Locked
		if l.Type == "path" {
			return // lock-input-local-path
		}
		// What Nix fetches: the locked reference. A locked source that
		// differs from its original is lock-input-source-mismatch.
		src := u.Node.LockedSource()
		for _, a := range allow {
			if src == a || strings.HasPrefix(src, a+"/") {
				return
			}
		}
		owner := flakelock.Owner(src)
		p.Reportf(nodeLoc(lf, u), "owner:"+owner, "input %s comes from %s, which is not on the allowlist", inputName(u), owner)
	})
}
