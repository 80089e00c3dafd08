package checks

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
)

// HostSubstituters enforces R8 on a build host (nixgate host).
var HostSubstituters = &check.Check{
	ID:          "host-substituters",
	Title:       "A substituter is not controlled",
	Severity:    check.High,
	Rules:       []string{"R8"},
	Why:         "Every substituter can supply any store path; one reached over plain http, without a pinned key, or outside the approved list lets its operator (or the network) decide what you run.",
	Remediation: "Use https substituters you control, pin each one's key in trusted-public-keys, and list them in the check's allowed option.",
	Scope:       check.ScopeHost,
	Options:     &SubstitutersOptions{},
	Run:         runHostSubstituters,
}

// SubstitutersOptions tunes host-substituters.
type SubstitutersOptions struct {
	Allowed []string `toml:"allowed" doc:"substituter URLs allowed on build hosts (empty: no allowlist); compared without a trailing slash"`
}

// runHostSubstituters reports http caches, caches without a pinned key, caches
// outside the allowlist and trusted-substituters.
func runHostSubstituters(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	opts, _ := p.Options.(*SubstitutersOptions)
	keys := map[string]bool{}
	for _, k := range h.Config.Get("trusted-public-keys").Tokens {
		name, _, _ := strings.Cut(k, ":")
		keys[keyHost(name)] = true
	}
	report := func(setting, u string, sev check.Severity, key, format string, args ...any) {
		p.ReportSeverity(sev, check.Finding{Location: originLoc(h.Config.OriginOf(setting, u), h.Config), Key: key, Message: fmt.Sprintf(format, args...)})
	}
	for _, setting := range []string{"substituters", "trusted-substituters"} {
		for _, u := range h.Config.Get(setting).Tokens {
			pu, err := url.Parse(u)
			if err != nil || pu.Scheme == "" {
				report(setting, u, check.Medium, setting+":bad:"+u, "%s entry %s is not a store URL (Nix will fail to open it)", setting, u)
				continue
			}
			if pu.Scheme == "http" {
				report(setting, u, check.High, setting+":http:"+u, "%s entry %s is plain http: its narinfo and NARs can be read and replaced on the way", setting, u)
			}
			if (pu.Scheme == "http" || pu.Scheme == "https" || pu.Scheme == "s3") && !keys[pu.Host] {
				report(setting, u, check.Medium, setting+":nokey:"+u, "%s entry %s has no key named after %s in trusted-public-keys: its paths are accepted only if signed by another trusted key, or unsigned when require-sigs is off", setting, u, pu.Host)
			}
			if opts != nil && len(opts.Allowed) > 0 && !allowedURL(opts.Allowed, u) {
				report(setting, u, check.High, setting+":allowlist:"+u, "%s entry %s is not in the policy's substituter allowlist", setting, u)
			}
			if setting == "trusted-substituters" {
				report(setting, u, check.Low, "trusted-substituters:"+u, "trusted-substituters lists %s: any user may enable it for their builds without being trusted", u)
			}
		}
	}
	return nil
}
