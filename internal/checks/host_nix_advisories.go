package checks

import (
	"context"
	"fmt"
	"sort"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/hostaudit"
)

// HostNixAdvisories enforces R8 on a build host (nixgate host).
var HostNixAdvisories = &check.Check{
	ID:          "host-nix-advisories",
	Title:       "The installed Nix has known advisories",
	Severity:    check.High,
	Rules:       []string{"R8"},
	Why:         "The installed Nix or Lix version is in the affected range of a published sandbox-escape or store advisory, so the sandbox and the store cannot be relied on until it is upgraded.",
	Remediation: "Upgrade to a fixed release (listed in the finding); for a distribution package, check the distribution's tracker for a backport.",
	Scope:       check.ScopeHost,
	Run:         runHostNixAdvisories,
}

// runHostNixAdvisories reports the installed Nix version's known advisories.
func runHostNixAdvisories(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	advs, err := hostaudit.Advisories()
	if err != nil {
		return err
	}
	loc := check.Location{Path: "nix " + h.Nix.Version}
	if h.Nix.Version == "" {
		p.ReportSeverity(check.Low, check.Finding{Location: check.Location{Path: "nix"}, Key: "version-unknown",
			Message: "the installed Nix version could not be determined (" + h.Nix.Source + "): advisories not checked"})
		return nil
	}
	impl := h.Nix.Implementation
	if impl == "" {
		impl = "nix"
	}
	backport := ""
	if h.Nix.Package != "" {
		backport = fmt.Sprintf("; installed from the distribution package %s, which may carry a backported fix: check the distribution's security tracker", h.Nix.Package)
	}
	matches := hostaudit.MatchVersion(advs, impl, h.Nix.Version)
	sort.SliceStable(matches, func(i, j int) bool { return matches[i].Advisory.ID < matches[j].Advisory.ID })
	for _, m := range matches {
		a := m.Advisory
		switch {
		case m.Unknown:
			continue
		case m.Uncertain:
			p.ReportSeverity(max(check.Low, a.Severity-1), check.Finding{Location: loc, Key: "advisory:" + a.ID,
				Message: fmt.Sprintf("%s %s may be affected by %s (%s): the range %s is not confirmed%s", impl, h.Nix.Version, a.ID, a.Title, describeRange(m.Range), backport)})
		default:
			p.ReportSeverity(a.Severity, check.Finding{Location: loc, Key: "advisory:" + a.ID,
				Message: fmt.Sprintf("%s %s is affected by %s (%s); %s%s", impl, h.Nix.Version, a.ID, a.Title, fixText(impl, a), backport)})
		}
	}
	return nil
}
