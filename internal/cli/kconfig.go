package cli

import (
	"fmt"
	"io"
	"maps"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/checks"
	"github.com/nixgate/nixgate/internal/jsonw"
	"github.com/nixgate/nixgate/internal/kconfig"
	"github.com/nixgate/nixgate/internal/report"
)

type kconfigFlags struct {
	gateFlags
	cmdline, sysctl string
	arch            string
	kernelVersion   string
	minVersion      string
	baseline        string
	profiles        []string
	out             *outputFlags
}

func newKconfigCmd(e *env) *cobra.Command {
	f := &kconfigFlags{}
	cmd := &cobra.Command{
		Use:   "kconfig CONFIG",
		Short: "Gate a kernel configuration, command line and sysctls on hardening profiles",
		Long: `Checks a kernel configuration (.config, .config.gz or /proc/config.gz; "-" reads
standard input) against profiles of rules, through the checks of the kconfig
scope (see ` + "`nixgate checks`" + `): kconfig-anchor (the image gate: no modules, no BPF
JIT, no unprivileged BPF, no io_uring, no debugfs, lockdown on, self-protection
basics, and no command-line parameter or sysctl that undoes them),
kconfig-kspp (the Kernel Self Protection Project's recommended settings),
kconfig-khc (every check of kernel-hardening-checker 0.6.17.1, or some of its
parts), kconfig-profile (TOML profiles of your own that extend, override and
mute the built-in ones) and kconfig-input (inputs that do not say what the
kernel is built with).

--profile NAME|FILE selects the profiles (and so the checks) to run; without
it, the policy's kconfig checks run (by default anchor and the input check).
The configuration is read as strictly as the kernel reads it: a line the
kernel would ignore or read differently is an error with its line and column.

With --cmdline and --sysctl, rules on the kernel command line and on sysctl
values are checked too; without them those rules are skipped. Rules whose
condition does not hold (another architecture, modules off, an option newer
than the kernel when the kernel is at least the profile's min_version) are
not applicable rather than failed. The text report is the per-rule table,
then the findings; --format json has every verdict in "extra".

Built-in profiles: ` + strings.Join(kconfig.Builtins(), ", ") + `.

` + exitCodesHelp,
		Example: `  nixgate kconfig /proc/config.gz --cmdline /proc/cmdline --sysctl sysctl.txt   # sysctl -a > sysctl.txt
  nixgate kconfig build/.config --profile anchor --profile kspp --format sarif -o kconfig.sarif
  nixgate kconfig .config --profile khc --fail-on medium
  nixgate kconfig .config --profile ./kernel/gate.toml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runKconfigCmd(cmd, e, f, args[0]) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.cmdline, "cmdline", "", "kernel command line `FILE` to check (such as /proc/cmdline)")
	fl.StringVar(&f.sysctl, "sysctl", "", "`FILE` of sysctl values to check (`sysctl -a` output or sysctl.conf)")
	fl.StringArrayVarP(&f.profiles, "profile", "p", nil, "profile `NAME|FILE` to check against (repeatable): a built-in name or a TOML file (default: the policy's kconfig checks)")
	fl.StringVar(&f.arch, "arch", "", "`ARCH` when the configuration does not say: x86_64, x86_32, arm64, arm, riscv")
	fl.StringVar(&f.kernelVersion, "kernel-version", "", "kernel `VERSION` when the configuration has no header")
	fl.StringVar(&f.minVersion, "min-version", "", "oldest kernel `VERSION` that may lack options of later releases (default: each profile's)")
	_ = cmd.RegisterFlagCompletionFunc("profile", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return kconfig.Builtins(), cobra.ShellCompDirectiveDefault
	})
	f.out = addOutputFlags(cmd)
	f.gateFlags.add(cmd, "./nixgate.toml", check.ScopeKconfig)
	return cmd
}

// kconfigExtra is the "extra" section of the JSON report: every rule's
// verdict, per check.
type kconfigExtra struct {
	kconfig.Inputs
	Reports []kconfig.CheckReport `json:"reports"`
}

// AppendJSON appends the section as json.Marshal writes it
// (report.JSONAppender: the verdict tables are most of the report, and
// reflection over them was most of writing it).
func (x kconfigExtra) AppendJSON(b []byte) []byte {
	// About 520 bytes a result: grown once rather than by append's quarters
	// (a third of the writing was copying the half-written report).
	n := 1024
	for _, r := range x.Reports {
		if r.Report != nil {
			n += 640 * len(r.Results)
		}
	}
	b = slices.Grow(b, n)
	b = append(b, '{')
	b = x.Inputs.AppendJSONFields(b)
	b = append(b, `,"reports":`...)
	b = jsonw.Array(b, x.Reports, func(b []byte, r kconfig.CheckReport) []byte { return r.AppendJSON(b) })
	return append(b, '}')
}

// profileSettings turns --profile arguments into the settings of the
// profile checks: which run, with which profiles.
func profileSettings(base map[string]check.Settings, refs []string, minVersion string) (map[string]check.Settings, error) {
	s := maps.Clone(base)
	var khc, files []string
	anchor, kspp := false, false
	for _, ref := range refs {
		switch {
		case kconfig.IsFile(ref):
			files = append(files, ref)
		case ref == "anchor":
			anchor = true
		case ref == "kspp":
			kspp = true
		case ref == "khc" || strings.HasPrefix(ref, "khc-") && kconfig.IsBuiltin(ref):
			khc = append(khc, ref)
		default:
			return nil, usagef("--profile: unknown profile %q (built-in profiles: %s; a file name needs a / or .toml)", ref, strings.Join(kconfig.Builtins(), ", "))
		}
	}
	set := func(c *check.Check, on bool, opts any) {
		st := s[c.ID]
		st.Enabled = on
		if opts != nil {
			st.Options = opts
		}
		s[c.ID] = st
	}
	ao := *s[checks.KconfigAnchor.ID].Options.(*checks.KconfigAnchorOptions)
	ko := *s[checks.KconfigKSPP.ID].Options.(*checks.KconfigKSPPOptions)
	po := *s[checks.KconfigProfile.ID].Options.(*checks.KconfigProfileOptions)
	if len(refs) > 0 {
		po.Files = files
		set(checks.KconfigAnchor, anchor, nil)
		set(checks.KconfigKSPP, kspp, nil)
		set(checks.KconfigKHC, len(khc) > 0, &checks.KconfigKHCOptions{Profiles: khc})
	}
	if minVersion != "" {
		ao.MinVersion, ko.MinVersion, po.MinVersion = minVersion, minVersion, minVersion
	}
	set(checks.KconfigAnchor, s[checks.KconfigAnchor.ID].Enabled, &ao)
	set(checks.KconfigKSPP, s[checks.KconfigKSPP.ID].Enabled, &ko)
	set(checks.KconfigProfile, len(po.Files) > 0 && (len(refs) > 0 || s[checks.KconfigProfile.ID].Enabled), &po)
	return s, nil
}

func runKconfigCmd(cmd *cobra.Command, e *env, f *kconfigFlags, configPath string) error {
	ctx := cmd.Context()
	// A run lives for milliseconds and its live heap is a few megabytes
	// (inputs are capped at kconfig.MaxInput): collecting at every 4 MB
	// would cost more than it frees.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	out, err := f.out.open(e)
	if err != nil {
		return err
	}
	defer out.Abort()
	g, err := f.resolve(".")
	if err != nil {
		return err
	}
	in := &kconfig.Input{ConfigPath: configPath, CmdlinePath: f.cmdline, SysctlPath: f.sysctl}
	if f.arch != "" {
		if in.Arch, err = kconfig.NormalizeArch(f.arch); err != nil {
			return usagef("--arch: %w", err)
		}
	}
	if f.kernelVersion != "" {
		if in.Version, err = kconfig.ParseVersion(f.kernelVersion); err != nil {
			return usagef("--kernel-version: %w", err)
		}
	}
	if f.minVersion != "" {
		if _, err := kconfig.ParseVersion(f.minVersion); err != nil {
			return usagef("--min-version: %w", err)
		}
	}
	settings, err := profileSettings(g.settings, f.profiles, f.minVersion)
	if err != nil {
		return err
	}
	// Profile errors are usage errors: load what the checks will load.
	for _, c := range g.checks {
		if st, ok := settings[c.ID]; ok && st.Enabled {
			if err := preloadProfiles(st.Options); err != nil {
				return &UsageError{Err: err}
			}
		}
	}
	if configPath == "-" && (f.cmdline == "-" || f.sysctl == "-") || f.cmdline == "-" && f.sysctl == "-" {
		return usagef("only one input can be read from standard input")
	}
	if in.Config, err = kconfig.ReadConfigFile(configPath); err != nil {
		return badInput(fmt.Errorf("read kernel configuration %s: %w", configPath, err))
	}
	if f.cmdline != "" {
		if in.Cmdline, err = kconfig.ReadCmdlineFile(f.cmdline); err != nil {
			return badInput(fmt.Errorf("read kernel command line: %w", err))
		}
	}
	if f.sysctl != "" {
		if in.Sysctl, err = kconfig.ReadSysctlFile(f.sysctl); err != nil {
			return badInput(fmt.Errorf("read sysctl file: %w", err))
		}
	}
	if err := in.Validate(); err != nil {
		return usagef("%s: %w", configPath, err)
	}
	sub := kconfig.NewSubject(in)
	res := check.Run(ctx, g.checks, settings, check.Target{Input: sub}, g.baseline)
	for _, w := range res.Warnings {
		fmt.Fprintf(e.stderr, "nixgate: warning: %s\n", report.SafeText(w))
	}
	reps := sub.Reports()
	extra := kconfigExtra{Inputs: kconfig.Inputs{SchemaVersion: kconfig.SchemaVersion, Config: configPath, Cmdline: f.cmdline, Sysctl: f.sysctl,
		Arch: in.EffectiveArch(), ArchSource: in.Config.ArchSource}, Reports: reps}
	if len(reps) > 0 {
		extra.ArchSource, extra.Version, extra.VersionSource = reps[0].ArchSource, reps[0].Version, reps[0].VersionSource
	}
	if extra.Reports == nil {
		extra.Reports = []kconfig.CheckReport{}
	}
	switch out.Format {
	case "text":
		if err := writeKconfigTables(out.W, in, reps, (*kconfig.Report).WriteTable); err != nil {
			return err
		}
	case "markdown":
		if err := writeKconfigTables(out.W, in, reps, (*kconfig.Report).WriteMarkdown); err != nil {
			return err
		}
	}
	rep := &report.Report{Command: "kconfig", Target: configPath, ToolVersion: Version(), FailOn: g.failOn, Result: res, Extra: extra}
	return writeReport(e, out, rep)
}

// writeKconfigTables writes each check's per-rule table before the
// findings; with no profile check, the inputs alone.
func writeKconfigTables(w io.Writer, in *kconfig.Input, reps []kconfig.CheckReport, write func(*kconfig.Report, io.Writer) error) error {
	if len(reps) == 0 {
		reps = []kconfig.CheckReport{{Report: kconfig.Evaluate(in, nil)}}
	}
	for i, r := range reps {
		if i > 0 {
			// Header lines once: the table of a later check starts at
			// its profiles.
			r.Report = withoutHeader(r.Report)
		}
		if err := write(r.Report, w); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w)
	return err
}

// withoutHeader marks a report whose header was already written.
func withoutHeader(r *kconfig.Report) *kconfig.Report {
	c := *r
	c.NoHeader = true
	return &c
}

// preloadProfiles loads the profiles a profile check's options name, so
// that a bad profile is a usage error before anything runs.
func preloadProfiles(opts any) error {
	var refs []string
	switch o := opts.(type) {
	case *checks.KconfigKHCOptions:
		refs = o.Profiles
	case *checks.KconfigProfileOptions:
		refs = o.Files
	}
	_, err := kconfig.LoadProfiles(refs...)
	return err
}
