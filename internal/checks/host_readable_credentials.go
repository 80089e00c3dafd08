package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
)

// HostReadableCredentials enforces R4 R8 on a build host (nixgate host).
var HostReadableCredentials = &check.Check{
	ID:          "host-readable-credentials",
	Title:       "Nix credentials are readable by every user",
	Severity:    check.High,
	Rules:       []string{"R4", "R8"},
	Why:         "access-tokens in nix.conf or a netrc-file that every local user can read hand those credentials (often a CI job's token) to anyone on the machine.",
	Remediation: "Move tokens to a root-only file (mode 0600) included with !include, or to the user's own nix.conf; make netrc-file mode 0600.",
	Scope:       check.ScopeHost,
	Run:         runHostReadableCredentials,
}

// runHostReadableCredentials reports access-tokens in a file others can read and
// a netrc file others can read.
func runHostReadableCredentials(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	c := h.Config
	seen := map[string]bool{}
	for _, a := range c.Assignments {
		if a.Setting != "access-tokens" || len(a.Tokens) == 0 {
			continue
		}
		f := c.File(a.Origin.File)
		if f == nil || !f.WorldReadable() || seen[a.Origin.String()] {
			continue
		}
		seen[a.Origin.String()] = true
		var hosts []string
		for _, t := range a.Tokens {
			host, tok, _ := strings.Cut(t, "=")
			hosts = append(hosts, fmt.Sprintf("%s=%s", host, redact(tok)))
		}
		p.Reportf(originLoc(a.Origin, c), "access-tokens:"+a.Origin.File+":"+strings.Join(hosts, ","),
			"access-tokens in %s, which every local user can read (mode %s): %s", a.Origin.File, f.Perm, strings.Join(hosts, " "))
	}
	netrc := c.Get("netrc-file").String()
	if netrc != "" {
		if fi, err := h.Root.Stat(netrc); err == nil && !fi.IsDir() && fi.Mode().Perm()&0o004 != 0 {
			p.Reportf(hostLoc(h, "netrc-file"), "netrc:"+netrc, "netrc-file %s is readable by every local user (mode %04o): it holds credentials for substituters and fetches", netrc, fi.Mode().Perm())
		}
	}
	return nil
}
