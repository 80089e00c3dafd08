package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/checks"
	"github.com/nixgate/nixgate/internal/kconfig"
	"github.com/nixgate/nixgate/internal/report"
)

func newKconfigCmd(e *env) *cobra.Command {
	var (
		cmdlinePath, sysctlPath, arch string
		profiles                      []string
		out                           *outputFlags
	)
	cmd := &cobra.Command{
		Use:   "kconfig CONFIG",
		Short: "Gate a kernel configuration, command line and sysctls on hardening profiles",
		Long: `Checks a kernel configuration (.config, .config.gz or /proc/config.gz) against
profiles of rules: the built-in "anchor" gate (no modules, no BPF JIT, no
unprivileged BPF, no io_uring, no debugfs, lockdown on, self-protection
basics) and "kspp" (the Kernel Self Protection Project's recommended
settings), or TOML profiles of your own that extend, override and mute them.

With --cmdline and --sysctl, rules on the kernel command line and on sysctl
values are checked too; without them those rules are skipped. Rules whose
condition does not hold (another architecture, an older kernel, modules
off) are not applicable rather than failed.

Built-in profiles: ` + strings.Join(kconfig.Builtins(), ", ") + `.
Exit 0 when every rule passes, 1 when one fails or the configuration has
malformed or repeated lines, 2 on a usage or profile error.`,
		Example: `  nixgate kconfig /proc/config.gz --sysctl <(sysctl -a) --cmdline /proc/cmdline
  nixgate kconfig build/.config --profile anchor --profile kspp --format sarif -o kconfig.sarif
  nixgate kconfig .config --profile ./kernel/gate.toml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKconfigCmd(e, out, args[0], cmdlinePath, sysctlPath, arch, profiles)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cmdlinePath, "cmdline", "", "kernel command line `FILE` to check (such as /proc/cmdline)")
	f.StringVar(&sysctlPath, "sysctl", "", "`FILE` of sysctl values to check (`sysctl -a` output or sysctl.conf)")
	f.StringArrayVarP(&profiles, "profile", "p", []string{"anchor"}, "profile `NAME|FILE` to check against (repeatable): a built-in name or a TOML file")
	f.StringVar(&arch, "arch", "", "`ARCH` when the configuration does not say: x86_64, x86_32, arm64, arm, riscv")
	out = addOutputFlags(cmd, "text", "json", "sarif", "markdown")
	return cmd
}

func runKconfigCmd(e *env, oflags *outputFlags, configPath, cmdlinePath, sysctlPath, arch string, refs []string) error {
	out, err := oflags.open(e)
	if err != nil {
		return err
	}
	defer out.Abort()
	w, format, closeOut := out.W, out.Format, out.Commit
	in := &kconfig.Input{ConfigPath: configPath, CmdlinePath: cmdlinePath, SysctlPath: sysctlPath}
	if arch != "" {
		if in.Arch, err = kconfig.NormalizeArch(arch); err != nil {
			return usagef("--arch: %v", err)
		}
	}
	var loader kconfig.Loader
	var profiles []*kconfig.Profile
	for _, ref := range refs {
		p, err := loader.Load(ref)
		if err != nil {
			return &UsageError{Err: err}
		}
		profiles = append(profiles, p)
	}
	if in.Config, err = kconfig.ReadFile(configPath); err != nil {
		return usagef("read kernel configuration %s: %v", configPath, err)
	}
	if cmdlinePath != "" {
		if in.Cmdline, err = kconfig.ReadCmdlineFile(cmdlinePath); err != nil {
			return usagef("read kernel command line %s: %v", cmdlinePath, err)
		}
	}
	if sysctlPath != "" {
		if in.Sysctl, err = kconfig.ReadSysctlFile(sysctlPath); err != nil {
			return usagef("read sysctl file %s: %v", sysctlPath, err)
		}
	}
	if in.Arch == "" && in.Config.Arch == "" {
		fmt.Fprintf(e.stderr, "nixgate: warning: %s does not say its architecture; rules for one architecture are skipped (use --arch)\n", configPath)
	}
	rep := kconfig.Evaluate(in, profiles)
	if format == "sarif" {
		c := checks.Kconfig
		findings := rep.Findings(c.ID, c.Severity)
		for i := range findings {
			findings[i].Fingerprint = check.Fingerprint(c.ID, findings[i].Location.Path, findings[i].Key)
		}
		err = report.Write(w, format, &report.Report{
			Command: "kconfig", Target: configPath, ToolVersion: Version(), FailOn: check.Info,
			Result: &check.Result{Checks: []*check.Check{c}, Findings: findings},
		})
	} else {
		err = rep.Write(w, format)
	}
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("kconfig: write report: %w", err)
	}
	if rep.Failed() {
		return ErrFindings
	}
	return nil
}
