package checks

import (
	"context"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/flakelock"
)

// LockInputIndirect enforces R5: no registry lookups.
var LockInputIndirect = &check.Check{
	ID:       "lock-input-indirect",
	Title:    "A flake input is a registry (indirect) lookup",
	Severity: check.Medium,
	Rules:    []string{"R5"},
	Why: "An input written as `nixpkgs` or `flake:nixpkgs` is resolved through the flake registry of " +
		"whoever runs the next `nix flake update`: their registry, not the repository, decides the source.",
	Remediation: "Name the source explicitly in flake.nix, e.g. `inputs.nixpkgs.url = \"github:NixOS/nixpkgs/nixos-25.11\";`, " +
		"then run `nix flake lock`.",
	Scope: check.ScopeRepo,
	Run:   runLockInputIndirect,
}

func runLockInputIndirect(ctx context.Context, p *check.Pass) error {
	return forEachNode(ctx, p, func(lf *lockFile, u flakelock.NodeUse) {
		if o := u.Node.Original; o != nil && o.Type == "indirect" {
			p.Reportf(nodeLoc(lf, u), inputKey(u),
				"input %s is the registry lookup %q (locked to %s)", inputName(u), o.String(), u.Node.Locked.Source())
		}
	})
}
