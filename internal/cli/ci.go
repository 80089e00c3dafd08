package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/checks"
	"github.com/nixgate/nixgate/internal/ci"
	"github.com/nixgate/nixgate/internal/repo"
	"github.com/nixgate/nixgate/internal/report"
)

// ciTimeout is nixgate ci's default deadline: a pipeline builds, rebuilds
// and boots, so it gets longer than one command.
const ciTimeout = time.Hour

type ciFlags struct {
	policy       string
	base, head   string
	only, skip   []string
	requireAll   bool
	explain      bool
	event        string
	sarif, junit string
	markdown     string
	json         string
}

func newCICmd(e *env) *cobra.Command {
	f := &ciFlags{}
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "ci [DIR]",
		Short: "Run every gate a pipeline must run, from the [ci] table of nixgate.toml, in one report",
		Long: `Runs the pipeline's gates on the repository DIR (default .), each as nixgate's
own command for it, in this process, with the same policy, suppressions,
baselines and exit codes as that command:

  check             nixgate check: the repository gates (always)
  pr, lock          nixgate pr and lock diff --git, when a base revision is
                    known (--base, a GitHub pull_request or merge_group event,
                    a GitLab merge request pipeline)
  kconfig           nixgate kconfig on [ci.kconfig] configs
  host              nixgate host ([ci.host]; the sandbox probe with probe = true)
  required-outputs  nixgate flake outputs: [ci] required-outputs exist
  devshell-tools    nixgate flake devshell: the dev shell has [ci] devshell-tools
  run: NAME         the project's own commands, [[ci.run]], each with a timeout
  rebuild           nixgate rebuild ([ci.rebuild])
  cache             nixgate cache verify ([ci.cache])
  uki-check, uki-verify, uki-boot-test
                    nixgate uki check / verify / boot-test ([ci.uki])
  provenance        nixgate attest ([ci.provenance]; ci never signs)

Cheap static gates run first; the image gates run after the run steps, so a
step can build the image. A gate that needs what is absent (nix, qemu, a
command this nixgate lacks, a file no step built) is SKIPPED with the reason,
never passed; --require-all makes a skip fail the run. --only and --skip take
gate names, "uki" (every uki gate), "run" or "run:NAME", and "static".

ci refuses to run when a signing key or a signing step is configured for it,
and findings of ci-signs and host-ci-signing-keys fail it at any severity:
CI must not sign, deploy or hold private keys.

One report of every gate: --format text, json, markdown (for
$GITHUB_STEP_SUMMARY and pull-request comments), sarif (a run per gate, for
code scanning) or junit; --sarif, --junit, --markdown and --json write those
too, from the same run. Each gate's equivalent command line is in the report.
Progress goes to stderr. The exit code is the worst gate's (1 before 2 before
3). The default --timeout is 1h.

` + exitCodesHelp,
		Args: cobra.MaximumNArgs(1),
		PersistentPreRunE: func(c *cobra.Command, args []string) error {
			if !c.Flags().Changed("timeout") {
				e.timeout = ciTimeout
			}
			return c.Root().PersistentPreRunE(c, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return runCI(cmd, e, f, o, dir)
		},
	}
	o = addOutputFlags(cmd, ci.Formats...)
	fl := cmd.Flags()
	fl.StringVar(&f.policy, "policy", "", "policy `FILE` (default: DIR/nixgate.toml, else the built-in policy)")
	fl.StringVar(&f.base, "base", "", "the change's base `REV` (default: from the GitHub or GitLab event)")
	fl.StringVar(&f.head, "head", "HEAD", "the change's last commit `REV`")
	fl.StringSliceVar(&f.only, "only", nil, "run only these `GATES` (comma-separated)")
	fl.StringSliceVar(&f.skip, "skip", nil, "do not run these `GATES` (comma-separated)")
	fl.BoolVar(&f.requireAll, "require-all", false, "a skipped gate fails the run")
	fl.BoolVar(&f.explain, "explain", false, "print the gates, their commands and why each runs or is skipped, and exit without running them")
	fl.StringVar(&f.event, "event", "", "GitHub event payload `FILE` (default: $GITHUB_EVENT_PATH in GitHub Actions)")
	fl.StringVar(&f.sarif, "sarif", "", "also write the SARIF log to `FILE`")
	fl.StringVar(&f.junit, "junit", "", "also write the JUnit XML report to `FILE`")
	fl.StringVar(&f.markdown, "markdown", "", "also write the Markdown summary to `FILE`")
	fl.StringVar(&f.json, "json", "", "also write the JSON report to `FILE`")
	_ = cmd.RegisterFlagCompletionFunc("only", completeGates)
	_ = cmd.RegisterFlagCompletionFunc("skip", completeGates)
	return cmd
}

