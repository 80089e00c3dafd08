package cli

import (
	"fmt"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/pr"
	"github.com/nixgate/nixgate/internal/repo"
	"github.com/nixgate/nixgate/internal/report"
)

type prFlags struct {
	gateFlags
	base, head string
	labels     []string
	sensitive  []string
	lockLabel  string
	event      string
	config     string
}

func newPRCmd(e *env) *cobra.Command {
	f := &prFlags{}
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "pr --base REV [--head REV] [DIR]",
		Short: "Gate a change: the repository checks on what it adds, the lock delta, review paths",
		Long: `Gate the change from the merge base of --base and --head (default HEAD) to
--head, in the git repository DIR (default .). It runs the repository checks
of the policy (the same checks, settings, suppressions and baselines as
nixgate check) on what the change adds, read from git's objects at the head:

  - build outputs it adds (a build/ directory, result links, binaries);
  - secrets in the lines its commits add (each with commit and author), plain
    Kubernetes Secret manifests and secret-bearing files;
  - every other enabled check, on the files the change adds or modifies;

and the checks of the change itself:

  - pr-lock-label: a flake.lock change needs the dependency-update label
    (--label, or the pull request's labels from the GitHub event payload at
    $GITHUB_EVENT_PATH);
  - lock-change-risk: what the lock delta flags (owner or branch changes,
    downgrades, the same revision with another hash);
  - pr-review-path: changes to security-sensitive paths (info).

The report ends with the lock delta and the review checklist: every changed
file with its line counts. --format markdown writes a pull-request comment.

In a shallow clone the merge base may be missing: nixgate says so (exit 2)
rather than diff the wrong range; fetch the base (actions/checkout with
fetch-depth: 0).

` + exitCodesHelp,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return runPR(cmd, e, f, o, dir)
		},
	}
	o = addOutputFlags(cmd, "text", "markdown", "json", "sarif")
	fl := cmd.Flags()
	f.gateFlags.add(cmd, "DIR/nixgate.toml", check.ScopeRepo, check.ScopePR)
	fl.StringVar(&f.base, "base", "", "the branch or commit `REV` the change goes into (required)")
	fl.StringVar(&f.head, "head", "HEAD", "the change's last commit `REV`")
	fl.StringArrayVar(&f.labels, "label", nil, "a `LABEL` of the change (repeatable)")
	fl.StringArrayVar(&f.sensitive, "sensitive", nil, "another security-sensitive path `GLOB` (repeatable; added to the policy's list)")
	fl.StringVar(&f.lockLabel, "lock-label", "dependency-update", "the `LABEL` a flake.lock change needs (default: the policy's [pr] lock-label)")
	fl.StringVar(&f.event, "event", os.Getenv("GITHUB_EVENT_PATH"), "GitHub event payload `FILE` to read the pull request's labels from")
	fl.StringVar(&f.config, "config", "", "gitleaks-format rule `FILE` for the secret scan")
	return cmd
}

func runPR(cmd *cobra.Command, e *env, f *prFlags, o *outputFlags, dir string) error {
	ctx := cmd.Context()
	if f.base == "" {
		return usagef("--base is required")
	}
	out, err := o.open(e)
	if err != nil {
		return err
	}
	defer out.Abort()
	labels := slices.Clone(f.labels)
	if f.event != "" {
		data, err := repo.ReadRegular(f.event, policyLimit)
		if err != nil {
			return usagef("--event: %w", err)
		}
		l, err := pr.EventLabels(data)
		if err != nil {
			return usagef("--event %s: %w", f.event, err)
		}
		labels = append(labels, l...)
	}
	g, err := f.resolve(dir)
	if err != nil {
		return err
	}
	p := g.policy
	in := &pr.Input{Labels: labels, Sensitive: slices.Clone(pr.DefaultSensitive), LockLabel: f.lockLabel}
	if p.PR.SensitivePaths != nil {
		in.Sensitive = slices.Clone(p.PR.SensitivePaths)
	}
	in.Sensitive = append(append(in.Sensitive, p.PR.ExtraSensitivePaths...), f.sensitive...)
	if !cmd.Flags().Changed("lock-label") && p.PR.LockLabel != "" {
		in.LockLabel = p.PR.LockLabel
	}
	if f.config != "" {
		rs, warnings, err := loadRuleset(f.config)
		if err != nil {
			return err
		}
		for _, wn := range warnings {
			fmt.Fprintf(e.stderr, "nixgate: warning: %s\n", report.SafeText(wn))
		}
		in.Rules = rs
	}
	g.prepare(in)
	r, err := repo.OpenChange(ctx, dir, f.base, f.head)
	if err != nil {
		return revisionError(err)
	}
	defer r.Close()
	r.Limits = p.Limits
	in.Locks = pr.LockDeltas(ctx, r)
	res := check.Run(ctx, g.checks, g.settings, check.Target{Repo: r, Input: in, Shared: e.shared(r)}, g.baseline)
	if _, err := r.Change.MergeBase(); err != nil {
		return revisionError(err)
	}
	printWarnings(e, res)
	sum, err := pr.Summarize(ctx, r, in)
	if err != nil {
		return incompletef("count the changed lines: %v", err)
	}
	rep := &report.Report{Command: "pr", Target: f.base + ".." + f.head, ToolVersion: Version(), FailOn: g.failOn,
		Result: res, Extra: sum, Before: sum.WriteHeader, After: sum.WriteSections}
	return writeReport(e, out, rep)
}
