package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/hostaudit"
)

// HostBuildHooks enforces R7 R8 on a build host (nixgate host).
var HostBuildHooks = &check.Check{
	ID:          "host-build-hooks",
	Title:       "A build hook runs as root",
	Severity:    check.High,
	Rules:       []string{"R7", "R8"},
	Why:         "post-build-hook, pre-build-hook and diff-hook run as the daemon's user (root) after or before builds; if anyone else can change the program, they are root.",
	Remediation: "Keep hooks in a root-owned directory, mode 0755 or stricter, owned by root; remove hooks you do not need.",
	Scope:       check.ScopeHost,
	Run:         hostaudit.BuildHooks,
}
