package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/hostaudit"
)

// HostBuildUsersGroup enforces R7 on a build host (nixgate host).
var HostBuildUsersGroup = &check.Check{
	ID:          "host-build-users-group",
	Title:       "Builds run as root",
	Severity:    check.High,
	Rules:       []string{"R7"},
	Why:         "With an empty build-users-group (and no auto-allocate-uids) the daemon runs builders as itself, that is as root, so a build can change the host.",
	Remediation: "Set build-users-group = nixbld (with nixbld users created) or enable auto-allocate-uids.",
	Scope:       check.ScopeHost,
	Run:         hostaudit.BuildUsersGroup,
}
