package checks

import (
	"github.com/nixgate/nixgate/internal/cacheverify"
	"github.com/nixgate/nixgate/internal/check"
)

// CacheHiddenReference reports cache verify verdicts of the Hidden family (R9).
var CacheHiddenReference = &check.Check{
	ID:          "cache-hidden-reference",
	Title:       "A NAR mentions a store path its References do not declare",
	Severity:    check.High,
	Rules:       []string{"R9"},
	Why:         "A store path found in a NAR but missing from References (HIDDEN_REFERENCE) is a dependency the closure does not carry: the path breaks or loads whatever is at that store path on the machine that runs it.",
	Remediation: "Rebuild the path with Nix so that its references are scanned, or remove the stray store path from its contents.",
	Scope:       check.ScopeCache,
	Run:         cacheverify.Check(cacheverify.FamilyHidden),
}
