package checks

import (
	"context"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/flakelock"
)

// LockInputNoNarHash is stricter than Nix on purpose: Nix calls a forge
// input locked by its rev alone.
var LockInputNoNarHash = &check.Check{
	ID:       "lock-input-no-narhash",
	Title:    "A forge input is locked without a narHash",
	Severity: check.Medium,
	Rules:    []string{"R5"},
	Why: "Nix calls a github, gitlab or sourcehut input locked by its rev alone and then trusts whatever tarball the " +
		"forge serves for that rev (trust-tarballs-from-git-forges is on by default): nothing checks the content. " +
		"A narHash pins the content itself. nixgate is stricter than Nix here; lock-input-unlocked follows Nix. " +
		"An empty narHash pins nothing either (Nix reads it as a hash of zeros).",
	Remediation: "Re-lock with a current Nix (`nix flake lock`), which writes narHash for every input, and commit the result.",
	Scope:       check.ScopeRepo,
	Run:         runLockInputNoNarHash,
}

func runLockInputNoNarHash(ctx context.Context, p *check.Pass) error {
	return forEachNode(ctx, p, func(lf *lockFile, u flakelock.NodeUse) {
		l := u.Node.Locked
		_, has := l.Attrs["narHash"]
		switch {
		case has && l.NarHash == "":
			p.Reportf(nodeLoc(lf, u), inputKey(u), "input %s has an empty narHash: it pins no content", inputName(u))
		case has:
		case l.Type == "github" || l.Type == "gitlab" || l.Type == "sourcehut":
			if ok, _ := l.Locked(); ok {
				p.Reportf(nodeLoc(lf, u), inputKey(u),
					"input %s is locked to %s %.12s without a narHash: the forge's tarball for that rev is trusted unchecked", inputName(u), l.Type, l.Rev)
			}
		}
	})
}
