package checks

import (
	"context"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/provenance"
)

// ProvenanceLock enforces R11 and R5: the build used exactly the pinned inputs of a given flake.lock.
var ProvenanceLock = &check.Check{
	ID:       "provenance-lock",
	Title:    "The provenance's flake inputs differ from the flake.lock",
	Severity: check.High,
	Rules:    []string{"R5", "R11"},
	Why: "Every flake.lock input is code in the build. Comparing the statement's resolved dependencies " +
		"with the reviewed flake.lock (--lock) shows a build that used other inputs than the ones reviewed.",
	Remediation: "Rebuild from the reviewed flake.lock and attest again, or review the lock the build used.",
	Scope:       check.ScopeProvenance,
	Run:         runProvenanceLock,
}

func runProvenanceLock(ctx context.Context, p *check.Pass) error {
	ev, err := provenance.EvidenceOf(p)
	if err != nil {
		return err
	}
	if ev.Lock == nil {
		return nil // no --lock
	}
	st, err := ev.Statement()
	if err != nil {
		return nil // provenance-statement
	}
	probs, err := provenance.LockProblems(st, ev.Lock)
	if err != nil {
		return err
	}
	for _, pr := range probs {
		loc := check.Location{Path: ev.LockPath, Line: pr.Line}
		if pr.Node == "" {
			loc = check.Location{Path: ev.EnvelopePath}
		}
		p.Reportf(loc, "lock:"+pr.Message, "%s", pr.Message)
	}
	return nil
}
