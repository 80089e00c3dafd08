package checks

import (
	"github.com/nixgate/nixgate/internal/cacheverify"
	"github.com/nixgate/nixgate/internal/check"
)

// CacheNARIntegrity reports cache verify verdicts of the NAR family (R9).
var CacheNARIntegrity = &check.Check{
	ID:          "cache-nar-integrity",
	Title:       "A NAR does not match its narinfo's hashes, sizes or compression",
	Severity:    check.Critical,
	Rules:       []string{"R9"},
	Why:         "The signed NarHash and NarSize must match the decoded NAR, and FileHash, FileSize and the Compression label the file served; a mismatch is a tampered, truncated or mislabelled NAR (Nix 2.8 checks only NarHash and decodes whatever the bytes are).",
	Remediation: "Re-upload the path from a trusted store (nix copy), or remove it from the cache; a NarHash mismatch under a valid signature is a tampered NAR.",
	Scope:       check.ScopeCache,
	Run:         cacheverify.Check(cacheverify.FamilyNAR),
}
