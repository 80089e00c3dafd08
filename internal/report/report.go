// Package report writes check results as text, JSON, SARIF 2.1.0 and
// Markdown. Every writer is deterministic: the same result gives the same
// bytes.
package report

import (
	"fmt"
	"io"
	"slices"

	"github.com/nixgate/nixgate/internal/check"
)

// SchemaVersion is the version of the JSON report's shape.
const SchemaVersion = 1

// Formats lists the formats Write accepts.
var Formats = []string{"text", "json", "sarif", "markdown"}

// Report is what a reporting command hands to Write.
type Report struct {
	// Command is the nixgate command that produced the result ("check").
	Command string
	// Target names what was checked (a directory, a host, a file).
	Target string
	// ToolVersion is nixgate's version.
	ToolVersion string
	// FailOn is the threshold at and above which findings fail the gate.
	FailOn check.Severity
	Result *check.Result
	// Color enables ANSI colour in text output.
	Color bool
	// Adopt adds, after the findings of text and Markdown, how to adopt
	// nixgate on a repository it has never seen (no policy, no baseline).
	Adopt bool
	// Extra is a command-specific section rendered into JSON as "extra".
	Extra any
	// Before and After, when set, write a command's own sections of a text
	// or Markdown report before and after the findings (a pr's lock deltas
	// and review checklist, a host's configuration summary).
	Before, After func(w io.Writer, format string) error
}

// Failed reports whether any finding is at or above FailOn.
func (r *Report) Failed() bool {
	m, ok := r.Result.Max()
	return ok && m >= r.FailOn
}

// Write renders r in format to w.
func Write(w io.Writer, format string, r *Report) error {
	switch format {
	case "json":
		return writeJSON(w, r)
	case "sarif":
		return writeSARIF(w, r)
	case "text", "markdown":
	default:
		return fmt.Errorf("unknown report format %q", format)
	}
	if r.Before != nil {
		if err := r.Before(w, format); err != nil {
			return err
		}
	}
	var err error
	if format == "text" {
		err = writeText(w, r)
	} else {
		err = writeMarkdown(w, r)
	}
	if err == nil && r.After != nil {
		err = r.After(w, format)
	}
	return err
}

// counts returns the number of findings per severity, highest first, for
// severities that have any.
func counts(fs []check.Finding) []sevCount {
	n := map[check.Severity]int{}
	for _, f := range fs {
		n[f.Severity]++
	}
	var out []sevCount
	sevs := check.Severities()
	slices.Reverse(sevs)
	for _, s := range sevs {
		if n[s] > 0 {
			out = append(out, sevCount{s, n[s]})
		}
	}
	return out
}

type sevCount struct {
	Severity check.Severity
	N        int
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// verdict is the one-line outcome used by text and markdown.
func verdict(r *Report) string {
	switch {
	case r.Failed():
		return "FAILED"
	case len(r.Result.Errors) > 0:
		return "INCOMPLETE"
	}
	return "PASSED"
}
