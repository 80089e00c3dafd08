package checks

import (
	"github.com/nixgate/nixgate/internal/cacheverify"
	"github.com/nixgate/nixgate/internal/check"
)

// CacheNarinfo reports cache verify verdicts of the Narinfo family (R9).
var CacheNarinfo = &check.Check{
	ID:          "cache-narinfo",
	Title:       "A narinfo is malformed or names another store path",
	Severity:    check.High,
	Rules:       []string{"R9"},
	Why:         "A narinfo that does not parse strictly (NARINFO_MALFORMED) is read differently by different clients, and one whose StorePath does not match its file name (STOREPATH_MISMATCH) answers for a path it is not.",
	Remediation: "Rewrite the narinfo with the tool that built the cache (nix copy), or remove the path from the cache; investigate who wrote it.",
	Scope:       check.ScopeCache,
	Run:         cacheverify.Check(cacheverify.FamilyNarinfo),
}
