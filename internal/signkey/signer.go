package signkey

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Backends.
const (
	BackendNix   = "nix-key"
	BackendAge   = "age"
	BackendAgent = "ssh-agent"
)

// AgentPrefix marks a --key that names a key of the ssh-agent
// ("ssh-agent:", "ssh-agent:SHA256:…", "ssh-agent:FILE.pub" or
// "ssh-agent:COMMENT").
const AgentPrefix = "ssh-agent:"

// Signer signs with one private key. It implements dsse.Signer.
type Signer struct {
	Public  PublicKey
	Backend string
	sign    func(ctx context.Context, data []byte) ([]byte, error)
	close   func() error
}

// Sign implements dsse.Signer: Ed25519 signs the data itself; ECDSA (ASN.1
// DER) and RSA (PKCS #1 v1.5) sign its SHA-256.
func (s *Signer) Sign(ctx context.Context, data []byte) ([]byte, error) { return s.sign(ctx, data) }

// KeyID implements dsse.Signer.
func (s *Signer) KeyID() (string, error) { return s.Public.ID, nil }

// Close releases the backend (the agent connection).
func (s *Signer) Close() error {
	if s.close == nil {
		return nil
	}
	return s.close()
}

// Options are what the backends need from outside.
type Options struct {
	// Environ is the environment (SSH_AUTH_SOCK for the agent).
	Environ []string
	// Passphrase asks the operator for an age-encrypted key's passphrase.
	Passphrase func(prompt string) ([]byte, error)
}

// IsAgent reports whether a --key names an ssh-agent key.
func IsAgent(spec string) bool { return strings.HasPrefix(spec, AgentPrefix) }

// Open opens the key a --key names: an ssh-agent key (AgentPrefix), or a
// file holding a Nix secret key, in the clear or age-encrypted with a
// passphrase. The caller checks the file's mode first
// (ceremony.CheckKeyFile).
func Open(spec string, o Options) (*Signer, error) {
	if IsAgent(spec) {
		return openAgent(strings.TrimPrefix(spec, AgentPrefix), o)
	}
	data, err := readBounded(spec)
	if err != nil {
		return nil, err
	}
	backend := BackendNix
	if isAge(data) {
		if o.Passphrase == nil {
			return nil, errors.New("the key is age-encrypted and no terminal can ask for its passphrase")
		}
		pass, err := o.Passphrase(fmt.Sprintf("passphrase for %s: ", spec))
		if err != nil {
			return nil, err
		}
		if data, err = decryptAge(data, pass); err != nil {
			return nil, fmt.Errorf("decrypt %s: %w", spec, err)
		}
		backend = BackendAge
	}
	s, err := nixSecret(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec, err)
	}
	s.Backend = backend
	return s, nil
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("key file %s: more than %d bytes", path, maxKeyFile)
	}
	return data, nil
}

func isAge(data []byte) bool {
	return bytes.HasPrefix(data, []byte("age-encryption.org/")) || bytes.HasPrefix(bytes.TrimSpace(data), []byte(armor.Header))
}

func decryptAge(data, pass []byte) ([]byte, error) {
	id, err := age.NewScryptIdentity(string(pass))
	if err != nil {
		return nil, err
	}
	var r io.Reader = bytes.NewReader(data)
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte(armor.Header)) {
		r = armor.NewReader(bytes.NewReader(bytes.TrimSpace(data)))
	}
	dr, err := age.Decrypt(r, id)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(dr, maxKeyFile))
}

// scryptWorkFactor is age's default (tests lower it).
var scryptWorkFactor = 18

// EncryptAge encrypts data with a passphrase (scrypt), armored: how an
// operator keeps a Nix secret key on the signing machine (`age -p -a`
// writes the same format).
func EncryptAge(w io.Writer, data, pass []byte) error {
	r, err := age.NewScryptRecipient(string(pass))
	if err != nil {
		return err
	}
	r.SetWorkFactor(scryptWorkFactor)
	aw := armor.NewWriter(w)
	ew, err := age.Encrypt(aw, r)
	if err != nil {
		return err
	}
	if _, err := ew.Write(data); err != nil {
		return err
	}
	if err := ew.Close(); err != nil {
		return err
	}
	return aw.Close()
}

// nixSecret reads a Nix secret key ("name:BASE64" of the 64-byte Ed25519
// private key, as `nix key generate-secret` writes it).
func nixSecret(data []byte) (*Signer, error) {
	line := strings.TrimSpace(string(data))
	if strings.Contains(line, "\n") {
		return nil, errors.New("want one line: a Nix secret key (name:BASE64)")
	}
	name, b64, ok := strings.Cut(line, ":")
	if !ok || name == "" {
		return nil, errors.New("not a Nix secret key (want name:BASE64)")
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("Nix secret key %q: bad base64", name)
	}
	if len(raw) == ed25519.PublicKeySize {
		return nil, fmt.Errorf("%q is a Nix public key, not a secret key", name)
	}
	if len(raw) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("Nix secret key %q: %d bytes, want %d", name, len(raw), ed25519.PrivateKeySize)
	}
	priv := ed25519.PrivateKey(raw)
	// The key's second half must be the public key of its seed.
	if !bytes.Equal(ed25519.NewKeyFromSeed(priv.Seed()), priv) {
		return nil, fmt.Errorf("Nix secret key %q: its public half does not match its seed", name)
	}
	pub, err := newPublic(name, priv.Public())
	if err != nil {
		return nil, err
	}
	return &Signer{Public: pub, sign: func(_ context.Context, data []byte) ([]byte, error) {
		return ed25519.Sign(priv, data), nil
	}}, nil
}

