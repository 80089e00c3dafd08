package cli

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/repo"
)

func newStampCmd(e *env) *cobra.Command {
	var name string
	var allowDirty bool
	cmd := &cobra.Command{
		Use:   "stamp [DIR]",
		Short: "Print NAME-<shorthash> for a clean tree; refuse a dirty one",
		Long: `Print NAME-<shorthash>, the artifact name that ties a build to its commit
(R3: never build from a dirty tree). NAME defaults to the repository's
directory name.

On a dirty tree (modified, staged, or untracked files that are not ignored)
stamp lists the dirty files on stderr and exits 1; with --allow-dirty it
prints NAME-<shorthash>-dirty instead.

` + exitCodesHelp,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			top, err := repo.Git(ctx, dir, "rev-parse", "--show-toplevel")
			if err != nil {
				return usagef("%s is not in a git work tree: %v", dir, err)
			}
			hash, err := repo.Git(ctx, dir, "rev-parse", "--short", "HEAD")
			if err != nil {
				return fmt.Errorf("no commit to stamp: %v: %w", err, ErrIncomplete)
			}
			if name == "" {
				name = filepath.Base(strings.TrimSpace(string(top)))
			}
			if strings.ContainsAny(name, "/ \t\n") || name == "" {
				return usagef("--name %q: want a name without slashes or spaces", name)
			}
			dirty, err := repo.Status(ctx, strings.TrimSpace(string(top)))
			if err != nil {
				return fmt.Errorf("%v: %w", err, ErrIncomplete)
			}
			stamp := name + "-" + strings.TrimSpace(string(hash))
			if len(dirty) > 0 {
				if !allowDirty {
					fmt.Fprintf(e.stderr, "nixgate: refusing to stamp a dirty tree (%d path(s)):\n", len(dirty))
					for i, d := range dirty {
						if i == 50 {
							fmt.Fprintf(e.stderr, "  ... and %d more\n", len(dirty)-i)
							break
						}
						fmt.Fprintf(e.stderr, "  %s: %s\n", d.Path, d.What)
					}
					fmt.Fprintln(e.stderr, "nixgate: hint: commit or stash the changes, or pass --allow-dirty to stamp NAME-<hash>-dirty")
					return ErrFindings
				}
				stamp += "-dirty"
			}
			fmt.Fprintln(e.stdout, stamp)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "artifact `NAME` (default: the repository directory's name)")
	cmd.Flags().BoolVar(&allowDirty, "allow-dirty", false, "stamp a dirty tree as NAME-<hash>-dirty instead of refusing")
	return cmd
}
