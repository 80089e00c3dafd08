// Package ci is `nixgate ci`: the whole pipeline contract from the [ci]
// table of nixgate.toml. It plans the gates (the repository checks, the
// change, the lock delta, kernel configurations, the host, the flake's
// outputs and dev shell, rebuilds, a cache, a UKI, provenance and the
// project's own commands), runs each one as nixgate's own command for that
// gate (in the same process, through the CLI, with a JSON or SARIF report
// into a buffer), and writes one report of every gate: text, JSON, Markdown,
// one SARIF log with a run per gate, and JUnit XML.
//
// ci never re-implements a gate: a gate behaves exactly as its command, with
// the same policy, suppressions, baselines and exit codes. It never signs.
package ci

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/nixgate/nixgate/internal/ciscan"
)

// Config is the [ci] table of nixgate.toml. Every gate but check, pr and
// lock runs only when its table (or key) is present; pr and lock run when a
// base revision is known.
type Config struct {
	// Gates, when set, are the only gates that run (names as --only
	// takes them).
	Gates []string `toml:"gates"`
	// Skip names gates not to run.
	Skip []string `toml:"skip"`
	// RequireAll turns skipped gates into failures.
	RequireAll bool `toml:"require-all"`
	// RequiredPaths is the expected repository layout, checked statically
	// by the required-paths check (in the check gate).
	RequiredPaths []string `toml:"required-paths"`
	// RequiredOutputs are flake output attributes that must exist
	// (nix flake show --json).
	RequiredOutputs []string `toml:"required-outputs"`
	// DevshellTools are commands the dev shell must provide (nix develop
	// --command).
	DevshellTools []string `toml:"devshell-tools"`
	// Devshell is the dev shell's flake attribute (default: the flake's
	// default dev shell).
	Devshell string `toml:"devshell"`
	// Nix holds the store and options of the gates that evaluate the
	// flake (required-outputs, devshell-tools).
	Nix NixGate `toml:"nix"`

	Check      *CheckGate      `toml:"check"`
	PR         *PRGate         `toml:"pr"`
	Lock       *LockGate       `toml:"lock"`
	Kconfig    *KconfigGate    `toml:"kconfig"`
	Host       *HostGate       `toml:"host"`
	Rebuild    *RebuildGate    `toml:"rebuild"`
	Cache      *CacheGate      `toml:"cache"`
	UKI        *UKIGate        `toml:"uki"`
	Provenance *ProvenanceGate `toml:"provenance"`
	Run        []RunStep       `toml:"run"`
}

