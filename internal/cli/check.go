package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/checks"
	"github.com/nixgate/nixgate/internal/policy"
	"github.com/nixgate/nixgate/internal/repo"
	"github.com/nixgate/nixgate/internal/report"
)

type checkFlags struct {
	gateFlags
	baseline      string
	writeBaseline string
	reason        string
}

func newCheckCmd(e *env) *cobra.Command {
	f := &checkFlags{}
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "check [DIR]",
		Short: "Run every enabled repository gate on DIR (default .)",
		Long: `Run every enabled repository check on DIR (default the current directory).

The file list comes from git (tracked files, and untracked files that are not
ignored); contents are read through a root confined to DIR, so no symlink
leads outside it. Nothing from the repository is executed or evaluated.

The policy is DIR/nixgate.toml, or --policy FILE, or the built-in default
when neither exists (` + "`nixgate init`" + ` writes a commented one).

` + exitCodesHelp,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return runCheck(cmd, e, f, o, dir)
		},
	}
	o = addOutputFlags(cmd)
	fl := cmd.Flags()
	f.gateFlags.add(cmd, "DIR/nixgate.toml", "check `IDs`")
	fl.StringVar(&f.baseline, "baseline", "", "suppress findings listed in baseline `FILE` (default: the policy's)")
	fl.StringVar(&f.writeBaseline, "write-baseline", "", "write every current finding to baseline `FILE` and exit 0")
	fl.StringVar(&f.reason, "reason", "pre-existing finding, accepted when the baseline was written", "with --write-baseline: the reason recorded for each entry")
	return cmd
}

func completeSeverities(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	var s []string
	for _, v := range check.Severities() {
		s = append(s, v.String())
	}
	return s, cobra.ShellCompDirectiveNoFileComp
}

func completeCheckIDs(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	var s []string
	for _, c := range checks.All() {
		s = append(s, c.ID+"\t"+c.Title)
	}
	return s, cobra.ShellCompDirectiveNoFileComp
}

// loadPolicy finds and loads the policy for dir.
func loadPolicy(dir, explicit string) (*policy.Policy, error) {
	file := explicit
	if file == "" {
		file = policy.Find(dir)
	}
	if file == "" {
		return policy.Default(checks.All()), nil
	}
	p, err := policy.Load(file, checks.All())
	if err != nil {
		return nil, &UsageError{Err: fmt.Errorf("policy: %w", err)}
	}
	return p, nil
}

func runCheck(cmd *cobra.Command, e *env, f *checkFlags, o *outputFlags, dir string) error {
	ctx := cmd.Context()
	out, err := o.open(e)
	if err != nil {
		return err
	}
	defer out.Abort()
	g, err := f.resolve(dir, check.ScopeRepo)
	if err != nil {
		return err
	}
	p := g.policy
	var baseline check.Baseline
	bfile := f.baseline
	if bfile == "" && p.Baseline != "" {
		bfile = filepath.Join(filepath.Dir(p.Path), p.Baseline)
		if p.Path == "" {
			bfile = filepath.Join(dir, p.Baseline)
		}
	}
	if bfile != "" && f.writeBaseline == "" {
		if baseline, err = policy.LoadBaseline(bfile); err != nil {
			return usagef("baseline: %v", err)
		}
	}
	r, err := repo.Open(ctx, dir)
	if err != nil {
		return usagef("%v", err)
	}
	defer r.Close()
	res := check.Run(ctx, g.checks, g.settings, check.Target{Repo: r}, baseline)
	for _, w := range res.Warnings {
		fmt.Fprintf(e.stderr, "nixgate: warning: %s\n", w)
	}
	if f.writeBaseline != "" {
		return writeBaselineFile(e, f.writeBaseline, res, f.reason)
	}
	rep := &report.Report{Command: "check", Target: dir, ToolVersion: Version(), FailOn: g.failOn, Result: res}
	return writeReport(e, out, rep)
}

func writeBaselineFile(e *env, file string, res *check.Result, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return usagef("--reason must not be empty: every suppression needs a reason")
	}
	fh, err := os.Create(file)
	if err != nil {
		return usagef("--write-baseline: %v", err)
	}
	if err := policy.WriteBaseline(fh, res.Findings, reason); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Close(); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "nixgate: wrote %d finding(s) to %s\n", len(res.Findings), file)
	return nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
