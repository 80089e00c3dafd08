package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/trust"
)

// TrustKofN enforces R9: a cached path is trusted when k of n independent
// builders agree (nixgate trust decide).
var TrustKofN = &check.Check{
	ID:          "trust-k-of-n",
	Title:       "Too few independent builders agree on a store path's output",
	Severity:    check.High,
	Rules:       []string{"R9"},
	Why:         "Results from a single builder are not trusted: a store path is trusted only when at least k builders of the policy's trust group claim the same NAR in the log; builders without a claim abstain and never count.",
	Remediation: "Rebuild the path on more of the policy's builders and submit their claims (nixgate rebuild --submit), or investigate why they disagree.",
	Scope:       check.ScopeTrust,
	Run:         trust.CheckKofN,
}
