package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/trust"
)

// LogConsistency enforces R9 on a build-claim log.
var LogConsistency = &check.Check{
	ID:          "log-consistency",
	Title:       "The log forked or rolled back since this client last saw it",
	Severity:    check.Critical,
	Rules:       []string{"R9"},
	Why:         "A transparency log may only grow: a smaller tree, another root for a size already seen or a failed consistency proof means the log rewrote its history, which is what the log exists to prevent.",
	Remediation: "Stop trusting the log, keep the two checkpoints (the saved one is in the XDG state directory) as evidence, and ask its operator and witnesses; do not delete the saved checkpoint to make the alarm go away.",
	Scope:       check.ScopeTrust,
	Run:         trust.CheckConsistency,
}
