package secrets

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"math/big"
	"path"
	"strings"
)

// Well-known public test keys. Test suites publish private keys on
// purpose: nixpkgs' "snakeoil" SSH keys in NixOS VM tests, the example
// keys of agenix and sops-nix that their users copy into their own tests.
// Such a key in a repository is not a leak, but it is worth a line: it is
// reported at Info, named. Keys are recognised by their public half (the
// SHA-256 of the SSH public key blob, of the PKIX public key, of the age
// recipient or the Nix public key), so this file holds no private key.

// knownTestKeys maps a key's public identity (see keyIdentity) to the
// name of the suite that publishes it.
var knownTestKeys = map[string]string{
	// nixpkgs nixos/tests/ssh-keys.nix: snakeOilPrivateKey (ECDSA: the
	// older key, then RFC 9500's test key) and snakeOilEd25519PrivateKey
	// (the older key, then OpenSSH's fuzz-harness fixed key).
	"ssh:+oCBm1A1Mzt3CuOnz392raccJznodBlQkGTcQQa5HUg": "nixpkgs snakeOilPrivateKey",
	"ssh:iZ7NQZ++u9TDmrQaukZrn52DebZINaNol/CuKDOF50E": "nixpkgs snakeOilPrivateKey (RFC 9500 test key)",
	"ssh:MV6uRX8zYMMqHjVqfcr+yczwXUujYhbLbKZ1d8V+brY": "nixpkgs snakeOilEd25519PrivateKey",
	"ssh:dvIRknqyjjIuB+lGouUaT4x+VncAYZFI15UvWXtIYIc": "nixpkgs snakeOilEd25519PrivateKey (OpenSSH test key)",
	// nixpkgs nixos/modules/profiles/keys/ssh_host_ed25519_key, the host
	// key of NixOS test and installer images.
	"ssh:73nCAX7tESRWJ4ZN8RkOlqB+0bgxKVmbNRUcFPbXMkE": "nixpkgs profiles/keys/ssh_host_ed25519_key",
	// agenix example_keys/ (user1, system1).
	"ssh:V3XmEKMdnyfwkBMqLxmqvB+sxNXcFr31f50KlIhRqxk": "agenix example key user1",
	"ssh:KLPP80PUyKSWMqbh9a+fZt6/2PCXUBwBuBdg5fJd0kc": "agenix example key system1",
	// sops-nix's test keys (pkgs/sops-install-secrets/test-assets) and
	// the example keys of its README.
	"ssh:Na4VNhJQwiTr6kYtY9aUBVP1MIB1b9ju2XYQnMkXduo":                      "sops-nix test key ssh-ed25519-key",
	"ssh:QP4Xxc3j2/jowpUveiKsZMqLaMsKG8o09uhiRDCHubI":                      "sops-nix test key ssh-key",
	"ssh:Ll10EixegNFnpCeclBBbGRz3qSBJacvpNfiEzV3CJQs":                      "sops-nix README example key",
	"age:22e2b483e91b9ae33c4f24dc1fe07a01b064f404c70230ec872cc678fd66f556": "sops-nix test key age-keys.txt",
	"pgp:719fb181aeb28a6486ed01122de17c4db142b0940d8be32c7844ac8e8e1efe9f": "sops-nix test key key.asc",
	// The identities age's own manual pages and usage text show, and the
	// one of the C2SP age test vectors (c2sp.org/CCTV/age).
	"age:437319e37dbfc0d2a1147afb3f94a32e9fff8963ba7a19ecc7a46155cb9b7c78": "age manual example identity (age(1))",
	"age:fb08c775d61bf789ce73c7517e4fad182dbe24b9d51fe3148553cc6084fad626": "age manual example identity (age-keygen(1))",
	"age:36dcec3f5f24739a0c8b36cbb4ffa25729a94a51d41fb205a37419fe7f5adb2a": "C2SP age test vectors identity",
	"pgp:7c0c03b1d1b337fc6ae6bb8687bc18f0df1860158458d151651343f4ef51ab24": "sops-nix test key ssh-key.asc",
	// Nix's libstore unit-test signing key.
	"nix:ac0593c749e83ad7fbb6a1cee620e7b07ee018d55d41897df686899368327627": "Nix libstore test key test-key",
}

