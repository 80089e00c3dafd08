package narinfo

import (
	"crypto/ed25519"
	"fmt"
	"slices"
	"strings"

	"github.com/nix-community/go-nix/pkg/narinfo/signature"
)

// Nix keys and signatures are NAME:BASE64. go-nix's signature package
// parses them, but with encoding/base64's lenient decoder (non-zero
// trailing bits and embedded newlines pass), and Nix's own decoder stops
// at the first "=" and ignores trailing bits: one signature can be written
// in several ways, and Nix, which keeps Sig lines in a set of strings,
// then counts it once per spelling. Here a key or signature is accepted
// only in its one canonical spelling (what go-nix prints back), and
// signatures are counted per distinct trusted key name.

// PublicKey is a named ed25519 public key.
type PublicKey struct {
	Name string
	Key  ed25519.PublicKey
}

func (k PublicKey) String() string { return signature.PublicKey{Name: k.Name, Data: k.Key}.String() }

// Signature is a named ed25519 signature.
type Signature struct {
	KeyName string
	Data    []byte
}

func (s Signature) String() string {
	return signature.Signature{Name: s.KeyName, Data: s.Data}.String()
}

func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("empty key name")
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Errorf("key name %q has a space or control character", name)
	}
	return nil
}

// ParsePublicKey reads NAME:BASE64 (a 32-byte ed25519 key, canonical
// base64), as printed by `nix key convert-secret-to-public`.
func ParsePublicKey(s string) (PublicKey, error) {
	k, err := signature.ParsePublicKey(s)
	if err != nil {
		return PublicKey{}, fmt.Errorf("public key %q: %w", trunc(s), err)
	}
	if err := checkName(k.Name); err != nil {
		return PublicKey{}, fmt.Errorf("public key %q: %w", trunc(s), err)
	}
	if k.String() != s {
		return PublicKey{}, fmt.Errorf("public key %q: not canonical base64", trunc(s))
	}
	return PublicKey{Name: k.Name, Key: k.Data}, nil
}

// ParseSignature reads NAME:BASE64 (a 64-byte ed25519 signature,
// canonical base64).
func ParseSignature(s string) (Signature, error) {
	sig, err := signature.ParseSignature(s)
	if err != nil {
		if name, data, ok := strings.Cut(s, ":"); ok && len(nixBase64Decode(data)) == ed25519.SignatureSize {
			return Signature{}, fmt.Errorf("not canonical base64: Nix 2.8 decodes it to a signature by %s and counts each spelling of one as another signature", name)
		}
		return Signature{}, err
	}
	if err := checkName(sig.Name); err != nil {
		return Signature{}, err
	}
	if sig.String() != s {
		return Signature{}, fmt.Errorf("not canonical base64 (Nix would read it as another spelling of %s)", trunc(sig.String()))
	}
	return Signature{KeyName: sig.Name, Data: sig.Data}, nil
}

// Keys is a set of trusted keys by name.
type Keys struct{ byName map[string]PublicKey }

// NewKeys builds a key set. Two different keys with the same name are an
// error (Nix keeps the last one silently).
func NewKeys(keys []PublicKey) (*Keys, error) {
	k := &Keys{byName: map[string]PublicKey{}}
	for _, p := range keys {
		if old, ok := k.byName[p.Name]; ok && !old.Key.Equal(p.Key) {
			return nil, fmt.Errorf("two different trusted keys are named %q", p.Name)
		}
		k.byName[p.Name] = p
	}
	return k, nil
}

// ParseKeys parses NAME:BASE64 keys into a set.
func ParseKeys(ss []string) (*Keys, error) {
	var ks []PublicKey
	for _, s := range ss {
		k, err := ParsePublicKey(s)
		if err != nil {
			return nil, err
		}
		ks = append(ks, k)
	}
	return NewKeys(ks)
}

