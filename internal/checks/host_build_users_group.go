package checks

import (
	"context"

	"github.com/nixgate/nixgate/internal/check"
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
	Run:         runHostBuildUsersGroup,
}

// runHostBuildUsersGroup reports builds running as the daemon's user.
func runHostBuildUsersGroup(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	if h.Config.Get("build-users-group").String() == "" && !h.Config.Bool("auto-allocate-uids") {
		p.Reportf(hostLoc(h, "build-users-group"), "build-users-group=", "build-users-group is empty (%s) and auto-allocate-uids is off: builds run as the daemon's user (root)", hostWhere(h, "build-users-group"))
	}
	return nil
}
