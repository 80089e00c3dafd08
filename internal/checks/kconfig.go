package checks

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/kconfig"
	"github.com/nixgate/nixgate/internal/repo"
)

// KconfigOptions configures the kconfig check.
type KconfigOptions struct {
	Files    []string `toml:"files" doc:"globs of kernel configurations (.config or .config.gz) to check; none means the check does nothing"`
	Profiles []string `toml:"profiles" doc:"profiles to check them against: built-in names (anchor, kspp) or repository paths of TOML profiles"`
	Cmdline  string   `toml:"cmdline" doc:"repository path of the kernel command line that goes with the configurations (optional)"`
	Sysctl   string   `toml:"sysctl" doc:"repository path of the sysctl settings that go with the configurations (optional)"`
}

// Kconfig enforces R12 on kernel configurations committed to the
// repository.
var Kconfig = &check.Check{
	ID:       "kconfig",
	Title:    "Kernel configuration fails its hardening profile",
	Severity: check.High,
	Rules:    []string{"R12"},
	Why: "The kernel configuration is a gate, not best effort: modules, BPF JIT, unprivileged BPF, " +
		"io_uring and debugfs off, lockdown on, the self-protection options on. A configuration that " +
		"drifts from its profile ships a kernel with a larger attack surface than the one reviewed.",
	Remediation: "Set the option to the expected value in the kernel configuration (or in the Nix " +
		"structuredExtraConfig that generates it) and rebuild; if the rule does not apply to this " +
		"image, mute it in a user profile with a reason (see docs/kconfig.md).",
	Scope:   check.ScopeRepo,
	Options: &KconfigOptions{Profiles: []string{"anchor"}},
	Run:     runKconfig,
}

func runKconfig(ctx context.Context, p *check.Pass) error {
	opts := p.Options.(*KconfigOptions)
	if len(opts.Files) == 0 {
		return nil
	}
	if len(opts.Profiles) == 0 {
		return fmt.Errorf("kconfig: files are set but profiles is empty")
	}
	loader := kconfig.Loader{ReadFile: p.Repo.ReadFile}
	var profiles []*kconfig.Profile
	for _, ref := range opts.Profiles {
		prof, err := loader.Load(ref)
		if err != nil {
			return err
		}
		profiles = append(profiles, prof)
	}
	base := kconfig.Input{CmdlinePath: opts.Cmdline, SysctlPath: opts.Sysctl}
	if opts.Cmdline != "" {
		data, err := p.Repo.ReadFile(opts.Cmdline)
		if err != nil {
			return fmt.Errorf("kconfig: cmdline: %w", err)
		}
		if base.Cmdline, err = kconfig.ParseCmdline(data); err != nil {
			p.Reportf(check.Location{Path: opts.Cmdline}, "cmdline-parse", "kernel command line cannot be parsed: %v", err)
			return nil
		}
	}
	if opts.Sysctl != "" {
		data, err := p.Repo.ReadFile(opts.Sysctl)
		if err != nil {
			return fmt.Errorf("kconfig: sysctl: %w", err)
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
		data, err := p.Repo.ReadFile(f)
		if err != nil {
			return fmt.Errorf("kconfig: %w", err)
		}
		cfg, err := kconfig.Parse(data)
		if err != nil {
			p.Reportf(check.Location{Path: f}, "parse", "kernel configuration cannot be parsed: %v", err)
			continue
		}
		in := base
		in.Config, in.ConfigPath = cfg, f
		for _, fd := range kconfig.Evaluate(&in, profiles).Findings(p.Check.ID, p.Check.Severity) {
			p.ReportSeverity(fd.Severity, fd)
		}
	}
	if matched == 0 {
		p.Reportf(check.Location{}, "no-config", "no kernel configuration matches files = [%s]: the gate checks nothing",
			strings.Join(opts.Files, ", "))
	}
	return nil
}
