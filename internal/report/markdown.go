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

// mdPlaces caps the places listed for one grouped finding.
const mdPlaces = 100

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
	groups := Groups(res.Findings)
	if len(groups) < len(res.Findings) {
		summary += fmt.Sprintf(", %d distinct", len(groups))
	}
	fmt.Fprintf(bw, "%s (fail-on **%s**, %s ran", summary, r.FailOn, plural(len(res.Checks), "check", "checks"))
	if r.Target != "" {
		fmt.Fprintf(bw, ", target `%s`", mdCode(r.Target))
	}
	fmt.Fprint(bw, ")\n\n")
	if len(groups) > 0 {
		fmt.Fprintln(bw, "| severity | check | location | finding |")
		fmt.Fprintln(bw, "|---|---|---|---|")
		var many []Group
		for _, g := range groups {
			f := g.Findings[0]
			loc := f.Location.String()
			if loc != "" {
				loc = "`" + mdCode(loc) + "`"
			}
			if n := len(g.Findings); n > 1 {
				loc += fmt.Sprintf(" and %d more", n-1)
				many = append(many, g)
			}
			fmt.Fprintf(bw, "| %s %s | `%s` | %s | %s |\n", sevIcon[f.Severity], f.Severity, f.CheckID, loc, mdCell(f.Message))
		}
		fmt.Fprintln(bw)
		for _, g := range many {
			fmt.Fprintf(bw, "<details><summary><code>%s</code>: %s places</summary>\n\n", g.CheckID, fmt.Sprint(len(g.Findings)))
			for i, f := range g.Findings {
				if i == mdPlaces {
					fmt.Fprintf(bw, "- … and %d more (--format json lists them all)\n", len(g.Findings)-mdPlaces)
					break
				}
				fmt.Fprintf(bw, "- `%s`\n", mdCode(f.Location.String()))
			}
			fmt.Fprint(bw, "\n</details>\n\n")
		}
		fmt.Fprintln(bw, "**Summary**, most severe first:")
		fmt.Fprintln(bw)
		for _, c := range checkSummary(groups) {
			fmt.Fprintf(bw, "- `%s`: %s\n", c.ID, c.countText())
		}
		fmt.Fprintln(bw)
	}
	if r.Adopt && len(res.Findings) > 0 {
		fmt.Fprintln(bw, "**Adopt nixgate on this repository** (it has no nixgate.toml yet):")
		fmt.Fprintln(bw)
		for i, st := range adoptSteps {
			step := mdCell(st[0])
			if strings.HasPrefix(st[0], "nixgate ") {
				step = "`" + mdCode(st[0]) + "`"
			}
			fmt.Fprintf(bw, "%d. %s: %s\n", i+1, step, mdCell(st[1]))
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
			fmt.Fprintf(bw, "| `%s` | `%s` | %s | %s | %s |\n", s.CheckID, mdCode(s.Location.String()), mdCell(s.Message), mdCell(s.Via), mdCell(s.Reason))
		}
		fmt.Fprint(bw, "\n</details>\n")
	}
	return bw.Flush()
}
