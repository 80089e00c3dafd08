package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/checks"
	"github.com/nixgate/nixgate/internal/lockdiff"
	"github.com/nixgate/nixgate/internal/repo"
	"github.com/nixgate/nixgate/internal/report"
)

// emptyLock stands for a lock file that does not exist on one side.
const emptyLock = `{"nodes":{"root":{}},"root":"root","version":7}`

func newLockCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lock",
		Short: "flake.lock tools: the dependency delta report (R6)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usagef("missing subcommand (want: diff)")
		},
	}
	cmd.AddCommand(newLockDiffCmd(e))
	return cmd
}

func newLockDiffCmd(e *env) *cobra.Command {
	var gitRange, failOn string
	cmd := &cobra.Command{
		Use:   "diff OLD.lock NEW.lock | diff --git BASE[..HEAD] [PATH]",
		Short: "Report what a flake.lock change moves, and what looks suspicious",
		Long: `Compares two flake.lock files input by input (paths such as "a/b/c", as Nix
names them): inputs added, removed and updated (old → new revision and
date), follows changes, and flags what a reviewer must look at, with a risk
level: a change of owner, repository, host or URL, of input type, of branch
or ref, a downgrade, the same rev with a different narHash, a newly
unlocked or registry (indirect) input, a move to a mutable source.

With --git, the old lock is PATH (default flake.lock, relative to the
current directory) at BASE, and the new one PATH at HEAD when the range
names it, else the file in the work tree. A lock missing on one side
counts as empty.

Exit status 1 when a change at or above --fail-on (default high) is present.`,
		Example: `  nixgate lock diff old/flake.lock flake.lock
  nixgate lock diff --git origin/main
  nixgate lock diff --git v1.0..v1.1 --format markdown sub/flake.lock`,
		Args: cobra.RangeArgs(0, 2),
	}
	out := addOutputFlags(cmd, "text", "markdown", "json", "sarif")
	cmd.Flags().StringVar(&gitRange, "git", "", "compare `BASE[..HEAD]` revisions of PATH instead of two files")
	cmd.Flags().StringVar(&failOn, "fail-on", "high", "exit 1 when a change has this `RISK` or more: low, medium, high, critical, or never")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		threshold, err := parseRisk(failOn)
		if err != nil {
			return err
		}
		o, err := out.open(e)
		if err != nil {
			return err
		}
		defer o.Abort()
		var oldData, newData []byte
		var oldName, newName string
		if gitRange != "" {
			if len(args) > 1 {
				return usagef("--git takes at most one PATH")
			}
			p := "flake.lock"
			if len(args) == 1 {
				p = args[0]
			}
			oldData, newData, oldName, newName, err = gitLocks(cmd, gitRange, p)
			if err != nil {
				return err
			}
		} else {
			if len(args) != 2 {
				return usagef("want OLD.lock NEW.lock, or --git BASE[..HEAD] [PATH]")
			}
			oldName, newName = args[0], args[1]
			limit := repo.DefaultLimits()[repo.KindLock]
			if oldData, err = repo.ReadRegular(args[0], limit); err != nil {
				return badInput(fmt.Errorf("read old lock: %w", err))
			}
			if newData, err = repo.ReadRegular(args[1], limit); err != nil {
				return badInput(fmt.Errorf("read new lock: %w", err))
			}
		}
		r, err := lockdiff.Diff(oldData, newData)
		if err != nil {
			msg := strings.NewReplacer("parse old lock: ", "parse "+oldName+": ", "parse new lock: ", "parse "+newName+": ").Replace(err.Error())
			return badInput(errors.New(msg))
		}
		// The flags become findings of lock-change-risk, through the runner
		// and report writers every gate uses; --fail-on is a risk level.
		c := checks.LockChangeRisk
		in := lockDiffInput{{Path: newName, Delta: r}}
		res := check.Run(cmd.Context(), []*check.Check{c}, nil, check.Target{Input: in}, nil)
		rep := &report.Report{Command: "lock diff", Target: oldName + " → " + newName, ToolVersion: Version(),
			FailOn: riskSeverity(threshold), Result: res, Extra: r}
		switch o.Format {
		case "sarif":
			return writeReport(e, o, rep)
		case "markdown":
			err = r.WriteMarkdown(o.W)
		case "json":
			err = r.WriteJSON(o.W)
		default:
			err = r.WriteText(o.W)
		}
		if err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		if err := o.Commit(); err != nil {
			return err
		}
		if rep.Failed() {
			return ErrFindings
		}
		if len(res.Errors) > 0 {
			return incompletef("lock-change-risk: %s", res.Errors[0].Error)
		}
		return nil
	}
	return cmd
}

// lockDiffInput is the run input of `nixgate lock diff`.
type lockDiffInput []lockdiff.FileDelta

func (l lockDiffInput) LockDeltas() []lockdiff.FileDelta { return l }

// riskSeverity is the failure threshold for a --fail-on risk; "never" is
// above every severity.
func riskSeverity(r lockdiff.Risk) check.Severity {
	if r == 0 {
		return check.Critical + 1
	}
	return check.Severity(int(r) - int(lockdiff.Low) + int(check.Low))
}

func parseRisk(s string) (lockdiff.Risk, error) {
	switch strings.ToLower(s) {
	case "never", "none":
		return 0, nil
	case "low":
		return lockdiff.Low, nil
	case "medium":
		return lockdiff.Medium, nil
	case "high":
		return lockdiff.High, nil
	case "critical":
		return lockdiff.Critical, nil
	}
	return 0, usagef("unknown --fail-on %q (want low, medium, high, critical or never)", s)
}

// gitLocks reads PATH at BASE and at HEAD (or from the work tree) with
// `git show REV:./PATH`, run in the current directory.
func gitLocks(cmd *cobra.Command, rng, p string) (oldData, newData []byte, oldName, newName string, err error) {
	ctx := cmd.Context()
	base, head, ranged := strings.Cut(rng, "..")
	if base == "" || (ranged && head == "") {
		return nil, nil, "", "", usagef("--git %q: want BASE or BASE..HEAD", rng)
	}
	rel := "./" + filepath.ToSlash(filepath.Clean(p))
	limit := repo.DefaultLimits()[repo.KindLock]
	show := func(rev string) ([]byte, error) {
		hash, err := repo.ResolveCommit(ctx, ".", rev)
		if err != nil {
			return nil, revisionError(fmt.Errorf("--git: %w", err))
		}
		b, err := repo.ReadAt(ctx, ".", hash, rel, limit)
		if errors.Is(err, fs.ErrNotExist) {
			// A path missing at a revision: the lock was added or removed.
			return []byte(emptyLock), nil
		}
		if err != nil {
			return nil, badInput(fmt.Errorf("--git: %s:%s: %w", rev, p, err))
		}
		return b, nil
	}
	if oldData, err = show(base); err != nil {
		return
	}
	oldName = base + ":" + p
	if ranged {
		newData, err = show(head)
		newName = head + ":" + p
		return
	}
	newName = p
	newData, err = repo.ReadRegular(p, limit)
	if os.IsNotExist(err) {
		newData, err = []byte(emptyLock), nil
	}
	if err != nil {
		err = badInput(err)
	}
	return
}
