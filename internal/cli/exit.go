package cli

import (
	"errors"
	"fmt"
)

// Exit codes, the same for every command. The README's table and
// TestExitCodes (cmd/nixgate/testdata/script/exit_codes.txtar) follow this
// list.
const (
	ExitClean      = 0 // no finding at or above the threshold
	ExitFindings   = 1 // a gate failed
	ExitUsage      = 2 // bad flags or arguments, a policy error, a missing input file, an unreadable repository, an unknown revision
	ExitIncomplete = 3 // a check errored, a build or a tool failed
)

// exitCodesHelp is shown in `nixgate --help` and in every command's help.
const exitCodesHelp = `Exit codes:
  0  clean: nothing at or above the failure threshold
  1  a gate failed: findings at or above --fail-on (or the command's own verdict)
  2  usage or input error: a bad flag, argument or policy, a missing input file,
     an unreadable repository, an unknown revision
  3  could not complete: a check errored, a build or a tool failed`

// Sentinel errors that commands return; Run maps them to exit codes in
// one place.
var (
	// ErrFindings means the gate failed; the report has been written.
	ErrFindings = errors.New("gate failed")
	// ErrIncomplete means something could not complete; the report, if
	// any, has been written.
	ErrIncomplete = errors.New("could not complete")
)

// UsageError is a usage, policy or input error (exit 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// usagef returns a UsageError (exit 2). Use %w to keep a cause.
func usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// badInput marks err as an input error (exit 2): a file that does not
// exist or cannot be read, a repository that is not one, an unknown
// revision.
func badInput(err error) error {
	if err == nil {
		return nil
	}
	return &UsageError{Err: err}
}

// IncompleteError is a failure to complete (exit 3) that keeps its cause.
type IncompleteError struct{ Err error }

func (e *IncompleteError) Error() string { return e.Err.Error() }
func (e *IncompleteError) Unwrap() []error {
	return []error{e.Err, ErrIncomplete}
}

// incompletef returns an IncompleteError (exit 3); use %w for the cause,
// whose whole chain is printed.
func incompletef(format string, args ...any) error {
	return &IncompleteError{Err: fmt.Errorf(format, args...)}
}

// Hint adds hint lines printed after the error.
type Hint struct {
	Err   error
	Hints []string
}

func (h *Hint) Error() string { return h.Err.Error() }
func (h *Hint) Unwrap() error { return h.Err }

// withHint adds hint lines to err.
func withHint(err error, hints ...string) error { return &Hint{Err: err, Hints: hints} }

// exitCode maps an error to the process exit code. A failed gate takes
// precedence over everything else; a usage error over an incomplete run.
//
// An IncompleteError wrapped around a usage error (a deadline that cut an
// input read short) is exit 3: the outermost class decides.
func exitCode(err error) int {
	var u *UsageError
	for {
		h, ok := err.(*Hint)
		if !ok {
			break
		}
		err = h.Err
	}
	switch {
	case err == nil:
		return ExitClean
	case errors.Is(err, ErrFindings):
		return ExitFindings
	}
	if _, ok := err.(*IncompleteError); ok {
		return ExitIncomplete
	}
	if errors.As(err, &u) {
		return ExitUsage
	}
	return ExitIncomplete
}
