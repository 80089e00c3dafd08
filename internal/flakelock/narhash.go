package flakelock

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Hash is a decoded hash: its algorithm and digest. Nix writes the same
// hash in four forms (src/libutil/hash.cc: base-16, Nix's base-32, base-64,
// each optionally prefixed "algo:", and SRI "algo-<base64>"); two hashes
// are equal when algorithm and digest are, whatever the form.
type Hash struct {
	Algo   string
	Digest []byte
}

var hashSizes = map[string]int{"md5": 16, "sha1": 20, "sha256": 32, "sha512": 64, "blake3": 32}

// nix32Chars is Nix's base-32 alphabet (no e, o, u, t).
const nix32Chars = "0123456789abcdfghijklmnpqrsvwxyz"

// ParseHash decodes a hash in any of Nix's forms (hash.cc parseAnyHelper):
// "algo-<base64>" (SRI), "algo:<base16|nix32|base64>", or an unprefixed
// digest when defaultAlgo is not "", the encoding told by its length
// (hash.cc baseFromSize).
func ParseHash(s, defaultAlgo string) (Hash, error) {
	rest, algo, sri := s, defaultAlgo, false
	if a, r, ok := strings.Cut(s, ":"); ok {
		algo, rest = a, r
	} else if a, r, ok := strings.Cut(s, "-"); ok {
		algo, rest, sri = a, r, true
	}
	if algo == "" {
		return Hash{}, fmt.Errorf("hash %q does not include a type", s)
	}
	size, ok := hashSizes[algo]
	if !ok {
		return Hash{}, fmt.Errorf("unknown hash algorithm %q", algo)
	}
	var d []byte
	var err error
	switch {
	case sri || len(rest) == base64.StdEncoding.EncodedLen(size):
		d, err = base64.StdEncoding.DecodeString(rest)
	case len(rest) == 2*size:
		d, err = hex.DecodeString(rest)
	case len(rest) == (size*8-1)/5+1:
		d, err = decodeNix32(rest, size)
	default:
		return Hash{}, fmt.Errorf("hash %q has wrong length for hash algorithm %q", s, algo)
	}
	if err != nil || len(d) != size {
		return Hash{}, fmt.Errorf("invalid %s hash %q", algo, s)
	}
	return Hash{Algo: algo, Digest: d}, nil
}

// decodeNix32 decodes Nix's base-32 (src/libutil/base-nix-32.cc): the last
// character holds the lowest bits.
func decodeNix32(s string, size int) ([]byte, error) {
	out := make([]byte, size)
	for n := 0; n < len(s); n++ {
		c := s[len(s)-n-1]
		digit := strings.IndexByte(nix32Chars, c)
		if digit < 0 {
			return nil, fmt.Errorf("invalid base-32 character %q", c)
		}
		b := n * 5
		i, j := b/8, uint(b%8)
		out[i] |= byte(digit << j)
		carry := byte(digit >> (8 - j))
		if i+1 < size {
			out[i+1] |= carry
		} else if carry != 0 {
			return nil, errors.New("invalid base-32 hash")
		}
	}
	return out, nil
}

// SRI renders the hash as Nix writes narHash today: "sha256-<base64>".
func (h Hash) SRI() string {
	return h.Algo + "-" + base64.StdEncoding.EncodeToString(h.Digest)
}

// Equal reports whether two hashes are the same.
func (h Hash) Equal(o Hash) bool { return h.Algo == o.Algo && bytes.Equal(h.Digest, o.Digest) }

// SameNarHash reports whether two narHash attributes name the same hash:
// decoded when both decode (narHash is SHA-256 when unprefixed), else
// compared as written.
func SameNarHash(a, b string) bool {
	if a == b {
		return true
	}
	ha, err1 := ParseHash(a, "sha256")
	hb, err2 := ParseHash(b, "sha256")
	if err1 != nil || err2 != nil {
		return false
	}
	return ha.Equal(hb)
}
