package tlog

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/nixgate/nixgate/internal/claim"
)

// MaxPolicySize bounds a policy file.
const MaxPolicySize = 1 << 20

// Policy is a c2sp.org/tlog-policy file: the logs, the witnesses, their
// groups and the quorum, extended by nixgate with the builders whose claims
// count and the k-of-n rule over them:
//
//	builder NAME NIX-PUBLIC-KEY
//	builder-group NAME all|any|K MEMBER...
//	trust NAME
//
// Builder and builder-group lines follow the rules of witness and group
// lines (a group refers only to names defined above it, each member at most
// once, 1 <= K <= n); `trust` names the builder or builder group whose
// agreement makes a store path trusted, as `quorum` names the witnesses
// whose cosignatures make a checkpoint valid. All names share one namespace.
type Policy struct {
	Logs      []PolicyLog
	Witnesses []PolicyWitness
	Builders  []PolicyBuilder
	// Quorum is the witness or group whose cosignature is required;
	// "none" requires none.
	Quorum string
	// Trust is the builder or builder group for k-of-n decisions; "" when
	// the policy has no trust line.
	Trust string

	groups map[string]*policyGroup
	kinds  map[string]string // name -> "witness", "group", "builder", "builder-group"
}

// PolicyLog is a log line.
type PolicyLog struct {
	Vkey     string
	URL      string
	Verifier note.Verifier
}

// PolicyWitness is a witness line.
type PolicyWitness struct {
	Name     string
	Vkey     string
	URL      string
	Verifier *CosignatureVerifier
}

// PolicyBuilder is a builder line.
type PolicyBuilder struct {
	Name string
	Key  claim.PublicKey
}

type policyGroup struct {
	k       int
	members []string
}

// PolicyError is a policy syntax or consistency error at a line.
type PolicyError struct {
	Line int
	Msg  string
}

func (e *PolicyError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// ParsePolicy reads a policy file.
func ParsePolicy(data []byte) (*Policy, error) {
	if len(data) > MaxPolicySize {
		return nil, fmt.Errorf("policy: %d bytes, more than %d", len(data), MaxPolicySize)
	}
	p := &Policy{groups: map[string]*policyGroup{}, kinds: map[string]string{}}
	keys := map[string]int{} // raw public key -> line
	quorumLine := 0
	for i, raw := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		for _, c := range raw {
			if c < 0x20 && c != '\t' || c == 0x7f {
				if c == '\r' {
					return nil, &PolicyError{n, "carriage return: the policy file uses newlines only"}
				}
				return nil, &PolicyError{n, fmt.Sprintf("control character 0x%02x", c)}
			}
		}
		f := strings.FieldsFunc(string(raw), func(r rune) bool { return r == ' ' || r == '\t' })
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		fail := func(format string, args ...any) error { return &PolicyError{n, fmt.Sprintf(format, args...)} }
		define := func(name, kind string) error {
			if name == "none" {
				return fail("the name none is predefined")
			}
			if k, ok := p.kinds[name]; ok {
				return fail("%s %q is already defined (as a %s)", kind, name, k)
			}
			if len(p.kinds) >= 4096 {
				return fail("more than 4096 names")
			}
			p.kinds[name] = kind
			return nil
		}
		dup := func(pub []byte) error {
			if l, ok := keys[string(pub)]; ok {
				return fail("the same public key as line %d", l)
			}
			keys[string(pub)] = n
			return nil
		}
		switch f[0] {
		case "log":
			if len(f) < 2 || len(f) > 3 {
				return nil, fail("want log VKEY [URL]")
			}
			v, err := NewLogVerifier(f[1])
			if err != nil {
				return nil, fail("%v", err)
			}
			_, _, _, pub, _ := splitVkey(f[1])
			if err := dup(pub); err != nil {
				return nil, err
			}
			l := PolicyLog{Vkey: f[1], Verifier: v}
			if len(f) == 3 {
				l.URL = f[2]
			}
			p.Logs = append(p.Logs, l)
		case "witness":
			if len(f) < 3 || len(f) > 4 {
				return nil, fail("want witness NAME VKEY [URL]")
			}
			v, err := NewCosignatureVerifier(f[2])
			if err != nil {
				return nil, fail("%v", err)
			}
			if err := define(f[1], "witness"); err != nil {
				return nil, err
			}
			if err := dup(v.key); err != nil {
				return nil, err
			}
			w := PolicyWitness{Name: f[1], Vkey: f[2], Verifier: v}
			if len(f) == 4 {
				w.URL = f[3]
			}
			p.Witnesses = append(p.Witnesses, w)
		case "builder":
			if len(f) != 3 {
				return nil, fail("want builder NAME NIX-PUBLIC-KEY")
			}
			k, err := claim.ParsePublicKey(f[2])
			if err != nil {
				return nil, fail("%v", err)
			}
			if err := define(f[1], "builder"); err != nil {
				return nil, err
			}
			if err := dup(k.Key); err != nil {
				return nil, err
			}
			for _, b := range p.Builders {
				if b.Key.Name == k.Name {
					return nil, fail("builders %s and %s have keys of the same name %q: claims name their key, so the names must differ", b.Name, f[1], k.Name)
				}
			}
			p.Builders = append(p.Builders, PolicyBuilder{Name: f[1], Key: k})
		case "group", "builder-group":
			memberKinds := map[string][]string{"group": {"witness", "group"}, "builder-group": {"builder", "builder-group"}}[f[0]]
			if len(f) < 4 {
				return nil, fail("want %s NAME all|any|K MEMBER...", f[0])
			}
			members := f[3:]
			seen := map[string]bool{}
			for _, m := range members {
				if seen[m] {
					return nil, fail("member %q listed twice", m)
				}
				seen[m] = true
				if m == "none" {
					return nil, fail("none cannot be a group member")
				}
				k, ok := p.kinds[m]
				if !ok {
					return nil, fail("member %q is not defined above", m)
				}
				if !slices.Contains(memberKinds, k) {
					return nil, fail("member %q is a %s; a %s lists %s", m, k, f[0], strings.Join(memberKinds, "s and "))
				}
			}
			g := &policyGroup{members: members}
			switch f[2] {
			case "all":
				g.k = len(members)
			case "any":
				g.k = 1
			default:
				k, err := strconv.Atoi(f[2])
				if err != nil || strconv.Itoa(k) != f[2] || k < 1 || k > len(members) {
					return nil, fail("threshold %q: want all, any or 1..%d", f[2], len(members))
				}
				g.k = k
			}
			if err := define(f[1], f[0]); err != nil {
				return nil, err
			}
			p.groups[f[1]] = g
		case "quorum":
			if len(f) != 2 {
				return nil, fail("want quorum NAME")
			}
			if quorumLine != 0 {
				return nil, fail("a second quorum line (the first is line %d)", quorumLine)
			}
			if k := p.kinds[f[1]]; f[1] != "none" && k != "witness" && k != "group" {
				return nil, fail("quorum %q is not a witness or group defined above", f[1])
			}
			p.Quorum, quorumLine = f[1], n
		case "trust":
			if len(f) != 2 {
				return nil, fail("want trust NAME")
			}
			if p.Trust != "" {
				return nil, fail("a second trust line")
			}
			if k := p.kinds[f[1]]; k != "builder" && k != "builder-group" {
				return nil, fail("trust %q is not a builder or builder-group defined above", f[1])
			}
			p.Trust = f[1]
		default:
			return nil, fail("unknown keyword %q (want log, witness, group, quorum, builder, builder-group, trust)", f[0])
		}
	}
	if quorumLine == 0 {
		return nil, &PolicyError{1, "no quorum line (write `quorum none` to require no witness)"}
	}
	return p, nil
}

