package checks

import (
	"context"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/nixconf"
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
	Run:         runHostConfigQuoting,
}

// runHostConfigQuoting reports quoted values: nix.conf has no quoting.
func runHostConfigQuoting(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	for _, c := range configs(h) {
		for _, pr := range c.Problems {
			if pr.Kind == nixconf.ProblemQuoted {
				p.Reportf(originLoc(pr.Origin, c), "quoted:"+pr.Setting+":"+pr.Message, "%s", pr.Message)
			}
		}
	}
	return nil
}
