package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/trust"
)

// TrustEquivocation enforces R9 (nixgate trust decide).
var TrustEquivocation = &check.Check{
	ID:          "trust-equivocation",
	Title:       "A builder claimed two different outputs for one store path",
	Severity:    check.Critical,
	Rules:       []string{"R9"},
	Why:         "A builder that signs two different NARs for the same store path cannot be counted for that path: its key may be compromised, or it builds non-deterministically and says otherwise; both claims and their inclusion proofs are the evidence.",
	Remediation: "Investigate the builder and its key (rotate it if in doubt), then rebuild the path on a clean builder.",
	Scope:       check.ScopeTrust,
	Run:         trust.CheckEquivocation,
}
