package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/hostaudit"
)

// HostSubstituters enforces R8 on a build host (nixgate host).
var HostSubstituters = &check.Check{
	ID:          "host-substituters",
	Title:       "A substituter is not controlled",
	Severity:    check.High,
	Rules:       []string{"R8"},
	Why:         "Every substituter can supply any store path; one reached over plain http, without a pinned key, or outside the approved list lets its operator (or the network) decide what you run.",
	Remediation: "Use https substituters you control, pin each one's key in trusted-public-keys, and list them in the check's allowed option.",
	Scope:       check.ScopeHost,
	Options:     &hostaudit.SubstitutersOptions{},
	Run:         hostaudit.Substituters,
}
