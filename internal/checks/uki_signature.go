package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/uki"
)

// UKISignature enforces R14's Secure Boot signature (nixgate uki verify).
var UKISignature = &check.Check{
	ID:       "uki-signature",
	Title:    "Secure Boot would refuse the UKI",
	Severity: check.Critical,
	Rules:    []string{"R14"},
	Why: "Nix builds the artifact, Secure Boot decides whether it runs: an image that is unsigned, signed by a " +
		"key the db does not trust, signed over other content, or revoked in the dbx does not boot, or boots " +
		"only where Secure Boot is off.",
	Remediation: "Sign the image in the offline ceremony (nixgate uki sign) with a key whose certificate is " +
		"in the target's db, and verify it against that db before release.",
	Scope: check.ScopeUKI,
	Run:   uki.CheckSignature,
}
