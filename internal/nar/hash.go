package nar

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"io"

	"github.com/nix-community/go-nix/pkg/nixbase32"
	"github.com/nix-community/go-nix/pkg/nixhash"
)

// Hash is the SHA-256 NAR hash of a tree and the size of its NAR.
type Hash struct {
	Digest [sha256.Size]byte
	Size   int64
}

// String returns the hash as Nix prints it in narinfo and `nix-store
// --query --hash`: "sha256:<nixbase32>".
func (h Hash) String() string { return "sha256:" + nixbase32.EncodeToString(h.Digest[:]) }

// SRI returns the hash in SRI form ("sha256-<base64>"), as `nix path-info
// --json` and `nix hash path` print it.
func (h Hash) SRI() string { return "sha256-" + base64.StdEncoding.EncodeToString(h.Digest[:]) }

// IsZero reports whether h is unset.
func (h Hash) IsZero() bool { return h.Digest == [sha256.Size]byte{} }

// Equal reports whether h has the digest that Nix prints as s in any of
// its encodings (SRI, "sha256:" with base16, nixbase32 or base64).
func (h Hash) Equal(s string) (bool, error) {
	algo := nixhash.SHA256
	p, err := nixhash.ParseAny(s, &algo)
	if err != nil {
		return false, fmt.Errorf("parse hash %q: %w", s, err)
	}
	d := p.Digest()
	return len(d) == len(h.Digest) && string(d) == string(h.Digest[:]), nil
}

// countingHash is a sha256 that counts what it hashed.
type countingHash struct {
	h hash.Hash
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

// HashPath returns the NAR hash of the file system tree at path, as Nix
// computes it for a store path (`nix hash path`, a store path's narHash).
// A symbolic link at path is hashed as a link, like Nix does.
func HashPath(path string) (Hash, error) {
	sum := sha256.New()
	n, err := dumpPath(sum, path)
	if err != nil {
		return Hash{}, fmt.Errorf("nar hash %s: %w", path, err)
	}
	h := Hash{Size: n}
	sum.Sum(h.Digest[:0])
	return h, nil
}

// HashNAR returns the hash of a NAR stream (a .nar file, the output of
// `nix store dump-path`): the NAR hash of the tree it holds. The stream is
// read by the strict parser (strict.go), so a malformed NAR is an error
// (a *FormatError), and copied to copyTo when it is not nil.
func HashNAR(r io.Reader, copyTo io.Writer) (Hash, error) {
	ch := &countingHash{h: sha256.New()}
	w := io.Writer(ch)
	if copyTo != nil {
		w = io.MultiWriter(ch, copyTo)
	}
	if _, err := Validate(io.TeeReader(r, w), Limits{}, nil); err != nil {
		return Hash{}, fmt.Errorf("nar hash: %w", err)
	}
	var h Hash
	copy(h.Digest[:], ch.h.Sum(nil))
	h.Size = ch.n
	return h, nil
}
