package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/hostaudit"
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
	Run:         hostaudit.Sandbox,
}
