package checks

import (
	"context"
	"slices"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
)

// HostSandboxPaths enforces R7 on a build host (nixgate host).
var HostSandboxPaths = &check.Check{
	ID:          "host-sandbox-paths",
	Title:       "A sandbox path exposes the host",
	Severity:    check.High,
	Rules:       []string{"R7"},
	Why:         "Paths in sandbox-paths / extra-sandbox-paths are mounted into every build: sockets, /run, home directories or caches shared with other projects let builds read secrets or poison state outside the store.",
	Remediation: "Remove the path, or expose a dedicated, read-only, per-project directory instead; list accepted paths in the check's allow option.",
	Scope:       check.ScopeHost,
	Options:     &SandboxPathsOptions{},
	Run:         runHostSandboxPaths,
}

// SandboxPathsOptions tunes host-sandbox-paths.
type SandboxPathsOptions struct {
	Allow []string `toml:"allow" doc:"sandbox paths accepted even though they expose the host (exact host path or NAME=HOSTPATH entry)"`
}

// runHostSandboxPaths reports sandbox paths that expose host state.
func runHostSandboxPaths(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	opts, _ := p.Options.(*SandboxPathsOptions)
	for _, tok := range h.Config.Get("sandbox-paths").Tokens {
		if opts != nil && slices.Contains(opts.Allow, tok) {
			continue
		}
		host := strings.TrimSuffix(tok, "?")
		if _, after, ok := strings.Cut(host, "="); ok {
			host = after
		}
		if opts != nil && slices.Contains(opts.Allow, host) {
			continue
		}
		why := ""
		if host == "/" {
			why = "the whole host filesystem"
		} else if strings.HasSuffix(host, ".sock") || strings.Contains(host, "/socket") {
			why = "a socket to a host service"
		} else {
			for _, e := range exposingPrefixes {
				if host == e.prefix || strings.HasPrefix(host, e.prefix+"/") {
					why = e.why
					break
				}
			}
		}
		if why == "" {
			continue
		}
		p.Reportf(originLoc(h.Config.OriginOf("sandbox-paths", tok), h.Config), "sandbox-path:"+tok,
			"sandbox path %s exposes %s to every build", tok, why)
	}
	return nil
}
