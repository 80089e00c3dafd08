package tlog

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// ProofHeader is the first line of a c2sp.org/tlog-proof file.
const ProofHeader = "c2sp.org/tlog-proof@v1"

// MaxProofSize bounds a proof file: the extra data (a claim), 63 hashes
// and a checkpoint with its cosignatures.
const MaxProofSize = 256 << 10

// Proof is an offline-verifiable proof of inclusion (c2sp.org/tlog-proof).
type Proof struct {
	// Extra is the opaque extra data; nixgate puts the claim (the leaf)
	// there, since the verifier needs it to compute the leaf hash.
	Extra []byte
	Index int64
	// Inclusion is the RFC 6962 inclusion proof, from the leaf's sibling up.
	Inclusion tlog.RecordProof
	// Checkpoint is the signed checkpoint, verbatim, with cosignatures.
	Checkpoint []byte
}

// Marshal encodes the proof.
func (p *Proof) Marshal() []byte {
	var b strings.Builder
	b.WriteString(ProofHeader + "\n")
	if p.Extra != nil {
		b.WriteString("extra " + base64.StdEncoding.EncodeToString(p.Extra) + "\n")
	}
	fmt.Fprintf(&b, "index %d\n", p.Index)
	for _, h := range p.Inclusion {
		b.WriteString(EncodeHash(h) + "\n")
	}
	b.WriteString("\n")
	b.WriteString(string(p.Checkpoint))
	return []byte(b.String())
}

// ParseProof reads a proof file strictly. The checkpoint is split and its
// encoding checked (SplitNote), not verified: that needs the policy.
func ParseProof(data []byte) (*Proof, error) {
	if len(data) > MaxProofSize {
		return nil, fmt.Errorf("tlog-proof: %d bytes, more than %d", len(data), MaxProofSize)
	}
	s := string(data)
	line := 0
	next := func() (string, error) {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			return "", fmt.Errorf("tlog-proof line %d: missing newline", line+1)
		}
		l := s[:i]
		s = s[i+1:]
		line++
		return l, nil
	}
	l, err := next()
	if err != nil {
		return nil, err
	}
	if l != ProofHeader {
		return nil, fmt.Errorf("tlog-proof line 1: want %q", ProofHeader)
	}
	p := &Proof{}
	if l, err = next(); err != nil {
		return nil, err
	}
	if b64, ok := strings.CutPrefix(l, "extra "); ok {
		if p.Extra, err = base64.StdEncoding.Strict().DecodeString(b64); err != nil || b64 == "" {
			return nil, fmt.Errorf("tlog-proof line %d: extra data is not base64", line)
		}
		if l, err = next(); err != nil {
			return nil, err
		}
	}
	idx, ok := strings.CutPrefix(l, "index ")
	n, perr := strconv.ParseInt(idx, 10, 64)
	if !ok || perr != nil || n < 0 || strconv.FormatInt(n, 10) != idx {
		return nil, fmt.Errorf("tlog-proof line %d: want index N (decimal, no leading zeros)", line)
	}
	p.Index = n
	for {
		if l, err = next(); err != nil {
			return nil, err
		}
		if l == "" {
			break
		}
		h, err := ParseHash(l)
		if err != nil {
			return nil, fmt.Errorf("tlog-proof line %d: %v", line, err)
		}
		if len(p.Inclusion) == 63 {
			return nil, fmt.Errorf("tlog-proof line %d: more than 63 proof hashes", line)
		}
		p.Inclusion = append(p.Inclusion, h)
	}
	p.Checkpoint = []byte(s)
	if _, err := SplitNote(p.Checkpoint); err != nil {
		return nil, fmt.Errorf("tlog-proof line %d: checkpoint: %v", line+1, err)
	}
	return p, nil
}

// ErrProof is an inclusion proof that does not verify.
var ErrProof = errors.New("inclusion proof does not verify")

// CheckInclusion checks that leaf is at p.Index in the tree of the
// (already verified) checkpoint c.
func CheckInclusion(c Checkpoint, index int64, proof tlog.RecordProof, leaf []byte) error {
	if index >= c.Size {
		return fmt.Errorf("index %d is not below the checkpoint size %d: %w", index, c.Size, ErrProof)
	}
	if err := tlog.CheckRecord(proof, c.Size, c.Hash, index, tlog.RecordHash(leaf)); err != nil {
		return fmt.Errorf("index %d in tree %d: %w", index, c.Size, ErrProof)
	}
	return nil
}
