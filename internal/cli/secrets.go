package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/checks"
	"github.com/nixgate/nixgate/internal/gctune"
	"github.com/nixgate/nixgate/internal/repo"
	"github.com/nixgate/nixgate/internal/report"
	"github.com/nixgate/nixgate/internal/secrets"
)

func newSecretsCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "Find secrets in a tree or in a range of git history",
	}
	cmd.AddCommand(newSecretsScanCmd(e))
	return cmd
}

type secretsFlags struct {
	gateFlags
	since, until string
	config       string
	all, history bool
}

// secretChecks are the checks `nixgate secrets scan` runs: the secret scan
// of file contents, the Kubernetes Secret manifests it decodes, and the
// files neither could read (over a size limit, FIFOs): never a silent skip.
var secretChecks = []string{"k8s-secret-manifest", "secret-leak", "unchecked-file"}

func newSecretsScanCmd(e *env) *cobra.Command {
	f := &secretsFlags{}
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "scan [DIR]",
		Short: "Scan DIR (default .) or the lines a range of commits added",
		Long: `Run the secret checks (` + strings.Join(secretChecks, ", ") + `) on DIR
(default the current directory) with nixgate's rules, or with a
gitleaks-format rule file (--config), under the same policy, suppressions,
baselines and reports as nixgate check.

In a git work tree the files are those git lists (tracked, and untracked but not
ignored); elsewhere, or with --all, every regular file under DIR (symlinks not
followed, .git skipped). Binary files are skipped by content. Kubernetes
manifests are parsed: base64 data values are decoded and scanned, sealed values
skipped, and a plain Secret with literal values is reported by itself.

With --since REV only the lines added by the commits in REV..HEAD (or
REV..--until) are scanned, and each finding names its commit and author.
With --history every commit reachable from HEAD (or --until) is scanned the
same way: the whole history, read in one git log stream. In both, the plain
Secret manifests reported are those a commit of the range added.

Encoded text (base64, hex, percent-encoding) is decoded and scanned inside
any file, to the policy's max-decode-depth (default 3). Findings under test
directories (tests/, testdata/, fixtures/…) are capped at low severity by
default, and well-known public test keys (nixpkgs' snakeoil keys) are
named and reported at info; the secret-leak options test-paths and
test-path-severity change that.

Secrets are never printed whole: a prefix, the length and a fingerprint
identify each one.

` + exitCodesHelp,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return runSecretsScan(cmd, e, f, o, dir)
		},
	}
	o = addOutputFlags(cmd)
	fl := cmd.Flags()
	f.gateFlags.add(cmd, "DIR/nixgate.toml", check.ScopeRepo)
	fl.StringVar(&f.since, "since", "", "scan only the lines added by the commits after `REV` (REV..HEAD)")
	fl.StringVar(&f.until, "until", "", "with --since or --history: the last commit `REV` of the range (default HEAD)")
	fl.BoolVar(&f.history, "history", false, "scan the lines every commit reachable from HEAD (or --until) added: the whole history")
	fl.StringVar(&f.config, "config", "", "gitleaks-format rule `FILE` ([extend] useDefault = true keeps nixgate's rules)")
	fl.BoolVar(&f.all, "all", false, "scan every file under DIR, not git's file list")
	return cmd
}

func loadRuleset(file string) (*secrets.Ruleset, []string, error) {
	if file == "" {
		rs, err := secrets.Default()
		return rs, nil, err
	}
	data, err := repo.ReadRegular(file, policyLimit)
	if err != nil {
		return nil, nil, usagef("--config: %w", err)
	}
	base := filepath.Dir(file)
	rs, warnings, err := secrets.NewRulesetFromGitleaks(file, data, func(p string) ([]byte, error) {
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, p)
		}
		return repo.ReadRegular(p, policyLimit)
	})
	if err != nil {
		return nil, nil, usagef("--config: %w", err)
	}
	return rs, warnings, nil
}

// secretsMemoryLimit is the Go heap's soft limit for a secret scan (unless
// GOMEMLIMIT says otherwise): the scan's live data is small (a few MiB of
// buffers and caches), and a collection before the heap doubles keeps the
// process well under 64 MiB on histories of thousands of commits.
const secretsMemoryLimit = 32 << 20

