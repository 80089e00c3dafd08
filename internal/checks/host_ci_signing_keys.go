package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/hostaudit"
)

// HostCISigningKeys enforces R8 R11 on a build host (nixgate host).
var HostCISigningKeys = &check.Check{
	ID:          "host-ci-signing-keys",
	Title:       "A CI machine signs store paths",
	Severity:    check.High,
	Rules:       []string{"R8", "R11"},
	Why:         "secret-key-files makes Nix sign every path it builds; on a CI machine that means CI holds a signing key, and a compromised job can sign anything.",
	Remediation: "Remove secret-key-files from CI builders and sign releases offline in a separate ceremony.",
	Scope:       check.ScopeHost,
	Run:         hostaudit.CISigningKeys,
}
