package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/flakeout"
	"github.com/nixgate/nixgate/internal/nixcli"
	"github.com/nixgate/nixgate/internal/report"
)

func newFlakeCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "flake",
		Short: "Gate what Nix evaluates of a flake: the outputs it has, the tools its dev shell provides",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newFlakeOutputsCmd(e), newFlakeDevshellCmd(e), newFlakeProbePathCmd(e))
	return cmd
}

// flakeFlags are the flags both flake gates share.
type flakeFlags struct {
	gateFlags
	store   string
	options []string
}

func (f *flakeFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.store, "store", "", "the store `URI` Nix evaluates and builds in (default: Nix's default store)")
	fl.StringArrayVar(&f.options, "option", nil, "pass the Nix option `NAME=VALUE` (repeatable)")
	f.gateFlags.add(cmd, "DIR/nixgate.toml", check.ScopeFlake)
}

func (f *flakeFlags) hostOptions() (nixcli.HostOptions, error) {
	o := nixcli.HostOptions{Store: f.store}
	for _, kv := range f.options {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return o, usagef("--option %q: want NAME=VALUE", kv)
		}
		o.Options = append(o.Options, [2]string{k, v})
	}
	return o, nil
}

// resolveFlake loads the policy of dir and keeps the one check id.
func (f *flakeFlags) resolveFlake(dir, id string) (*gate, error) {
	g, err := f.resolve(dir)
	if err != nil {
		return nil, err
	}
	g.checks = slices.DeleteFunc(g.checks, func(c *check.Check) bool { return c.ID != id })
	return g, nil
}

func needNix() error {
	if !nixcli.Available() {
		return withHint(incompletef("nix is not installed"), "install Nix (Debian: apt-get install nix-bin)")
	}
	return nil
}

func newFlakeOutputsCmd(e *env) *cobra.Command {
	f := &flakeFlags{}
	var require []string
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "outputs [DIR] [--require ATTR]...",
		Short: "Check that the flake in DIR has the outputs the pipeline ships (nix flake show --json)",
		Long: `Evaluates the flake in DIR (default .) with nix flake show --json and checks
that every required output attribute exists (flake-required-outputs), such as
packages.aarch64-linux.uki or devShells.x86_64-linux.default. The attributes
come from --require, else from [ci] required-outputs of the policy.

This evaluates the flake (Nix's own evaluator, in its pure mode): it is a
pipeline gate, not a static check.

` + exitCodesHelp,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			out, err := o.open(e)
			if err != nil {
				return err
			}
			defer out.Abort()
			hopts, err := f.hostOptions()
			if err != nil {
				return err
			}
			g, err := f.resolveFlake(dir, "flake-required-outputs")
			if err != nil {
				return err
			}
			if len(require) == 0 {
				require = g.policy.CI.RequiredOutputs
			}
			if len(require) == 0 {
				return withHint(usagef("no output to require"), "pass --require ATTR, or set [ci] required-outputs in nixgate.toml")
			}
			abs, err := flakeDir(dir)
			if err != nil {
				return err
			}
			if err := needNix(); err != nil {
				return err
			}
			data, err := nixcli.FlakeShow(cmd.Context(), hopts, abs, nil)
			if err != nil {
				return incompletef("evaluate the flake: %w", err)
			}
			outs, err := flakeout.ParseShow(data)
			if err != nil {
				return incompletef("%w", err)
			}
			in := &flakeout.Input{Flake: dir, Outputs: outs, Required: require}
			res := check.Run(cmd.Context(), g.checks, g.settings, check.Target{Input: in}, g.baseline)
			rep := &report.Report{Command: "flake outputs", Target: dir, ToolVersion: Version(), FailOn: g.failOn, Result: res}
			return writeReport(e, out, rep)
		},
	}
	o = addOutputFlags(cmd)
	f.add(cmd)
	cmd.Flags().StringArrayVar(&require, "require", nil, "an output `ATTR` the flake must have (repeatable; default: [ci] required-outputs)")
	return cmd
}

