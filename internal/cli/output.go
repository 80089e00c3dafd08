package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/report"
)

// outputFlags are --format and --output, shared by every reporting command.
type outputFlags struct {
	formats []string
	format  string
	output  string
}

// addOutputFlags adds --format (one of formats; the first is the default)
// and --output to cmd.
func addOutputFlags(cmd *cobra.Command, formats ...string) *outputFlags {
	if len(formats) == 0 {
		formats = []string{"text", "json", "sarif", "markdown"}
	}
	o := &outputFlags{formats: formats}
	cmd.Flags().StringVarP(&o.format, "format", "f", formats[0], "report format: "+strings.Join(formats, ", "))
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "write the report to `FILE` instead of stdout")
	_ = cmd.RegisterFlagCompletionFunc("format", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return formats, cobra.ShellCompDirectiveNoFileComp
	})
	return o
}

// open validates the format and returns where the report goes. close must
// be called; it reports write errors of the output file.
func (o *outputFlags) open(e *env) (w io.Writer, format string, close func() error, err error) {
	if !slices.Contains(o.formats, o.format) {
		return nil, "", nil, usagef("unknown --format %q (want one of %s)", o.format, strings.Join(o.formats, ", "))
	}
	if o.output == "" || o.output == "-" {
		return e.stdout, o.format, func() error { return nil }, nil
	}
	f, err := os.Create(filepath.Clean(o.output))
	if err != nil {
		return nil, "", nil, usagef("--output: %v", err)
	}
	return f, o.format, func() error {
		if err := f.Close(); err != nil {
			return fmt.Errorf("write %s: %w", o.output, err)
		}
		return nil
	}, nil
}

// writeReport writes a findings report, closes the output, and maps the
// result to the command's outcome: ErrFindings when a finding reaches the
// threshold (it takes precedence), ErrIncomplete when a check errored.
func writeReport(e *env, w io.Writer, format string, rep *report.Report, closeOut func() error) error {
	if err := report.Write(w, format, rep); err != nil {
		return err
	}
	if err := closeOut(); err != nil {
		return err
	}
	for _, er := range rep.Result.Errors {
		fmt.Fprintf(e.stderr, "nixgate: check %s could not complete: %s\n", er.CheckID, firstLine(er.Error))
	}
	switch {
	case rep.Failed():
		return ErrFindings
	case len(rep.Result.Errors) > 0:
		return ErrIncomplete
	}
	return nil
}

// toTerminal reports whether the report goes to a terminal (for colour).
func (o *outputFlags) toTerminal(e *env) bool {
	if o.output != "" && o.output != "-" {
		return false
	}
	return isTerminal(e.stdout)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