// Duration is a TOML string such as "90s" or "10m".
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("want a duration such as \"90s\" or \"10m\"")
	}
	if v < 0 {
		return fmt.Errorf("a duration must not be negative")
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Common are the settings every gate table has.
type Common struct {
	// Enabled false turns the gate off (default true when the table is
	// present).
	Enabled *bool `toml:"enabled"`
	// Timeout bounds the gate (default: what is left of the run's
	// --timeout).
	Timeout Duration `toml:"timeout"`
}

func (c *Common) on() bool { return c.Enabled == nil || *c.Enabled }

// CheckGate is [ci.check]: `nixgate check`.
type CheckGate struct {
	Common
	Only     []string `toml:"only"`
	Skip     []string `toml:"skip"`
	FailOn   string   `toml:"fail-on"`
	Baseline string   `toml:"baseline"`
}

// PRGate is [ci.pr]: `nixgate pr`, when a base revision is known.
type PRGate struct {
	Common
	Labels    []string `toml:"labels"`
	Sensitive []string `toml:"sensitive"`
	FailOn    string   `toml:"fail-on"`
}

// LockGate is [ci.lock]: `nixgate lock diff --git BASE` for each lock file,
// when a base revision is known.
type LockGate struct {
	Common
	// Files are the lock files (default: every tracked flake.lock).
	Files []string `toml:"files"`
	// FailOn is the risk that fails the gate (default high).
	FailOn string `toml:"fail-on"`
}

// KconfigGate is [ci.kconfig]: `nixgate kconfig` for each configuration.
type KconfigGate struct {
	Common
	Configs  []string `toml:"configs"`
	Cmdline  string   `toml:"cmdline"`
	Sysctl   string   `toml:"sysctl"`
	Profiles []string `toml:"profiles"`
	Arch     string   `toml:"arch"`
}

// HostGate is [ci.host]: `nixgate host`, with the sandbox probe when
// probe is true.
type HostGate struct {
	Common
	// Root audits a configuration tree offline (an image's root
	// filesystem, relative to the repository) instead of this runner.
	Root    string   `toml:"root"`
	Probe   bool     `toml:"probe"`
	Store   string   `toml:"store"`
	Options []string `toml:"options"`
}

// NixGate is [ci.nix]: how the evaluating gates call Nix.
type NixGate struct {
	// Flake is the flake's directory, relative to the repository
	// (default: the repository itself).
	Flake   string   `toml:"flake"`
	Store   string   `toml:"store"`
	Options []string `toml:"options"`
	// Timeout bounds each evaluating gate.
	Timeout Duration `toml:"timeout"`
}

// RebuildGate is [ci.rebuild]: `nixgate rebuild`.
type RebuildGate struct {
	Common
	Installables []string `toml:"installables"`
	Attrs        []string `toml:"attrs"`
	Builders     []string `toml:"builders"`
	Artifact     string   `toml:"artifact"`
}

// CacheGate is [ci.cache]: `nixgate cache verify`.
type CacheGate struct {
	Common
	Store    string   `toml:"store"`
	Keys     []string `toml:"keys"`
	Require  int      `toml:"require"`
	Closure  []string `toml:"closure"`
	Paths    string   `toml:"paths"`
	All      bool     `toml:"all"`
	Nar      string   `toml:"nar"`
	Upstream []string `toml:"upstream"`
}

// UKIGate is [ci.uki]: `nixgate uki check`, `uki verify` (with certs or
// db) and `uki boot-test` (with boot-test = true) on one image.
type UKIGate struct {
	Common
	File string `toml:"file"`
	// Policy is the policy of the uki gates (such as uki/gate.toml;
	// default: the repository's).
	Policy string `toml:"policy"`
	// Check runs `uki check` (default true).
	Check *bool    `toml:"check"`
	Certs []string `toml:"certs"`
	DB    []string `toml:"db"`
	DBX   []string `toml:"dbx"`
	// BootTest runs `uki boot-test`.
	BootTest    bool     `toml:"boot-test"`
	Firmware    string   `toml:"firmware"`
	Expect      string   `toml:"expect"`
	BootTimeout Duration `toml:"boot-timeout"`
	// Key is refused: ci never signs (nixgate uki sign is an offline
	// ceremony).
	Key string `toml:"key"`
}

// ProvenanceGate is [ci.provenance]: `nixgate attest`, never sign.
type ProvenanceGate struct {
	Common
	Installable string   `toml:"installable"`
	Artifacts   []string `toml:"artifacts"`
	// Store is the store the output was built in (default: Nix's).
	Store string `toml:"store"`
	// BuilderID is the builder's id URI in the statement.
	BuilderID string `toml:"builder-id"`
	// Output is where the statement is written (default: kept in the
	// report only).
	Output string `toml:"output"`
	// Key and Sign are refused: ci never signs.
	Key  string `toml:"key"`
	Sign bool   `toml:"sign"`
}

// RunStep is one [[ci.run]] entry: a command of the project, run with a
// timeout in the repository (no shell: command is the argument vector).
type RunStep struct {
	Name    string   `toml:"name"`
	Command []string `toml:"command"`
	Timeout Duration `toml:"timeout"`
	// Needs are programs that must be on PATH (default: the command's
	// program); a missing one skips the step.
	Needs []string `toml:"needs"`
	// Dir is the working directory, relative to the repository.
	Dir string `toml:"dir"`
	// Enabled false turns the step off.
	Enabled *bool `toml:"enabled"`
}

// SigningError says why ci refuses to run: a signing key or a signing
// command is configured for it.
type SigningError struct{ Where, What string }

func (e *SigningError) Error() string {
	return fmt.Sprintf("nixgate ci never signs: %s %s; signing is an offline ceremony (nixgate sign, nixgate uki sign) after review, never a CI step", e.Where, e.What)
}

// Validate checks the table: paths stay inside the repository, names are
// unique and known, required keys are set.
func (c *Config) Validate() error {
	if c == nil {
		return nil
	}
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	for _, g := range append(slices.Clone(c.Gates), c.Skip...) {
		if !validSelector(g, c) {
			add("ci: unknown gate %q (want one of %s)", g, strings.Join(Selectors(c), ", "))
		}
	}
	relPath := func(where, p string) {
		if p == "" {
			return
		}
		if path.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") {
			add("%s: %q must be a path inside the repository", where, p)
		}
	}
	for _, p := range c.RequiredPaths {
		if strings.TrimSpace(p) == "" {
			add("ci.required-paths: an empty path")
		}
		relPath("ci.required-paths", p)
	}
	for _, o := range c.RequiredOutputs {
		if strings.TrimSpace(o) == "" || strings.ContainsAny(o, " \t\"") {
			add("ci.required-outputs: %q is not an attribute path such as packages.x86_64-linux.default", o)
		}
	}
	for _, t := range c.DevshellTools {
		if t == "" || strings.ContainsAny(t, "/ \t") {
			add("ci.devshell-tools: %q is not a command name", t)
		}
	}
	if c.Kconfig != nil {
		for _, p := range c.Kconfig.Configs {
			relPath("ci.kconfig.configs", p)
		}
		relPath("ci.kconfig.cmdline", c.Kconfig.Cmdline)
		relPath("ci.kconfig.sysctl", c.Kconfig.Sysctl)
		if c.Kconfig.on() && len(c.Kconfig.Configs) == 0 {
			add("ci.kconfig: configs is empty (name the kernel configuration files to gate)")
		}
	}
	if c.Host != nil {
		relPath("ci.host.root", c.Host.Root)
		if c.Host.Root != "" && c.Host.Probe {
			add("ci.host: probe builds on this runner; it cannot be combined with root")
		}
	}
	if c.UKI != nil {
		relPath("ci.uki.policy", c.UKI.Policy)
	}
	relPath("ci.nix.flake", c.Nix.Flake)
	if c.Lock != nil {
		for _, p := range c.Lock.Files {
			relPath("ci.lock.files", p)
		}
	}
	if c.Rebuild != nil && c.Rebuild.on() && len(c.Rebuild.Installables) == 0 {
		add("ci.rebuild: installables is empty")
	}
	if c.Cache != nil && c.Cache.on() && c.Cache.Store == "" {
		add("ci.cache: store is empty (a store URI such as https://cache.example.org)")
	}
	if c.UKI != nil && c.UKI.on() && c.UKI.File == "" {
		add("ci.uki: file is empty (the image to gate, such as result/anchor.efi)")
	}
	if c.Provenance != nil && c.Provenance.on() && c.Provenance.Installable == "" {
		add("ci.provenance: installable is empty")
	}
	seen := map[string]bool{}
	for i, r := range c.Run {
		where := fmt.Sprintf("ci.run[%d]", i)
		if r.Name == "" {
			add("%s: name is empty", where)
		} else if seen[r.Name] {
			add("%s: a second step named %q", where, r.Name)
		}
		seen[r.Name] = true
		if len(r.Command) == 0 || r.Command[0] == "" {
			add("%s (%s): command is empty (an argument vector such as [\"cargo\", \"test\"])", where, r.Name)
		}
		relPath(where+".dir", r.Dir)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// RefuseSigning fails when the table configures a signing key or a step
// that signs: CI builds, it never signs, deploys or holds private keys.
// nixgate ci refuses to run then (other commands read the policy as usual).
func (c *Config) RefuseSigning() error {
	if c.UKI != nil && c.UKI.Key != "" {
		return &SigningError{"[ci.uki]", "key is set"}
	}
	if p := c.Provenance; p != nil && (p.Key != "" || p.Sign) {
		what := "key is set"
		if p.Sign {
			what = "sign = true"
		}
		return &SigningError{"[ci.provenance]", what}
	}
	opts := map[string][]string{"[ci.nix] options": c.Nix.Options}
	if c.Host != nil {
		opts["[ci.host] options"] = c.Host.Options
	}
	for where, list := range opts {
		for _, o := range list {
			name, _, _ := strings.Cut(o, "=")
			if n := strings.TrimPrefix(strings.TrimSpace(name), "extra-"); n == "secret-key-files" {
				return &SigningError{where, "sets " + n + " (Nix would sign every path it builds)"}
			}
		}
	}
	for _, r := range c.Run {
		line := strings.Join(r.Command, " ")
		if what, ok := signs(line); ok {
			return &SigningError{fmt.Sprintf("[[ci.run]] %q", r.Name), what}
		}
		if len(r.Command) >= 2 && path.Base(r.Command[0]) == "nixgate" && (r.Command[1] == "sign" ||
			(r.Command[1] == "uki" && len(r.Command) >= 3 && r.Command[2] == "sign")) {
			return &SigningError{fmt.Sprintf("[[ci.run]] %q", r.Name), "runs " + strings.Join(r.Command[:min(3, len(r.Command))], " ")}
		}
	}
	return nil
}

// signs reports whether a command line signs or hands a signing key to a
// build, by ci-signs' own reading of CI scripts (the line is read as a
// script under .ci/).
func signs(line string) (string, bool) {
	const name = ".ci/nixgate-run-step"
	fs, err := ciscan.Signs([]string{name}, func(string) ([]byte, error) { return []byte(line + "\n"), nil },
		func(string) bool { return false })
	if err != nil {
		return "", false
	}
	for _, f := range fs {
		if f.Kind == "sign" || f.Kind == "key" {
			return f.Message, true
		}
	}
	return "", false
}
