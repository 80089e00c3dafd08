package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/hostaudit"
)

// HostReadableCredentials enforces R4 R8 on a build host (nixgate host).
var HostReadableCredentials = &check.Check{
	ID:          "host-readable-credentials",
	Title:       "Nix credentials are readable by every user",
	Severity:    check.High,
	Rules:       []string{"R4", "R8"},
	Why:         "access-tokens in nix.conf or a netrc-file that every local user can read hand those credentials (often a CI job's token) to anyone on the machine.",
	Remediation: "Move tokens to a root-only file (mode 0600) included with !include, or to the user's own nix.conf; make netrc-file mode 0600.",
	Scope:       check.ScopeHost,
	Run:         hostaudit.ReadableCredentials,
}
