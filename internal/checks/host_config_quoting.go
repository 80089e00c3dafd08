package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/hostaudit"
)

// HostConfigQuoting enforces R8 on a build host (nixgate host).
var HostConfigQuoting = &check.Check{
	ID:          "host-config-quoting",
	Title:       "A nix.conf value is quoted",
	Severity:    check.Medium,
	Rules:       []string{"R8"},
	Why:         "nix.conf has no quoting: \"alice bob\" is the two tokens \"alice and bob\", so a quoted substituter, key or user silently means something else than written.",
	Remediation: "Remove the quotes; separate several values with spaces.",
	Scope:       check.ScopeHost,
	Run:         hostaudit.ConfigQuoting,
}
