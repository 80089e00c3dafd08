package cacheverify

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/nixgate/nixgate/internal/narinfo"
)

// Decider decides whether a path is trusted, from its narinfo and what
// its signatures showed, before any NAR byte is fetched. The default is
// SignaturePolicy (k of n distinct trusted keys). This is the seam for
// other trust sources: `cache verify --log URL --policy FILE` (the
// build-claim log) will decide with a Decider that consults the log's
// claims for the path's NAR hash.
type Decider interface {
	Decide(ctx context.Context, c *Candidate) (*Decision, error)
}

// Candidate is what a Decider sees of a path.
type Candidate struct {
	StorePath   string
	NarInfo     *narinfo.NarInfo
	Fingerprint string
	// Signers is the signature check against the trusted keys.
	Signers *narinfo.Signers
	// Store is the cache's URI.
	Store string
}

// Decision is a trust decision: the verdict (OK, UNTRUSTED or FORGED)
// and why, with which keys were required and which signed.
type Decision struct {
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
	// Required is how many distinct trusted keys must sign.
	Required int `json:"required"`
	// Trusted are the names of the trusted keys.
	Trusted []string `json:"trusted"`
	// Valid are the trusted keys that signed validly.
	Valid []string `json:"valid"`
	// SignedBy are the key names of every Sig line, trusted or not.
	SignedBy []string `json:"signedBy"`
	// Forged are the Sig lines that name a trusted key and do not verify.
	Forged []narinfo.SigCheck `json:"forged,omitempty"`
	// CacheRequired are the cache's RequiredSignatures key names missing
	// a valid signature.
	CacheMissing []string `json:"cacheMissing,omitempty"`
}

// SignaturePolicy trusts a path signed validly by Require distinct
// trusted key names; a Sig line naming a trusted key that does not verify
// makes it FORGED whatever else signed. The cache's own requirement
// (nix-cache-info RequiredSignatures, RequireAllSignatures) can only
// tighten it: the keys it names must sign too (one of them, or all).
type SignaturePolicy struct {
	Keys    *narinfo.Keys
	Require int
	// CacheKeys are the cache's RequiredSignatures; CacheAll its
	// RequireAllSignatures.
	CacheKeys *narinfo.Keys
	CacheAll  bool
	StoreDir  string
}

// Decide implements Decider.
func (sp *SignaturePolicy) Decide(ctx context.Context, c *Candidate) (*Decision, error) {
	s := c.Signers
	d := &Decision{Required: sp.Require, Trusted: sp.Keys.Names(), Valid: s.Valid, SignedBy: s.Present(), Forged: s.Forged()}
	if d.SignedBy == nil {
		d.SignedBy = []string{}
	}
	if len(d.Forged) > 0 {
		var parts []string
		for _, f := range d.Forged {
			part := fmt.Sprintf("Sig line %d claims the trusted key %s but does not verify", f.Line, f.KeyName)
			if f.Status == narinfo.SigForged && f.Detail != "" && !strings.HasPrefix(f.Detail, "does not verify") {
				part += " (" + f.Detail + ")"
			}
			parts = append(parts, part)
		}
		d.Verdict, d.Reason = Forged, strings.Join(parts, "; ")
		return d, nil
	}
	if sp.CacheKeys != nil && sp.CacheKeys.Len() > 0 {
		cs := sp.CacheKeys.Check(c.NarInfo, sp.StoreDir)
		for _, n := range sp.CacheKeys.Names() {
			if !cs.SignedBy(n) {
				d.CacheMissing = append(d.CacheMissing, n)
			}
		}
		if cf := cs.Forged(); len(cf) > 0 {
			d.Verdict = Forged
			d.Reason = fmt.Sprintf("Sig line %d claims %s, a key the cache's nix-cache-info requires, but does not verify", cf[0].Line, cf[0].KeyName)
			return d, nil
		}
		if (sp.CacheAll && len(d.CacheMissing) > 0) || (!sp.CacheAll && len(d.CacheMissing) == sp.CacheKeys.Len()) {
			need := "one of"
			if sp.CacheAll {
				need = "all of"
			}
			d.Verdict = Untrusted
			d.Reason = fmt.Sprintf("the cache's nix-cache-info requires a signature by %s %s; missing: %s", need, strings.Join(sp.CacheKeys.Names(), ", "), strings.Join(d.CacheMissing, ", "))
			return d, nil
		}
	}
	if len(s.Valid) >= sp.Require {
		d.Verdict = OK
		d.Reason = fmt.Sprintf("signed by %d distinct trusted key(s) (%s); %d required", len(s.Valid), orNone(s.Valid), sp.Require)
		return d, nil
	}
	var untrusted []string
	for _, n := range d.SignedBy {
		if !sp.Keys.Has(n) {
			untrusted = append(untrusted, n)
		}
	}
	reason := fmt.Sprintf("%d of %d required distinct trusted key(s) signed: valid %s", len(s.Valid), sp.Require, orNone(s.Valid))
	var missing []string
	for _, n := range d.Trusted {
		if !slices.Contains(s.Valid, n) {
			missing = append(missing, n)
		}
	}
	reason += "; not signed by " + orNone(missing)
	if len(untrusted) > 0 {
		reason += "; also signed by untrusted " + strings.Join(untrusted, ", ")
	}
	if dups := countStatus(s, narinfo.SigDuplicate); dups > 0 {
		reason += fmt.Sprintf("; %d duplicate Sig line(s) counted once", dups)
	}
	d.Verdict, d.Reason = Untrusted, reason
	return d, nil
}

func countStatus(s *narinfo.Signers, status string) int {
	n := 0
	for _, c := range s.Sigs {
		if c.Status == status {
			n++
		}
	}
	return n
}

func orNone(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	return strings.Join(ss, ", ")
}
