package cli

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/policy"
	"github.com/nixgate/nixgate/internal/repo"
	"github.com/nixgate/nixgate/internal/report"
)

type checkFlags struct {
	gateFlags
	writeBaseline string
	reason        string
	staged        bool
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
leads outside it, and every file has a size limit by kind ([limits] in the
policy). Nothing from the repository is executed or evaluated.

The policy is DIR/nixgate.toml, or --policy FILE, or the built-in default
when neither exists (` + "`nixgate init`" + ` writes a commented one).

With --staged, the checks look at what is about to be committed: the files
the index adds or changes, read from the index, not the work tree (the
pre-commit hook in .pre-commit-hooks.yaml runs this).

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
	f.gateFlags.add(cmd, "DIR/nixgate.toml", check.ScopeRepo)
	fl.StringVar(&f.writeBaseline, "write-baseline", "", "write every current finding to baseline `FILE` and exit 0 (refused when a check could not complete)")
	fl.BoolVar(&f.staged, "staged", false, "check what is about to be committed: the files the index changes, read from the index (a pre-commit hook)")
	fl.StringVar(&f.reason, "reason", "pre-existing finding, accepted when the baseline was written", "with --write-baseline: the `TEXT` recorded as each entry's reason")
	return cmd
}

func completeSeverities(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	var s []string
	for _, v := range check.Severities() {
		s = append(s, v.String())
	}
	return s, cobra.ShellCompDirectiveNoFileComp
}

// openRepo opens DIR for the repository gates with the policy's limits.
func openRepo(cmd *cobra.Command, dir string, g *gate) (*repo.Repo, error) {
	r, err := repo.Open(cmd.Context(), dir)
	if err != nil {
		return nil, badInput(fmt.Errorf("open %s: %w", dir, err))
	}
	r.Limits = g.policy.Limits
	return r, nil
}

func runCheck(cmd *cobra.Command, e *env, f *checkFlags, o *outputFlags, dir string) error {
	ctx := cmd.Context()
	out, err := o.open(e)
	if err != nil {
		return err
	}
	defer out.Abort()
	g, err := f.resolve(dir)
	if err != nil {
		return err
	}
	baseline := g.baseline
	if f.writeBaseline != "" {
		if strings.TrimSpace(f.reason) == "" {
			return usagef("--reason must not be empty: every suppression needs a reason")
		}
		baseline = nil // write every current finding
	}
	g.prepare(nil)
	var r *repo.Repo
	if f.staged {
		if r, err = repo.OpenStaged(ctx, dir); err != nil {
			return revisionError(err)
		}
		r.Limits = g.policy.Limits
	} else if r, err = e.openWorkTree(cmd, dir, g); err != nil {
		return err
	}
	defer e.release(r)
	res := check.Run(ctx, g.checks, g.settings, check.Target{Repo: r, Shared: e.shared(r)}, baseline)
	printWarnings(e, res)
	if f.writeBaseline != "" {
		return writeBaselineFile(e, f.writeBaseline, res, f.reason)
	}
	rep := &report.Report{Command: "check", Target: dir, ToolVersion: Version(), FailOn: g.failOn, Result: res,
		Adopt: g.policy.Path == "" && g.baseline == nil} // a repository nixgate has never seen
	return writeReport(e, out, rep)
}

func printWarnings(e *env, res *check.Result) {
	for _, w := range res.Warnings {
		fmt.Fprintf(e.stderr, "nixgate: warning: %s\n", report.SafeText(w))
	}
}

// writeBaselineFile writes the findings as a baseline, atomically. It
// refuses when a check could not complete: a baseline of a partial run
// would accept less than it claims to.
func writeBaselineFile(e *env, file string, res *check.Result, reason string) error {
	if len(res.Errors) > 0 {
		var ids []string
		for _, er := range res.Errors {
			fmt.Fprintf(e.stderr, "nixgate: check %s could not complete: %s\n", er.CheckID, report.SafeText(firstLine(er.Error)))
			ids = append(ids, er.CheckID)
		}
		return incompletef("--write-baseline: not written: %d check(s) could not complete (%s)", len(ids), strings.Join(ids, ", "))
	}
	var buf bytes.Buffer
	if err := policy.WriteBaseline(&buf, res.Findings, reason); err != nil {
		return err
	}
	if err := writeFileAtomic(file, buf.Bytes()); err != nil {
		return usagef("--write-baseline: %w", err)
	}
	fmt.Fprintf(e.stderr, "nixgate: wrote %d finding(s) to %s\n", len(res.Findings), file)
	return nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