// LogVerifier returns the verifier of the log with origin, if listed.
func (p *Policy) LogVerifier(origin string) (note.Verifier, bool) {
	for _, l := range p.Logs {
		if l.Verifier.Name() == origin {
			return l.Verifier, true
		}
	}
	return nil, false
}

// CosignatureVerifiers returns every witness's verifier.
func (p *Policy) CosignatureVerifiers() []note.Verifier {
	var out []note.Verifier
	for _, w := range p.Witnesses {
		out = append(out, w.Verifier)
	}
	return out
}

// QuorumMet reports whether the witnesses named in cosigned meet the quorum.
func (p *Policy) QuorumMet(cosigned map[string]bool) bool {
	if p.Quorum == "none" {
		return true
	}
	return p.met(p.Quorum, cosigned)
}

// TrustMet reports whether the builders named in agreeing meet the trust
// rule. A policy without a trust line trusts nothing.
func (p *Policy) TrustMet(agreeing map[string]bool) bool {
	return p.Trust != "" && p.met(p.Trust, agreeing)
}

func (p *Policy) met(name string, have map[string]bool) bool {
	g, ok := p.groups[name]
	if !ok {
		return have[name]
	}
	n := 0
	for _, m := range g.members {
		if p.met(m, have) {
			n++
		}
	}
	return n >= g.k
}

// Describe renders a name's rule, such as "2 of (A, B, C)".
func (p *Policy) Describe(name string) string {
	g, ok := p.groups[name]
	if !ok {
		return name
	}
	parts := make([]string, len(g.members))
	for i, m := range g.members {
		parts[i] = p.Describe(m)
	}
	return fmt.Sprintf("%d of (%s)", g.k, strings.Join(parts, ", "))
}

// Builder returns the policy builder whose key has the given key name.
func (p *Policy) Builder(keyName string) (PolicyBuilder, bool) {
	for _, b := range p.Builders {
		if b.Key.Name == keyName {
			return b, true
		}
	}
	return PolicyBuilder{}, false
}
