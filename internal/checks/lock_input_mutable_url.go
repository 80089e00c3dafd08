package checks

import (
	"context"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/flakelock"
)

// LockInputMutableURL enforces R5: no mutable URLs in a lock.
var LockInputMutableURL = &check.Check{
	ID:       "lock-input-mutable-url",
	Title:    "A tarball or file input is locked to a mutable URL",
	Severity: check.Medium,
	Rules:    []string{"R5"},
	Why: "The narHash pins the content, but a URL such as a channel's nixexprs.tar.xz or an " +
		"archive/<branch>.tar.gz serves different content tomorrow: once it moves, the lock can no longer " +
		"be fetched and the build breaks, or is 'fixed' by an unreviewed update.",
	Remediation: "Use a URL that names a commit (archive/<rev>.tar.gz, a releases.nixos.org release " +
		"directory, a FlakeHub pinned URL) or a github: input, and re-lock.",
	Scope: check.ScopeRepo,
	Run:   runLockInputMutableURL,
}

func runLockInputMutableURL(ctx context.Context, p *check.Pass) error {
	return forEachNode(ctx, p, func(lf *lockFile, u flakelock.NodeUse) {
		l := u.Node.Locked
		if l.Type != "tarball" && l.Type != "file" {
			return
		}
		if ok, why := flakelock.MutableURL(l.URL); ok {
			p.Reportf(nodeLoc(lf, u), inputKey(u)+":"+l.URL,
				"input %s is locked to the mutable URL %s: %s", inputName(u), l.URL, why)
		}
	})
}
