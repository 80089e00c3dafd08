package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
)

var sevColor = map[check.Severity]string{
	check.Critical: "\x1b[1;35m",
	check.High:     "\x1b[1;31m",
	check.Medium:   "\x1b[33m",
	check.Low:      "\x1b[36m",
	check.Info:     "\x1b[2m",
}

const reset = "\x1b[0m"

// writeText groups findings by file.
func writeText(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	paint := func(s check.Severity, text string) string {
		if !r.Color {
			return text
		}
		return sevColor[s] + text + reset
	}
	res := r.Result
	last := "\x00"
	for _, f := range res.Findings {
		if f.Location.Path != last {
			if last != "\x00" {
				fmt.Fprintln(bw)
			}
			last = f.Location.Path
			name := SafeText(f.Location.Path)
			if name == "" {
				name = "(repository)"
			}
			if r.Color {
				name = "\x1b[1m" + name + reset
			}
			fmt.Fprintln(bw, name)
		}
		pos := ""
		if f.Location.Line > 0 {
			pos = fmt.Sprintf("%d", f.Location.Line)
			if f.Location.Column > 0 {
				pos += fmt.Sprintf(":%d", f.Location.Column)
			}
			pos += " "
		}
		fmt.Fprintf(bw, "  %s%s %s  [%s]\n", pos, paint(f.Severity, strings.ToUpper(f.Severity.String())), SafeText(f.Message), f.CheckID)
	}
	if len(res.Findings) > 0 {
		fmt.Fprintln(bw)
	}
	for _, e := range res.Errors {
		fmt.Fprintf(bw, "errored: %s: %s\n", e.CheckID, SafeText(firstLine(e.Error)))
	}
	var parts []string
	for _, c := range counts(res.Findings) {
		parts = append(parts, fmt.Sprintf("%d %s", c.N, c.Severity))
	}
	summary := plural(len(res.Findings), "finding", "findings")
	if len(parts) > 0 {
		summary += " (" + strings.Join(parts, ", ") + ")"
	}
	if n := len(res.Suppressed); n > 0 {
		summary += ", " + plural(n, "suppressed", "suppressed")
	}
	if n := len(res.Errors); n > 0 {
		summary += ", " + plural(n, "check errored", "checks errored")
	}
	fmt.Fprintf(bw, "%s: %s; %s ran; fail-on %s\n", verdict(r), summary, plural(len(res.Checks), "check", "checks"), r.FailOn)
	return bw.Flush()
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
