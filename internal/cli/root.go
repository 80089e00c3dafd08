// Package cli is nixgate's command line: commands, flags, exit codes. It is
// the only package that prints errors.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// env is what every command gets: its output streams.
type env struct {
	stdout io.Writer
	stderr io.Writer
}

// Run runs nixgate with args (without the program name) and returns the
// process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr}
	root := newRoot(e)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	var u *UsageError
	if err != nil && !errors.As(err, &u) && strings.HasPrefix(err.Error(), "unknown command") {
		err = &UsageError{Err: err}
	}
	// The bare sentinels mean the report already said everything.
	if err != nil && err != ErrFindings && err != ErrIncomplete {
		printError(stderr, err)
	}
	return exitCode(err)
}

func printError(w io.Writer, err error) {
	fmt.Fprintf(w, "nixgate: error: %s\n", err)
	var h *Hint
	if errors.As(err, &h) {
		for _, l := range h.Hints {
			fmt.Fprintf(w, "nixgate: hint: %s\n", l)
		}
	}
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "nixgate",
		Short: "Security gates and proofs for Nix-built artifacts",
		Long: `nixgate turns the written security rules of Nix-based build pipelines into
mechanical gates: build outputs and secrets never merged, inputs pinned,
lock changes reported, the sandbox proven, builds reproduced.

Results go to stdout, progress and logs to stderr.

` + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &UsageError{Err: err}
	})
	root.AddCommand(commands(e)...)
	// Unknown commands and bad arguments are usage errors.
	for _, c := range root.Commands() {
		wrapArgs(c)
	}
	wrapArgs(root)
	return root
}

// wrapArgs turns argument validation failures into usage errors.
func wrapArgs(c *cobra.Command) {
	if c.Args != nil {
		orig := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := orig(cmd, args); err != nil {
				return &UsageError{Err: err}
			}
			return nil
		}
	}
	c.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return &UsageError{Err: err} })
	for _, sub := range c.Commands() {
		wrapArgs(sub)
	}
}

// commands lists nixgate's commands, one file each in this package.
func commands(e *env) []*cobra.Command {
	return []*cobra.Command{
		newAttestCmd(e),
		newCheckCmd(e),
		newChecksCmd(e),
		newHostCmd(e),
		newInitCmd(e),
		newKconfigCmd(e),
		newLockCmd(e),
		newNarCmd(e),
		newPRCmd(e),
		newProbeSandboxCmd(e),
		newRebuildCmd(e),
		newSbomCmd(e),
		newSecretsCmd(e),
		newSignCmd(e),
		newStampCmd(e),
		newVerifyCmd(e),
		newVersionCmd(e),
	}
}
