package checks

import (
	"context"
	"slices"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
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
	Options:     &TrustedUsersOptions{Allowed: []string{"root"}},
	Run:         runHostTrustedUsers,
}

// TrustedUsersOptions tunes host-trusted-users.
type TrustedUsersOptions struct {
	Allowed []string `toml:"allowed" doc:"trusted-users entries accepted (users or @groups); every other entry is a finding"`
}

// runHostTrustedUsers lists every root-equivalent entry of trusted-users.
func runHostTrustedUsers(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	opts, _ := p.Options.(*TrustedUsersOptions)
	allowed := []string{"root"}
	if opts != nil && opts.Allowed != nil {
		allowed = opts.Allowed
	}
	for _, u := range h.Config.Get("trusted-users").Tokens {
		loc := originLoc(h.Config.OriginOf("trusted-users", u), h.Config)
		if u == "*" {
			p.ReportSeverity(check.Critical, check.Finding{Location: loc, Key: "trusted-users:*",
				Message: "trusted-users contains *: every local user is root-equivalent (can import unsigned paths, add substituters, disable the sandbox)"})
			continue
		}
		if slices.Contains(allowed, u) {
			continue
		}
		if g, ok := strings.CutPrefix(u, "@"); ok {
			members, known := h.Groups[g]
			who := "unknown group on this system"
			if known {
				who = "members: " + strings.Join(members, ", ")
				if len(members) == 0 {
					who = "no members today"
				}
			}
			p.Reportf(loc, "trusted-users:"+u, "trusted-users contains group %s (%s): each member is root-equivalent", u, who)
			continue
		}
		p.Reportf(loc, "trusted-users:"+u, "trusted-users contains %s: root-equivalent (can import unsigned paths, add substituters, disable the sandbox)", u)
	}
	return nil
}