// Names returns the key names, sorted.
func (k *Keys) Names() []string {
	var out []string
	for n := range k.byName {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Len is the number of keys.
func (k *Keys) Len() int { return len(k.byName) }

// Has reports whether a key of that name is trusted.
func (k *Keys) Has(name string) bool { _, ok := k.byName[name]; return ok }

// Sig statuses.
const (
	SigValid     = "valid"     // a trusted key, verifies
	SigForged    = "forged"    // names a trusted key, does not verify
	SigUntrusted = "untrusted" // a key that is not trusted (not checked)
	SigMalformed = "malformed" // not NAME:BASE64 of a 64-byte signature
	SigDuplicate = "duplicate" // a second valid signature by a key already counted
)

// SigCheck is what one Sig line is worth.
type SigCheck struct {
	KeyName string `json:"keyName"`
	Status  string `json:"status"`
	Line    int    `json:"line"`
	Detail  string `json:"detail,omitempty"`
}

// Signers is the result of checking a narinfo's Sig lines.
type Signers struct {
	// Valid are the distinct trusted key names with a valid signature,
	// sorted.
	Valid []string   `json:"valid"`
	Sigs  []SigCheck `json:"sigs"`
	keys  map[string]bool
}

// Forged lists the Sig lines that name a trusted key and do not verify.
func (s *Signers) Forged() []SigCheck {
	var out []SigCheck
	for _, c := range s.Sigs {
		if c.Status == SigForged {
			out = append(out, c)
		}
	}
	return out
}

// SignedBy reports whether a trusted key of that name signed validly.
func (s *Signers) SignedBy(name string) bool { return s.keys[name] }

// Present returns the key names of every Sig line, sorted, with their
// status: what signed, trusted or not.
func (s *Signers) Present() []string {
	var out []string
	for _, c := range s.Sigs {
		out = append(out, c.KeyName)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Check verifies every Sig line of n over its fingerprint. A signature
// counts once per distinct trusted key name, however many lines carry it.
func (k *Keys) Check(n *NarInfo, storeDir string) *Signers {
	fp := []byte(n.Fingerprint(storeDir))
	s := &Signers{Valid: []string{}, Sigs: []SigCheck{}, keys: map[string]bool{}}
	for _, line := range n.Sigs {
		c := SigCheck{Line: line.Line}
		switch {
		case line.Signature == nil:
			c.Status, c.Detail = SigMalformed, line.Err.Error()
			c.KeyName, _, _ = strings.Cut(line.Raw, ":")
			if k.Has(c.KeyName) {
				// It claims a trusted key and is not one of its
				// signatures (a re-spelling of one is tampering too).
				c.Status = SigForged
			}
		default:
			c.KeyName = line.Signature.KeyName
			key, trusted := k.byName[c.KeyName]
			switch {
			case !trusted:
				c.Status = SigUntrusted
			case !ed25519.Verify(key.Key, fp, line.Signature.Data):
				c.Status = SigForged
				c.Detail = "does not verify over the fingerprint with the trusted key " + c.KeyName
			case s.keys[c.KeyName]:
				c.Status = SigDuplicate
			default:
				c.Status = SigValid
				s.keys[c.KeyName] = true
				s.Valid = append(s.Valid, c.KeyName)
			}
		}
		s.Sigs = append(s.Sigs, c)
	}
	slices.Sort(s.Valid)
	return s
}

// nixBase64Decode decodes base64 as Nix 2.8's base64Decode does: it stops
// at the first "=", skips newlines and ignores the bits left over. It is
// used only to explain why a Sig line is refused.
func nixBase64Decode(s string) []byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var out []byte
	var d, bits uint
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '=' {
			break
		}
		if c == '\n' {
			continue
		}
		v := strings.IndexByte(alphabet, c)
		if v < 0 {
			return nil
		}
		d = d<<6 | uint(v)
		bits += 6
		if bits >= 8 {
			out = append(out, byte(d>>(bits-8)))
			bits -= 8
		}
	}
	return out
}
