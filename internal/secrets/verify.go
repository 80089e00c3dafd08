package secrets

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/base64"
	"hash/crc32"
	"strings"
	"sync/atomic"

	"filippo.io/edwards25519"

	"github.com/nixgate/nixgate/internal/check"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// GitHubChecksum is the 6-character checksum GitHub appends to the
// 30-character random part of its classic tokens (ghp_, gho_, ghu_, ghs_,
// ghr_): the CRC32 of that part in base62, left-padded with zeros.
func GitHubChecksum(body30 string) string {
	c := crc32.ChecksumIEEE([]byte(body30))
	var out [6]byte
	for i := 5; i >= 0; i-- {
		out[i] = base62[c%62]
		c /= 62
	}
	return string(out[:])
}

// verifyGitHubClassic checks a prefix_ + 36-character GitHub token offline.
func verifyGitHubClassic(tok string) Verdict {
	_, body, ok := strings.Cut(tok, "_")
	if !ok || isPlaceholder(body) {
		return Verdict{}
	}
	if len(body) != 36 {
		return Verdict{OK: true, Note: "no offline checksum for this format"}
	}
	if GitHubChecksum(body[:30]) == body[30:] {
		return Verdict{OK: true, Note: "checksum valid"}
	}
	return Verdict{OK: true, Severity: check.Low, Note: "token-shaped, checksum invalid"}
}

// isPlaceholder recognises filler such as xxxx…, 0000… or abcabc….
func isPlaceholder(s string) bool {
	if len(s) == 0 {
		return true
	}
	if entropy(s) < 2.5 {
		return true
	}
	l := strings.ToLower(s)
	for _, w := range []string{"xxxxxx", "example", "placeholder", "your", "redacted", "abcdefghij", "0123456789", "changeme"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// NixKeyPair reports whether b (64 bytes) is an ed25519 secret key as Nix
// stores it: a seed followed by the public key derived from it. A
// signature of the same shape fails the test.
func NixKeyPair(b []byte) bool {
	if len(b) != ed25519.PrivateKeySize {
		return false
	}
	return bytes.Equal(publicKey(b[:ed25519.SeedSize]), b[ed25519.SeedSize:])
}

// keyChecks counts the public keys derived so far (publicKey).
var keyChecks atomic.Int32

// publicKey derives the ed25519 public key of a seed. crypto/ed25519
// multiplies with a table of the base point's multiples that it builds
// on first use, which costs 0.75 ms, as much as 55 of its derivations;
// a multiplication without the table (filippo.io/edwards25519) costs
// 0.04 ms. Most scans meet no candidate or a few, so the first 16 go
// without the table and only a scan that meets more pays for it.
func publicKey(seed []byte) []byte {
	if keyChecks.Add(1) > 16 {
		return ed25519.NewKeyFromSeed(seed)[ed25519.SeedSize:]
	}
	h := sha512.Sum512(seed)
	s, err := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	if err != nil {
		return nil // cannot happen: the input is 32 bytes
	}
	return new(edwards25519.Point).ScalarMult(s, edwards25519.NewGeneratorPoint()).Bytes()
}

// verifyNixKey checks a "name:base64" Nix secret key (or a bare base64 one).
func verifyNixKey(s string) Verdict {
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		s = s[i+1:]
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || !NixKeyPair(b) {
		return Verdict{}
	}
	return Verdict{OK: true, Note: "ed25519 seed matches its public half"}
}

const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// bech32Valid checks the checksum of a bech32 string such as an age
// identity (case-insensitive).
func bech32Valid(s string) bool {
	s = strings.ToLower(s)
	sep := strings.LastIndexByte(s, '1')
	if sep < 1 || sep+7 > len(s) {
		return false
	}
	hrp, data := s[:sep], s[sep+1:]
	values := make([]byte, 0, len(hrp)*2+1+len(data))
	for i := 0; i < len(hrp); i++ {
		values = append(values, hrp[i]>>5)
	}
	values = append(values, 0)
	for i := 0; i < len(hrp); i++ {
		values = append(values, hrp[i]&31)
	}
	for i := 0; i < len(data); i++ {
		v := strings.IndexByte(bech32Charset, data[i])
		if v < 0 {
			return false
		}
		values = append(values, byte(v))
	}
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := 0; i < 5; i++ {
			if (top>>i)&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk == 1
}

func verifyAge(s string) Verdict {
	if !bech32Valid(s) {
		return Verdict{OK: true, Severity: check.Low, Note: "identity-shaped, bech32 checksum invalid"}
	}
	return Verdict{OK: true, Note: "bech32 checksum valid"}
}

// notPlaceholder rejects obvious filler values.
func notPlaceholder(s string) Verdict {
	if isPlaceholder(s) {
		return Verdict{}
	}
	return Verdict{OK: true}
}
