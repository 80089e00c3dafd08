package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/uki"
)

// UKIDiff enforces R14's "signing changes nothing but the signature"
// (nixgate uki diff).
var UKIDiff = &check.Check{
	ID:       "uki-diff",
	Title:    "Signing changed more than the signature",
	Severity: check.Critical,
	Rules:    []string{"R14", "R11"},
	Why: "The signing ceremony must sign exactly what CI built and reviewed: between the unsigned and the " +
		"signed image only the PE checksum, the certificate directory entry, the alignment padding and the " +
		"appended certificate table may differ, and the Authenticode digest must stay the same.",
	Remediation: "Sign the image CI built, unchanged, with nixgate uki sign (or sbsign), and compare again; " +
		"investigate any other change as a tampered artifact.",
	Scope: check.ScopeUKI,
	Run:   uki.CheckDiff,
}
