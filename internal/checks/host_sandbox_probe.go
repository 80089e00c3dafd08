package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/hostaudit"
)

// HostSandboxProbe enforces R7 on a build host (nixgate host).
var HostSandboxProbe = &check.Check{
	ID:          "host-sandbox-probe",
	Title:       "The probe build escaped the sandbox",
	Severity:    check.Critical,
	Rules:       []string{"R7"},
	Why:         "A probe build (nixgate host --probe) checks from inside a real build whether it shares the host's pid namespace, filesystem and loopback network, can create setuid files, and can read a store path outside its closure: what it could reach, any build can reach.",
	Remediation: "Enable the sandbox (sandbox = true, sandbox-fallback = false, filter-syscalls = true) on the daemon and the store you build with, and rerun the probe.",
	Scope:       check.ScopeHost,
	Run:         runHostSandboxProbe,
}

// runHostSandboxProbe reports the probe's verdict.
func runHostSandboxProbe(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	r := h.Probe
	if r == nil {
		return nil
	}
	store := r.Store
	if store == "" {
		store = "the default store"
	}
	loc := check.Location{Path: "probe:" + store}
	switch r.Verdict {
	case hostaudit.Absent:
		p.ReportSeverity(check.Critical, check.Finding{Location: loc, Key: "probe:absent", Message: fmt.Sprintf("sandbox ABSENT on %s, proven by a probe build: %s", store, strings.Join(r.Evidence, "; "))})
	case hostaudit.Partial:
		p.ReportSeverity(check.High, check.Finding{Location: loc, Key: "probe:partial", Message: fmt.Sprintf("sandbox PARTIAL on %s: %s", store, strings.Join(r.Evidence, "; "))})
	}
	if r.StoreIsolation == hostaudit.StoreExposed {
		p.ReportSeverity(check.High, check.Finding{Location: loc, Key: "probe:store-exposed", Message: fmt.Sprintf("store paths outside the build's closure are visible on %s (seed 004): the probe build listed /nix/store (%d entries) and read a path planted there (listed %v, read %v); with the sandbox on, only the closure is mounted: check sandbox-paths for /nix/store", store, r.Record.StoreEntries, r.Record.PlantedListed, r.Record.PlantedRead)})
	}
	switch r.Verdict {
	case hostaudit.Failed:
		p.ReportSeverity(check.High, check.Finding{Location: loc, Key: "probe:failed", Message: fmt.Sprintf("the sandbox could not be set up on %s, so builds fail (or fall back to no sandbox when sandbox-fallback is true): %s", store, strings.SplitN(r.Error, "\n", 2)[0])})
	}
	return nil
}
