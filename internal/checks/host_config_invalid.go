package checks

import (
	"context"

	"github.com/nixgate/nixgate/internal/check"
)

// HostConfigInvalid enforces R7 R8 on a build host (nixgate host).
var HostConfigInvalid = &check.Check{
	ID:          "host-config-invalid",
	Title:       "Nix refuses this configuration",
	Severity:    check.High,
	Rules:       []string{"R7", "R8"},
	Why:         "A line Nix cannot parse (such as sandbox=false without spaces), a missing include or an include cycle makes every nix command fail or crash, and the settings you meant are not in force.",
	Remediation: "Fix the line as the message says: NAME = VALUE with spaces around a lone =, an existing include target (or !include for an optional file), no include cycles.",
	Scope:       check.ScopeHost,
	Run:         runHostConfigInvalid,
}

// runHostConfigInvalid reports what makes Nix refuse the configuration.
func runHostConfigInvalid(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	for _, c := range configs(h) {
		for _, pr := range c.Problems {
			if pr.Fatal {
				p.Reportf(originLoc(pr.Origin, c), "problem:"+string(pr.Kind)+":"+pr.Message, "%s", pr.Message)
			}
		}
	}
	return nil
}