func completeGates(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return ci.Selectors(nil), cobra.ShellCompDirectiveNoFileComp
}

func runCI(cmd *cobra.Command, e *env, f *ciFlags, o *outputFlags, dir string) error {
	ctx := cmd.Context()
	started := time.Now()
	out, err := o.open(e)
	if err != nil {
		return err
	}
	defer out.Abort()
	extra := map[string]string{"sarif": f.sarif, "junit": f.junit, "markdown": f.markdown, "json": f.json}
	var sinks []*sink
	for _, format := range ci.Formats {
		path := extra[format]
		if path == "" {
			continue
		}
		s, err := (&outputFlags{formats: ci.Formats, format: format, output: path}).open(e)
		if err != nil {
			return usagef("--%s: %s", format, strings.TrimPrefix(err.Error(), "--output: "))
		}
		defer s.Abort()
		sinks = append(sinks, s)
	}
	p, err := loadPolicy(dir, f.policy)
	if err != nil {
		return err
	}
	cfg := &p.CI
	if err := cfg.RefuseSigning(); err != nil {
		return withHint(usagef("%w", err), "remove the key from the [ci] table; sign offline after review (docs/ci.md)")
	}
	for _, id := range ci.Contract {
		if s, ok := p.Settings[id]; ok && !s.Enabled {
			fmt.Fprintf(e.stderr, "nixgate: warning: the policy turns %s off: nixgate ci cannot tell whether this pipeline signs or holds signing keys\n", id)
		}
	}
	for _, sel := range [][]string{f.only, f.skip} {
		if err := ci.CheckSelectors(cfg, sel); err != nil {
			return usagef("%w", err)
		}
	}
	change := ci.Change{}
	if f.base == "" {
		if change, err = ci.DetectChange(environ(), func(p string) ([]byte, error) { return repo.ReadRegular(p, policyLimit) }); err != nil {
			return badInput(err)
		}
	} else {
		change = ci.Change{Base: f.base, From: "--base"}
	}
	if f.event != "" {
		change.Event = f.event
	}
	cache := &gateCache{repos: map[string]*repo.Repo{}, shared: map[string]*check.Shared{}}
	defer cache.close()
	r, err := repo.Open(ctx, dir)
	if err != nil {
		return badInput(fmt.Errorf("open %s: %w", dir, err))
	}
	r.Limits = p.Limits
	cache.repos[r.Dir] = r
	policyFile := f.policy
	if policyFile == "" && p.Path != "" {
		policyFile = filepath.Join(dir, "nixgate.toml")
	}
	plan := &ci.Plan{Dir: dir, Config: cfg, PolicyArg: f.policy, PolicyFile: policyFile,
		Base: change.Base, Head: f.head, BaseFrom: change.From, Event: change.Event, Labels: change.Labels,
		Only: f.only, Skip: f.skip, Files: r.Tracked(), Has: hasCommand, LookPath: exec.LookPath}
	if !r.IsGit {
		plan.Files = r.Files()
	}
	gates := plan.Gates()
	if len(gates) == 0 {
		return withHint(usagef("no gate to run"), "check --only, --skip and the [ci] table")
	}
	requireAll := f.requireAll || cfg.RequireAll
	if f.explain {
		return explainPlan(e, out, plan, gates, requireAll)
	}
	rn := &ci.Runner{
		Invoke: func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			return runEnv(ctx, &env{stdout: stdout, stderr: stderr, gates: cache}, args)
		},
		Lookup:    checks.ByID,
		Progress:  e.stderr,
		AfterStep: cache.dropWorkTrees,
	}
	run := &ci.Run{Target: dir, Base: change.Base, BaseFrom: change.From, ToolVersion: Version(), RequireAll: requireAll}
	run.Hostname, _ = os.Hostname()
	if change.Base != "" && f.head != "HEAD" {
		run.Head = f.head
	}
	run.Results = rn.Execute(ctx, gates)
	run.Duration = time.Since(started)
	for _, s := range append([]*sink{out}, sinks...) {
		if err := ci.Write(s.W, s.Format, run); err != nil {
			return fmt.Errorf("write the %s report: %w", s.Format, err)
		}
		if err := s.Commit(); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stderr, "nixgate ci: %s (exit %d) in %s\n", run.Verdict(), run.Exit(), ci.FormatDuration(run.Duration))
	switch run.Exit() {
	case 1:
		return ErrFindings
	case 2:
		return usagef("%s", worstReason(run, 2))
	case 3:
		return incompletef("%s", worstReason(run, 3))
	}
	return nil
}

