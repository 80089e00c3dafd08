package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/checks"
	"github.com/nixgate/nixgate/internal/pr"
	"github.com/nixgate/nixgate/internal/report"
)

type prFlags struct {
	base, head string
	labels     []string
	sensitive  []string
	lockLabel  string
	event      string
	config     string
	policy     string
}

func newPRCmd(e *env) *cobra.Command {
	f := &prFlags{}
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "pr --base BASE [--head HEAD] [DIR]",
		Short: "Gate a change: build outputs, secrets, lock delta, review checklist",
		Long: `Gate the change from the merge base of BASE and HEAD (default HEAD) to HEAD,
in the git repository DIR (default .):

  - rejects build outputs it adds (a build/ directory, result links, binaries);
  - rejects secrets in the lines its commits add (each with commit and author),
    plain Kubernetes Secret manifests and secret-bearing files it adds;
  - for a flake.lock change, includes the lock delta and requires the
    dependency-update label (--label, or the pull request's labels from the
    GitHub event payload at $GITHUB_EVENT_PATH);
  - lists changes to security-sensitive paths as "needs security review";
  - ends with the review checklist: every changed file with its line counts.

--format markdown writes a pull-request comment. Exit 1 when anything is
rejected.

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
	fl.StringVar(&f.base, "base", "", "the branch or commit the change goes into (required)")
	fl.StringVar(&f.head, "head", "HEAD", "the change's last commit")
	fl.StringArrayVar(&f.labels, "label", nil, "a label of the change (repeatable)")
	fl.StringArrayVar(&f.sensitive, "sensitive", nil, "another security-sensitive path `GLOB` (repeatable; added to the policy's list)")
	fl.StringVar(&f.lockLabel, "lock-label", "dependency-update", "the label a flake.lock change needs (default: the policy's [pr] lock-label)")
	fl.StringVar(&f.policy, "policy", "", "policy `FILE` (default: DIR/nixgate.toml, else the built-in policy)")
	fl.StringVar(&f.event, "event", os.Getenv("GITHUB_EVENT_PATH"), "GitHub event payload `FILE` to read the pull request's labels from")
	fl.StringVar(&f.config, "config", "", "gitleaks-format rule `FILE` for the secret scan")
	return cmd
}

func runPR(cmd *cobra.Command, e *env, f *prFlags, o *outputFlags, dir string) error {
	if f.base == "" {
		return usagef("--base is required")
	}
	out, err := o.open(e)
	if err != nil {
		return err
	}
	defer out.Abort()
	w, format, closeOut := out.W, out.Format, out.Commit
	labels := slices.Clone(f.labels)
	if f.event != "" {
		data, err := os.ReadFile(f.event)
		if err != nil {
			return usagef("--event: %v", err)
		}
		l, err := pr.EventLabels(data)
		if err != nil {
			return usagef("--event %s: %v", f.event, err)
		}
		labels = append(labels, l...)
	}
	p, err := loadPolicy(dir, f.policy)
	if err != nil {
		return err
	}
	sensitive := slices.Clone(pr.DefaultSensitive)
	if p.PR.SensitivePaths != nil {
		sensitive = slices.Clone(p.PR.SensitivePaths)
	}
	sensitive = append(append(sensitive, p.PR.ExtraSensitivePaths...), f.sensitive...)
	lockLabel := f.lockLabel
	if !cmd.Flags().Changed("lock-label") && p.PR.LockLabel != "" {
		lockLabel = p.PR.LockLabel
	}
	var buildDirs []string
	if o, ok := p.Settings[checks.BuildOutputCommitted.ID].Options.(*checks.BuildOutputCommittedOptions); ok {
		buildDirs = o.BuildDirs
	}
	config := f.config
	if o, ok := p.Settings[checks.SecretLeak.ID].Options.(*checks.SecretLeakOptions); ok && config == "" && o.GitleaksConfig != "" {
		config = filepath.Join(dir, filepath.FromSlash(o.GitleaksConfig))
	}
	rs, warnings, err := loadRuleset(config)
	if err != nil {
		return err
	}
	for _, wn := range warnings {
		fmt.Fprintf(e.stderr, "nixgate: warning: %s\n", wn)
	}
	r, err := pr.Run(cmd.Context(), dir, pr.Options{Base: f.base, Head: f.head, Labels: labels,
		Sensitive: sensitive, LockLabel: lockLabel, BuildDirs: buildDirs, Rules: rs})
	if err != nil {
		return fmt.Errorf("pr: %v: %w", err, ErrIncomplete)
	}
	switch format {
	case "text":
		err = r.WriteText(w)
	case "markdown":
		err = r.WriteMarkdown(w)
	case "json":
		err = r.WriteJSON(w)
	case "sarif":
		err = report.Write(w, "sarif", &report.Report{Command: "pr", Target: f.base + ".." + f.head, ToolVersion: Version(),
			Result: r.Result(checks.ByID)})
	}
	if err != nil {
		return err
	}
	if err := closeOut(); err != nil {
		return err
	}
	if r.Rejected {
		return ErrFindings
	}
	return nil
}
