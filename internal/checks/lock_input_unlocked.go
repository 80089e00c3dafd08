package checks

import (
	"context"
	"errors"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/flakelock"
	"github.com/nixgate/nixgate/internal/repo"
)

// LockInputUnlocked enforces R5 with Nix's own definition of a locked input.
var LockInputUnlocked = &check.Check{
	ID:       "lock-input-unlocked",
	Title:    "A flake.lock input is not locked",
	Severity: check.High,
	Rules:    []string{"R5"},
	Why: "Nix calls an input locked only when the lock names exact content, input type by input type: a rev for " +
		"github, gitlab and sourcehut, a rev other than the all-zero one for git, a rev for hg, a narHash for tarball, " +
		"file and absolute path inputs; relative paths (subflakes) need none; registry lookups and unknown types never are. " +
		"Anything else is fetched anew by every build. A lock Nix cannot read (or refuses) pins nothing at all.",
	Remediation: "Run `nix flake lock` with a Nix recent enough to write narHash, and commit the result; " +
		"fix a lock that does not parse by regenerating it.",
	Scope: check.ScopeRepo,
	Run:   runLockInputUnlocked,
}

func runLockInputUnlocked(ctx context.Context, p *check.Pass) error {
	files, err := lockFiles(ctx, p)
	if err != nil {
		return err
	}
	for _, lf := range files {
		if repo.IsRefused(lf.Err) {
			continue // unchecked-file reports it
		}
		if lf.Err != nil {
			loc := check.Location{Path: lf.Path}
			var pe *flakelock.Error
			if errors.As(lf.Err, &pe) {
				loc.Line, loc.Column = pe.Line, pe.Column
			}
			p.Reportf(loc, "invalid", "%s cannot be read as a flake lock: %v", lf.Path, lf.Err)
			continue
		}
		for _, u := range lf.Used {
			if ok, why := u.Node.Locked.Locked(); !ok {
				if u.Node.Locked.NixRefuses() {
					why += "; Nix refuses the lock file without --allow-dirty-locks"
				} else {
					why += "; only its narHash checks it (Nix warns: it breaks after garbage collection or when shared)"
				}
				p.Reportf(nodeLoc(lf, u), inputKey(u),
					"input %s is not locked: %s", inputName(u), why)
			}
		}
	}
	return nil
}
