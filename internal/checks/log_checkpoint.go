package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/trust"
)

// LogCheckpoint enforces R9 on a build-claim log (nixgate log verify,
// nixgate trust decide).
var LogCheckpoint = &check.Check{
	ID:          "log-checkpoint",
	Title:       "A log checkpoint is not signed by the log or not cosigned by the witness quorum",
	Severity:    check.Critical,
	Rules:       []string{"R9"},
	Why:         "A checkpoint that the policy's log did not sign, or that too few witnesses cosigned, may be a split view shown to this client only; nothing it includes can be counted.",
	Remediation: "Check that the policy names the log's verifier key and the witnesses it uses, and that the witnesses are reachable by the log; never lower the quorum to make a checkpoint pass.",
	Scope:       check.ScopeTrust,
	Run:         trust.CheckCheckpoints,
}
