package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/hostaudit"
)

// HostTrustedUsers enforces R8 on a build host (nixgate host).
var HostTrustedUsers = &check.Check{
	ID:          "host-trusted-users",
	Title:       "A trusted user is root-equivalent",
	Severity:    check.High,
	Rules:       []string{"R8"},
	Why:         "Every trusted-users entry (and every member of a listed @group) can import unsigned paths, add substituters and turn the sandbox off, so each one is root on the build host.",
	Remediation: "Keep trusted-users to root (and a dedicated deploy account if you must); list accepted entries in the check's allowed option.",
	Scope:       check.ScopeHost,
	Options:     &hostaudit.TrustedUsersOptions{Allowed: []string{"root"}},
	Run:         hostaudit.TrustedUsers,
}
