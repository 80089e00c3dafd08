package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/hostaudit"
)

// HostAcceptFlakeConfig enforces R8 on a build host (nixgate host).
var HostAcceptFlakeConfig = &check.Check{
	ID:          "host-accept-flake-config",
	Title:       "accept-flake-config is true",
	Severity:    check.High,
	Rules:       []string{"R8"},
	Why:         "With accept-flake-config = true, the nixConfig of any flake you build is applied without asking, so whoever writes a flake can add substituters and trusted keys to your builds.",
	Remediation: "Set accept-flake-config = false and copy the few settings you trust into nix.conf yourself.",
	Scope:       check.ScopeHost,
	Run:         hostaudit.AcceptFlakeConfig,
}
