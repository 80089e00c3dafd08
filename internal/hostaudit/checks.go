package hostaudit

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/nixconf"
)

func hostOf(p *check.Pass) (*Host, error) {
	h, ok := p.Input.(*Host)
	if !ok || h == nil || h.Config == nil {
		return nil, errors.New("no host configuration to audit (host checks run under `nixgate host`)")
	}
	return h, nil
}

// loc is where a setting's value came from; for a default, the system
// nix.conf (where one would change it).
func (h *Host) loc(name string) check.Location {
	return originLoc(h.Config.Get(name).Origin(), h.Config)
}

func originLoc(o nixconf.Origin, c *nixconf.Config) check.Location {
	if o.File == "" {
		return check.Location{Path: path.Join(c.ConfDir, "nix.conf")}
	}
	return check.Location{Path: o.File, Line: o.Line, Column: o.Column}
}

func (h *Host) where(name string) string {
	v := h.Config.Get(name)
	if !v.Set {
		return "Nix's default"
	}
	return "set at " + v.Origin().String()
}

// ConfigInvalid reports what makes Nix refuse the configuration.
func ConfigInvalid(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	for _, c := range configs(h) {
		for _, pr := range c.Problems {
			if pr.Fatal {
				p.Reportf(originLoc(pr.Origin, c), "problem:"+string(pr.Kind)+":"+pr.Message, "%s", pr.Message)
			}
		}
	}
	return nil
}

// configs is the governing configuration and, when different, the
// client's.
func configs(h *Host) []*nixconf.Config {
	if h.Client != nil && h.Client != h.Config {
		return []*nixconf.Config{h.Config, h.Client}
	}
	return []*nixconf.Config{h.Config}
}

// ConfigQuoting reports quoted values: nix.conf has no quoting.
func ConfigQuoting(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	for _, c := range configs(h) {
		for _, pr := range c.Problems {
			if pr.Kind == nixconf.ProblemQuoted {
				p.Reportf(originLoc(pr.Origin, c), "quoted:"+pr.Setting+":"+pr.Message, "%s", pr.Message)
			}
		}
	}
	return nil
}

// Sandbox reports sandbox = false or relaxed, and sandbox-fallback.
func Sandbox(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	v := h.Config.Get("sandbox").String()
	switch v {
	case "false":
		p.ReportSeverity(check.Critical, check.Finding{Location: h.loc("sandbox"), Key: "sandbox=false",
			Message: fmt.Sprintf("sandbox = false (%s, for %s): builds see the whole host, its network and every file the build user can read", h.where("sandbox"), h.ConfigOf)})
	case "relaxed":
		p.ReportSeverity(check.High, check.Finding{Location: h.loc("sandbox"), Key: "sandbox=relaxed",
			Message: fmt.Sprintf("sandbox = relaxed (%s): any derivation with __noChroot = true builds without a sandbox", h.where("sandbox"))})
	}
	if v != "false" && h.Config.Bool("sandbox-fallback") {
		p.ReportSeverity(check.Medium, check.Finding{Location: h.loc("sandbox-fallback"), Key: "sandbox-fallback=true",
			Message: fmt.Sprintf("sandbox-fallback = true (%s): when the kernel cannot create the sandbox, Nix silently builds without one", h.where("sandbox-fallback"))})
	}
	return nil
}

// SandboxPathsOptions tunes host-sandbox-paths.
type SandboxPathsOptions struct {
	Allow []string `toml:"allow" doc:"sandbox paths accepted even though they expose the host (exact host path or NAME=HOSTPATH entry)"`
}

var exposingPrefixes = []struct{ prefix, why string }{
	{"/run", "runtime state and sockets"}, {"/var/run", "runtime state and sockets"}, {"/home", "home directories"},
	{"/root", "root's home directory"}, {"/tmp", "a directory shared with every process"}, {"/var/tmp", "a directory shared with every process"},
	{"/var/cache", "a cache shared with other builds and projects"}, {"/nix/var", "Nix's state (database, daemon socket, caches)"},
	{"/var/lib", "service state"}, {"/etc/ssh", "SSH keys"}, {"/etc/nix", "Nix's configuration and keys"}, {"/proc", "the host's processes"},
	{"/sys", "the host's kernel interfaces"},
}

