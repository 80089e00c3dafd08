// Package provenance writes and reads the provenance of a Nix build: an
// in-toto Statement v1 whose predicate is SLSA Provenance v1 (the
// in-toto/attestation Go bindings), tying each output's NAR hash and each
// release artifact's SHA-256 to the flake reference, the git commit, every
// flake.lock input, the Nix version, the system, the sandbox verdict and
// the builder. Its checks (nixgate verify) judge a signed statement.
package provenance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	v1 "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/nixgate/nixgate/internal/flakelock"
	"github.com/nixgate/nixgate/internal/lazyre"
	"github.com/nixgate/nixgate/internal/sbom"
)

// Type URIs.
const (
	StatementType = v1.StatementTypeUri
	PredicateType = "https://slsa.dev/provenance/v1"
	// BuildType names nixgate's build definition, documented in
	// docs/provenance.md.
	BuildType = "https://github.com/nixgate/nixgate/blob/main/docs/provenance.md#buildtype-nix-build-v1"
	// PayloadType is the DSSE payload type of an in-toto statement.
	PayloadType = "application/vnd.in-toto+json"
	// NarMediaType marks a digest that is the SHA-256 of a NAR
	// serialisation (a store path, a flake input's source tree), not of a
	// file's bytes.
	NarMediaType = "application/x-nix-nar"
)

// Names of the resolved dependencies and external parameters nixgate
// writes.
const (
	SourceName     = "source"
	LockNodePrefix = "flake.lock#"
	RebuildName    = "rebuild-report"

	ParamFlake     = "flake"
	ParamFile      = "file"
	ParamAttribute = "attribute"
	ParamStorePath = "storePath"
)

// KnownParameters are the external parameters nixgate writes; any other
// one in a statement is foreign.
var KnownParameters = []string{ParamAttribute, ParamFile, ParamFlake, ParamStorePath}

// Subject is an attested artifact: a store path (its NAR hash) or a file
// (its SHA-256).
type Subject struct {
	Name string
	// SHA256 is hex.
	SHA256 string
	// NAR is set for a store path: the digest is of its NAR.
	NAR bool
}

// Source is the git commit the build came from.
type Source struct {
	URI    string
	Commit string
}

// Probe is the sandbox probe's verdict (nixgate host --probe).
type Probe struct {
	Store    string
	Verdict  string
	Evidence []string
}

// Rebuild is a rebuild report (nixgate rebuild --format json) attached as
// a byproduct.
type Rebuild struct {
	SHA256  string
	Verdict string
	// Outputs are the store paths the report compared.
	Outputs []string
}

// Inputs is everything a statement says.
type Inputs struct {
	Subjects []Subject
	// Parameters are the external parameters (ParamFlake, ParamFile,
	// ParamAttribute, ParamStorePath), as the user chose them.
	Parameters map[string]string
	Source     *Source
	Lock       *flakelock.Lock
	NixVersion string
	System     string
	Probe      *Probe
	BuilderID  string
	// StartedOn and FinishedOn are the build's times (zero: omitted).
	StartedOn, FinishedOn time.Time
	Rebuild               *Rebuild
}

var hexRE = lazyre.New(`^[0-9a-f]+$`)

