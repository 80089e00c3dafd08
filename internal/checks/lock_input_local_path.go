package checks

import (
	"context"
	"path"
	"path/filepath"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/flakelock"
)

// LockInputLocalPath enforces R5: inputs can be fetched on any machine.
var LockInputLocalPath = &check.Check{
	ID:       "lock-input-local-path",
	Title:    "A flake input is a local path outside the repository",
	Severity: check.Medium,
	Rules:    []string{"R5"},
	Why: "An absolute path: or git+file: input exists only on the machine that wrote the lock (a home " +
		"directory, a /nix/store path pinned by a local registry): nobody else can build or review it.",
	Remediation: "Publish the input (a git repository, a tarball) and refer to it by URL, or move it " +
		"into the repository and use a relative path.",
	Scope: check.ScopeRepo,
	Run:   runLockInputLocalPath,
}

func runLockInputLocalPath(ctx context.Context, p *check.Pass) error {
	return forEachNode(ctx, p, func(lf *lockFile, u flakelock.NodeUse) {
		lp, ok := u.Node.Locked.LocalPath()
		if !ok || lp == "" {
			return
		}
		if !strings.HasPrefix(lp, "/") {
			// Relative to the flake holding the lock.
			rel := path.Join(path.Dir(lf.Path), lp)
			if rel != ".." && !strings.HasPrefix(rel, "../") {
				return
			}
		} else if r, err := filepath.Rel(p.Repo.Dir, filepath.FromSlash(lp)); err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			return // inside the repository under check
		}
		p.Reportf(nodeLoc(lf, u), inputKey(u)+":"+lp,
			"input %s is the local path %s, outside the repository", inputName(u), lp)
	})
}
