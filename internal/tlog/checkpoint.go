// Package tlog owns the C2SP transparency-log formats nixgate reads and
// writes: checkpoints (c2sp.org/tlog-checkpoint) in signed notes
// (c2sp.org/signed-note, through golang.org/x/mod/sumdb/note), Ed25519
// cosignatures (c2sp.org/tlog-cosignature, cosignature/v1), tile and entry
// bundle paths (c2sp.org/tlog-tiles), proof files (c2sp.org/tlog-proof) and
// policies (c2sp.org/tlog-policy, extended with builder groups). The Merkle
// maths is golang.org/x/mod/sumdb/tlog's.
package tlog

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// MaxNoteSize bounds a signed note (a checkpoint with its cosignatures).
const MaxNoteSize = 64 << 10

// Checkpoint is a log's tree head (c2sp.org/tlog-checkpoint).
type Checkpoint struct {
	Origin string
	Size   int64
	Hash   tlog.Hash
	// Extensions are the optional extension lines.
	Extensions []string
}

// Tree is the checkpoint's tree for x/mod/sumdb/tlog.
func (c Checkpoint) Tree() tlog.Tree { return tlog.Tree{N: c.Size, Hash: c.Hash} }

// Text is the checkpoint's note text.
func (c Checkpoint) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Hash[:]))
	for _, e := range c.Extensions {
		b.WriteString(e + "\n")
	}
	return b.String()
}

// ParseCheckpoint reads a checkpoint's note text, strictly: a non-empty
// origin, a decimal size without leading zeros, a base64 SHA-256 root
// hash, and non-empty extension lines.
func ParseCheckpoint(text string) (Checkpoint, error) {
	if !strings.HasSuffix(text, "\n") {
		return Checkpoint{}, errors.New("checkpoint: text must end in a newline")
	}
	lines := strings.Split(text[:len(text)-1], "\n")
	if len(lines) < 3 {
		return Checkpoint{}, errors.New("checkpoint: want origin, size and root hash lines")
	}
	c := Checkpoint{Origin: lines[0]}
	if c.Origin == "" {
		return Checkpoint{}, errors.New("checkpoint line 1: empty origin")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("checkpoint line 2: size %q is not a decimal number without leading zeros", lines[1])
	}
	c.Size = n
	if c.Hash, err = ParseHash(lines[2]); err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint line 3: %v", err)
	}
	for i, e := range lines[3:] {
		if e == "" {
			return Checkpoint{}, fmt.Errorf("checkpoint line %d: empty extension line", i+4)
		}
	}
	c.Extensions = lines[3:]
	if len(c.Extensions) == 0 {
		c.Extensions = nil
	}
	return c, nil
}

// ParseHash decodes a strict base64 SHA-256 hash.
func ParseHash(s string) (tlog.Hash, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != tlog.HashSize {
		return tlog.Hash{}, fmt.Errorf("%q is not a base64 SHA-256 hash", s)
	}
	var h tlog.Hash
	copy(h[:], b)
	return h, nil
}

// EncodeHash is a hash in the base64 of C2SP proofs and checkpoints.
func EncodeHash(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

// SignedNote is a parsed signed note: its text and signature lines, kept
// verbatim.
type SignedNote struct {
	Text string
	// Sigs are the signature lines without the "— " prefix and the
	// newline: "NAME BASE64".
	Sigs []string
}

// Bytes is the note's encoding.
func (n SignedNote) Bytes() []byte {
	var b bytes.Buffer
	b.WriteString(n.Text)
	b.WriteString("\n")
	for _, s := range n.Sigs {
		b.WriteString("— " + s + "\n")
	}
	return b.Bytes()
}

// SplitNote checks the encoding of a signed note more strictly than
// x/mod's note.Open: the size bound, UTF-8 without control characters
// other than newline, signature lines of a valid key name and strict
// base64 (so that no flipped padding bit decodes to the same signature).
func SplitNote(msg []byte) (SignedNote, error) {
	if len(msg) > MaxNoteSize {
		return SignedNote{}, fmt.Errorf("note: %d bytes, more than %d", len(msg), MaxNoteSize)
	}
	for i := 0; i < len(msg); {
		r, size := utf8.DecodeRune(msg[i:])
		if r < 0x20 && r != '\n' || r == 0x7f || r == utf8.RuneError && size == 1 {
			return SignedNote{}, fmt.Errorf("note: byte %d: control character or invalid UTF-8", i)
		}
		i += size
	}
	split := bytes.LastIndex(msg, []byte("\n\n"))
	if split < 0 {
		return SignedNote{}, errors.New("note: no blank line before the signatures")
	}
	text, sigs := string(msg[:split+1]), string(msg[split+2:])
	if sigs == "" || !strings.HasSuffix(sigs, "\n") {
		return SignedNote{}, errors.New("note: no signature lines, or the last one does not end in a newline")
	}
	n := SignedNote{Text: text}
	for i, l := range strings.Split(sigs[:len(sigs)-1], "\n") {
		rest, ok := strings.CutPrefix(l, "— ")
		if !ok {
			return SignedNote{}, fmt.Errorf("note: signature line %d does not start with an em dash and a space", i+1)
		}
		name, b64, ok := strings.Cut(rest, " ")
		sig, err := base64.StdEncoding.Strict().DecodeString(b64)
		if !ok || !validName(name) || err != nil || len(sig) < 5 {
			return SignedNote{}, fmt.Errorf("note: signature line %d is not NAME BASE64(KEYID || SIGNATURE)", i+1)
		}
		n.Sigs = append(n.Sigs, rest)
	}
	if len(n.Sigs) > 100 {
		return SignedNote{}, errors.New("note: more than 100 signatures")
	}
	return n, nil
}

// validName is a signed-note key name: non-empty, no Unicode space, no
// plus.
func validName(name string) bool {
	return name != "" && utf8.ValidString(name) && strings.IndexFunc(name, func(r rune) bool {
		return r == '+' || r == ' ' || r == '\t' || r == 0x85 || r == 0xa0 || r == 0x1680 || r >= 0x2000 && r <= 0x200a ||
			r == 0x2028 || r == 0x2029 || r == 0x202f || r == 0x205f || r == 0x3000
	}) < 0
}

// OpenCheckpoint verifies a signed checkpoint with the log's verifier (and
// any cosigner verifiers, whose valid signatures are returned too) and
// parses it. The checkpoint's origin must be the log key's name.
func OpenCheckpoint(msg []byte, log note.Verifier, cosigners ...note.Verifier) (Checkpoint, *note.Note, error) {
	if _, err := SplitNote(msg); err != nil {
		return Checkpoint{}, nil, err
	}
	n, err := note.Open(msg, note.VerifierList(append([]note.Verifier{log}, cosigners...)...))
	if err != nil {
		return Checkpoint{}, nil, fmt.Errorf("open checkpoint: %w", err)
	}
	signed := false
	for _, s := range n.Sigs {
		if s.Name == log.Name() && s.Hash == log.KeyHash() {
			signed = true
		}
	}
	if !signed {
		return Checkpoint{}, nil, fmt.Errorf("open checkpoint: not signed by the log key %s", log.Name())
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, nil, err
	}
	if c.Origin != log.Name() {
		return Checkpoint{}, nil, fmt.Errorf("open checkpoint: origin %q is not the log key's name %q", c.Origin, log.Name())
	}
	return c, n, nil
}
