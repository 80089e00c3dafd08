package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/hostaudit"
)

// HostRemoteBuilders enforces R8 R9 on a build host (nixgate host).
var HostRemoteBuilders = &check.Check{
	ID:          "host-remote-builders",
	Title:       "A remote builder has no pinned host key",
	Severity:    check.Medium,
	Rules:       []string{"R8", "R9"},
	Why:         "A remote builder without a pinned SSH host key is trusted on first use: whoever answers at that address receives the builds and returns outputs the daemon accepts.",
	Remediation: "Add the builder's base64-encoded public host key as the 8th field of its machines line (or pin it in root's known_hosts).",
	Scope:       check.ScopeHost,
	Run:         hostaudit.RemoteBuilders,
}
