package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/checks"
	"github.com/nixgate/nixgate/internal/ci"
	"github.com/nixgate/nixgate/internal/lazyre"
	"github.com/nixgate/nixgate/internal/policy"
	"github.com/nixgate/nixgate/internal/repo"
)

// ciTable finds a [ci] table (or one of its sub-tables) in a policy.
var ciTable = lazyre.New(`(?m)^\s*\[\[?\s*ci\s*[.\]]`)

func newInitCmd(e *env) *cobra.Command {
	var force, print, withCI bool
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Write a commented nixgate.toml with every check and its defaults (--ci: and a [ci] table for this repository)",
		Long: `Writes DIR/nixgate.toml (default .): every check with its defaults, commented,
so that the file documents itself.

With --ci, it also writes a commented [ci] table (the gates of nixgate ci)
for the repository it finds: the layout to require (flake.nix, flake.lock,
kernel configurations, policy schemas and their directories), the kernel
configurations to gate and their profiles, nix flake check for a flake and
cargo test for each crate; the rest as commented examples. When
nixgate.toml exists and has no [ci] table, the table is appended to it.
Nothing is evaluated or run.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			var section []byte
			if withCI {
				r, err := repo.Open(cmd.Context(), dir)
				if err != nil {
					return badInput(fmt.Errorf("open %s: %w", dir, err))
				}
				section = ci.Template(r.Files(), r.ReadFile)
				r.Close()
			}
			data := append(policy.Template(checks.All()), section...)
			if print {
				if withCI {
					data = section
				}
				_, err := e.stdout.Write(data)
				return err
			}
			file := filepath.Join(dir, policy.FileName)
			if withCI && !force {
				old, err := repo.ReadConfined(dir, policy.FileName, policyLimit)
				switch {
				case err == nil && ciTable().Match(old):
					return withHint(usagef("%s already has a [ci] table", file), "edit it, or use --print --ci to see what init would write")
				case err == nil:
					if _, err := policy.Parse(file, old, checks.All()); err != nil {
						return usagef("policy: %w", err)
					}
					if len(old) > 0 && !bytes.HasSuffix(old, []byte("\n")) {
						old = append(old, '\n')
					}
					if err := writeFileAtomic(file, append(old, section...)); err != nil {
						return usagef("%v", err)
					}
					fmt.Fprintf(e.stderr, "nixgate: added a [ci] table to %s\n", file)
					return nil
				case !errors.Is(err, fs.ErrNotExist):
					return usagef("%s is not read: %s", file, repo.Describe(err))
				}
			}
			flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
			if force {
				flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
			}
			fh, err := os.OpenFile(file, flags, 0o644)
			if errors.Is(err, fs.ErrExist) {
				return &Hint{Err: usagef("%s already exists", file), Hints: []string{"use --force to overwrite it, or --print to see the template"}}
			}
			if err != nil {
				return usagef("%v", err)
			}
			if _, err := fh.Write(data); err != nil {
				fh.Close()
				return err
			}
			if err := fh.Close(); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "nixgate: wrote %s\n", file)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing nixgate.toml")
	cmd.Flags().BoolVar(&print, "print", false, "print the policy (with --ci: the [ci] table) to stdout instead of writing a file")
	cmd.Flags().BoolVar(&withCI, "ci", false, "also write a commented [ci] table for the repository in DIR (appended to an existing nixgate.toml)")
	return cmd
}
