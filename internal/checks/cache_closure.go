package checks

import (
	"github.com/nixgate/nixgate/internal/cacheverify"
	"github.com/nixgate/nixgate/internal/check"
)

// CacheClosure reports cache verify verdicts of the Closure family (R9).
var CacheClosure = &check.Check{
	ID:          "cache-closure",
	Title:       "A cache path refers to a path the cache does not have",
	Severity:    check.High,
	Rules:       []string{"R9"},
	Why:         "A substitute is usable only with its whole closure; a reference without a narinfo in the cache or upstream (MISSING_REFERENCE) fails a substitution or pulls the path from elsewhere.",
	Remediation: "Copy the whole closure to the cache (nix copy copies the closure by default), or name the store that holds it with --upstream.",
	Scope:       check.ScopeCache,
	Run:         cacheverify.Check(cacheverify.FamilyClosure),
}
