package checks

import (
	"context"

	"github.com/nixgate/nixgate/internal/check"
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
	Run:         runHostRequireSigs,
}

// runHostRequireSigs reports require-sigs = false.
func runHostRequireSigs(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	if h.Config.Get("require-sigs").String() == "false" {
		p.Reportf(hostLoc(h, "require-sigs"), "require-sigs=false", "require-sigs = false (%s): unsigned paths from any substituter, or copied in by a trusted user, are accepted", hostWhere(h, "require-sigs"))
	}
	return nil
}
