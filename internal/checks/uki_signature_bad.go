package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/uki"
)

// UKISignatureBad enforces R14 on every signature (nixgate uki verify).
var UKISignatureBad = &check.Check{
	ID:       "uki-signature-bad",
	Title:    "A signature in the UKI's certificate table does not verify",
	Severity: check.High,
	Rules:    []string{"R14"},
	Why: "Tools that check only the first signature (sbverify) miss a second one that is broken or forged; " +
		"a signature whose messageDigest does not bind its content is a transplant from another image, which " +
		"go-uefi's Verify accepts. Every entry of the table must verify.",
	Remediation: "Remove the bad entry and sign again from the unsigned image (nixgate uki sign), then check " +
		"with nixgate uki diff that only the signature changed.",
	Scope: check.ScopeUKI,
	Run:   uki.CheckSignatureBad,
}
