package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/hostaudit"
)

// HostRequireSigs enforces R8 on a build host (nixgate host).
var HostRequireSigs = &check.Check{
	ID:          "host-require-sigs",
	Title:       "Signatures are not required",
	Severity:    check.Critical,
	Rules:       []string{"R8"},
	Why:         "With require-sigs = false, paths from any substituter (and paths copied in by trusted users) are accepted without a signature from a trusted key.",
	Remediation: "Set require-sigs = true and list the keys you trust in trusted-public-keys.",
	Scope:       check.ScopeHost,
	Run:         hostaudit.RequireSigs,
}
