package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/envelope"
	"github.com/nixgate/nixgate/internal/provenance"
)

// ProvenanceSignature enforces R11 on a provenance envelope (nixgate verify).
var ProvenanceSignature = &check.Check{
	ID:       "provenance-signature",
	Title:    "The provenance has no valid signature from a trusted key",
	Severity: check.Critical,
	Rules:    []string{"R11"},
	Why: "Anyone can write a statement; only a signature by a key the verifier trusts, made in the " +
		"offline ceremony, says that the release's owners vouch for it. A trusted key whose signature " +
		"does not verify means the payload or its type changed after signing.",
	Remediation: "Verify with the public keys of the signing ceremony (--key), or sign the statement again " +
		"on the signing machine (nixgate sign) if it was changed on purpose.",
	Scope: check.ScopeProvenance,
	Run:   runProvenanceSignature,
}

func runProvenanceSignature(ctx context.Context, p *check.Pass) error {
	ev, err := provenance.EvidenceOf(p)
	if err != nil {
		return err
	}
	loc := check.Location{Path: ev.EnvelopePath}
	if len(ev.Envelope.Signatures) == 0 {
		p.Reportf(loc, "no-signature", "the envelope has no signature")
		return nil
	}
	res, err := ev.Signatures(ctx)
	if err != nil {
		return err
	}
	for _, k := range res.Invalid {
		p.Reportf(loc, "invalid:"+k.ID, "the signature of trusted key %s does not verify: the payload or its type changed after signing", k.Label())
	}
	if len(res.Accepted) == 0 && len(res.Untrusted) > 0 {
		p.Reportf(loc, "untrusted:"+strings.Join(res.Untrusted, ","), "signed only by keys that are not trusted: %s (trusted: %s)",
			strings.Join(res.Untrusted, ", "), envelope.KeyLabels(ev.Keys))
	}
	if len(res.Accepted) == 0 && len(res.Untrusted) == 0 && len(res.Invalid) == 0 {
		p.Reportf(loc, "none", "no signature verifies with a trusted key (%d signature(s))", len(ev.Envelope.Signatures))
	}
	if res.Err != nil && len(res.Accepted) >= res.Threshold {
		return fmt.Errorf("signature verification: %w", res.Err)
	}
	return nil
}
