package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/hostaudit"
)

// HostNixAdvisories enforces R8 on a build host (nixgate host).
var HostNixAdvisories = &check.Check{
	ID:          "host-nix-advisories",
	Title:       "The installed Nix has known advisories",
	Severity:    check.High,
	Rules:       []string{"R8"},
	Why:         "The installed Nix or Lix version is in the affected range of a published sandbox-escape or store advisory, so the sandbox and the store cannot be relied on until it is upgraded.",
	Remediation: "Upgrade to a fixed release (listed in the finding); for a distribution package, check the distribution's tracker for a backport.",
	Scope:       check.ScopeHost,
	Run:         hostaudit.NixAdvisories,
}