// GenerateNix returns a new Nix secret key line and its public key line.
func GenerateNix(name string) (secret, public string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	return name + ":" + base64.StdEncoding.EncodeToString(priv), name + ":" + base64.StdEncoding.EncodeToString(pub), nil
}

func getenv(environ []string, name string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

// openAgent picks a key of the ssh-agent at SSH_AUTH_SOCK: the only one
// (sel ""), the one with fingerprint sel, the one in the public key file
// sel, or the one whose comment is sel.
func openAgent(sel string, o Options) (*Signer, error) {
	sock := getenv(o.Environ, "SSH_AUTH_SOCK")
	if sock == "" {
		return nil, errors.New("ssh-agent: SSH_AUTH_SOCK is not set")
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("ssh-agent: %w", err)
	}
	fail := func(err error) (*Signer, error) { conn.Close(); return nil, err }
	ag := agent.NewClient(conn)
	keys, err := ag.List()
	if err != nil {
		return fail(fmt.Errorf("ssh-agent: list keys: %w", err))
	}
	var want *PublicKey
	if sel != "" && !strings.HasPrefix(sel, "SHA256:") {
		if data, err := os.ReadFile(sel); err == nil {
			ks, err := ParsePublicKeys(data)
			if err != nil {
				return fail(fmt.Errorf("ssh-agent: %s: %w", sel, err))
			}
			want = &ks[0]
		}
	}
	var match []*agent.Key
	var have []string
	for _, k := range keys {
		fp := ssh.FingerprintSHA256(k)
		have = append(have, fp+" "+k.Comment)
		switch {
		case sel == "":
			match = append(match, k)
		case want != nil && fp == want.ID, fp == sel, want == nil && k.Comment == sel:
			match = append(match, k)
		}
	}
	switch {
	case len(match) == 0 && len(keys) == 0:
		return fail(errors.New("ssh-agent holds no key"))
	case len(match) == 0:
		return fail(fmt.Errorf("ssh-agent holds no key matching %q (it holds: %s)", sel, strings.Join(have, "; ")))
	case len(match) > 1:
		return fail(fmt.Errorf("ssh-agent holds %d keys: name one with --key ssh-agent:SHA256:… (it holds: %s)", len(match), strings.Join(have, "; ")))
	}
	k := match[0]
	pub, err := ssh.ParsePublicKey(k.Marshal())
	if err != nil {
		return fail(err)
	}
	if strings.HasPrefix(pub.Type(), "sk-") {
		return fail(fmt.Errorf("ssh-agent key %s is a FIDO security key (%s): its signatures wrap the message and DSSE verifiers do not accept them; use an Ed25519 or ECDSA key the agent holds (a token's PIV slot through its agent)", ssh.FingerprintSHA256(pub), pub.Type()))
	}
	cp, ok := pub.(ssh.CryptoPublicKey)
	if !ok {
		return fail(fmt.Errorf("ssh-agent key type %s is not supported", pub.Type()))
	}
	pk, err := newPublic(k.Comment, cp.CryptoPublicKey())
	if err != nil {
		return fail(err)
	}
	var flags agent.SignatureFlags
	if _, isRSA := pk.Key.(*rsa.PublicKey); isRSA {
		flags = agent.SignatureFlagRsaSha256
	}
	s := &Signer{Public: pk, Backend: BackendAgent, close: conn.Close}
	s.sign = func(_ context.Context, data []byte) ([]byte, error) {
		sig, err := ag.SignWithFlags(pub, data, flags)
		if err != nil {
			return nil, fmt.Errorf("ssh-agent: sign: %w", err)
		}
		return fromSSHSignature(pk, sig)
	}
	return s, nil
}

// fromSSHSignature converts an SSH signature blob to the raw form DSSE
// verifiers expect: Ed25519 and RSA as they are, ECDSA from SSH's pair of
// mpints to ASN.1 DER.
func fromSSHSignature(pk PublicKey, sig *ssh.Signature) ([]byte, error) {
	switch pk.Key.(type) {
	case ed25519.PublicKey:
		if sig.Format != ssh.KeyAlgoED25519 {
			return nil, fmt.Errorf("ssh-agent: signature format %s for an Ed25519 key", sig.Format)
		}
		return sig.Blob, nil
	case *rsa.PublicKey:
		if sig.Format != ssh.KeyAlgoRSASHA256 {
			return nil, fmt.Errorf("ssh-agent: signature format %s, want %s", sig.Format, ssh.KeyAlgoRSASHA256)
		}
		return sig.Blob, nil
	case *ecdsa.PublicKey:
		var rs struct{ R, S *big.Int }
		if err := ssh.Unmarshal(sig.Blob, &rs); err != nil {
			return nil, fmt.Errorf("ssh-agent: ECDSA signature: %w", err)
		}
		return asn1.Marshal(rs)
	}
	return nil, fmt.Errorf("ssh-agent: unsupported key type %T", pk.Key)
}
