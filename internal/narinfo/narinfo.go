// Package narinfo reads the .narinfo files of a Nix binary cache strictly,
// computes the fingerprint Nix signs, and checks Nix signatures over it
// against a set of trusted keys, counting distinct keys.
//
// The parser is nixgate's own: go-nix's narinfo.Parse skips empty lines,
// lets a later StorePath or NarHash line silently replace an earlier one,
// reports no line or column, and its Fingerprint keeps References in file
// order where Nix sorts them; Nix itself ignores unknown keys and, when a
// separator is not ": ", takes the value from two bytes after the colon
// whatever they are. Here every line is `Key: Value\n`, each single-valued
// key appears once, the required keys are present, and every value is
// checked; an error carries the line and column.
package narinfo

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nix-community/go-nix/pkg/nixbase32"
)

// StoreDir is the default Nix store directory.
const StoreDir = "/nix/store"

// MaxSize bounds a narinfo file.
const MaxSize = 1 << 20

// Pos is a 1-based line and column (bytes).
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"column"`
}

// SyntaxError is a malformed narinfo: where and why.
type SyntaxError struct {
	Pos
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg) }

// Hash is a hash with its algorithm, as Nix writes it in a narinfo.
type Hash struct {
	Algo   string // sha256, sha512, sha1
	Digest []byte
}

// String is the form Nix writes in narinfo files and fingerprints:
// "sha256:<nixbase32>".
func (h Hash) String() string { return h.Algo + ":" + nixbase32.EncodeToString(h.Digest) }

// IsZero reports whether h is unset.
func (h Hash) IsZero() bool { return h.Algo == "" }

var hashSizes = map[string]int{"sha1": 20, "sha256": sha256.Size, "sha512": sha512.Size}

// ParseHash reads "ALGO:DIGEST" (DIGEST in nixbase32, base16 or base64)
// or the SRI form "ALGO-BASE64", as Nix's Hash::parseAnyPrefixed does,
// with canonical encodings only.
func ParseHash(s string) (Hash, error) {
	algo, digest, ok := strings.Cut(s, ":")
	sri := false
	if !ok {
		if algo, digest, ok = strings.Cut(s, "-"); !ok {
			return Hash{}, fmt.Errorf("hash %q: want ALGO:DIGEST or ALGO-BASE64", s)
		}
		sri = true
	}
	size, known := hashSizes[algo]
	if !known {
		return Hash{}, fmt.Errorf("hash %q: unknown algorithm %q", s, algo)
	}
	var d []byte
	var err error
	switch n := len(digest); {
	case n == base64.StdEncoding.EncodedLen(size):
		d, err = base64.StdEncoding.Strict().DecodeString(digest)
	case sri:
		err = fmt.Errorf("an SRI hash is base64")
	case n == hex.EncodedLen(size):
		if strings.ToLower(digest) != digest {
			err = fmt.Errorf("upper-case base16")
		} else {
			d, err = hex.DecodeString(digest)
		}
	case n == nixbase32.EncodedLen(size):
		d, err = nixbase32.DecodeString(digest)
		if err == nil && nixbase32.EncodeToString(d) != digest {
			err = fmt.Errorf("non-canonical nixbase32")
		}
	default:
		err = fmt.Errorf("%d characters is no encoding of a %s digest", n, algo)
	}
	if err != nil {
		return Hash{}, fmt.Errorf("hash %q: %w", s, err)
	}
	return Hash{Algo: algo, Digest: d}, nil
}

// Sig is one Sig line, parsed or not.
type Sig struct {
	Raw  string `json:"raw"`
	Line int    `json:"line"`
	// Signature is set when Raw is a well-formed NAME:BASE64 signature.
	Signature *Signature `json:"-"`
	// Err says why Raw is not.
	Err error `json:"-"`
}

// NarInfo is a parsed .narinfo.
type NarInfo struct {
	StorePath   string
	URL         string
	Compression string // "bzip2" when the file has no Compression line, as Nix reads it
	FileHash    Hash   // zero when absent
	FileSize    uint64
	HasFileSize bool
	NarHash     Hash
	NarSize     uint64
	References  []string // base names, as in the file
	Deriver     string   // base name; "" when absent or unknown-deriver
	System      string
	CA          string
	Sigs        []Sig
	// Pos has the position of every key's (first) line, and of "Sig" the
	// first Sig line.
	Pos map[string]Pos
}

// Keys of a narinfo, in the order Nix writes them.
var keys = []string{"StorePath", "URL", "Compression", "FileHash", "FileSize", "NarHash", "NarSize", "References", "Deriver", "System", "Sig", "CA"}

// Options of Parse.
type Options struct {
	// StoreDir is the store directory StorePath must be in (default
	// /nix/store; a cache's nix-cache-info may name another).
	StoreDir string
}

// Parse reads a narinfo strictly.
func Parse(b []byte, o Options) (*NarInfo, error) {
	if o.StoreDir == "" {
		o.StoreDir = StoreDir
	}
	if len(b) > MaxSize {
		return nil, &SyntaxError{Pos{1, 1}, fmt.Sprintf("narinfo of %d bytes, larger than %d", len(b), MaxSize)}
	}
	n := &NarInfo{Pos: map[string]Pos{}}
	line := 0
	for len(b) > 0 {
		line++
		eol := bytes.IndexByte(b, '\n')
		if eol < 0 {
			return nil, &SyntaxError{Pos{line, len(b) + 1}, "the last line has no newline"}
		}
		l := string(b[:eol])
		b = b[eol+1:]
		if i := strings.IndexFunc(l, func(r rune) bool { return r < ' ' || r == 0x7f }); i >= 0 {
			return nil, &SyntaxError{Pos{line, i + 1}, fmt.Sprintf("control character %q", l[i])}
		}
		if l == "" {
			return nil, &SyntaxError{Pos{line, 1}, "empty line"}
		}
		k, v, ok := strings.Cut(l, ": ")
		if !ok {
			if c := strings.IndexByte(l, ':'); c >= 0 {
				return nil, &SyntaxError{Pos{line, c + 1}, fmt.Sprintf("%q: the key must be followed by \": \"", l[:c])}
			}
			return nil, &SyntaxError{Pos{line, 1}, fmt.Sprintf("%q is not a `Key: Value` line", trunc(l))}
		}
		vpos := Pos{line, len(k) + 3}
		if !slices.Contains(keys, k) {
			return nil, &SyntaxError{Pos{line, 1}, fmt.Sprintf("unknown key %q", trunc(k))}
		}
		if _, dup := n.Pos[k]; dup && k != "Sig" {
			return nil, &SyntaxError{Pos{line, 1}, fmt.Sprintf("%s given twice (first at line %d)", k, n.Pos[k].Line)}
		}
		if _, seen := n.Pos[k]; !seen {
			n.Pos[k] = Pos{line, 1}
		}
		if v != strings.TrimSpace(v) {
			return nil, &SyntaxError{vpos, fmt.Sprintf("%s: leading or trailing space in %q", k, trunc(v))}
		}
		if v == "" && k != "References" {
			return nil, &SyntaxError{vpos, fmt.Sprintf("%s: empty value", k)}
		}
		if err := n.set(k, v, line, o); err != nil {
			return nil, &SyntaxError{vpos, fmt.Sprintf("%s: %v", k, err)}
		}
	}
	for _, k := range []string{"StorePath", "URL", "NarHash", "NarSize"} {
		if _, ok := n.Pos[k]; !ok {
			return nil, &SyntaxError{Pos{line + 1, 1}, fmt.Sprintf("no %s line", k)}
		}
	}
	if n.Compression == "" {
		n.Compression = "bzip2" // Nix's default for old caches
	}
	if n.Compression == "none" && !n.FileHash.IsZero() && n.HasFileSize &&
		(n.FileSize != n.NarSize || (n.FileHash.Algo == n.NarHash.Algo && !bytes.Equal(n.FileHash.Digest, n.NarHash.Digest))) {
		return nil, &SyntaxError{n.Pos["FileHash"], "Compression is none but FileHash/FileSize differ from NarHash/NarSize"}
	}
	return n, nil
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func (n *NarInfo) set(k, v string, line int, o Options) error {
	var err error
	switch k {
	case "StorePath":
		dir, base, ok := cutLast(v, "/")
		if !ok || dir != o.StoreDir {
			return fmt.Errorf("%q is not in the store %s", trunc(v), o.StoreDir)
		}
		if err := ValidateBaseName(base); err != nil {
			return err
		}
		n.StorePath = v
	case "URL":
		n.URL = v
	case "Compression":
		n.Compression = v
	case "FileHash":
		n.FileHash, err = ParseHash(v)
	case "FileSize":
		n.FileSize, err = parseSize(v)
		n.HasFileSize = true
	case "NarHash":
		n.NarHash, err = ParseHash(v)
		if err == nil && n.NarHash.Algo != "sha256" {
			err = fmt.Errorf("%s: a NAR hash is sha256", n.NarHash.Algo)
		}
	case "NarSize":
		n.NarSize, err = parseSize(v)
		if err == nil && n.NarSize == 0 {
			err = fmt.Errorf("zero")
		}
	case "References":
		if v == "" {
			return nil
		}
		refs := strings.Split(v, " ")
		seen := map[string]bool{}
		for _, r := range refs {
			if err := ValidateBaseName(r); err != nil {
				return fmt.Errorf("reference %q: %w", trunc(r), err)
			}
			if seen[r] {
				return fmt.Errorf("reference %s listed twice", r)
			}
			seen[r] = true
		}
		n.References = refs
	case "Deriver":
		if v != "unknown-deriver" {
			if err := ValidateBaseName(v); err != nil {
				return err
			}
			if !strings.HasSuffix(v, ".drv") {
				return fmt.Errorf("%q is not a .drv", v)
			}
			n.Deriver = v
		}
	case "System":
		n.System = v
	case "CA":
		if !strings.HasPrefix(v, "fixed:") && !strings.HasPrefix(v, "text:") {
			return fmt.Errorf("%q: want fixed:... or text:...", trunc(v))
		}
		n.CA = v
	case "Sig":
		s := Sig{Raw: v, Line: line}
		if sig, err := ParseSignature(v); err != nil {
			s.Err = err
		} else {
			s.Signature = &sig
		}
		n.Sigs = append(n.Sigs, s)
	}
	return err
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return "", "", false
	}
	return s[:i], s[i+len(sep):], true
}

func parseSize(v string) (uint64, error) {
	if v == "" || strings.TrimLeft(v, "0123456789") != "" || (len(v) > 1 && v[0] == '0') {
		return 0, fmt.Errorf("%q is not a decimal size", trunc(v))
	}
	return strconv.ParseUint(v, 10, 63)
}

// ValidateBaseName checks a store path's base name, HASH-NAME, as Nix
// does: a 32-character nixbase32 hash, a dash, and a name of at most 211
// characters from [A-Za-z0-9+-._?=] that does not start with a dot.
func ValidateBaseName(s string) error {
	if len(s) < 34 || s[32] != '-' {
		return fmt.Errorf("%q is not HASH-NAME with a 32-character hash", trunc(s))
	}
	if !IsHash(s[:32]) {
		return fmt.Errorf("%q: the hash is not nixbase32", trunc(s))
	}
	name := s[33:]
	if len(name) > 211 {
		return fmt.Errorf("%q: the name is longer than 211 characters", trunc(s))
	}
	if name[0] == '.' {
		return fmt.Errorf("%q: the name starts with a dot", trunc(s))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("+-._?=", c) >= 0) {
			return fmt.Errorf("%q: the name has the character %q", trunc(s), c)
		}
	}
	return nil
}

// IsHash reports whether s is a store path hash: 32 nixbase32 characters.
func IsHash(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !IsBase32[s[i]] {
			return false
		}
	}
	return true
}

// IsBase32 is the nixbase32 alphabet (no e, o, u, t).
var IsBase32 = func() (t [256]bool) {
	for _, c := range nixbase32.Alphabet {
		t[c] = true
	}
	return t
}()

// HashPart returns the hash of a store path or base name.
func HashPart(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	if len(p) >= 32 {
		return p[:32]
	}
	return p
}

// Fingerprint is what a Nix signature signs:
// "1;STOREPATH;NARHASH;NARSIZE;REF,REF", the NAR hash in nixbase32 and the
// references as full store paths, sorted and without duplicates (Nix keeps
// them in a set).
func (n *NarInfo) Fingerprint(storeDir string) string {
	if storeDir == "" {
		storeDir = StoreDir
	}
	refs := make([]string, 0, len(n.References))
	for _, r := range n.References {
		refs = append(refs, storeDir+"/"+r)
	}
	slices.Sort(refs)
	refs = slices.Compact(refs)
	return "1;" + n.StorePath + ";" + n.NarHash.String() + ";" + strconv.FormatUint(n.NarSize, 10) + ";" + strings.Join(refs, ",")
}