func runSecretsScan(cmd *cobra.Command, e *env, f *secretsFlags, o *outputFlags, dir string) error {
	ctx := cmd.Context()
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(secretsMemoryLimit)
	}
	ranged := f.since != "" || f.history
	if ranged {
		gctune.Start()
	}
	out, err := o.open(e)
	if err != nil {
		return err
	}
	defer out.Abort()
	if f.until != "" && f.since == "" && !f.history {
		return usagef("--until needs --since or --history")
	}
	if f.since != "" && f.history {
		return usagef("--since scans a range, --history the whole history: use one")
	}
	if ranged && f.all {
		return usagef("--all scans a directory; --since and --history scan history: use one")
	}
	if len(f.only) == 0 {
		f.only = secretChecks
	}
	for _, id := range f.only {
		if !slices.Contains(secretChecks, id) {
			return usagef("--only %s: secrets scan runs %s", id, strings.Join(secretChecks, ", "))
		}
	}
	g, err := f.resolve(dir)
	if err != nil {
		return err
	}
	var in checks.SecretScan
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
	if ranged && g.runs("secret-leak") {
		// One read of the history: secret-leak's scan hands the manifests
		// it reads to k8s-secret-manifest.
		in.Manifests = checks.NewHistoryManifests()
	}
	g.prepare(in)
	start := time.Now()
	var r *repo.Repo
	target := dir
	switch {
	case ranged:
		// The history is the content: the view holds only the range's
		// ends (and, with --since, finds their merge base meanwhile).
		r, err = repo.OpenRange(ctx, dir, f.since, orHead(f.until))
		if err != nil {
			return revisionError(err)
		}
		in.History = &secrets.Range{Since: f.since, Until: orHead(f.until)}
		if f.since != "" {
			target = dir + " (" + f.since + ".." + orHead(f.until) + ")"
		} else {
			target = dir + " (history of " + orHead(f.until) + ")"
		}
	case f.all:
		// The walk runs while the checks do: its error, if any, is read
		// after them.
		r, err = repo.OpenWalk(ctx, dir)
		if err != nil {
			return badInput(fmt.Errorf("open %s: %w", dir, err))
		}
	default:
		if r, err = openRepo(cmd, dir, g); err != nil {
			return err
		}
	}
	defer r.Close()
	r.Limits = g.policy.Limits
	res := check.Run(ctx, g.checks, g.settings, check.Target{Repo: r, Input: in}, g.baseline)
	if ranged && len(res.Errors) > 0 {
		// The range's ends were named to git as given: a scan that failed
		// may have failed on them (an unknown revision, a base that shares
		// no history with the head).
		if err := repo.CheckRange(ctx, dir, f.since, orHead(f.until)); err != nil {
			return revisionError(err)
		}
	}
	if f.all {
		// So was the directory's file list.
		if err := r.Err(); err != nil {
			return badInput(fmt.Errorf("open %s: %w", dir, err))
		}
	}
	printWarnings(e, res)
	fmt.Fprintf(e.stderr, "nixgate: secrets scan of %s took %s\n", report.SafeText(target), time.Since(start).Round(time.Millisecond))
	rep := &report.Report{Command: "secrets scan", Target: target, ToolVersion: Version(), FailOn: g.failOn, Result: res}
	return writeReport(e, out, rep)
}

// revisionError maps the errors of opening a change to the CLI contract:
// an unknown revision or a missing merge base is an input error (exit 2)
// with a hint; anything else could not complete (exit 3).
func revisionError(err error) error {
	var mb *repo.MergeBaseError
	switch {
	case errors.As(err, &mb):
		return withHint(badInput(err),
			"fetch the base: with actions/checkout set fetch-depth: 0 (or git fetch --unshallow), so that the merge base is in the clone")
	case errors.Is(err, repo.ErrUnknownRevision), errors.Is(err, repo.ErrNotGit):
		return withHint(badInput(err), "check the revision with `git rev-parse --verify REV^{commit}`; in CI, fetch the base branch first")
	}
	return incompletef("%w", err)
}

func orHead(rev string) string {
	if rev == "" {
		return "HEAD"
	}
	return rev
}
