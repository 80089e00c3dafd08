package checks

import (
	"context"
	"fmt"

	"github.com/nixgate/nixgate/internal/check"
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
	Run:         runHostSyscallFilter,
}

// runHostSyscallFilter reports filter-syscalls = false and allow-new-privileges.
func runHostSyscallFilter(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	if h.Config.Get("filter-syscalls").String() == "false" {
		p.ReportSeverity(check.High, check.Finding{Location: hostLoc(h, "filter-syscalls"), Key: "filter-syscalls=false",
			Message: fmt.Sprintf("filter-syscalls = false (%s): builds may create setuid/setgid files and extended attributes", hostWhere(h, "filter-syscalls"))})
	}
	if h.Config.Bool("allow-new-privileges") {
		p.ReportSeverity(check.Medium, check.Finding{Location: hostLoc(h, "allow-new-privileges"), Key: "allow-new-privileges=true",
			Message: fmt.Sprintf("allow-new-privileges = true (%s): builds may gain privileges through setuid programs such as sudo", hostWhere(h, "allow-new-privileges"))})
	}
	return nil
}
