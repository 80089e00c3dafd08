package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/hostaudit"
)

// HostSandboxPaths enforces R7 on a build host (nixgate host).
var HostSandboxPaths = &check.Check{
	ID:          "host-sandbox-paths",
	Title:       "A sandbox path exposes the host",
	Severity:    check.High,
	Rules:       []string{"R7"},
	Why:         "Paths in sandbox-paths / extra-sandbox-paths are mounted into every build: sockets, /run, home directories or caches shared with other projects let builds read secrets or poison state outside the store.",
	Remediation: "Remove the path, or expose a dedicated, read-only, per-project directory instead; list accepted paths in the check's allow option.",
	Scope:       check.ScopeHost,
	Options:     &hostaudit.SandboxPathsOptions{},
	Run:         hostaudit.SandboxPaths,
}
