package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/trust"
)

// LogProof enforces R9 on a build-claim log.
var LogProof = &check.Check{
	ID:          "log-proof",
	Title:       "A claim or proof does not verify",
	Severity:    check.Critical,
	Rules:       []string{"R9"},
	Why:         "A claim whose inclusion proof, signature or proof file does not verify was altered or forged; it is not counted, and its presence means someone tampered with the evidence.",
	Remediation: "Fetch the proofs again from the log (nixgate log proof) and compare; find who altered the files or the answers.",
	Scope:       check.ScopeTrust,
	Run:         trust.CheckProofs,
}
