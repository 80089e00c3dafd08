package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/trust"
)

// TrustDisagreement enforces R9 and R10 (nixgate trust decide).
var TrustDisagreement = &check.Check{
	ID:          "trust-disagreement",
	Title:       "Builders claim different outputs for one store path",
	Severity:    check.High,
	Rules:       []string{"R9", "R10"},
	Why:         "Two builders of the policy built the same store path to different NARs: one of them is not reproducible or not honest, even when enough others agree.",
	Remediation: "Run nixgate nar diff on the two outputs to find the cause, fix the build's non-determinism, and audit the builder whose output stands alone.",
	Scope:       check.ScopeTrust,
	Run:         trust.CheckDisagreement,
}
