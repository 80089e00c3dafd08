package checks

import (
	"context"
	"slices"

	"github.com/nixgate/nixgate/internal/check"
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
	Run:         runHostAllowedUsers,
}

// runHostAllowedUsers reports allowed-users = *.
func runHostAllowedUsers(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	if slices.Contains(h.Config.Get("allowed-users").Tokens, "*") {
		p.Reportf(hostLoc(h, "allowed-users"), "allowed-users:*", "allowed-users contains * (%s): every local user can talk to the daemon and submit builds, the attack surface of every daemon advisory", hostWhere(h, "allowed-users"))
	}
	return nil
}
