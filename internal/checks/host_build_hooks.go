package checks

import (
	"context"
	"fmt"
	"path"
	"strings"
	"syscall"

	"github.com/nixgate/nixgate/internal/check"
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
	Run:         runHostBuildHooks,
}

// runHostBuildHooks reports hooks that run as root, and hooks others can change.
func runHostBuildHooks(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	for _, name := range []string{"post-build-hook", "pre-build-hook", "diff-hook"} {
		v := h.Config.Get(name).String()
		if v == "" {
			continue
		}
		loc := hostLoc(h, name)
		key := name + ":" + v
		fi, err := h.Root.Stat(v)
		if err != nil {
			p.ReportSeverity(check.Medium, check.Finding{Location: loc, Key: key + ":missing", Message: fmt.Sprintf("%s = %s does not exist on the host: whoever creates it runs code as root after builds", name, v)})
			continue
		}
		var problems []string
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 {
			problems = append(problems, fmt.Sprintf("owned by uid %d, not root", st.Uid))
		}
		if fi.Mode().Perm()&0o022 != 0 {
			problems = append(problems, fmt.Sprintf("writable by group or others (mode %04o)", fi.Mode().Perm()))
		}
		if dfi, err := h.Root.Stat(path.Dir(v)); err == nil && dfi.Mode().Perm()&0o002 != 0 && dfi.Mode()&0o1000 == 0 {
			problems = append(problems, "its directory is writable by others")
		}
		if len(problems) > 0 {
			p.ReportSeverity(check.Critical, check.Finding{Location: loc, Key: key + ":perm", Message: fmt.Sprintf("%s = %s runs as root but is %s: anyone who can change it is root", name, v, strings.Join(problems, "; "))})
			continue
		}
		p.ReportSeverity(check.Info, check.Finding{Location: loc, Key: key, Message: fmt.Sprintf("%s = %s runs as root (owned by root, not writable by others): review what it does", name, v)})
	}
	return nil
}
