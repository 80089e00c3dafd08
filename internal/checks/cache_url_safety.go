package checks

import (
	"github.com/nixgate/nixgate/internal/cacheverify"
	"github.com/nixgate/nixgate/internal/check"
)

// CacheURLSafety reports cache verify verdicts of the URL family (R9).
var CacheURLSafety = &check.Check{
	ID:          "cache-url-safety",
	Title:       "A narinfo URL leaves the cache root",
	Severity:    check.High,
	Rules:       []string{"R9"},
	Why:         "A narinfo's URL field is not signed; one that is absolute, names another host or climbs out with .. (URL_ESCAPE) makes a client fetch bytes from wherever the cache's writer chose, and Nix 2.8 follows absolute http, https and file URLs.",
	Remediation: "Rewrite the URL relative to the cache root (nar/HASH.nar.xz); investigate who wrote the narinfo.",
	Scope:       check.ScopeCache,
	Run:         cacheverify.Check(cacheverify.FamilyURL),
}
