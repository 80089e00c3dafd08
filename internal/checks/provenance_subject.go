package checks

import (
	"context"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/provenance"
)

// ProvenanceSubject enforces R11: the provenance is about this artifact.
var ProvenanceSubject = &check.Check{
	ID:       "provenance-subject",
	Title:    "No subject of the provenance is the artifact",
	Severity: check.Critical,
	Rules:    []string{"R11"},
	Why: "A valid signature over a statement about another artifact proves nothing about this one: the " +
		"artifact's SHA-256 (or the store path's NAR hash) must be one of the statement's subjects.",
	Remediation: "Verify the artifact the statement was made for, or attest this artifact " +
		"(nixgate attest --artifact FILE) and sign that statement.",
	Scope: check.ScopeProvenance,
	Run:   runProvenanceSubject,
}

func runProvenanceSubject(ctx context.Context, p *check.Pass) error {
	ev, err := provenance.EvidenceOf(p)
	if err != nil {
		return err
	}
	st, err := ev.Statement()
	if err != nil {
		return nil // provenance-statement
	}
	if msg := provenance.SubjectProblem(st, ev.Artifact); msg != "" {
		p.Reportf(check.Location{Path: ev.EnvelopePath}, "subject:"+ev.Artifact.SHA256, "%s", msg)
	}
	return nil
}