// LockDependencies returns the resolved dependencies for every node of a
// flake.lock but the root, sorted by node key: the locked URL, its rev as
// gitCommit (when it is one) and its narHash as sha256.
func LockDependencies(l *flakelock.Lock) ([]*v1.ResourceDescriptor, error) {
	var keys []string
	for k := range l.Nodes {
		if k != l.Root {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []*v1.ResourceDescriptor
	for _, k := range keys {
		n := l.Nodes[k]
		if n.Locked == nil {
			return nil, fmt.Errorf("flake.lock node %q has no locked reference", k)
		}
		rd := &v1.ResourceDescriptor{Name: LockNodePrefix + k, Uri: n.Locked.String(), Digest: map[string]string{}}
		if r := n.Locked.Rev; len(r) == 40 && hexRE().MatchString(r) {
			rd.Digest["gitCommit"] = r
		}
		if n.Locked.NarHash != "" {
			h, err := sbom.NarHashHex(n.Locked.NarHash)
			if err != nil {
				return nil, fmt.Errorf("flake.lock node %q: %w", k, err)
			}
			rd.Digest["sha256"] = h
			rd.MediaType = NarMediaType
		}
		if len(rd.Digest) == 0 {
			rd.Digest = nil
		}
		out = append(out, rd)
	}
	return out, nil
}

// Statement returns the statement's JSON: deterministic (sorted keys, two
// spaces of indentation, a final newline), so that the same inputs give
// the same bytes.
func Statement(in Inputs) ([]byte, error) {
	if len(in.Subjects) == 0 {
		return nil, errors.New("no subject")
	}
	if in.BuilderID == "" {
		return nil, errors.New("no builder id")
	}
	var subjects []*v1.ResourceDescriptor
	for _, s := range in.Subjects {
		rd := &v1.ResourceDescriptor{Name: s.Name, Digest: map[string]string{"sha256": s.SHA256}}
		if s.NAR {
			rd.MediaType = NarMediaType
		}
		subjects = append(subjects, rd)
	}
	slices.SortFunc(subjects, func(a, b *v1.ResourceDescriptor) int { return strings.Compare(a.Name, b.Name) })

	params := map[string]any{}
	for k, v := range in.Parameters {
		params[k] = v
	}
	ext, err := structpb.NewStruct(params)
	if err != nil {
		return nil, err
	}
	internal := map[string]any{}
	if in.NixVersion != "" {
		internal["nixVersion"] = in.NixVersion
	}
	if in.System != "" {
		internal["system"] = in.System
	}
	if p := in.Probe; p != nil {
		ev := make([]any, len(p.Evidence))
		for i, e := range p.Evidence {
			ev[i] = e
		}
		internal["sandboxProbe"] = map[string]any{"verdict": p.Verdict, "store": p.Store, "evidence": ev}
	}
	intl, err := structpb.NewStruct(internal)
	if err != nil {
		return nil, err
	}
	var deps []*v1.ResourceDescriptor
	if s := in.Source; s != nil {
		deps = append(deps, &v1.ResourceDescriptor{Name: SourceName, Uri: s.URI, Digest: map[string]string{"gitCommit": s.Commit}})
	}
	if in.Lock != nil {
		ld, err := LockDependencies(in.Lock)
		if err != nil {
			return nil, err
		}
		deps = append(deps, ld...)
	}
	run := &slsa.RunDetails{Builder: &slsa.Builder{Id: in.BuilderID}}
	if !in.StartedOn.IsZero() || !in.FinishedOn.IsZero() {
		run.Metadata = &slsa.BuildMetadata{}
		if !in.StartedOn.IsZero() {
			run.Metadata.StartedOn = timestamppb.New(in.StartedOn.UTC())
		}
		if !in.FinishedOn.IsZero() {
			run.Metadata.FinishedOn = timestamppb.New(in.FinishedOn.UTC())
		}
	}
	if r := in.Rebuild; r != nil {
		outs := make([]any, len(r.Outputs))
		for i, o := range r.Outputs {
			outs[i] = o
		}
		ann, err := structpb.NewStruct(map[string]any{"verdict": r.Verdict, "outputs": outs})
		if err != nil {
			return nil, err
		}
		run.Byproducts = append(run.Byproducts, &v1.ResourceDescriptor{
			Name: RebuildName, MediaType: "application/json", Digest: map[string]string{"sha256": r.SHA256}, Annotations: ann,
		})
	}
	pred := &slsa.Provenance{
		BuildDefinition: &slsa.BuildDefinition{
			BuildType:            BuildType,
			ExternalParameters:   ext,
			InternalParameters:   intl,
			ResolvedDependencies: deps,
		},
		RunDetails: run,
	}
	if err := pred.Validate(); err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	predJSON, err := protojson.Marshal(pred)
	if err != nil {
		return nil, err
	}
	predStruct := &structpb.Struct{}
	if err := protojson.Unmarshal(predJSON, predStruct); err != nil {
		return nil, err
	}
	st := &v1.Statement{Type: StatementType, Subject: subjects, PredicateType: PredicateType, Predicate: predStruct}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("statement: %w", err)
	}
	raw, err := protojson.Marshal(st)
	if err != nil {
		return nil, err
	}
	return canonical(raw)
}

// canonical re-encodes JSON with sorted keys and fixed indentation:
// protojson's output is deliberately unstable in its whitespace.
func canonical(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
