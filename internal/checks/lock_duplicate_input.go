package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/flakelock"
)

// LockDuplicateInput reports one repository locked at several revisions.
var LockDuplicateInput = &check.Check{
	ID:       "lock-duplicate-input",
	Title:    "The same repository is locked at several revisions",
	Severity: check.Low,
	Rules:    []string{"R5"},
	Why: "Each extra revision of a dependency (often nixpkgs) is more code to trust and review, and " +
		"a security fix applied to one copy is missing in the other.",
	Remediation: "Make the inputs follow one another in flake.nix, e.g. " +
		"`inputs.home-manager.inputs.nixpkgs.follows = \"nixpkgs\";`, and re-lock.",
	Scope: check.ScopeRepo,
	Run:   runLockDuplicateInput,
}

func runLockDuplicateInput(ctx context.Context, p *check.Pass) error {
	files, err := lockFiles(ctx, p)
	if err != nil {
		return err
	}
	for _, lf := range files {
		if lf.Err != nil {
			continue
		}
		type group struct {
			uses []flakelock.NodeUse
			revs map[string]bool
		}
		groups := map[string]*group{}
		var order []string
		for _, u := range lf.Used {
			l := u.Node.Locked
			if l.Type == "path" || l.Type == "indirect" {
				continue
			}
			src := u.Node.LockedSource()
			id := l.Rev
			if id == "" {
				id = l.NarHash
			}
			if id == "" {
				continue
			}
			g := groups[src]
			if g == nil {
				g = &group{revs: map[string]bool{}}
				groups[src] = g
				order = append(order, src)
			}
			g.uses = append(g.uses, u)
			g.revs[id] = true
		}
		for _, src := range order {
			g := groups[src]
			if len(g.revs) < 2 {
				continue
			}
			var parts []string
			seen := map[string]bool{}
			for _, u := range g.uses {
				id := u.Node.Locked.Rev
				if id == "" {
					id = u.Node.Locked.NarHash
				}
				if seen[id] {
					continue
				}
				seen[id] = true
				d := ""
				if t := u.Node.Locked.Time(); !t.IsZero() {
					d = ", " + t.Format("2006-01-02")
				}
				parts = append(parts, fmt.Sprintf("'%s' (%.12s%s)", u.PathString(), id, d))
			}
			p.Reportf(nodeLoc(lf, g.uses[0]), "source:"+src,
				"%s is locked at %d revisions: %s", src, len(g.revs), strings.Join(parts, ", "))
		}
	}
	return nil
}
