package provenance

import (
	"fmt"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	v1 "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// Parsed is a statement read back: the statement and, when its predicate
// is SLSA Provenance v1, the predicate.
type Parsed struct {
	Statement  *v1.Statement
	Provenance *slsa.Provenance
}

// maxStatement bounds what Parse reads.
const maxStatement = 16 << 20

// Parse reads a statement strictly: unknown fields are an error, and so is
// a statement or predicate that does not validate.
func Parse(data []byte) (*Parsed, error) {
	if len(data) > maxStatement {
		return nil, fmt.Errorf("statement is %d bytes, more than %d", len(data), maxStatement)
	}
	st := &v1.Statement{}
	if err := protojson.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("not an in-toto statement: %w", err)
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("in-toto statement: %w", err)
	}
	p := &Parsed{Statement: st}
	if st.GetPredicateType() != PredicateType {
		return p, nil
	}
	raw, err := protojson.Marshal(st.GetPredicate())
	if err != nil {
		return nil, err
	}
	prov := &slsa.Provenance{}
	if err := protojson.Unmarshal(raw, prov); err != nil {
		return nil, fmt.Errorf("SLSA provenance: %w", err)
	}
	if err := prov.Validate(); err != nil {
		return nil, fmt.Errorf("SLSA provenance: %w", err)
	}
	p.Provenance = prov
	return p, nil
}

// ExternalParameters returns the predicate's external parameters with
// their values as JSON-ish Go values.
func (p *Parsed) ExternalParameters() map[string]any {
	if p.Provenance == nil {
		return nil
	}
	return p.Provenance.GetBuildDefinition().GetExternalParameters().AsMap()
}

// BuilderID returns the predicate's builder id.
func (p *Parsed) BuilderID() string {
	if p.Provenance == nil {
		return ""
	}
	return p.Provenance.GetRunDetails().GetBuilder().GetId()
}

// Dependencies returns the resolved dependencies.
func (p *Parsed) Dependencies() []*v1.ResourceDescriptor {
	if p.Provenance == nil {
		return nil
	}
	return p.Provenance.GetBuildDefinition().GetResolvedDependencies()
}