// SandboxPaths reports sandbox paths that expose host state.
func SandboxPaths(_ context.Context, p *check.Pass) error {
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

// SyscallFilter reports filter-syscalls = false and allow-new-privileges.
func SyscallFilter(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	if h.Config.Get("filter-syscalls").String() == "false" {
		p.ReportSeverity(check.High, check.Finding{Location: h.loc("filter-syscalls"), Key: "filter-syscalls=false",
			Message: fmt.Sprintf("filter-syscalls = false (%s): builds may create setuid/setgid files and extended attributes", h.where("filter-syscalls"))})
	}
	if h.Config.Bool("allow-new-privileges") {
		p.ReportSeverity(check.Medium, check.Finding{Location: h.loc("allow-new-privileges"), Key: "allow-new-privileges=true",
			Message: fmt.Sprintf("allow-new-privileges = true (%s): builds may gain privileges through setuid programs such as sudo", h.where("allow-new-privileges"))})
	}
	return nil
}

// RequireSigs reports require-sigs = false.
func RequireSigs(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	if h.Config.Get("require-sigs").String() == "false" {
		p.Reportf(h.loc("require-sigs"), "require-sigs=false", "require-sigs = false (%s): unsigned paths from any substituter, or copied in by a trusted user, are accepted", h.where("require-sigs"))
	}
	return nil
}

// SubstitutersOptions tunes host-substituters.
type SubstitutersOptions struct {
	Allowed []string `toml:"allowed" doc:"substituter URLs allowed on build hosts (empty: no allowlist); compared without a trailing slash"`
}

// Substituters reports http caches, caches without a pinned key, caches
// outside the allowlist and trusted-substituters.
func Substituters(_ context.Context, p *check.Pass) error {
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

var keySuffixRE = regexp.MustCompile(`-[0-9]+$`)

// keyHost turns a key name such as cache.nixos.org-1 into the host it is
// conventionally named after.
func keyHost(name string) string { return keySuffixRE.ReplaceAllString(name, "") }

func allowedURL(allowed []string, u string) bool {
	for _, a := range allowed {
		if strings.TrimSuffix(a, "/") == strings.TrimSuffix(u, "/") {
			return true
		}
	}
	return false
}

// TrustedUsersOptions tunes host-trusted-users.
type TrustedUsersOptions struct {
	Allowed []string `toml:"allowed" doc:"trusted-users entries accepted (users or @groups); every other entry is a finding"`
}

// TrustedUsers lists every root-equivalent entry of trusted-users.
func TrustedUsers(_ context.Context, p *check.Pass) error {
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

// AllowedUsers reports allowed-users = *.
func AllowedUsers(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	if slices.Contains(h.Config.Get("allowed-users").Tokens, "*") {
		p.Reportf(h.loc("allowed-users"), "allowed-users:*", "allowed-users contains * (%s): every local user can talk to the daemon and submit builds, the attack surface of every daemon advisory", h.where("allowed-users"))
	}
	return nil
}

// BuildUsersGroup reports builds running as the daemon's user.
func BuildUsersGroup(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	if h.Config.Get("build-users-group").String() == "" && !h.Config.Bool("auto-allocate-uids") {
		p.Reportf(h.loc("build-users-group"), "build-users-group=", "build-users-group is empty (%s) and auto-allocate-uids is off: builds run as the daemon's user (root)", h.where("build-users-group"))
	}
	return nil
}

// AcceptFlakeConfig reports accept-flake-config = true.
func AcceptFlakeConfig(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	if h.Config.Bool("accept-flake-config") {
		p.Reportf(h.loc("accept-flake-config"), "accept-flake-config=true", "accept-flake-config = true (%s): any flake's nixConfig is applied without asking, so a flake author can add substituters and keys", h.where("accept-flake-config"))
	}
	return nil
}

// UnsafeEval reports allow-unsafe-native-code-during-evaluation.
func UnsafeEval(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	if h.Config.Bool("allow-unsafe-native-code-during-evaluation") {
		p.Reportf(h.loc("allow-unsafe-native-code-during-evaluation"), "unsafe-eval=true", "allow-unsafe-native-code-during-evaluation = true (%s): evaluating an expression can run any program (builtins.exec)", h.where("allow-unsafe-native-code-during-evaluation"))
	}
	return nil
}

// BuildHooks reports hooks that run as root, and hooks others can change.
func BuildHooks(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	for _, name := range []string{"post-build-hook", "pre-build-hook", "diff-hook"} {
		v := h.Config.Get(name).String()
		if v == "" {
			continue
		}
		loc := h.loc(name)
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

// ciVars are environment variables set by common CI systems.
var ciVars = []string{"CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "JENKINS_URL", "CIRCLECI", "TRAVIS", "TF_BUILD", "TEAMCITY_VERSION", "DRONE", "WOODPECKER", "HYDRA_JOB"}

// CISigningKeys reports secret-key-files on a CI machine.
func CISigningKeys(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	keys := h.Config.Get("secret-key-files").Tokens
	if len(keys) == 0 {
		return nil
	}
	var ci []string
	for _, v := range ciVars {
		if h.Env[v] != "" {
			ci = append(ci, v)
		}
	}
	if len(ci) == 0 {
		return nil
	}
	p.Reportf(h.loc("secret-key-files"), "secret-key-files:ci", "secret-key-files is set (%s) on a CI machine (%s set): every path built here is signed, so CI holds a signing key; sign offline instead", strings.Join(keys, " "), strings.Join(ci, ", "))
	return nil
}

// ReadableCredentials reports access-tokens in a file others can read and
// a netrc file others can read.
func ReadableCredentials(_ context.Context, p *check.Pass) error {
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
			p.Reportf(h.loc("netrc-file"), "netrc:"+netrc, "netrc-file %s is readable by every local user (mode %04o): it holds credentials for substituters and fetches", netrc, fi.Mode().Perm())
		}
	}
	return nil
}

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

// RemoteBuilders reports remote builders without a pinned host key.
func RemoteBuilders(_ context.Context, p *check.Pass) error {
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
				entries = append(entries, entry{l, h.loc("builders")})
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

// NixAdvisories reports the installed Nix version's known advisories.
func NixAdvisories(_ context.Context, p *check.Pass) error {
	h, err := hostOf(p)
	if err != nil {
		return err
	}
	advs, err := Advisories()
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
	matches := MatchVersion(advs, impl, h.Nix.Version)
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

func describeRange(r Range) string {
	if r.Fixed == "" {
		return ">= " + r.Introduced
	}
	return fmt.Sprintf("[%s, %s)", r.Introduced, r.Fixed)
}

func fixText(impl string, a Advisory) string {
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

// SandboxProbe reports the probe's verdict.
func SandboxProbe(_ context.Context, p *check.Pass) error {
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
	case Absent:
		p.ReportSeverity(check.Critical, check.Finding{Location: loc, Key: "probe:absent", Message: fmt.Sprintf("sandbox ABSENT on %s, proven by a probe build: %s", store, strings.Join(r.Evidence, "; "))})
	case Partial:
		p.ReportSeverity(check.High, check.Finding{Location: loc, Key: "probe:partial", Message: fmt.Sprintf("sandbox PARTIAL on %s: %s", store, strings.Join(r.Evidence, "; "))})
	case Failed:
		p.ReportSeverity(check.High, check.Finding{Location: loc, Key: "probe:failed", Message: fmt.Sprintf("the sandbox could not be set up on %s, so builds fail (or fall back to no sandbox when sandbox-fallback is true): %s", store, firstLine(r.Error))})
	}
	return nil
}
