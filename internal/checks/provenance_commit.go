package checks

import (
	"context"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/provenance"
)

// ProvenanceCommit enforces R11 and R3: the build came from the reviewed commit.
var ProvenanceCommit = &check.Check{
	ID:       "provenance-commit",
	Title:    "The provenance's source commit is not the expected one",
	Severity: check.High,
	Rules:    []string{"R3", "R11"},
	Why: "A release is reviewed as a commit. The statement's source commit (--commit) ties the artifact " +
		"to that review; another commit means other code.",
	Remediation: "Release the build of the reviewed commit, or verify against the commit the build came from after reviewing it.",
	Scope:       check.ScopeProvenance,
	Run:         runProvenanceCommit,
}

func runProvenanceCommit(ctx context.Context, p *check.Pass) error {
	ev, err := provenance.EvidenceOf(p)
	if err != nil {
		return err
	}
	if ev.Commit == "" {
		return nil // no --commit
	}
	st, err := ev.Statement()
	if err != nil {
		return nil // provenance-statement
	}
	if msg := provenance.CommitProblem(st, ev.Commit); msg != "" {
		p.Reportf(check.Location{Path: ev.EnvelopePath}, "commit:"+ev.Commit, "%s", msg)
	}
	return nil
}
