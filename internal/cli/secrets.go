package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/checks"
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
	since, until string
	config       string
	failOn       string
	all          bool
}

func newSecretsScanCmd(e *env) *cobra.Command {
	f := &secretsFlags{}
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "scan [DIR]",
		Short: "Scan DIR (default .) or the lines a range of commits added",
		Long: `Scan DIR (default the current directory) for secrets with nixgate's rules,
or with a gitleaks-format rule file (--config).

In a git work tree the files are those git lists (tracked, and untracked but not
ignored); elsewhere, or with --all, every regular file under DIR (symlinks not
followed, .git skipped). Binary files are skipped by content. Kubernetes
manifests are parsed: base64 data values are decoded and scanned, sealed values
skipped, and a plain Secret with literal values is reported by itself.

With --since REV only the lines added by the commits in REV..HEAD (or
REV..--until) are scanned, and each finding names its commit and author.

Secrets are never printed whole: a prefix, the length and a SHA-256
fingerprint identify each one.

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
	fl.StringVar(&f.since, "since", "", "scan only the lines added by the commits after `REV` (REV..HEAD)")
	fl.StringVar(&f.until, "until", "", "with --since: the last commit of the range (default HEAD)")
	fl.StringVar(&f.config, "config", "", "gitleaks-format rule `FILE` ([extend] useDefault = true keeps nixgate's rules)")
	fl.StringVar(&f.failOn, "fail-on", "high", "fail on findings at or above `SEVERITY`")
	fl.BoolVar(&f.all, "all", false, "scan every file under DIR, not git's file list")
	_ = cmd.RegisterFlagCompletionFunc("fail-on", completeSeverities)
	return cmd
}

func loadRuleset(file string) (*secrets.Ruleset, []string, error) {
	if file == "" {
		rs, err := secrets.NewRuleset(secrets.DefaultRules(), secrets.DefaultAllowlists())
		return rs, nil, err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, usagef("--config: %v", err)
	}
	base := filepath.Dir(file)
	rs, warnings, err := secrets.NewRulesetFromGitleaks(file, data, func(p string) ([]byte, error) {
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, p)
		}
		return os.ReadFile(p)
	})
	if err != nil {
		return nil, nil, usagef("--config: %v", err)
	}
	return rs, warnings, nil
}

func runSecretsScan(cmd *cobra.Command, e *env, f *secretsFlags, o *outputFlags, dir string) error {
	ctx := cmd.Context()
	out, err := o.open(e)
	if err != nil {
		return err
	}
	defer out.Abort()
	w, format, closeOut := out.W, out.Format, out.Commit
	failOn, err := check.ParseSeverity(f.failOn)
	if err != nil {
		return usagef("--fail-on: %v", err)
	}
	if f.until != "" && f.since == "" {
		return usagef("--until needs --since")
	}
	rs, warnings, err := loadRuleset(f.config)
	if err != nil {
		return err
	}
	for _, wn := range warnings {
		fmt.Fprintf(e.stderr, "nixgate: warning: %s\n", wn)
	}
	start := time.Now()
	var findings []check.Finding
	var manifests []secrets.Manifest
	var readErrs int
	stats := &secrets.Stats{}
	sink := secrets.Sink{
		Finding:  func(sf secrets.Finding) { findings = append(findings, checks.SecretFinding(sf)) },
		Manifest: func(m secrets.Manifest) { manifests = append(manifests, m) },
		Error: func(name string, err error) {
			readErrs++
			fmt.Fprintf(e.stderr, "nixgate: warning: %s: %v\n", name, err)
		},
		Stats: stats,
	}
	target := dir
	switch {
	case f.since != "":
		target = dir + " (" + f.since + ".." + orHead(f.until) + ")"
		if err := rs.ScanHistory(ctx, dir, secrets.Range{Since: f.since, Until: f.until}, sink); err != nil {
			return fmt.Errorf("scan history: %w", ErrIncomplete)
		}
	default:
		r, err := repo.Open(ctx, dir)
		if err != nil {
			return usagef("%v", err)
		}
		isGit := r.IsGit
		if !isGit || f.all {
			r.Close()
			if err := rs.ScanDir(ctx, dir, sink); err != nil {
				return fmt.Errorf("scan %s: %v: %w", dir, err, ErrIncomplete)
			}
			break
		}
		names := make(chan string)
		go func() {
			defer close(names)
			for _, n := range r.Files() {
				if r.Mode(n) != "120000" {
					names <- n
				}
			}
		}()
		rs.ScanFiles(ctx, names, func(name string) (*os.File, error) {
			fi, err := r.Lstat(name)
			if err != nil {
				return nil, err
			}
			if !fi.Mode().IsRegular() {
				return nil, os.ErrNotExist
			}
			return r.Open(name)
		}, sink)
		r.Close()
	}
	for _, x := range secrets.Exposures(manifests) {
		findings = append(findings, checks.ExposureFinding(x))
	}
	for i := range findings {
		fd := &findings[i]
		fd.Fingerprint = check.Fingerprint(fd.CheckID, fd.Location.Path, fd.Key)
	}
	check.SortFindings(findings)
	if f.since != "" {
		fmt.Fprintf(e.stderr, "nixgate: scanned the lines added to %d file version(s) (%.1f MB) in %s\n",
			stats.Files.Load(), float64(stats.Bytes.Load())/1e6, time.Since(start).Round(time.Millisecond))
	} else {
		fmt.Fprintf(e.stderr, "nixgate: scanned %d files (%.1f MB, %d binary skipped) in %s\n",
			stats.Files.Load(), float64(stats.Bytes.Load())/1e6, stats.Binary.Load(), time.Since(start).Round(time.Millisecond))
	}
	res := &check.Result{Checks: []*check.Check{checks.K8sSecretManifest, checks.SecretLeak}, Findings: findings}
	rep := &report.Report{Command: "secrets scan", Target: target, ToolVersion: Version(), FailOn: failOn, Result: res}
	if err := report.Write(w, format, rep); err != nil {
		return err
	}
	if err := closeOut(); err != nil {
		return err
	}
	if rep.Failed() {
		return ErrFindings
	}
	if readErrs > 0 {
		return fmt.Errorf("%d file(s) could not be read: %w", readErrs, ErrIncomplete)
	}
	return nil
}

func orHead(rev string) string {
	if rev == "" {
		return "HEAD"
	}
	return rev
}
