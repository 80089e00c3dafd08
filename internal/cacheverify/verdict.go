// Package cacheverify is the binary-cache verification job behind
// `nixgate cache verify`: for every path it reads the narinfo strictly,
// decides trust from signatures by distinct trusted keys before any NAR
// byte is fetched, checks the URL stays in the cache, streams the NAR once
// (FileHash and FileSize of the compressed bytes, the compression label
// against the bytes' magic, NarHash and NarSize of the decoded NAR, the
// strict NAR walk, optionally a scan for undeclared references) and checks
// that every reference is in the cache. Each path gets one verdict with a
// stable code; the checks in internal/checks turn verdicts into findings.
package cacheverify

import (
	"github.com/nixgate/nixgate/internal/narinfo"
)

// Verdict codes, stable: they appear in reports and policies.
const (
	OK                     = "OK"
	Untrusted              = "UNTRUSTED"
	Forged                 = "FORGED"
	NarHashMismatch        = "NAR_HASH_MISMATCH"
	NarSizeMismatch        = "NAR_SIZE_MISMATCH"
	FileHashMismatch       = "FILE_HASH_MISMATCH"
	FileSizeMismatch       = "FILE_SIZE_MISMATCH"
	CompressionMismatch    = "COMPRESSION_MISMATCH"
	UnsupportedCompression = "UNSUPPORTED_COMPRESSION"
	NarMalformed           = "NAR_MALFORMED"
	MissingReference       = "MISSING_REFERENCE"
	HiddenReference        = "HIDDEN_REFERENCE"
	URLEscape              = "URL_ESCAPE"
	NarinfoMalformed       = "NARINFO_MALFORMED"
	StorePathMismatch      = "STOREPATH_MISMATCH"
)

// Families group verdict codes; each family is one check in the registry,
// so a policy can turn it off or change its severity.
const (
	FamilyNarinfo   = "narinfo"   // NARINFO_MALFORMED, STOREPATH_MISMATCH
	FamilySignature = "signature" // FORGED, UNTRUSTED
	FamilyURL       = "url"       // URL_ESCAPE
	FamilyNAR       = "nar"       // the hashes, sizes and compression of the NAR
	FamilyNARFormat = "nar-format"
	FamilyClosure   = "closure" // MISSING_REFERENCE
	FamilyHidden    = "hidden-reference"
)

// Family returns the family of a verdict code.
func Family(code string) string {
	switch code {
	case NarinfoMalformed, StorePathMismatch:
		return FamilyNarinfo
	case Forged, Untrusted:
		return FamilySignature
	case URLEscape:
		return FamilyURL
	case NarHashMismatch, NarSizeMismatch, FileHashMismatch, FileSizeMismatch, CompressionMismatch, UnsupportedCompression:
		return FamilyNAR
	case NarMalformed:
		return FamilyNARFormat
	case MissingReference:
		return FamilyClosure
	case HiddenReference:
		return FamilyHidden
	}
	return ""
}

// Codes lists every code, in the order a path is checked (and the order
// of precedence when a path has more than one problem).
var Codes = []string{
	NarinfoMalformed, StorePathMismatch, Forged, Untrusted, URLEscape, UnsupportedCompression,
	CompressionMismatch, NarSizeMismatch, NarHashMismatch, NarMalformed, FileSizeMismatch,
	FileHashMismatch, MissingReference, HiddenReference, OK,
}

// Problem is one thing wrong with a path.
type Problem struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
	// Pos is the narinfo position (NARINFO_MALFORMED, and the line of a
	// field at fault).
	Pos *narinfo.Pos `json:"position,omitempty"`
	// Offset is the byte offset in the decoded NAR (NAR_MALFORMED).
	Offset *int64 `json:"offset,omitempty"`
}

// PathResult is the outcome for one path.
type PathResult struct {
	// Hash is the store path hash the narinfo is named after.
	Hash string `json:"hash"`
	// StorePath is the narinfo's StorePath (or the requested path when
	// the narinfo could not be read).
	StorePath string `json:"storePath"`
	// Narinfo is the narinfo's key in the cache, "HASH.narinfo".
	Narinfo string `json:"narinfo"`
	// Verdict is the code of the first problem in Codes order, or OK.
	Verdict string `json:"verdict"`
	// Problems are every problem found, verdict first.
	Problems []Problem `json:"problems"`
	// Trust is the trust decision (absent when the narinfo is unreadable).
	Trust *Decision `json:"trust,omitempty"`
	// Signatures is every Sig line's status.
	Signatures []narinfo.SigCheck `json:"signatures,omitempty"`
	URL        string             `json:"url,omitempty"`
	// Compression is the narinfo's label; Detected what the bytes are.
	Compression string `json:"compression,omitempty"`
	Detected    string `json:"detected,omitempty"`
	NarSize     uint64 `json:"narSize,omitempty"`
	FileSize    uint64 `json:"fileSize,omitempty"`
	// NarChecked says how much of the NAR was checked: none, hash, full.
	NarChecked string   `json:"narChecked"`
	References []string `json:"references,omitempty"`
	// Missing are references without a narinfo in the cache or upstream.
	Missing []string `json:"missing,omitempty"`
	// Hidden are store paths found in the NAR that References does not
	// declare (with --scan-references).
	Hidden []string `json:"hidden,omitempty"`
	// Requested says how the path was chosen: all, paths, closure,
	// reference.
	Requested string `json:"requested"`

	refPos narinfo.Pos // the References line
}

// Result is a verification run.
type Result struct {
	SchemaVersion int    `json:"schemaVersion"`
	Store         string `json:"store"`
	StoreDir      string `json:"storeDir"`
	// CacheRequired are the nix-cache-info RequiredSignatures keys
	// honoured (with RequireAll).
	CacheRequired []string      `json:"cacheRequiredSignatures,omitempty"`
	RequireAll    bool          `json:"cacheRequireAllSignatures,omitempty"`
	Nar           string        `json:"nar"`
	Paths         []*PathResult `json:"paths"`
	// Counts is the number of paths per verdict.
	Counts map[string]int `json:"counts"`
}

func (p *PathResult) add(code, detail string) *Problem {
	p.Problems = append(p.Problems, Problem{Code: code, Detail: detail})
	return &p.Problems[len(p.Problems)-1]
}

// has reports whether the path has a problem of that code.
func (p *PathResult) has(code string) bool {
	for _, q := range p.Problems {
		if q.Code == code {
			return true
		}
	}
	return false
}
