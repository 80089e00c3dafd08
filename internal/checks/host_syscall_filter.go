package checks

import (
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/hostaudit"
)

// HostSyscallFilter enforces R7 on a build host (nixgate host).
var HostSyscallFilter = &check.Check{
	ID:          "host-syscall-filter",
	Title:       "The build syscall filter is weakened",
	Severity:    check.High,
	Rules:       []string{"R7"},
	Why:         "filter-syscalls = false lets builds create setuid/setgid files and extended attributes, and allow-new-privileges = true lets them gain privileges through setuid programs.",
	Remediation: "Keep filter-syscalls = true and allow-new-privileges = false.",
	Scope:       check.ScopeHost,
	Run:         hostaudit.SyscallFilter,
}
