package checks

import (
	"context"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/envelope"
	"github.com/nixgate/nixgate/internal/provenance"
)

// ProvenanceSignatureThreshold enforces R11's k-of-n signing (nixgate verify --require K).
var ProvenanceSignatureThreshold = &check.Check{
	ID:       "provenance-signature-threshold",
	Title:    "Fewer distinct trusted keys signed the provenance than required",
	Severity: check.Critical,
	Rules:    []string{"R11"},
	Why: "Requiring k of n keys means one stolen key or one coerced operator cannot release alone. " +
		"Signatures count once per distinct key.",
	Remediation: "Have the other key holders co-sign the envelope in their own ceremonies " +
		"(nixgate sign --key KEY ENVELOPE -o ENVELOPE), then verify again.",
	Scope: check.ScopeProvenance,
	Run:   runProvenanceSignatureThreshold,
}

func runProvenanceSignatureThreshold(ctx context.Context, p *check.Pass) error {
	ev, err := provenance.EvidenceOf(p)
	if err != nil {
		return err
	}
	if len(ev.Envelope.Signatures) == 0 {
		return nil // provenance-signature
	}
	res, err := ev.Signatures(ctx)
	if err != nil {
		return err
	}
	// With no accepted key at all, provenance-signature says why.
	if n := len(res.Accepted); n > 0 && n < res.Threshold {
		p.Reportf(check.Location{Path: ev.EnvelopePath}, "threshold",
			"%d distinct trusted key(s) signed (%s) where %d are required", n, envelope.KeyLabels(res.Accepted), res.Threshold)
	}
	return nil
}
