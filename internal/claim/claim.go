// Package claim owns the build claim: the versioned text leaf of the
// build-claim log, in which a builder states, under a genuine Nix signature,
// which NAR it produced for a store path.
//
// A claim is
//
//	nixgate build-claim v1
//	fingerprint 1;/nix/store/…-hello-2.12;sha256:<nix32>;<nar size>;<sorted refs>
//	deriver /nix/store/…-hello-2.12.drv
//	builder builder-a.example.org-1
//	sig builder-a.example.org-1:<base64 ed25519 signature of the fingerprint>
//
// The fingerprint line is the narinfo fingerprint Nix signs and verifies
// (libstore's ValidPathInfo::fingerprint), so the sig line is, byte for byte,
// a narinfo Sig line: any claim turns back into a narinfo that
// `nix store verify --sigs-needed` accepts. The deriver line is
// informational (Nix does not sign it) and may be absent. Every line ends
// in a newline; the encoding is canonical: Parse accepts only what Marshal
// writes, so a claim has exactly one byte representation and one leaf hash.
package claim

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nix-community/go-nix/pkg/nixbase32"
	"github.com/nix-community/go-nix/pkg/storepath"
)

// Header is the first line of a version 1 claim.
const Header = "nixgate build-claim v1"

// MaxSize is the largest encoded claim: C2SP entry bundles prefix each entry
// with a 16-bit length.
const MaxSize = 65535

// Claim is one builder's statement about one store path.
type Claim struct {
	StorePath  string   // /nix/store/<hash>-<name>
	NarHash    string   // sha256:<nix32>, as in the fingerprint
	NarSize    uint64   // bytes of the NAR
	References []string // full store paths, sorted, without duplicates
	Deriver    string   // informational; "" when unknown
	Builder    string   // the name of the builder's Nix key
	Sig        string   // NAME:BASE64, the narinfo Sig value
}

// Fingerprint is the text Nix signs: 1;PATH;HASH;SIZE;REF,REF,...
func (c *Claim) Fingerprint() string {
	return "1;" + c.StorePath + ";" + c.NarHash + ";" + strconv.FormatUint(c.NarSize, 10) + ";" + strings.Join(c.References, ",")
}

// Marshal returns the claim's canonical encoding.
func (c *Claim) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(Header + "\n")
	b.WriteString("fingerprint " + c.Fingerprint() + "\n")
	if c.Deriver != "" {
		b.WriteString("deriver " + c.Deriver + "\n")
	}
	b.WriteString("builder " + c.Builder + "\n")
	b.WriteString("sig " + c.Sig + "\n")
	return b.Bytes()
}

// SyntaxError is a malformed claim: the line (1-based) and what was wrong.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("claim line %d: %s", e.Line, e.Msg) }

// Parse reads a claim in its canonical encoding. It checks the syntax of
// every field; it does not check the signature (see Verify).
func Parse(data []byte) (*Claim, error) {
	if len(data) > MaxSize {
		return nil, &SyntaxError{1, fmt.Sprintf("claim is %d bytes, more than %d", len(data), MaxSize)}
	}
	if len(data) == 0 || data[len(data)-1] != '\n' {
		return nil, &SyntaxError{1, "claim must end in a newline"}
	}
	lines := strings.Split(string(data[:len(data)-1]), "\n")
	n := 0
	next := func(key string) (string, *SyntaxError) {
		if n >= len(lines) {
			return "", &SyntaxError{n + 1, fmt.Sprintf("missing %q line", key)}
		}
		l := lines[n]
		n++
		v, ok := strings.CutPrefix(l, key+" ")
		if !ok {
			return "", &SyntaxError{n, fmt.Sprintf("want a %q line", key)}
		}
		return v, nil
	}
	if lines[0] != Header {
		return nil, &SyntaxError{1, fmt.Sprintf("want %q", Header)}
	}
	n = 1
	fp, serr := next("fingerprint")
	if serr != nil {
		return nil, serr
	}
	c := &Claim{}
	if err := c.parseFingerprint(fp); err != nil {
		return nil, &SyntaxError{2, err.Error()}
	}
	if n < len(lines) && strings.HasPrefix(lines[n], "deriver ") {
		c.Deriver = strings.TrimPrefix(lines[n], "deriver ")
		n++
		if err := checkStorePath(c.Deriver); err != nil || !strings.HasSuffix(c.Deriver, ".drv") {
			return nil, &SyntaxError{n, fmt.Sprintf("deriver %q is not a .drv store path", c.Deriver)}
		}
	}
	if c.Builder, serr = next("builder"); serr != nil {
		return nil, serr
	}
	if !validKeyName(c.Builder) {
		return nil, &SyntaxError{n, fmt.Sprintf("builder key name %q is not a Nix key name", c.Builder)}
	}
	if c.Sig, serr = next("sig"); serr != nil {
		return nil, serr
	}
	name, _, err := splitKey(c.Sig, ed25519.SignatureSize)
	if err != nil {
		return nil, &SyntaxError{n, "sig: " + err.Error()}
	}
	if name != c.Builder {
		return nil, &SyntaxError{n, fmt.Sprintf("sig is by key %q, the builder line names %q", name, c.Builder)}
	}
	if n != len(lines) {
		return nil, &SyntaxError{n + 1, "unexpected line after sig"}
	}
	return c, nil
}

