package checks

import (
	"context"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/provenance"
)

// ProvenanceExternalParametersOptions tunes provenance-external-parameters.
type ProvenanceExternalParametersOptions struct {
	Flakes     []string `toml:"flakes" doc:"allowed flake references (a trailing * matches any suffix); empty: any"`
	Files      []string `toml:"files" doc:"allowed .nix files, relative to the repository (a trailing * matches any suffix); empty: any"`
	Attributes []string `toml:"attributes" doc:"allowed attributes (a trailing * matches any suffix); empty: any"`
}

// ProvenanceExternalParameters enforces R11: the build was asked for with known, allowed parameters.
var ProvenanceExternalParameters = &check.Check{
	ID:       "provenance-external-parameters",
	Title:    "The provenance has external parameters that are unknown or not allowed",
	Severity: check.High,
	Rules:    []string{"R11"},
	Why: "External parameters are what the person or pipeline that started the build chose. SLSA asks " +
		"verifiers to reject parameters they do not expect: an unknown one may have changed what was " +
		"built without the verifier noticing.",
	Remediation: "Release only builds of the allowed flake and attributes, or extend the allowed lists in " +
		"the policy after review.",
	Scope:   check.ScopeProvenance,
	Options: &ProvenanceExternalParametersOptions{},
	Run:     runProvenanceExternalParameters,
}

func runProvenanceExternalParameters(ctx context.Context, p *check.Pass) error {
	ev, err := provenance.EvidenceOf(p)
	if err != nil {
		return err
	}
	st, err := ev.Statement()
	if err != nil {
		return nil // provenance-statement
	}
	o := p.Options.(*ProvenanceExternalParametersOptions)
	for _, msg := range provenance.ParameterProblems(st, provenance.AllowedParameters{Flakes: o.Flakes, Files: o.Files, Attributes: o.Attributes}) {
		p.Reportf(check.Location{Path: ev.EnvelopePath}, "", "%s", msg)
	}
	return nil
}
