package provenance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/envelope"
	"github.com/nixgate/nixgate/internal/flakelock"
	"github.com/nixgate/nixgate/internal/signkey"
)

// Artifact is what nixgate verify checks the provenance of: a file (its
// SHA-256) or a store path (the SHA-256 of its NAR).
type Artifact struct {
	Name   string
	SHA256 string
	NAR    bool
}

// Evidence is the input of the provenance checks (check.ScopeProvenance):
// the envelope, the trusted keys and what the statement must match.
type Evidence struct {
	EnvelopePath string
	Envelope     *dsse.Envelope
	Keys         []signkey.PublicKey
	// Require is how many distinct trusted keys must have signed.
	Require  int
	Artifact Artifact
	// Lock, when set, is the flake.lock the resolved dependencies must
	// match (--lock), read from LockPath.
	Lock     *flakelock.Lock
	LockPath string
	// Commit, when set, is the commit the source must be (--commit).
	Commit string

	sigOnce sync.Once
	sig     *envelope.Result
	sigErr  error

	stOnce sync.Once
	st     *Parsed
	stErr  error
}

// EvidenceOf returns the pass's evidence.
func EvidenceOf(p *check.Pass) (*Evidence, error) {
	e, ok := p.Input.(*Evidence)
	if !ok || e == nil || e.Envelope == nil {
		return nil, errors.New("no provenance envelope to verify (provenance checks run under `nixgate verify`)")
	}
	return e, nil
}

// Signatures verifies the envelope's signatures once.
func (e *Evidence) Signatures(ctx context.Context) (*envelope.Result, error) {
	e.sigOnce.Do(func() { e.sig, e.sigErr = envelope.Verify(ctx, e.Envelope, e.Keys, max(1, e.Require)) })
	return e.sig, e.sigErr
}

// ErrNoStatement is wrapped when the payload is not a statement nixgate
// can judge: the checks that read the statement report nothing then, and
// provenance-statement says why.
var ErrNoStatement = errors.New("no statement")

// Statement parses the payload once. It fails when the payload is not an
// in-toto statement with a SLSA Provenance v1 predicate.
func (e *Evidence) Statement() (*Parsed, error) {
	e.stOnce.Do(func() {
		body, err := e.Envelope.DecodeB64Payload()
		if err != nil {
			e.stErr = err
			return
		}
		p, err := Parse(body)
		if err != nil {
			e.stErr = err
			return
		}
		if p.Provenance == nil {
			e.stErr = fmt.Errorf("predicate type is %q, not %q", p.Statement.GetPredicateType(), PredicateType)
			return
		}
		e.st = p
	})
	return e.st, e.stErr
}

