// Package signkey holds the keys of the signing ceremony: the private key
// backends `nixgate sign` signs with (a Nix secret key file, an
// age-encrypted Nix secret key file, a key held by an ssh-agent, which is
// how hardware tokens are reached) and the public keys `nixgate verify`
// trusts (Nix public keys, OpenSSH public keys, PEM). Every key is known by
// its key ID, the SHA-256 fingerprint OpenSSH prints ("SHA256:…"), which is
// also DSSE's default key ID, so that an envelope verifies with any of the
// key's public forms (and with cosign).
package signkey

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// PublicKey is a key nixgate verify trusts.
type PublicKey struct {
	// Name is the Nix key name or the OpenSSH comment; "" for PEM.
	Name string
	// ID is the SHA-256 fingerprint ("SHA256:…").
	ID  string
	Key crypto.PublicKey
}

// KeyID implements dsse.Verifier.
func (k PublicKey) KeyID() (string, error) { return k.ID, nil }

// Public implements dsse.Verifier.
func (k PublicKey) Public() crypto.PublicKey { return k.Key }

// Label is how reports name the key: its name and ID.
func (k PublicKey) Label() string {
	if k.Name == "" {
		return k.ID
	}
	return k.Name + " (" + k.ID + ")"
}

// Verify implements dsse.Verifier: Ed25519 over the data; ECDSA (ASN.1
// DER) and RSA (PKCS #1 v1.5) over its SHA-256.
func (k PublicKey) Verify(_ context.Context, data, sig []byte) error {
	switch pub := k.Key.(type) {
	case ed25519.PublicKey:
		if ed25519.Verify(pub, data, sig) {
			return nil
		}
	case *ecdsa.PublicKey:
		h := sha256.Sum256(data)
		if ecdsa.VerifyASN1(pub, h[:], sig) {
			return nil
		}
	case *rsa.PublicKey:
		h := sha256.Sum256(data)
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) == nil {
			return nil
		}
	default:
		return fmt.Errorf("unsupported key type %T", k.Key)
	}
	return errors.New("signature does not verify")
}

// Fingerprint returns the SHA-256 fingerprint of a public key, as OpenSSH
// prints it.
func Fingerprint(pub crypto.PublicKey) (string, error) {
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", err
	}
	return ssh.FingerprintSHA256(sp), nil
}

func newPublic(name string, pub crypto.PublicKey) (PublicKey, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
	case *ecdsa.PublicKey:
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return PublicKey{}, fmt.Errorf("RSA key of %d bits: want at least 2048", k.N.BitLen())
		}
	default:
		return PublicKey{}, fmt.Errorf("unsupported key type %T (want Ed25519, ECDSA or RSA)", pub)
	}
	id, err := Fingerprint(pub)
	if err != nil {
		return PublicKey{}, err
	}
	return PublicKey{Name: name, ID: id, Key: pub}, nil
}

// maxKeyFile bounds a key file.
const maxKeyFile = 1 << 20

// ParsePublicKeys reads public keys: Nix public keys ("name:BASE64", one a
// line, as `nix key convert-secret-to-public` prints them), OpenSSH public
// keys (authorized_keys lines) or PEM "PUBLIC KEY" blocks. Lines starting
// with # and blank lines are skipped. Errors name the line.
func ParsePublicKeys(data []byte) ([]PublicKey, error) {
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("%d bytes: more than a key file holds", len(data))
	}
	if bytes.Contains(data, []byte("-----BEGIN")) {
		return parsePEM(data)
	}
	var keys []PublicKey
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := parsePublicLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no public key found")
	}
	return keys, nil
}

func parsePublicLine(line string) (PublicKey, error) {
	if strings.HasPrefix(line, "ssh-") || strings.HasPrefix(line, "ecdsa-") || strings.HasPrefix(line, "sk-") {
		sp, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return PublicKey{}, fmt.Errorf("OpenSSH public key: %w", err)
		}
		if strings.HasPrefix(sp.Type(), "sk-") {
			return PublicKey{}, fmt.Errorf("%s keys (FIDO security keys) sign a wrapped message that DSSE verifiers do not accept: use an Ed25519 or ECDSA key held by the agent (a token's PIV slot, yubikey-agent, gpg-agent)", sp.Type())
		}
		cp, ok := sp.(ssh.CryptoPublicKey)
		if !ok {
			return PublicKey{}, fmt.Errorf("OpenSSH key type %s is not supported", sp.Type())
		}
		return newPublic(comment, cp.CryptoPublicKey())
	}
	name, b64, ok := strings.Cut(line, ":")
	if !ok || name == "" {
		return PublicKey{}, errors.New("want a Nix public key (name:BASE64), an OpenSSH public key or PEM")
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return PublicKey{}, fmt.Errorf("Nix public key %q: %w", name, err)
	}
	switch len(raw) {
	case ed25519.PublicKeySize:
		return newPublic(name, ed25519.PublicKey(raw))
	case ed25519.PrivateKeySize:
		return PublicKey{}, fmt.Errorf("%q is a Nix SECRET key: pass its public half (nix key convert-secret-to-public)", name)
	}
	return PublicKey{}, fmt.Errorf("Nix public key %q: %d bytes, want %d", name, len(raw), ed25519.PublicKeySize)
}

func parsePEM(data []byte) ([]PublicKey, error) {
	var keys []PublicKey
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("PEM block %q: want PUBLIC KEY", b.Type)
		}
		pub, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM public key: %w", err)
		}
		k, err := newPublic("", pub)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM public key found")
	}
	return keys, nil
}

// PEM returns the key as a PEM "PUBLIC KEY" block (what cosign reads).
func (k PublicKey) PEM() ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(k.Key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// NixFormat returns the key as a Nix public key line (Ed25519 only).
func (k PublicKey) NixFormat() (string, error) {
	pub, ok := k.Key.(ed25519.PublicKey)
	if !ok || k.Name == "" {
		return "", errors.New("only a named Ed25519 key has a Nix form")
	}
	return k.Name + ":" + base64.StdEncoding.EncodeToString(pub), nil
}

// SSHFormat returns the key as an authorized_keys line.
func (k PublicKey) SSHFormat() (string, error) {
	sp, err := ssh.NewPublicKey(k.Key)
	if err != nil {
		return "", err
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp)))
	if k.Name != "" {
		line += " " + k.Name
	}
	return line, nil
}
