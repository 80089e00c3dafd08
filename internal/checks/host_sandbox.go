package checks

import (
	"context"
	"fmt"

	"github.com/nixgate/nixgate/internal/check"
)

// HostSandbox enforces R7 on a build host (nixgate host).
var HostSandbox = &check.Check{
	ID:          "host-sandbox",
	Title:       "The build sandbox is off or weakened",
	Severity:    check.Critical,
	Rules:       []string{"R7"},
	Why:         "Without the sandbox a build sees the host's files, network and processes; sandbox = relaxed lets any derivation opt out, and sandbox-fallback = true silently builds without a sandbox when the kernel cannot provide one.",
	Remediation: "Set sandbox = true and sandbox-fallback = false, then prove it with nixgate host --probe.",
	Scope:       check.ScopeHost,
	Run:         runHostSandbox,
}

// runHostSandbox reports sandbox = false or relaxed, and sandbox-fallback.
func runHostSandbox(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	v := h.Config.Get("sandbox").String()
	switch v {
	case "false":
		p.ReportSeverity(check.Critical, check.Finding{Location: hostLoc(h, "sandbox"), Key: "sandbox=false",
			Message: fmt.Sprintf("sandbox = false (%s, for %s): builds see the whole host, its network and every file the build user can read", hostWhere(h, "sandbox"), h.ConfigOf)})
	case "relaxed":
		p.ReportSeverity(check.High, check.Finding{Location: hostLoc(h, "sandbox"), Key: "sandbox=relaxed",
			Message: fmt.Sprintf("sandbox = relaxed (%s): any derivation with __noChroot = true builds without a sandbox", hostWhere(h, "sandbox"))})
	}
	if v != "false" && h.Config.Bool("sandbox-fallback") {
		p.ReportSeverity(check.Medium, check.Finding{Location: hostLoc(h, "sandbox-fallback"), Key: "sandbox-fallback=true",
			Message: fmt.Sprintf("sandbox-fallback = true (%s): when the kernel cannot create the sandbox, Nix silently builds without one", hostWhere(h, "sandbox-fallback"))})
	}
	return nil
}
