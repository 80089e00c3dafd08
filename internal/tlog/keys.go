package tlog

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// Signature types of c2sp.org/signed-note.
const (
	algEd25519     = 0x01
	algCosignature = 0x04
)

func keyID(name string, alg byte, pub []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write([]byte{alg})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// GenerateLogKey makes a log's checkpoint signing key: an Ed25519 note key
// named after the origin (PRIVATE+KEY+ORIGIN+ID+BASE64) and its vkey.
func GenerateLogKey(origin string) (skey, vkey string, err error) {
	if !validName(origin) {
		return "", "", fmt.Errorf("origin %q: a key name has no space or plus", origin)
	}
	return note.GenerateKey(rand.Reader, origin)
}

// GenerateCosignerKey makes a witness's cosignature/v1 key: the same
// PRIVATE+KEY encoding as a note key with signature type 0x04, and its vkey.
func GenerateCosignerKey(name string) (skey, vkey string, err error) {
	if !validName(name) {
		return "", "", fmt.Errorf("witness name %q: a key name has no space or plus", name)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	id := keyID(name, algCosignature, pub)
	skey = fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", name, id, base64.StdEncoding.EncodeToString(append([]byte{algCosignature}, priv.Seed()...)))
	vkey = fmt.Sprintf("%s+%08x+%s", name, id, base64.StdEncoding.EncodeToString(append([]byte{algCosignature}, pub...)))
	return skey, vkey, nil
}

// splitVkey decodes NAME+ID+BASE64(TYPE || KEY) strictly.
func splitVkey(vkey string) (name string, id uint32, alg byte, key []byte, err error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	id16, b64, ok2 := strings.Cut(rest, "+")
	h, err1 := strconv.ParseUint(id16, 16, 32)
	raw, err2 := base64.StdEncoding.Strict().DecodeString(b64)
	if !ok1 || !ok2 || len(id16) != 8 || err1 != nil || err2 != nil || !validName(name) || len(raw) < 2 {
		return "", 0, 0, nil, fmt.Errorf("verifier key %.40q: want NAME+KEYID+BASE64", vkey)
	}
	return name, uint32(h), raw[0], raw[1:], nil
}

// NewLogVerifier reads a log's vkey (Ed25519, signature type 0x01).
func NewLogVerifier(vkey string) (note.Verifier, error) {
	_, _, alg, _, err := splitVkey(vkey)
	if err != nil {
		return nil, err
	}
	if alg != algEd25519 {
		return nil, fmt.Errorf("log key %s: signature type 0x%02x, want Ed25519 (0x01)", vkeyName(vkey), alg)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("log key %s: %w", vkeyName(vkey), err)
	}
	return v, nil
}

func vkeyName(vkey string) string { n, _, _ := strings.Cut(vkey, "+"); return n }

// LogSigner signs a log's checkpoints (Ed25519 note signatures).
type LogSigner struct {
	note.Signer
	vkey     string
	verifier note.Verifier
}

// NewLogSigner reads a log's private key (PRIVATE+KEY+ORIGIN+ID+BASE64,
// signature type 0x01). The error never contains the key.
func NewLogSigner(skey string) (*LogSigner, error) {
	skey = strings.TrimSpace(skey)
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("log private key: %w", err)
	}
	rest, _ := strings.CutPrefix(skey, "PRIVATE+KEY+")
	name, _, alg, seed, err := splitVkey(rest)
	if err != nil || alg != algEd25519 || len(seed) != ed25519.SeedSize {
		return nil, errors.New("log private key: want PRIVATE+KEY+NAME+KEYID+BASE64 of an Ed25519 seed")
	}
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		return nil, err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	return &LogSigner{Signer: s, vkey: vkey, verifier: v}, nil
}

// Vkey is the log's verifier key.
func (s *LogSigner) Vkey() string { return s.vkey }

// Verifier is the log's verifier.
func (s *LogSigner) Verifier() note.Verifier { return s.verifier }

// Cosigner signs checkpoints with a cosignature/v1 (c2sp.org/tlog-cosignature).
type Cosigner struct {
	name string
	id   uint32
	key  ed25519.PrivateKey
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// NewCosigner reads a witness private key made by GenerateCosignerKey.
func NewCosigner(skey string) (*Cosigner, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(skey), "PRIVATE+KEY+")
	if !ok {
		return nil, errors.New("witness private key: want PRIVATE+KEY+NAME+KEYID+BASE64")
	}
	name, id, alg, seed, err := splitVkey(rest)
	if err != nil {
		return nil, errors.New("witness private key: want PRIVATE+KEY+NAME+KEYID+BASE64")
	}
	if alg != algCosignature || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("witness private key %s: not a cosignature/v1 Ed25519 key (type 0x04)", name)
	}
	k := ed25519.NewKeyFromSeed(seed)
	if keyID(name, algCosignature, k.Public().(ed25519.PublicKey)) != id {
		return nil, fmt.Errorf("witness private key %s: key ID does not match the key", name)
	}
	return &Cosigner{name: name, id: id, key: k}, nil
}