// parseFingerprint fills the signed fields from a fingerprint.
func (c *Claim) parseFingerprint(fp string) error {
	parts := strings.Split(fp, ";")
	if len(parts) != 5 || parts[0] != "1" {
		return fmt.Errorf("fingerprint must be 1;PATH;sha256:HASH;SIZE;REFS")
	}
	c.StorePath = parts[1]
	if err := checkStorePath(c.StorePath); err != nil {
		return fmt.Errorf("fingerprint: %v", err)
	}
	c.NarHash = parts[2]
	h, ok := strings.CutPrefix(c.NarHash, "sha256:")
	if !ok || len(h) != nixbase32.EncodedLen(32) || nixbase32.ValidateString(h) != nil {
		return fmt.Errorf("fingerprint: NAR hash %q is not sha256:<52 nix32 characters>", c.NarHash)
	}
	size, err := strconv.ParseUint(parts[3], 10, 64)
	if err != nil || strconv.FormatUint(size, 10) != parts[3] {
		return fmt.Errorf("fingerprint: NAR size %q is not a decimal number without leading zeros", parts[3])
	}
	c.NarSize = size
	if parts[4] != "" {
		c.References = strings.Split(parts[4], ",")
	}
	for i, r := range c.References {
		if err := checkStorePath(r); err != nil {
			return fmt.Errorf("fingerprint: reference %d: %v", i+1, err)
		}
		if i > 0 && c.References[i-1] >= r {
			return fmt.Errorf("fingerprint: references must be sorted and distinct (%s after %s)", r, c.References[i-1])
		}
	}
	return nil
}

func checkStorePath(p string) error {
	if _, err := storepath.FromAbsolutePath(p); err != nil || storepath.Validate(p) != nil {
		return fmt.Errorf("%q is not a /nix/store path", p)
	}
	return nil
}

// validKeyName reports whether s can be the name of a Nix signing key: Nix
// splits NAME:BASE64 at the first colon, and the name lands in narinfo Sig
// lines and in claims, so it has no colon, space or control character.
func validKeyName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == ':' || r == 0x7f || r > 0x7e {
			return false
		}
	}
	return true
}

// splitKey decodes NAME:BASE64 with exactly size bytes. Hand-written rather
// than go-nix's signature package because the base64 must be strict: a
// lenient decoder ignores the padding bits, so two encodings would carry one
// signature and a flipped bit could go unnoticed.
func splitKey(s string, size int) (string, []byte, error) {
	name, b64, ok := strings.Cut(s, ":")
	if !ok || !validKeyName(name) {
		return "", nil, fmt.Errorf("want NAME:BASE64 with a key name before the colon")
	}
	data, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil {
		return "", nil, fmt.Errorf("key %s: bad base64", name)
	}
	if len(data) != size {
		return "", nil, fmt.Errorf("key %s: %d bytes, want %d", name, len(data), size)
	}
	return name, data, nil
}