// docExampleKeys are private keys published as examples in manuals. In a
// documentation file they are the example (Info); anywhere else someone
// copied the example into a configuration, and a key the whole world
// holds signs nothing: those keep their rule's severity, with the note.
var docExampleKeys = map[string]string{
	// The Nix manual's `nix key generate-secret` and
	// `nix key convert-secret-to-public` pages (cache.example.org-0).
	"nix:b5578754c68568a8bc962786044ae649c10ebb195224b03b78ee883eb4f55467": "the Nix manual's example key cache.example.org-0",
}

// isDocumentation reports whether a path is a documentation file, by its
// extension.
func isDocumentation(p string) bool {
	switch strings.ToLower(path.Ext(p)) {
	case ".md", ".markdown", ".rst", ".adoc", ".asciidoc", ".org", ".texi", ".html", ".htm":
		return true
	}
	return false
}

// publishedKey names who publishes a private key: a test suite
// (knownTestKeys) or, with docExample, a manual (docExampleKeys); "" when
// nobody does. The key's identity is computed once for both tables.
func publishedKey(secret string) (name string, docExample bool) {
	id := keyIdentity(secret)
	if id == "" {
		return "", false
	}
	if name := knownTestKeys[id]; name != "" {
		return name, false
	}
	name = docExampleKeys[id]
	return name, name != ""
}

// keyIdentity is a private key's public identity: "ssh:" and the unpadded
// base64 SHA-256 of the public key blob (as `ssh-keygen -l` prints) for
// OpenSSH and PEM EC, RSA and ed25519 keys, "age:" and the recipient's hex
// for an age identity, "nix:" and the public half's hex for a Nix key,
// "pgp:" and the hex SHA-256 of the armored body for a PGP key block (a
// public test key's whole body is public).
func keyIdentity(secret string) string {
	s := strings.TrimSpace(secret)
	switch {
	case strings.HasPrefix(s, "AGE-SECRET-KEY-1"):
		priv, ok := bech32Decode(s)
		if !ok || len(priv) != 32 {
			return ""
		}
		k, err := ecdh.X25519().NewPrivateKey(priv)
		if err != nil {
			return ""
		}
		return "age:" + hex.EncodeToString(k.PublicKey().Bytes())
	case strings.Contains(s, "-----BEGIN"):
		typ, body := pemBody(s)
		der, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return ""
		}
		switch typ {
		case "OPENSSH PRIVATE KEY":
			if blob := opensshPublicBlob(der); blob != nil {
				return sshIdentity(blob)
			}
			return ""
		case "PGP PRIVATE KEY BLOCK":
			// The armored body without its checksum line.
			h := sha256.Sum256(der)
			return "pgp:" + hex.EncodeToString(h[:])
		}
		if blob := pemPublicBlob(typ, der); blob != nil {
			return sshIdentity(blob)
		}
		return ""
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		s = s[i+1:]
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && NixKeyPair(b) {
		return "nix:" + hex.EncodeToString(b[32:])
	}
	return ""
}

func sshIdentity(blob []byte) string {
	h := sha256.Sum256(blob)
	return "ssh:" + base64.RawStdEncoding.EncodeToString(h[:])
}

// pemBody returns a PEM block's type and its base64 body with blanks and
// escaped line breaks (a key inside a JSON string) removed.
func pemBody(s string) (typ, body string) {
	s = strings.NewReplacer(`\\r\\n`, "\n", `\\n`, "\n", `\r\n`, "\n", `\r`, "\n", `\n`, "\n").Replace(s)
	_, rest, _ := strings.Cut(s, "-----BEGIN ")
	typ, rest, _ = strings.Cut(rest, "-----")
	rest, _, _ = strings.Cut(rest, "-----END")
	var b strings.Builder
	for _, line := range strings.Split(rest, "\n") {
		line = strings.TrimSpace(line)
		if strings.Contains(line, ":") { // Proc-Type, DEK-Info, Comment headers
			continue
		}
		if strings.HasPrefix(typ, "PGP") && strings.HasPrefix(line, "=") { // armor checksum
			continue
		}
		b.WriteString(line)
	}
	return typ, strings.TrimRight(b.String(), "'\"")
}