// worstReason names the gates that ended with code.
func worstReason(run *ci.Run, code int) string {
	var names []string
	for _, res := range run.Results {
		if res.Outcome != ci.Skipped && res.Exit == code {
			names = append(names, fmt.Sprintf("%s (%s)", res.Gate.Name, res.Reason))
		}
	}
	what := "a usage or input error"
	if code == 3 {
		what = "could not complete"
	}
	return fmt.Sprintf("ci: %s: %s", what, strings.Join(names, "; "))
}

// explainPlan prints what would run, and why.
func explainPlan(e *env, out *sink, plan *ci.Plan, gates []*ci.Gate, requireAll bool) error {
	w := bufio.NewWriter(out.W)
	base := "none"
	if plan.Base != "" {
		base = plan.Base + " (" + plan.BaseFrom + ")"
	}
	fmt.Fprintf(w, "nixgate ci plan for %s: %d gate(s), base %s\n", report.SafeText(plan.Dir), len(gates), report.SafeText(base))
	width := 0
	for _, g := range gates {
		width = max(width, len(report.SafeText(g.Name)))
	}
	for i, g := range gates {
		kind := ""
		if g.Static {
			kind = " static"
		}
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("%2d. %-*s%s", i+1, width, report.SafeText(g.Name), kind), " "))
		fmt.Fprintf(w, "    why: %s\n", report.SafeText(g.Why))
		if g.Skip != "" {
			verdict := "SKIPPED"
			if requireAll {
				verdict = "SKIPPED (fails: --require-all)"
			}
			fmt.Fprintf(w, "    %s: %s\n", verdict, report.SafeText(g.Skip))
		} else {
			fmt.Fprintf(w, "    runs: %s\n", report.SafeText(g.CommandLine()))
			for _, r := range g.Requires {
				fmt.Fprintf(w, "    needs the file %s when it starts\n", report.SafeText(r))
			}
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return out.Commit()
}

// hasCommand reports whether this nixgate has the command path ("uki",
// "check").
func hasCommand(path ...string) bool {
	root := newRoot(&env{stdout: io.Discard, stderr: io.Discard}, path)
	c, _, err := root.Find(path)
	return err == nil && c.CommandPath() == strings.Join(append([]string{"nixgate"}, path...), " ")
}

// gateCache is what the gates of one nixgate ci run share: the work tree
// ci listed (so that nixgate check lists it once), and the inputs checks
// parse (check.Shared), per view of a repository. A view of a commit never
// changes; the work tree's are dropped after each run step, which may
// change it.
type gateCache struct {
	mu     sync.Mutex
	repos  map[string]*repo.Repo
	shared map[string]*check.Shared
}

// viewKey names what a repository view shows: a commit's tree, or the work
// tree; "" when it must not be shared (the index).
func viewKey(r *repo.Repo) string {
	switch {
	case r.Rev == "":
		return r.Dir + "\x00worktree"
	case len(r.Rev) >= 40 && strings.Trim(r.Rev, "0123456789abcdef") == "":
		return r.Dir + "\x00" + r.Rev
	}
	return ""
}

func (c *gateCache) dropWorkTrees() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, r := range c.repos {
		r.Close()
		delete(c.repos, k)
	}
	for k := range c.shared {
		if strings.HasSuffix(k, "\x00worktree") {
			delete(c.shared, k)
		}
	}
}

func (c *gateCache) close() { c.dropWorkTrees() }

// shared is the store of parsed inputs for r's view (nil outside ci).
func (e *env) shared(r *repo.Repo) *check.Shared {
	if e.gates == nil {
		return nil
	}
	k := viewKey(r)
	if k == "" {
		return nil
	}
	c := e.gates
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.shared[k]
	if s == nil {
		s = &check.Shared{}
		c.shared[k] = s
	}
	return s
}

// openWorkTree opens dir for the repository gates; inside ci, the work
// tree ci already listed.
func (e *env) openWorkTree(cmd *cobra.Command, dir string, g *gate) (*repo.Repo, error) {
	if e.gates != nil {
		if abs, err := filepath.Abs(dir); err == nil {
			e.gates.mu.Lock()
			r := e.gates.repos[abs]
			e.gates.mu.Unlock()
			if r != nil {
				r.Limits = g.policy.Limits
				return r, nil
			}
		}
	}
	return openRepo(cmd, dir, g)
}

// release closes r unless ci keeps it for its other gates.
func (e *env) release(r *repo.Repo) {
	if e.gates != nil {
		e.gates.mu.Lock()
		kept := e.gates.repos[r.Dir] == r
		e.gates.mu.Unlock()
		if kept {
			return
		}
	}
	r.Close()
}