// PublicKey is a Nix public key (`nix key convert-secret-to-public`).
type PublicKey struct {
	Name string
	Key  ed25519.PublicKey
}

// String is the key in Nix's NAME:BASE64 form.
func (k PublicKey) String() string { return k.Name + ":" + base64.StdEncoding.EncodeToString(k.Key) }

// ParsePublicKey reads a Nix public key, NAME:BASE64 of 32 bytes.
func ParsePublicKey(s string) (PublicKey, error) {
	name, data, err := splitKey(strings.TrimSpace(s), ed25519.PublicKeySize)
	if err != nil {
		return PublicKey{}, fmt.Errorf("parse Nix public key: %w", err)
	}
	return PublicKey{Name: name, Key: data}, nil
}

// SecretKey is a Nix secret key (`nix key generate-secret`).
type SecretKey struct {
	Name string
	key  ed25519.PrivateKey
}

// ParseSecretKey reads a Nix secret key, NAME:BASE64 of 64 bytes (seed and
// public key). The error never contains the key.
func ParseSecretKey(s string) (SecretKey, error) {
	name, data, err := splitKey(strings.TrimSpace(s), ed25519.PrivateKeySize)
	if err != nil {
		return SecretKey{}, fmt.Errorf("parse Nix secret key: %w", err)
	}
	k := ed25519.PrivateKey(data)
	if !bytes.Equal(ed25519.NewKeyFromSeed(k.Seed()), k) {
		return SecretKey{}, fmt.Errorf("parse Nix secret key %s: the public half does not match the seed", name)
	}
	return SecretKey{Name: name, key: k}, nil
}

// GenerateKey makes a new Nix key pair, as `nix key generate-secret` does.
func GenerateKey(name string) (SecretKey, PublicKey, error) {
	if !validKeyName(name) {
		return SecretKey{}, PublicKey{}, fmt.Errorf("key name %q has a colon, space or control character", name)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return SecretKey{}, PublicKey{}, err
	}
	return SecretKey{Name: name, key: priv}, PublicKey{Name: name, Key: pub}, nil
}

// String is the key in Nix's NAME:BASE64 form (a secret: never print it).
func (k SecretKey) String() string { return k.Name + ":" + base64.StdEncoding.EncodeToString(k.key) }

// Public returns the key's public half.
func (k SecretKey) Public() PublicKey {
	return PublicKey{Name: k.Name, Key: k.key.Public().(ed25519.PublicKey)}
}

// Facts are what a builder knows about an output: Nix's path info.
type Facts struct {
	StorePath  string
	NarHash    string // sha256:<nix32>, or SRI sha256-<base64>
	NarSize    uint64
	References []string
	Deriver    string
}

// New signs the facts with key and returns the claim. References are
// sorted and deduplicated; an SRI NAR hash is converted to nix32.
func New(f Facts, key SecretKey) (*Claim, error) {
	h, err := NormalizeNarHash(f.NarHash)
	if err != nil {
		return nil, err
	}
	refs := slices.Clone(f.References)
	slices.Sort(refs)
	refs = slices.Compact(refs)
	c := &Claim{StorePath: f.StorePath, NarHash: h, NarSize: f.NarSize, References: refs, Deriver: f.Deriver, Builder: key.Name}
	sig := ed25519.Sign(key.key, []byte(c.Fingerprint()))
	c.Sig = key.Name + ":" + base64.StdEncoding.EncodeToString(sig)
	// Parse checks every field, so that New never makes a claim the log
	// refuses.
	if _, err := Parse(c.Marshal()); err != nil {
		return nil, err
	}
	return c, nil
}