// opensshPublicBlob reads the public key blob of an openssh-key-v1 file.
func opensshPublicBlob(der []byte) []byte {
	const magic = "openssh-key-v1\x00"
	if !bytes.HasPrefix(der, []byte(magic)) {
		return nil
	}
	p := der[len(magic):]
	str := func() ([]byte, bool) {
		if len(p) < 4 {
			return nil, false
		}
		n := binary.BigEndian.Uint32(p)
		if uint64(n) > uint64(len(p)-4) {
			return nil, false
		}
		v := p[4 : 4+n]
		p = p[4+n:]
		return v, true
	}
	for i := 0; i < 3; i++ { // ciphername, kdfname, kdfoptions
		if _, ok := str(); !ok {
			return nil
		}
	}
	if len(p) < 4 || binary.BigEndian.Uint32(p) < 1 {
		return nil
	}
	p = p[4:]
	blob, ok := str()
	if !ok {
		return nil
	}
	return blob
}

// opensshEncrypted reports whether an openssh-key-v1 body is protected by
// a passphrase (its cipher is not "none").
func opensshEncrypted(der []byte) bool {
	const magic = "openssh-key-v1\x00"
	if !bytes.HasPrefix(der, []byte(magic)) || len(der) < len(magic)+4 {
		return false
	}
	p := der[len(magic):]
	n := binary.BigEndian.Uint32(p)
	if uint64(n) > uint64(len(p)-4) {
		return false
	}
	return string(p[4:4+n]) != "none"
}

// pemPublicBlob derives the SSH wire-format public key of a PEM private
// key (PKCS#1 RSA, SEC 1 EC, PKCS#8).
func pemPublicBlob(typ string, der []byte) []byte {
	var key any
	var err error
	switch typ {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(der)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(der)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(der)
	default:
		return nil
	}
	if err != nil {
		return nil
	}
	return sshPublicBlob(key)
}

// bech32Decode decodes the data part of a bech32 string (checksum
// checked) into 8-bit bytes.
func bech32Decode(s string) ([]byte, bool) {
	if !bech32Valid(s) {
		return nil, false
	}
	s = strings.ToLower(s)
	data := s[strings.LastIndexByte(s, '1')+1:]
	data = data[:len(data)-6]
	var out []byte
	acc, bits := 0, 0
	for i := 0; i < len(data); i++ {
		v := strings.IndexByte(bech32Charset, data[i])
		acc = acc<<5 | v
		bits += 5
		for bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
		acc &= 1<<bits - 1
	}
	return out, true
}

// sshPublicBlob is the SSH wire format (RFC 4253 §6.6, RFC 5656 §3.1,
// RFC 8709) of a private key's public half. Written here rather than
// imported: these few lines are all nixgate needs of an SSH library.
func sshPublicBlob(key any) []byte {
	var b []byte
	str := func(v []byte) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	mpint := func(v []byte) {
		v = bytes.TrimLeft(v, "\x00")
		if len(v) > 0 && v[0]&0x80 != 0 {
			v = append([]byte{0}, v...)
		}
		str(v)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		str([]byte("ssh-rsa"))
		mpint(big.NewInt(int64(k.E)).Bytes())
		mpint(k.N.Bytes())
	case *ecdsa.PrivateKey:
		pub, err := k.PublicKey.ECDH()
		if err != nil {
			return nil
		}
		curve := map[string]string{"P-256": "nistp256", "P-384": "nistp384", "P-521": "nistp521"}[k.Curve.Params().Name]
		if curve == "" {
			return nil
		}
		str([]byte("ecdsa-sha2-" + curve))
		str([]byte(curve))
		str(pub.Bytes())
	case ed25519.PrivateKey:
		str([]byte("ssh-ed25519"))
		str(k.Public().(ed25519.PublicKey))
	default:
		return nil
	}
	return b
}
