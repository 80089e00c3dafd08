package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/hostaudit"
)

// HostAllowedUsers enforces R8 on a build host (nixgate host).
var HostAllowedUsers = &check.Check{
	ID:          "host-allowed-users",
	Title:       "Every local user may use the Nix daemon",
	Severity:    check.Medium,
	Rules:       []string{"R8"},
	Why:         "allowed-users = * (Nix's default) lets every local account submit builds to a daemon running as root, which is how every daemon privilege escalation advisory is reached.",
	Remediation: "Set allowed-users to a group of people who build, such as @wheel or @nixbld-users.",
	Scope:       check.ScopeHost,
	Run:         hostaudit.AllowedUsers,
}