func newFlakeDevshellCmd(e *env) *cobra.Command {
	f := &flakeFlags{}
	var tools []string
	var shell string
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "devshell [DIR] [--tool NAME]... [--shell ATTR]",
		Short: "Check that the flake's dev shell provides the tools the pipeline needs (nix develop)",
		Long: `Enters the dev shell of the flake in DIR (default .; --shell ATTR, else [ci]
devshell, else the flake's default dev shell) with nix develop
--ignore-environment, and checks inside it that every tool resolves on the
shell's PATH to a program in the Nix store (devshell-tools): a program found
only on the host is not the shell's. The tools come from --tool, else from
[ci] devshell-tools of the policy; name the commands (sbsign, not
sbsigntool).

This builds the shell's environment with Nix: it is a pipeline gate, not a
static check.

` + exitCodesHelp,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			out, err := o.open(e)
			if err != nil {
				return err
			}
			defer out.Abort()
			hopts, err := f.hostOptions()
			if err != nil {
				return err
			}
			g, err := f.resolveFlake(dir, "devshell-tools")
			if err != nil {
				return err
			}
			if len(tools) == 0 {
				tools = g.policy.CI.DevshellTools
			}
			if len(tools) == 0 {
				return withHint(usagef("no tool to look for"), "pass --tool NAME, or set [ci] devshell-tools in nixgate.toml")
			}
			for _, t := range tools {
				if t == "" || strings.ContainsAny(t, "/ \t") {
					return usagef("--tool %q: want a command name", t)
				}
			}
			if shell == "" {
				shell = g.policy.CI.Devshell
			}
			abs, err := flakeDir(dir)
			if err != nil {
				return err
			}
			installable := abs
			if shell != "" {
				installable += "#" + shell
			}
			if err := needNix(); err != nil {
				return err
			}
			bin, err := os.Executable()
			if err != nil {
				return incompletef("the probe: %w", err)
			}
			data, err := nixcli.Develop(cmd.Context(), hopts, installable, append([]string{bin, "flake", "probe-path", "--"}, tools...), nil)
			if err != nil {
				return incompletef("enter the dev shell: %w", err)
			}
			sh, err := flakeout.ParseDevshell(data)
			if err != nil {
				return incompletef("%w", err)
			}
			sh.Shell = shell
			in := &flakeout.Input{Flake: dir, Shell: sh, Tools: tools}
			res := check.Run(cmd.Context(), g.checks, g.settings, check.Target{Input: in}, g.baseline)
			rep := &report.Report{Command: "flake devshell", Target: dir, ToolVersion: Version(), FailOn: g.failOn, Result: res, Extra: sh}
			return writeReport(e, out, rep)
		},
	}
	o = addOutputFlags(cmd)
	f.add(cmd)
	cmd.Flags().StringArrayVar(&tools, "tool", nil, "a command `NAME` the dev shell must provide (repeatable; default: [ci] devshell-tools)")
	cmd.Flags().StringVar(&shell, "shell", "", "the dev shell's flake `ATTR` (default: [ci] devshell, else the default dev shell)")
	return cmd
}

// flakeDir is the flake's directory, absolute (a flake reference), and
// checked to hold a flake.nix.
func flakeDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", badInput(err)
	}
	if _, err := os.Stat(filepath.Join(abs, "flake.nix")); err != nil {
		return "", badInput(fmt.Errorf("%s has no flake.nix: %w", dir, err))
	}
	return abs, nil
}

func newFlakeProbePathCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:    "probe-path TOOL...",
		Short:  "Run inside a dev shell by nixgate flake devshell: where each tool resolves (internal)",
		Hidden: true,
		Args:   cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d := flakeout.Devshell{StoreDir: orDefault(os.Getenv("NIX_STORE"), "/nix/store"),
				Path: filepath.SplitList(os.Getenv("PATH")), Tools: map[string]string{}}
			for _, t := range args {
				p, err := exec.LookPath(t)
				if err != nil && !errors.Is(err, exec.ErrDot) {
					p = ""
				}
				if abs, aerr := filepath.Abs(p); p != "" && aerr == nil {
					p = abs
				}
				d.Tools[t] = p
			}
			b, err := json.Marshal(d)
			if err != nil {
				return err
			}
			_, err = e.stdout.Write(append(b, '\n'))
			return err
		},
	}
}
