package checks

import (
	"context"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/repo"
)

// DirtyTree enforces R3.
var DirtyTree = &check.Check{
	ID:       "dirty-tree",
	Title:    "The work tree is dirty",
	Severity: check.High,
	Rules:    []string{"R3"},
	Why: "An artifact built from uncommitted changes cannot be traced to a commit, so nobody can " +
		"review or rebuild what it was made from.",
	Remediation: "Commit or stash the changes, and add generated files to .gitignore; then build.",
	Scope:       check.ScopeRepo,
	Run:         runDirtyTree,
}

func runDirtyTree(ctx context.Context, p *check.Pass) error {
	if p.Repo.Rev != "" {
		return nil // a commit's tree (nixgate pr) has no work tree to be dirty
	}
	if !p.Repo.IsGit {
		p.ReportSeverity(check.Medium, check.Finding{Key: "not-git",
			Message: "not a git work tree: nothing proves which commit a build of it comes from"})
		return nil
	}
	entries, err := repo.Status(ctx, p.Repo.Dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if p.Skip(e.Path) {
			continue
		}
		// A nixgate.toml that `nixgate init` just wrote is not yet part of
		// any commit, and no build reads it: it is not what makes a build
		// dirty. Once tracked, changes to it count like any other file.
		if e.Path == "nixgate.toml" && e.What == "untracked, not ignored" {
			continue
		}
		p.Reportf(check.Location{Path: e.Path}, "status:"+e.What, "%s: %s", e.Path, e.What)
	}
	return nil
}
