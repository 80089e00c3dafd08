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
		"reviewed policy change rather than a line in a lock update.",
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
	var allow []string
	for _, a := range opts.Allow {
		a = strings.ToLower(strings.TrimSuffix(a, "/"))
		for pfx, host := range map[string]string{"github:": "github.com/", "gitlab:": "gitlab.com/", "sourcehut:": "git.sr.ht/", "flakehub:": "flakehub.com/"} {
			if strings.HasPrefix(a, pfx) {
				a = host + strings.TrimPrefix(a, pfx)
			}
		}
		allow = append(allow, a)
	}
	return forEachNode(ctx, p, func(lf *lockFile, u flakelock.NodeUse) {
		l := u.Node.Locked
		if l.Type == "path" {
			return // lock-input-local-path
		}
		srcs := []string{u.Node.Source(), l.Source()}
		for _, s := range srcs {
			for _, a := range allow {
				if s == a || strings.HasPrefix(s, a+"/") {
					return
				}
			}
		}
		owner := l.OwnerName()
		if owner == "" {
			owner = u.Node.Source()
		}
		p.Reportf(nodeLoc(lf, u), "owner:"+owner, "input %s comes from %s, which is not on the allowlist", inputName(u), owner)
	})
}
