// Package cli is nixgate's command line: commands, flags, exit codes. It is
// the only package that prints errors.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/report"
)

// env is what every command gets: its output streams and the global
// deadline.
type env struct {
	stdout  io.Writer
	stderr  io.Writer
	timeout time.Duration
	// gates, inside `nixgate ci`, shares opened repositories and parsed
	// inputs between the gates it runs (ci.go); nil otherwise.
	gates *gateCache
	// cancel ends the command's deadline.
	cancel context.CancelFunc
}

// DefaultTimeout is the global deadline of a command (--timeout).
const DefaultTimeout = 10 * time.Minute

// Run runs nixgate with args (without the program name) and returns the
// process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runEnv(ctx, &env{stdout: stdout, stderr: stderr}, args)
}

// runEnv runs one command line over e (nixgate ci runs its gates through
// it, with an env that shares its caches).
func runEnv(ctx context.Context, e *env, args []string) int {
	stdout, stderr := e.stdout, e.stderr
	root := newRoot(e, args)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if e.cancel != nil {
		e.cancel()
	}
	if err != nil && errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrFindings) {
		err = incompletef("timed out after %s (--timeout): %w", e.timeout, err)
	} else if err != nil && ctx.Err() != nil && !errors.Is(err, ErrFindings) {
		err = incompletef("interrupted: %w", err)
	}
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

// printError prints err as one line (its newlines and control characters
// escaped: an error may quote a file name) followed by its hints.
func printError(w io.Writer, err error) {
	fmt.Fprintf(w, "nixgate: error: %s\n", report.SafeText(err.Error()))
	var h *Hint
	if errors.As(err, &h) {
		for _, l := range h.Hints {
			fmt.Fprintf(w, "nixgate: hint: %s\n", l)
		}
	}
}

// newRoot is the command tree for the command line args (commandsFor).
func newRoot(e *env, args []string) *cobra.Command {
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
	root.PersistentFlags().DurationVar(&e.timeout, "timeout", DefaultTimeout, "stop and exit 3 after `DURATION` (0: no deadline)")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if e.timeout < 0 {
			return usagef("--timeout must not be negative")
		}
		if e.timeout > 0 {
			// The deadline's cancel runs when this command line returns
			// (runEnv), not through cobra.OnFinalize: its finalizers are
			// global and would also cancel the command that ran this one
			// (nixgate ci runs its gates in this process).
			ctx, cancel := context.WithTimeout(cmd.Context(), e.timeout)
			cmd.SetContext(ctx)
			e.cancel = cancel
		}
		return nil
	}
	root.AddCommand(commandsFor(e, args)...)
	root.InitDefaultCompletionCmd()
	// A command group run without a known subcommand is a usage error.
	var groups func(c *cobra.Command)
	groups = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.HasSubCommands() && sub.Run == nil && sub.RunE == nil {
				sub.Args = cobra.ArbitraryArgs
				sub.RunE = func(cmd *cobra.Command, args []string) error {
					var names []string
					for _, s := range cmd.Commands() {
						if s.IsAvailableCommand() {
							names = append(names, s.Name())
						}
					}
					if len(args) > 0 {
						return usagef("unknown subcommand %q of %s (want one of: %s)", args[0], cmd.CommandPath(), strings.Join(names, ", "))
					}
					return usagef("%s needs a subcommand: %s", cmd.CommandPath(), strings.Join(names, ", "))
				}
			}
			groups(sub)
		}
	}
	groups(root)
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

// commands lists nixgate's commands, one file each in this package, by
// name: a command line that names one builds that one alone (newRoot), as
// the flags and help of all of them cost a quarter of a short command.
func commands() []namedCommand {
	return []namedCommand{
		{"attest", newAttestCmd},
		{"cache", newCacheCmd},
		{"check", newCheckCmd},
		{"checks", newChecksCmd},
		{"ci", newCICmd},
		{"explain", newExplainCmd},
		{"flake", newFlakeCmd},
		{"host", newHostCmd},
		{"init", newInitCmd},
		{"kconfig", newKconfigCmd},
		{"lock", newLockCmd},
		{"log", newLogCmd},
		{"nar", newNarCmd},
		{"pr", newPRCmd},
		{"probe-sandbox", newProbeSandboxCmd},
		{"rebuild", newRebuildCmd},
		{"sbom", newSbomCmd},
		{"secrets", newSecretsCmd},
		{"sign", newSignCmd},
		{"stamp", newStampCmd},
		{"trust", newTrustCmd},
		{"uki", newUKICmd},
		{"verify", newVerifyCmd},
		{"version", newVersionCmd},
	}
}

// namedCommand is a command's name and its constructor.
type namedCommand struct {
	name string
	new  func(*env) *cobra.Command
}

// commandsFor builds the commands a command line can reach: the one its
// first argument names, or all of them (for help, completion, an unknown
// name's suggestions, or a flag before the command).
func commandsFor(e *env, args []string) []*cobra.Command {
	if len(args) > 0 {
		for _, c := range commands() {
			if c.name == args[0] {
				return []*cobra.Command{c.new(e)}
			}
		}
	}
	var all []*cobra.Command
	for _, c := range commands() {
		all = append(all, c.new(e))
	}
	return all
}

// SignalContext is cancelled by SIGINT or SIGTERM. A command honours the
// cancellation and returns (its children and temporary files cleaned up);
// if it has not within grace, or a second signal comes, the process exits
// at once with 128+signal: a signal always ends nixgate.
func SignalContext(grace time.Duration) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s, ok := <-sigs
		if !ok {
			return
		}
		cancel()
		select {
		case <-sigs:
		case <-time.After(grace):
		}
		code := 130
		if s == syscall.SIGTERM {
			code = 143
		}
		os.Exit(code)
	}()
	return ctx, func() { signal.Stop(sigs); cancel() }
}
