package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
)

var sevIcon = map[check.Severity]string{
	check.Critical: "🟣",
	check.High:     "🔴",
	check.Medium:   "🟠",
	check.Low:      "🔵",
	check.Info:     "⚪",
}

// writeMarkdown renders a report for a pull-request comment or
// $GITHUB_STEP_SUMMARY.
func writeMarkdown(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	res := r.Result
	icon := map[string]string{"FAILED": "❌", "INCOMPLETE": "⚠️", "PASSED": "✅"}[verdict(r)]
	fmt.Fprintf(bw, "### %s nixgate %s: %s\n\n", icon, r.Command, strings.ToLower(verdict(r)))
	var parts []string
	for _, c := range counts(res.Findings) {
		parts = append(parts, fmt.Sprintf("%s %d %s", sevIcon[c.Severity], c.N, c.Severity))
	}
	summary := plural(len(res.Findings), "finding", "findings")
	if len(parts) > 0 {
		summary += ": " + strings.Join(parts, " · ")
	}
	fmt.Fprintf(bw, "%s (fail-on **%s**, %s ran", summary, r.FailOn, plural(len(res.Checks), "check", "checks"))
	if r.Target != "" {
		fmt.Fprintf(bw, ", target `%s`", r.Target)
	}
	fmt.Fprint(bw, ")\n\n")
	if len(res.Findings) > 0 {
		fmt.Fprintln(bw, "| severity | check | location | finding |")
		fmt.Fprintln(bw, "|---|---|---|---|")
		for _, f := range res.Findings {
			loc := f.Location.String()
			if loc != "" {
				loc = "`" + mdCode(loc) + "`"
			}
			fmt.Fprintf(bw, "| %s %s | `%s` | %s | %s |\n", sevIcon[f.Severity], f.Severity, f.CheckID, loc, mdCell(f.Message))
		}
		fmt.Fprintln(bw)
	}
	if len(res.Errors) > 0 {
		fmt.Fprintln(bw, "**Checks that could not complete**")
		fmt.Fprintln(bw)
		for _, e := range res.Errors {
			fmt.Fprintf(bw, "- `%s`: %s\n", e.CheckID, mdCell(firstLine(e.Error)))
		}
		fmt.Fprintln(bw)
	}
	if len(res.Suppressed) > 0 {
		fmt.Fprintf(bw, "<details><summary>%s</summary>\n\n", plural(len(res.Suppressed), "suppressed finding", "suppressed findings"))
		fmt.Fprintln(bw, "| check | location | finding | via | reason |")
		fmt.Fprintln(bw, "|---|---|---|---|---|")
		for _, s := range res.Suppressed {
			fmt.Fprintf(bw, "| `%s` | `%s` | %s | %s | %s |\n", s.CheckID, mdCode(s.Location.String()), mdCell(s.Message), s.Via, mdCell(s.Reason))
		}
		fmt.Fprint(bw, "\n</details>\n")
	}
	return bw.Flush()
}
