package checks

import (
	"context"
	"path"

	"github.com/nixgate/nixgate/internal/check"
)

// LockMissing enforces R5: a flake without a lock file pins nothing.
var LockMissing = &check.Check{
	ID:       "lock-missing",
	Title:    "A flake has no flake.lock",
	Severity: check.High,
	Rules:    []string{"R5"},
	Why: "Without flake.lock every build resolves the flake's inputs afresh: two builds of the same " +
		"commit can use different nixpkgs revisions, and nobody reviews what changed.",
	Remediation: "Run `nix flake lock` next to the flake.nix and commit the flake.lock it writes.",
	Scope:       check.ScopeRepo,
	Run:         runLockMissing,
}

func runLockMissing(ctx context.Context, p *check.Pass) error {
	files := p.Repo.Files()
	for _, name := range files {
		if path.Base(name) != "flake.nix" || p.Skip(name) {
			continue
		}
		lock := path.Join(path.Dir(name), "flake.lock")
		if p.Repo.Exists(lock) {
			continue
		}
		p.Reportf(check.Location{Path: name}, "missing:"+lock, "%s has no %s next to it: its inputs are not pinned", name, lock)
	}
	return nil
}
