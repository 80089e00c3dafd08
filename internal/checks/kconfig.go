package checks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/kconfig"
	"github.com/nixgate/nixgate/internal/repo"
)

// KconfigOptions configures the kconfig check.
type KconfigOptions struct {
	Files      []string `toml:"files" doc:"globs of kernel configurations (.config or .config.gz) to check; none means the check does nothing"`
	Profiles   []string `toml:"profiles" doc:"profiles to check them against: built-in names (anchor, kspp, khc, khc-*) or repository paths of TOML profiles"`
	Cmdline    string   `toml:"cmdline" doc:"repository path of the kernel command line that goes with the configurations (optional)"`
	Sysctl     string   `toml:"sysctl" doc:"repository path of the sysctl settings that go with the configurations (optional)"`
	Arch       string   `toml:"arch" doc:"architecture of configurations that do not say it (x86_64, x86_32, arm64, arm, riscv)"`
	MinVersion string   `toml:"min-version" doc:"oldest kernel that may lack options of later releases (empty: each profile's)"`
}

// Kconfig enforces R12 on kernel configurations committed to the
// repository, with the same parsing and evaluation as nixgate kconfig.
var Kconfig = &check.Check{
	ID:       "kconfig",
	Title:    "Kernel configuration fails its hardening profile",
	Severity: check.High,
	Rules:    []string{"R12"},
	Why: "The kernel configuration is a gate, not best effort: modules, BPF JIT, unprivileged BPF, " +
		"io_uring and debugfs off, lockdown on, the self-protection options on. A configuration that " +
		"drifts from its profile, or that the kernel would read differently from what it seems to say, " +
		"ships a kernel with a larger attack surface than the one reviewed.",
	Remediation: "Set the option to the expected value in the kernel configuration (or in the Nix " +
		"structuredExtraConfig that generates it) and rebuild; fix lines the kernel would ignore; if a " +
		"rule does not apply to this image, mute it in a user profile with a reason (see docs/kconfig.md).",
	Scope:   check.ScopeRepo,
	Options: &KconfigOptions{Profiles: []string{"anchor"}},
	Run:     runKconfig,
}

// readRepoInput reads a repository file for the kconfig check through the
// confined root (a FIFO or a device is refused without blocking, a file
// over its kind's limit too), decompressing gzip content up to
// kconfig.MaxInput.
func readRepoInput(r *repo.Repo, name string) ([]byte, error) {
	f, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return kconfig.ReadCapped(f)
}

// inputProblem reports whether err is about the input itself (reported
// as a finding: the gate cannot pass a kernel it could not read) rather
// than a failure to read it (the check errs).
func inputProblem(err error) bool {
	return repo.IsRefused(err) || errors.Is(err, kconfig.ErrTooLarge) || strings.Contains(err.Error(), "gunzip")
}

func runKconfig(ctx context.Context, p *check.Pass) error {
	opts := p.Options.(*KconfigOptions)
	if len(opts.Files) == 0 {
		return nil
	}
	if len(opts.Profiles) == 0 {
		return fmt.Errorf("kconfig: files are set but profiles is empty")
	}
	read := func(name string) ([]byte, error) { return readRepoInput(p.Repo, name) }
	var profiles []*kconfig.Profile
	for _, ref := range opts.Profiles {
		l := kconfig.Loader{ReadFile: read}
		prof, err := l.Load(ref)
		if err != nil {
			return err
		}
		profiles = append(profiles, prof)
	}
	var eo kconfig.EvalOptions
	if opts.MinVersion != "" {
		v, err := kconfig.ParseVersion(opts.MinVersion)
		if err != nil {
			return fmt.Errorf("kconfig: min-version: %w", err)
		}
		eo.MinVersion = v
	}
	base := kconfig.Input{CmdlinePath: opts.Cmdline, SysctlPath: opts.Sysctl}
	if opts.Arch != "" {
		a, err := kconfig.NormalizeArch(opts.Arch)
		if err != nil {
			return fmt.Errorf("kconfig: arch: %w", err)
		}
		base.Arch = a
	}
	if opts.Cmdline != "" {
		data, err := read(opts.Cmdline)
		switch {
		case err != nil && !inputProblem(err):
			return fmt.Errorf("kconfig: cmdline: %w", err)
		case err != nil:
			p.Reportf(check.Location{Path: opts.Cmdline}, "cmdline-read", "kernel command line cannot be read: %v", err)
			return nil
		}
		if base.Cmdline, err = kconfig.ParseCmdline(data); err != nil {
			p.Reportf(check.Location{Path: opts.Cmdline}, "cmdline-parse", "kernel command line cannot be parsed: %v", err)
			return nil
		}
	}
	if opts.Sysctl != "" {
		data, err := read(opts.Sysctl)
		switch {
		case err != nil && !inputProblem(err):
			return fmt.Errorf("kconfig: sysctl: %w", err)
		case err != nil:
			p.Reportf(check.Location{Path: opts.Sysctl}, "sysctl-read", "sysctl file cannot be read: %v", err)
			return nil
		}
		if base.Sysctl, err = kconfig.ParseSysctl(data); err != nil {
			p.Reportf(check.Location{Path: opts.Sysctl}, "sysctl-parse", "sysctl file cannot be parsed: %v", err)
			return nil
		}
	}
	files := p.Repo.Files()
	slices.Sort(files)
	matched := 0
	for _, f := range files {
		if p.Skip(f) || !slices.ContainsFunc(opts.Files, func(g string) bool { return repo.Match(g, f) }) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		matched++
		data, err := read(f)
		if err != nil {
			if !inputProblem(err) {
				return fmt.Errorf("kconfig: %w", err)
			}
			p.Reportf(check.Location{Path: f}, "read", "kernel configuration cannot be read: %v", err)
			continue
		}
		cfg, err := kconfig.ParseConfig(data)
		var se *kconfig.SyntaxError
		switch {
		case errors.As(err, &se):
			for _, pr := range se.Problems {
				p.Reportf(check.Location{Path: f, Line: pr.Line, Column: pr.Column}, "syntax:"+pr.Message, "%s", pr.Message)
			}
			continue
		case err != nil:
			p.Reportf(check.Location{Path: f}, "parse", "kernel configuration cannot be parsed: %v", err)
			continue
		}
		in := base
		in.Config, in.ConfigPath = cfg, f
		if err := in.Validate(); err != nil {
			p.Reportf(check.Location{Path: f}, "arch", "%v (set the check's arch option)", err)
			continue
		}
		for _, fd := range kconfig.EvaluateWith(&in, profiles, eo).Findings(p.Check.ID) {
			p.ReportSeverity(fd.Severity, fd)
		}
		for _, fd := range kconfig.InputFindings(&in) {
			p.ReportSeverity(fd.Severity, fd)
		}
	}
	if matched == 0 {
		p.Reportf(check.Location{}, "no-config", "no kernel configuration matches files = [%s]: the gate checks nothing",
			strings.Join(opts.Files, ", "))
	}
	return nil
}
