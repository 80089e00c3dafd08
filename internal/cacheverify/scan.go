package cacheverify

import (
	"bytes"

	"github.com/nixgate/nixgate/internal/narinfo"
)

// refScanner finds store paths in a NAR stream: STOREDIR/ followed by a
// 32-character nixbase32 hash and a dash, anywhere in the bytes (contents,
// names and symlink targets, as Nix scans the whole serialisation). It is
// an io.Writer fed with the decoded NAR; a match split across writes is
// found through the kept tail.
//
// Nix's own scanner looks for the hashes of candidate paths it already
// knows (the build's inputs); a cache verifier does not know what the
// builder had, so it looks for the store directory prefix instead. A hash
// written without the prefix is not found.
type refScanner struct {
	prefix []byte
	tail   []byte
	found  map[string]bool
	limit  int
}

func newRefScanner(storeDir string) *refScanner {
	return &refScanner{prefix: []byte(storeDir + "/"), found: map[string]bool{}, limit: 4096}
}

func (s *refScanner) Write(p []byte) (int, error) {
	n := len(p)
	keep := len(s.prefix) + 32
	if len(s.tail) > 0 {
		// Scan the seam: the tail and the start of p.
		seam := append(s.tail, p[:min(len(p), keep)]...)
		s.scan(seam)
		s.tail = s.tail[:0]
	}
	s.scan(p)
	if len(p) >= keep {
		s.tail = append(s.tail[:0], p[len(p)-keep+1:]...)
	} else {
		s.tail = append(s.tail, p...)
		if len(s.tail) > keep {
			s.tail = s.tail[len(s.tail)-keep+1:]
		}
	}
	return n, nil
}

// scan looks for prefix+hash+"-" in b (a match seen twice, in a seam and
// before, is the same set entry).
func (s *refScanner) scan(b []byte) {
	off := 0
	for {
		i := bytes.Index(b[off:], s.prefix)
		if i < 0 {
			return
		}
		start := off + i + len(s.prefix)
		off += i + 1
		end := start + 33
		if end > len(b) {
			continue // incomplete: the tail keeps it for the next write
		}
		h := b[start : start+32]
		if b[start+32] != '-' || !narinfo.IsHash(string(h)) {
			continue
		}
		if len(s.found) < s.limit {
			s.found[string(h)] = true
		}
	}
}