// Name is the witness's key name.
func (s *Cosigner) Name() string { return s.name }

// KeyHash is the key ID.
func (s *Cosigner) KeyHash() uint32 { return s.id }

// Vkey is the cosigner's verifier key.
func (s *Cosigner) Vkey() string {
	return fmt.Sprintf("%s+%08x+%s", s.name, s.id, base64.StdEncoding.EncodeToString(append([]byte{algCosignature}, s.key.Public().(ed25519.PublicKey)...)))
}

// Sign returns timestamp || Ed25519 signature over the cosigned message
// for the checkpoint text msg.
func (s *Cosigner) Sign(msg []byte) ([]byte, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	t := now().Unix()
	if t <= 0 {
		return nil, errors.New("cosign: clock before 1970")
	}
	sig := make([]byte, 8, 8+ed25519.SignatureSize)
	binary.BigEndian.PutUint64(sig, uint64(t))
	return append(sig, ed25519.Sign(s.key, cosignedMessage(uint64(t), msg))...), nil
}

func cosignedMessage(t uint64, text []byte) []byte {
	return append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", t)), text...)
}

// CosignatureVerifier verifies cosignature/v1 signatures.
type CosignatureVerifier struct {
	name string
	id   uint32
	key  ed25519.PublicKey
}

// NewCosignatureVerifier reads a witness's vkey (signature type 0x04).
func NewCosignatureVerifier(vkey string) (*CosignatureVerifier, error) {
	name, id, alg, key, err := splitVkey(vkey)
	if err != nil {
		return nil, err
	}
	if alg != algCosignature || len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("witness key %s: signature type 0x%02x, want an Ed25519 cosignature/v1 key (0x04)", name, alg)
	}
	if keyID(name, alg, key) != id {
		return nil, fmt.Errorf("witness key %s: key ID %08x does not match the key", name, id)
	}
	return &CosignatureVerifier{name: name, id: id, key: key}, nil
}

// Name is the witness's key name.
func (v *CosignatureVerifier) Name() string { return v.name }

// KeyHash is the key ID.
func (v *CosignatureVerifier) KeyHash() uint32 { return v.id }

// Verify checks a cosignature over the checkpoint text msg.
func (v *CosignatureVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	if t > math.MaxInt64 || t == 0 {
		return false
	}
	if _, err := ParseCheckpoint(string(msg)); err != nil {
		return false
	}
	return ed25519.Verify(v.key, cosignedMessage(t, msg), sig[8:])
}

// CosignatureTime returns the timestamp of a cosignature line's signature
// (base64 of key ID || timestamp || signature).
func CosignatureTime(b64 string) (time.Time, error) {
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(raw) != 4+8+ed25519.SignatureSize {
		return time.Time{}, errors.New("not a cosignature/v1 signature")
	}
	return time.Unix(int64(binary.BigEndian.Uint64(raw[4:12])), 0).UTC(), nil
}
