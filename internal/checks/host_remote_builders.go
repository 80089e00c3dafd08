package checks

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
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
	Run:         runHostRemoteBuilders,
}

// runHostRemoteBuilders reports remote builders without a pinned host key.
func runHostRemoteBuilders(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	v := h.Config.Get("builders").String()
	type entry struct {
		line string
		loc  check.Location
	}
	var entries []entry
	if file, ok := strings.CutPrefix(strings.TrimSpace(v), "@"); ok {
		b, err := h.Root.ReadFile(file)
		if err != nil {
			return nil // no machines file: no remote builders
		}
		for i, l := range strings.Split(string(b), "\n") {
			if j := strings.IndexByte(l, '#'); j >= 0 {
				l = l[:j]
			}
			if strings.TrimSpace(l) != "" {
				entries = append(entries, entry{l, check.Location{Path: file, Line: i + 1}})
			}
		}
	} else {
		for _, l := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == '\n' }) {
			if strings.TrimSpace(l) != "" {
				entries = append(entries, entry{l, hostLoc(h, "builders")})
			}
		}
	}
	for _, e := range entries {
		f := strings.Fields(e.line)
		uri := f[0]
		if uri == "localhost" || strings.HasPrefix(uri, "local") || strings.HasPrefix(uri, "auto") {
			continue
		}
		if len(f) < 8 || f[7] == "-" {
			p.Reportf(e.loc, "builder:"+uri, "remote builder %s has no pinned SSH host key (8th field): the first host to answer gets the builds and returns their outputs", uri)
			continue
		}
		if _, err := base64.StdEncoding.DecodeString(f[7]); err != nil {
			p.Reportf(e.loc, "builder:"+uri+":badkey", "remote builder %s has a host key field that is not base64", uri)
		}
	}
	return nil
}
