package cli

import (
	"errors"
	"fmt"
)

// Exit codes, the same for every command.
const (
	ExitClean      = 0 // no finding at or above the threshold
	ExitFindings   = 1 // a gate failed
	ExitUsage      = 2 // bad flags, arguments or policy
	ExitIncomplete = 3 // a check or a build could not complete
)

// exitCodesHelp is shown in `nixgate --help` and in the README.
const exitCodesHelp = `Exit codes:
  0  clean: nothing at or above the failure threshold
  1  a gate failed: findings at or above --fail-on (or the command's own verdict)
  2  usage or policy error
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

// UsageError is a usage or policy error (exit 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// usagef returns a UsageError.
func usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// Hint adds hint lines printed after the error.
type Hint struct {
	Err   error
	Hints []string
}

func (h *Hint) Error() string { return h.Err.Error() }
func (h *Hint) Unwrap() error { return h.Err }

// exitCode maps an error to the process exit code.
func exitCode(err error) int {
	var u *UsageError
	switch {
	case err == nil:
		return ExitClean
	case errors.Is(err, ErrFindings):
		return ExitFindings
	case errors.As(err, &u):
		return ExitUsage
	case errors.Is(err, ErrIncomplete):
		return ExitIncomplete
	}
	return ExitIncomplete
}
