package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/checks"
	"github.com/nixgate/nixgate/internal/policy"
)

func newInitCmd(e *env) *cobra.Command {
	var force, print bool
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Write a commented nixgate.toml with every check and its defaults",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data := policy.Template(checks.All())
			if print {
				_, err := e.stdout.Write(data)
				return err
			}
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			file := filepath.Join(dir, policy.FileName)
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
	cmd.Flags().BoolVar(&print, "print", false, "print the policy to stdout instead of writing a file")
	return cmd
}