// SubjectProblem says why no subject of the statement is the artifact,
// or "" when one is.
func SubjectProblem(st *Parsed, a Artifact) string {
	var names []string
	for _, s := range st.Statement.GetSubject() {
		d := strings.ToLower(s.GetDigest()["sha256"])
		if d == a.SHA256 {
			if a.NAR && s.GetMediaType() != NarMediaType {
				return fmt.Sprintf("subject %s has the store path's NAR hash but is not marked as a NAR (mediaType %q)", s.GetName(), s.GetMediaType())
			}
			return ""
		}
		names = append(names, s.GetName()+" (sha256:"+short(d)+")")
	}
	what := "sha256"
	if a.NAR {
		what = "NAR hash"
	}
	return fmt.Sprintf("no subject has the %s of %s (%s:%s); the statement's subjects: %s", what, a.Name, what, short(a.SHA256), strings.Join(names, ", "))
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

// KeyMatches reports whether a policy's key name matches a key: its name,
// its key ID, or its key ID without the "SHA256:" prefix.
func KeyMatches(want string, k signkey.PublicKey) bool {
	return want == k.Name || want == k.ID || "SHA256:"+want == k.ID
}

// BuilderProblem says why the statement's builder is not allowed or not
// vouched for by a key that signed, or "" when it is. builders maps each
// allowed builder id to the names or IDs of the keys that may sign for
// it; an empty map allows every builder.
func BuilderProblem(st *Parsed, builders map[string][]string, accepted []signkey.PublicKey) string {
	if len(builders) == 0 {
		return ""
	}
	id := st.BuilderID()
	keys, ok := builders[id]
	if !ok {
		allowed := make([]string, 0, len(builders))
		for b := range builders {
			allowed = append(allowed, b)
		}
		slices.Sort(allowed)
		return fmt.Sprintf("builder %q is not an allowed builder (allowed: %s)", id, strings.Join(allowed, ", "))
	}
	// With no trusted signature at all, provenance-signature says so.
	if len(keys) == 0 || len(accepted) == 0 {
		return ""
	}
	for _, k := range accepted {
		for _, want := range keys {
			if KeyMatches(want, k) {
				return ""
			}
		}
	}
	return fmt.Sprintf("builder %q is vouched for by %s, but the statement was signed by %s", id, strings.Join(keys, ", "), envelope.KeyLabels(accepted))
}

// AllowedParameters are the external parameters a policy allows: values
// match exactly, or by prefix when the pattern ends in '*'. An empty list
// allows any value.
type AllowedParameters struct {
	Flakes     []string
	Files      []string
	Attributes []string
}

func matchAny(pats []string, v string) bool {
	if len(pats) == 0 {
		return true
	}
	for _, p := range pats {
		if pre, ok := strings.CutSuffix(p, "*"); ok && strings.HasPrefix(v, pre) || p == v {
			return true
		}
	}
	return false
}

// ParameterProblems lists the external parameters that are foreign to
// nixgate or not in the allowed set, sorted by name.
func ParameterProblems(st *Parsed, allow AllowedParameters) []string {
	params := st.ExternalParameters()
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	slices.Sort(names)
	var out []string
	for _, k := range names {
		v, isString := params[k].(string)
		if !slices.Contains(KnownParameters, k) {
			out = append(out, fmt.Sprintf("external parameter %q is not one nixgate attest writes (%s): a statement with parameters the verifier does not know may describe a different build", k, strings.Join(KnownParameters, ", ")))
			continue
		}
		if !isString {
			out = append(out, fmt.Sprintf("external parameter %q is not a string", k))
			continue
		}
		var pats []string
		switch k {
		case ParamFlake:
			pats = allow.Flakes
		case ParamFile:
			pats = allow.Files
		case ParamAttribute:
			pats = allow.Attributes
		}
		if !matchAny(pats, v) {
			out = append(out, fmt.Sprintf("external parameter %s = %q is not allowed (allowed: %s)", k, v, strings.Join(pats, ", ")))
		}
	}
	return out
}

// LockProblem is a difference between the statement and a flake.lock.
type LockProblem struct {
	// Node is the lock node's key ("" for a dependency the lock lacks).
	Node    string
	Line    int
	Message string
}

// LockProblems compares the statement's flake.lock dependencies with a
// flake.lock: every node must be there with the same URL and digests, and
// no other.
func LockProblems(st *Parsed, l *flakelock.Lock) ([]LockProblem, error) {
	want, err := LockDependencies(l)
	if err != nil {
		return nil, err
	}
	got := map[string]string{}
	for _, d := range st.Dependencies() {
		if strings.HasPrefix(d.GetName(), LockNodePrefix) {
			got[d.GetName()] = describe(d.GetUri(), d.GetDigest())
		}
	}
	var out []LockProblem
	for _, w := range want {
		key := strings.TrimPrefix(w.GetName(), LockNodePrefix)
		line := 0
		if n := l.Nodes[key]; n != nil {
			line = n.Line
		}
		g, ok := got[w.GetName()]
		wd := describe(w.GetUri(), w.GetDigest())
		switch {
		case !ok:
			out = append(out, LockProblem{Node: key, Line: line, Message: fmt.Sprintf("input %s (%s) is not among the statement's resolved dependencies", key, w.GetUri())})
		case g != wd:
			out = append(out, LockProblem{Node: key, Line: line, Message: fmt.Sprintf("input %s differs: the statement has %s, the lock has %s", key, g, wd)})
		}
		delete(got, w.GetName())
	}
	extra := make([]string, 0, len(got))
	for k := range got {
		extra = append(extra, k)
	}
	slices.Sort(extra)
	for _, k := range extra {
		out = append(out, LockProblem{Message: fmt.Sprintf("the statement has input %s (%s), which the lock does not", strings.TrimPrefix(k, LockNodePrefix), got[k])})
	}
	return out, nil
}

func describe(uri string, digest map[string]string) string {
	keys := make([]string, 0, len(digest))
	for k := range digest {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	s := uri
	for _, k := range keys {
		s += " " + k + ":" + digest[k]
	}
	return s
}

// CommitProblem says why the statement's source commit is not commit (a
// full hex commit), or "" when it is.
func CommitProblem(st *Parsed, commit string) string {
	var have []string
	for _, d := range st.Dependencies() {
		if d.GetName() != SourceName {
			continue
		}
		c := d.GetDigest()["gitCommit"]
		if strings.EqualFold(c, commit) {
			return ""
		}
		have = append(have, c)
	}
	if len(have) == 0 {
		return fmt.Sprintf("the statement names no source commit; want %s", commit)
	}
	return fmt.Sprintf("the source commit is %s, not %s", strings.Join(have, ", "), commit)
}
