package checks

import (
	"context"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/provenance"
)

// ProvenanceStatement enforces R11: the payload is nixgate's SLSA provenance.
var ProvenanceStatement = &check.Check{
	ID:       "provenance-statement",
	Title:    "The payload is not an in-toto statement with nixgate's SLSA provenance",
	Severity: check.High,
	Rules:    []string{"R11"},
	Why: "The other provenance checks read the statement's subjects, builder, parameters and " +
		"dependencies; a payload that is not a valid in-toto Statement v1 with a SLSA Provenance v1 " +
		"predicate of nixgate's build type cannot vouch for any of them.",
	Remediation: "Attest the build with nixgate attest and sign that statement.",
	Scope:       check.ScopeProvenance,
	Run:         runProvenanceStatement,
}

func runProvenanceStatement(ctx context.Context, p *check.Pass) error {
	ev, err := provenance.EvidenceOf(p)
	if err != nil {
		return err
	}
	loc := check.Location{Path: ev.EnvelopePath}
	st, err := ev.Statement()
	if err != nil {
		p.Reportf(loc, "parse", "the payload is not a provenance statement: %v", err)
		return nil
	}
	if t := st.Provenance.GetBuildDefinition().GetBuildType(); t != provenance.BuildType {
		p.Reportf(loc, "build-type:"+t, "build type is %q, not nixgate's %q", t, provenance.BuildType)
	}
	return nil
}
