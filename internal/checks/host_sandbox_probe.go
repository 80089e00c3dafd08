package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/hostaudit"
)

// HostSandboxProbe enforces R7 on a build host (nixgate host).
var HostSandboxProbe = &check.Check{
	ID:          "host-sandbox-probe",
	Title:       "The probe build escaped the sandbox",
	Severity:    check.Critical,
	Rules:       []string{"R7"},
	Why:         "A probe build (nixgate host --probe) checks from inside a real build whether it shares the host's pid namespace, filesystem and loopback network and can create setuid files: what it could reach, any build can reach.",
	Remediation: "Enable the sandbox (sandbox = true, sandbox-fallback = false, filter-syscalls = true) on the daemon and the store you build with, and rerun the probe.",
	Scope:       check.ScopeHost,
	Run:         hostaudit.SandboxProbe,
}