// NormalizeNarHash turns sha256:<nix32>, sha256:<hex> or SRI sha256-<base64>
// into sha256:<nix32>, the form of the fingerprint.
func NormalizeNarHash(h string) (string, error) {
	var digest []byte
	switch {
	case strings.HasPrefix(h, "sha256-"):
		d, err := base64.StdEncoding.Strict().DecodeString(h[len("sha256-"):])
		if err != nil {
			return "", fmt.Errorf("NAR hash %q: bad base64", h)
		}
		digest = d
	case strings.HasPrefix(h, "sha256:") && len(h) == 7+64:
		d, err := decodeHex(h[7:])
		if err != nil {
			return "", fmt.Errorf("NAR hash %q: %v", h, err)
		}
		digest = d
	case strings.HasPrefix(h, "sha256:"):
		d, err := nixbase32.DecodeString(h[7:])
		if err != nil {
			return "", fmt.Errorf("NAR hash %q: %v", h, err)
		}
		digest = d
	default:
		return "", fmt.Errorf("NAR hash %q is not a sha256 hash", h)
	}
	if len(digest) != 32 {
		return "", fmt.Errorf("NAR hash %q: %d bytes, want 32", h, len(digest))
	}
	return "sha256:" + nixbase32.EncodeToString(digest), nil
}

func decodeHex(s string) ([]byte, error) {
	out := make([]byte, len(s)/2)
	for i := range out {
		v, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil, errors.New("bad hex")
		}
		out[i] = byte(v)
	}
	return out, nil
}

// ErrBadSignature means the claim's signature does not verify with the key
// of its builder.
var ErrBadSignature = errors.New("signature does not verify")

// Verify checks the claim's signature with key, which must carry the
// builder's key name.
func (c *Claim) Verify(key PublicKey) error {
	if key.Name != c.Builder {
		return fmt.Errorf("claim by %q checked with key %q", c.Builder, key.Name)
	}
	_, sig, err := splitKey(c.Sig, ed25519.SignatureSize)
	if err != nil {
		return err
	}
	if !ed25519.Verify(key.Key, []byte(c.Fingerprint()), sig) {
		return fmt.Errorf("claim by %s for %s: %w", c.Builder, c.StorePath, ErrBadSignature)
	}
	return nil
}

// HashPart is the store path's hash part, the name of its narinfo.
func HashPart(storePath string) string {
	base := strings.TrimPrefix(storePath, storepath.StoreDir+"/")
	h, _, _ := strings.Cut(base, "-")
	return h
}

// Narinfo renders the narinfo fields the claims agree on, with every
// claim's Sig line (never re-signed). All claims must carry the same
// fingerprint. url, compression, fileHash and fileSize are the NAR file's,
// from the binary cache that holds it ("" and 0 to leave them out).
func Narinfo(claims []*Claim, url, compression, fileHash string, fileSize uint64) ([]byte, error) {
	if len(claims) == 0 {
		return nil, errors.New("narinfo: no claims")
	}
	c0 := claims[0]
	var b bytes.Buffer
	fmt.Fprintf(&b, "StorePath: %s\n", c0.StorePath)
	if url != "" {
		fmt.Fprintf(&b, "URL: %s\n", url)
		fmt.Fprintf(&b, "Compression: %s\n", orNone(compression))
	}
	if fileHash != "" {
		fmt.Fprintf(&b, "FileHash: %s\nFileSize: %d\n", fileHash, fileSize)
	}
	fmt.Fprintf(&b, "NarHash: %s\nNarSize: %d\n", c0.NarHash, c0.NarSize)
	refs := make([]string, len(c0.References))
	for i, r := range c0.References {
		refs[i] = strings.TrimPrefix(r, storepath.StoreDir+"/")
	}
	fmt.Fprintf(&b, "References: %s\n", strings.Join(refs, " "))
	if c0.Deriver != "" {
		fmt.Fprintf(&b, "Deriver: %s\n", strings.TrimPrefix(c0.Deriver, storepath.StoreDir+"/"))
	}
	for _, c := range claims {
		if c.Fingerprint() != c0.Fingerprint() {
			return nil, fmt.Errorf("narinfo: claims by %s and %s disagree", c0.Builder, c.Builder)
		}
		fmt.Fprintf(&b, "Sig: %s\n", c.Sig)
	}
	return b.Bytes(), nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
