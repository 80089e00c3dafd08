package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/flakelock"
)

// LockInputSourceMismatch enforces R5 and R6: what Nix fetches is what
// flake.nix asks for.
var LockInputSourceMismatch = &check.Check{
	ID:       "lock-input-source-mismatch",
	Title:    "A locked input fetches something other than its original reference",
	Severity: check.High,
	Rules:    []string{"R5", "R6"},
	Why: "Nix fetches the locked reference and never checks it against the original again: a lock whose locked owner, " +
		"repository, host, URL, branch, directory or revision differs from what flake.nix asks for builds someone " +
		"else's code while the flake still reads as upstream. Nix itself never writes such a lock (a tarball server " +
		"may only redirect within its own site, as FlakeHub and channels.nixos.org do); a hand edit or a tampered update does.",
	Remediation: "Re-lock the input with `nix flake update INPUT` and compare the result; if the other source is " +
		"intended, say so in flake.nix (the input's url) rather than in the lock.",
	Scope: check.ScopeRepo,
	Run:   runLockInputSourceMismatch,
}

func runLockInputSourceMismatch(ctx context.Context, p *check.Pass) error {
	return forEachNode(ctx, p, func(lf *lockFile, u flakelock.NodeUse) {
		ds := u.Node.Mismatch()
		if len(ds) == 0 {
			return
		}
		var parts []string
		for _, d := range ds {
			parts = append(parts, fmt.Sprintf("%s %q where the original has %q", d.What, d.Got, d.Original))
		}
		p.Reportf(nodeLoc(lf, u), inputKey(u)+":"+ds[0].What,
			"input %s is locked to another source than its original: %s", inputName(u), strings.Join(parts, "; "))
	})
}
