package checks

import (
	"context"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/flakelock"
)

// LockNixpkgsOwnerOptions tunes lock-nixpkgs-owner.
type LockNixpkgsOwnerOptions struct {
	Allow []string `toml:"allow" doc:"sources accepted for nixpkgs besides upstream NixOS/nixpkgs: host/owner/repo (\"github.com/me/nixpkgs\", or \"github:me/nixpkgs\"), host/owner or host"`
	Names []string `toml:"names" doc:"inputs of the root flake that count as nixpkgs whatever they fetch (flake-checker's nixpkgs keys)"`
}

// LockNixpkgsOwner enforces R5 for the one input every build trusts most.
var LockNixpkgsOwner = &check.Check{
	ID:       "lock-nixpkgs-owner",
	Title:    "nixpkgs is fetched from somewhere other than NixOS/nixpkgs",
	Severity: check.High,
	Rules:    []string{"R5"},
	Why: "nixpkgs is the toolchain and every library of the build. A fork (someone/nixpkgs), a mirror on another " +
		"forge (gitlab:nixos/nixpkgs) or a registry pinned to a local store path serves whatever its owner pushed, " +
		"without the review and the binary cache of upstream. Every input fetching a repository named nixpkgs counts, " +
		"and so do the root inputs named in names; the owner checked is the locked one, what Nix fetches.",
	Remediation: "Point the input at github:NixOS/nixpkgs (or a channel or FlakeHub release of it) and re-lock; " +
		"if a fork is intended, add it to the check's allow list after review.",
	Scope:   check.ScopeRepo,
	Options: &LockNixpkgsOwnerOptions{Names: []string{"nixpkgs"}},
	Run:     runLockNixpkgsOwner,
}

func runLockNixpkgsOwner(ctx context.Context, p *check.Pass) error {
	opts := p.Options.(*LockNixpkgsOwnerOptions)
	allow := normalizeSources(opts.Allow)
	return forEachNode(ctx, p, func(lf *lockFile, u flakelock.NodeUse) {
		if !nixpkgsLike(u, opts.Names) || u.Node.Locked.IsNixpkgs() {
			return
		}
		src := u.Node.LockedSource()
		for _, a := range allow {
			if src == a || strings.HasPrefix(src, a+"/") {
				return
			}
		}
		p.Reportf(nodeLoc(lf, u), "nixpkgs-source:"+src,
			"nixpkgs input %s is fetched from %s, not upstream github.com/NixOS/nixpkgs", inputName(u), src)
	})
}

// normalizeSources reads allowlist entries: "github:NixOS" is
// "github.com/nixos", a trailing slash and case do not matter.
func normalizeSources(in []string) []string {
	var out []string
	for _, a := range in {
		a = strings.ToLower(strings.TrimSuffix(a, "/"))
		for pfx, host := range map[string]string{"github:": "github.com/", "gitlab:": "gitlab.com/", "sourcehut:": "git.sr.ht/", "flakehub:": "flakehub.com/"} {
			if strings.HasPrefix(a, pfx) {
				a = host + strings.TrimPrefix(a, pfx)
			}
		}
		out = append(out, a)
	}
	return out
}
