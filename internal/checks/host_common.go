package checks

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/hostaudit"
	"github.com/nixgate/nixgate/internal/lazyre"
	"github.com/nixgate/nixgate/internal/nixconf"
)

func hostOf(p *check.Pass) (*hostaudit.Host, error) {
	h, ok := p.Input.(*hostaudit.Host)
	if !ok || h == nil || h.Config == nil {
		return nil, errors.New("no host configuration to audit (host checks run under `nixgate host`)")
	}
	return h, nil
}

// loc is where a setting's value came from; for a default, the system
// nix.conf (where one would change it).
func hostLoc(h *hostaudit.Host, name string) check.Location {
	return originLoc(h.Config.Get(name).Origin(), h.Config)
}

func originLoc(o nixconf.Origin, c *nixconf.Config) check.Location {
	if o.File == "" {
		return check.Location{Path: path.Join(c.ConfDir, "nix.conf")}
	}
	return check.Location{Path: o.File, Line: o.Line, Column: o.Column}
}

func hostWhere(h *hostaudit.Host, name string) string {
	v := h.Config.Get(name)
	if !v.Set {
		return "Nix's default"
	}
	return "set at " + v.Origin().String()
}

// configs is the governing configuration and, when different, the
// client's.
func configs(h *hostaudit.Host) []*nixconf.Config {
	if h.Client != nil && h.Client != h.Config {
		return []*nixconf.Config{h.Config, h.Client}
	}
	return []*nixconf.Config{h.Config}
}

var exposingPrefixes = []struct{ prefix, why string }{
	{"/run", "runtime state and sockets"}, {"/var/run", "runtime state and sockets"}, {"/home", "home directories"},
	{"/root", "root's home directory"}, {"/tmp", "a directory shared with every process"}, {"/var/tmp", "a directory shared with every process"},
	{"/var/cache", "a cache shared with other builds and projects"}, {"/nix/var", "Nix's state (database, daemon socket, caches)"},
	{"/var/lib", "service state"}, {"/etc/ssh", "SSH keys"}, {"/etc/nix", "Nix's configuration and keys"}, {"/proc", "the host's processes"},
	{"/sys", "the host's kernel interfaces"},
}

var keySuffixRE = lazyre.New(`-[0-9]+$`)

// keyHost turns a key name such as cache.nixos.org-1 into the host it is
// conventionally named after.
func keyHost(name string) string { return keySuffixRE().ReplaceAllString(name, "") }

func allowedURL(allowed []string, u string) bool {
	for _, a := range allowed {
		if strings.TrimSuffix(a, "/") == strings.TrimSuffix(u, "/") {
			return true
		}
	}
	return false
}

// ciVars are environment variables set by common CI systems.
var ciVars = []string{"CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "JENKINS_URL", "CIRCLECI", "TRAVIS", "TF_BUILD", "TEAMCITY_VERSION", "DRONE", "WOODPECKER", "HYDRA_JOB"}

// redact shows a secret's shape, never the secret.
func redact(s string) string {
	if s == "" {
		return "(empty)"
	}
	if strings.HasPrefix(s, "<") || strings.HasPrefix(s, "$") {
		return s // a placeholder, not a token
	}
	n := min(4, len(s)/4)
	return fmt.Sprintf("%s… (%d chars)", s[:n], len(s))
}

func describeRange(r hostaudit.Range) string {
	if r.Fixed == "" {
		return ">= " + r.Introduced
	}
	return fmt.Sprintf("[%s, %s)", r.Introduced, r.Fixed)
}

func fixText(impl string, a hostaudit.Advisory) string {
	af := a.Nix
	if impl == "lix" {
		af = a.Lix
	}
	fixed := af.FixedIn
	if len(fixed) == 0 {
		return "no fixed release known"
	}
	return "fixed in " + strings.Join(fixed, ", ") + " and later releases"
}
