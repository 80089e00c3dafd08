package checks

import (
	"context"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/provenance"
)

// ProvenancePayloadType enforces R11: the envelope carries an in-toto statement.
var ProvenancePayloadType = &check.Check{
	ID:       "provenance-payload-type",
	Title:    "The envelope's payload type is not an in-toto statement",
	Severity: check.High,
	Rules:    []string{"R11"},
	Why: "DSSE signs the payload type with the payload so that a signature over one kind of document " +
		"cannot be passed off as another; a verifier must insist on the type it knows how to read.",
	Remediation: "Sign the statement nixgate attest wrote (payload type application/vnd.in-toto+json) with nixgate sign.",
	Scope:       check.ScopeProvenance,
	Run:         runProvenancePayloadType,
}

func runProvenancePayloadType(ctx context.Context, p *check.Pass) error {
	ev, err := provenance.EvidenceOf(p)
	if err != nil {
		return err
	}
	if t := ev.Envelope.PayloadType; t != provenance.PayloadType {
		p.Reportf(check.Location{Path: ev.EnvelopePath}, "type:"+t, "payload type is %q, not %q", t, provenance.PayloadType)
	}
	return nil
}
