package checks

import (
	"context"

	"github.com/nixgate/nixgate/internal/check"
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
	Run:         runHostAcceptFlakeConfig,
}

// runHostAcceptFlakeConfig reports accept-flake-config = true.
func runHostAcceptFlakeConfig(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	if h.Config.Bool("accept-flake-config") {
		p.Reportf(hostLoc(h, "accept-flake-config"), "accept-flake-config=true", "accept-flake-config = true (%s): any flake's nixConfig is applied without asking, so a flake author can add substituters and keys", hostWhere(h, "accept-flake-config"))
	}
	return nil
}
