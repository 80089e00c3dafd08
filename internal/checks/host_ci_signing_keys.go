package checks

import (
	"context"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
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
	Run:         runHostCISigningKeys,
}

// runHostCISigningKeys reports secret-key-files on a CI machine.
func runHostCISigningKeys(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	keys := h.Config.Get("secret-key-files").Tokens
	if len(keys) == 0 {
		return nil
	}
	var ci []string
	for _, v := range ciVars {
		if h.Env[v] != "" {
			ci = append(ci, v)
		}
	}
	if len(ci) == 0 {
		return nil
	}
	p.Reportf(hostLoc(h, "secret-key-files"), "secret-key-files:ci", "secret-key-files is set (%s) on a CI machine (%s set): every path built here is signed, so CI holds a signing key; sign offline instead", strings.Join(keys, " "), strings.Join(ci, ", "))
	return nil
}
