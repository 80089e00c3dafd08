package checks

import (
	"github.com/nixgate/nixgate/internal/cacheverify"
	"github.com/nixgate/nixgate/internal/check"
)

// CacheSignature reports cache verify verdicts of the Signature family (R9).
var CacheSignature = &check.Check{
	ID:          "cache-signature",
	Title:       "A cache path is not signed by enough distinct trusted keys, or a signature is forged",
	Severity:    check.High,
	Rules:       []string{"R9"},
	Why:         "A path is trusted when the required number of distinct trusted keys signed its fingerprint; a Sig line that names a trusted key but does not verify (FORGED) means the narinfo's signed fields were changed after signing, or a signature was made up.",
	Remediation: "Sign the path with the required keys (nix store sign), or trust the keys that signed it (--trusted-key, [cache] keys); treat a forged signature as a compromise of the cache.",
	Scope:       check.ScopeCache,
	Run:         cacheverify.Check(cacheverify.FamilySignature),
}
