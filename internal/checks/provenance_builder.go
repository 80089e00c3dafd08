package checks

import (
	"context"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/provenance"
)

// ProvenanceBuilderOptions tunes provenance-builder.
type ProvenanceBuilderOptions struct {
	Builders map[string][]string `toml:"builders" doc:"allowed builder ids, each with the names or IDs (SHA256:…) of the keys that may sign for it (an empty list: any trusted key); empty: every builder is allowed"`
}

// ProvenanceBuilder enforces R11: the build ran on an allowed builder, vouched for by its key.
var ProvenanceBuilder = &check.Check{
	ID:       "provenance-builder",
	Title:    "The provenance names a builder that is not allowed or not paired with the signing key",
	Severity: check.High,
	Rules:    []string{"R11"},
	Why: "The builder id says which machine and pipeline produced the artifact. Pairing each allowed " +
		"builder with the keys that vouch for it keeps a key meant for one pipeline from vouching for " +
		"another's builds.",
	Remediation: "Build on an allowed builder, or add the builder and its keys to the check's builders " +
		"table in the policy after review.",
	Scope:   check.ScopeProvenance,
	Options: &ProvenanceBuilderOptions{},
	Run:     runProvenanceBuilder,
}

func runProvenanceBuilder(ctx context.Context, p *check.Pass) error {
	ev, err := provenance.EvidenceOf(p)
	if err != nil {
		return err
	}
	st, err := ev.Statement()
	if err != nil {
		return nil // provenance-statement
	}
	opts := p.Options.(*ProvenanceBuilderOptions)
	if len(opts.Builders) == 0 {
		return nil
	}
	res, err := ev.Signatures(ctx)
	if err != nil {
		return err
	}
	if msg := provenance.BuilderProblem(st, opts.Builders, res.Accepted); msg != "" {
		p.Reportf(check.Location{Path: ev.EnvelopePath}, "builder:"+st.BuilderID(), "%s", msg)
	}
	return nil
}
