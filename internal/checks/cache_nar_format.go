package checks

import (
	"github.com/nixgate/nixgate/internal/cacheverify"
	"github.com/nixgate/nixgate/internal/check"
)

// CacheNARFormat reports cache verify verdicts of the NARFormat family (R9).
var CacheNARFormat = &check.Check{
	ID:          "cache-nar-format",
	Title:       "A NAR is not in Nix's canonical form",
	Severity:    check.High,
	Rules:       []string{"R9"},
	Why:         "A NAR with names such as . or .., duplicate or unsorted entries, non-zero padding, trailing data or absurd nesting is read differently by different tools, even when its hash was signed (NAR_MALFORMED, with the byte offset).",
	Remediation: "Rebuild the path and re-upload its NAR as Nix serialises it; find out which tool wrote the malformed one.",
	Scope:       check.ScopeCache,
	Run:         cacheverify.Check(cacheverify.FamilyNARFormat),
}
