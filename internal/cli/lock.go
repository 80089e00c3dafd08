package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/lockdiff"
	"github.com/nixgate/nixgate/internal/repo"
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
	out := addOutputFlags(cmd, "text", "markdown", "json")
	cmd.Flags().StringVar(&gitRange, "git", "", "compare `BASE[..HEAD]` revisions of PATH instead of two files")
	cmd.Flags().StringVar(&failOn, "fail-on", "high", "exit 1 when a change has this `RISK` or more: low, medium, high, critical, or never")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		threshold, err := parseRisk(failOn)
		if err != nil {
			return err
		}
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
			if oldData, err = os.ReadFile(args[0]); err != nil {
				return fmt.Errorf("read old lock: %w", err)
			}
			if newData, err = os.ReadFile(args[1]); err != nil {
				return fmt.Errorf("read new lock: %w", err)
			}
		}
		r, err := lockdiff.Diff(oldData, newData)
		if err != nil {
			msg := strings.NewReplacer("parse old lock: ", "parse "+oldName+": ", "parse new lock: ", "parse "+newName+": ").Replace(err.Error())
			return fmt.Errorf("%s: %w", msg, ErrIncomplete)
		}
		out, err := out.open(e)
		if err != nil {
			return err
		}
		defer out.Abort()
		w, format, closeOut := out.W, out.Format, out.Commit
		switch format {
		case "markdown":
			err = r.WriteMarkdown(w)
		case "json":
			err = r.WriteJSON(w)
		default:
			err = r.WriteText(w)
		}
		if cerr := closeOut(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		if threshold > 0 && r.Risk >= threshold {
			return ErrFindings
		}
		return nil
	}
	return cmd
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
	if _, err := repo.Git(ctx, ".", "rev-parse", "--is-inside-work-tree"); err != nil {
		return nil, nil, "", "", fmt.Errorf("--git: not in a git work tree: %w", ErrIncomplete)
	}
	rel := "./" + filepath.ToSlash(filepath.Clean(p))
	show := func(rev string) ([]byte, error) {
		if _, err := repo.Git(ctx, ".", "rev-parse", "--verify", "--quiet", rev+"^{commit}"); err != nil {
			return nil, &UsageError{Err: fmt.Errorf("--git: unknown revision %q", rev)}
		}
		// A path missing at a revision means the lock was added or removed.
		if _, err := repo.Git(ctx, ".", "cat-file", "-e", rev+":"+rel); err != nil {
			return []byte(emptyLock), nil
		}
		b, err := repo.Git(ctx, ".", "show", rev+":"+rel)
		if err != nil {
			return nil, err
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
	newData, err = os.ReadFile(p)
	if os.IsNotExist(err) {
		newData, err = []byte(emptyLock), nil
	}
	return
}
