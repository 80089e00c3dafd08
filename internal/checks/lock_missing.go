package checks

import (
	"context"
	"path"
	"slices"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/nixlex"
)

// LockMissing enforces R5: a flake without a lock file pins nothing.
var LockMissing = &check.Check{
	ID:       "lock-missing",
	Title:    "A flake has no flake.lock",
	Severity: check.High,
	Rules:    []string{"R5"},
	Why: "Without flake.lock every build resolves the flake's inputs afresh: two builds of the same " +
		"commit can use different nixpkgs revisions, and nobody reviews what changed. Two kinds of flake need " +
		"no lock and are skipped: flake templates (a flake.nix under a templates/ directory, or in a directory " +
		"a flake's `templates` output names, read statically: `nix flake init` copies it and the new project " +
		"locks it), and flakes that declare no inputs (no `inputs`, an outputs function taking only self). Nor do " +
		"flakes whose every input is a relative path into the same repository (path:../.., ./sub) or follows " +
		"one: the repository's own flake.lock pins what they reach.",
	Remediation: "Run `nix flake lock` next to the flake.nix and commit the flake.lock it writes.",
	Scope:       check.ScopeRepo,
	Run:         runLockMissing,
}

func runLockMissing(ctx context.Context, p *check.Pass) error {
	var flakes []string
	for _, name := range p.Repo.Files() {
		if path.Base(name) == "flake.nix" && !p.Skip(name) {
			flakes = append(flakes, name)
		}
	}
	// Directories named by any flake's templates output.
	shapes := map[string]nixlex.FlakeShape{}
	var templateDirs []string
	for _, name := range flakes {
		if err := ctx.Err(); err != nil {
			return err
		}
		shape := nixlex.FlakeShape{HasInputs: true}
		if data, err := p.Repo.ReadFile(name); err == nil {
			shape, _ = nixlex.ReadFlake(string(data))
		}
		shapes[name] = shape
		for _, t := range shape.Templates {
			templateDirs = append(templateDirs, path.Clean(nixlex.JoinPath(path.Dir(name), t)))
		}
	}
	for _, name := range flakes {
		dir := path.Dir(name)
		lock := path.Join(dir, "flake.lock")
		if p.Repo.Exists(lock) || !shapes[name].HasInputs || shapes[name].OnlyRelative || isTemplate(dir, templateDirs) {
			continue
		}
		p.Reportf(check.Location{Path: name}, "missing:"+lock, "%s has no %s next to it: its inputs are not pinned", name, lock)
	}
	return nil
}

// isTemplate reports a flake directory under a templates/ directory or
// under a directory a templates output names.
func isTemplate(dir string, templateDirs []string) bool {
	if slices.Contains(strings.Split(dir, "/"), "templates") {
		return true
	}
	return slices.ContainsFunc(templateDirs, func(t string) bool { return dir == t || strings.HasPrefix(dir, t+"/") })
}
