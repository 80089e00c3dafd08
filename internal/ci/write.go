package ci

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"slices"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/jsonindent"
	"github.com/nixgate/nixgate/internal/report"
)

// Formats are the formats Write takes.
var Formats = []string{"text", "json", "markdown", "sarif", "junit"}

// SchemaVersion is the version of the JSON report's shape.
const SchemaVersion = 1

// Write renders the run in format.
func Write(w io.Writer, format string, r *Run) error {
	switch format {
	case "text":
		return writeText(w, r)
	case "json":
		return writeJSON(w, r)
	case "markdown":
		return writeMarkdown(w, r)
	case "sarif":
		return writeSARIF(w, r)
	case "junit":
		return writeJUnit(w, r)
	}
	return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

var outcomeIcon = map[Outcome]string{Passed: "✅", Failed: "❌", Errored: "⛔", Incomplete: "⚠️", Skipped: "⏭️"}

var sevIcon = map[check.Severity]string{
	check.Critical: "🟣", check.High: "🔴", check.Medium: "🟠", check.Low: "🔵", check.Info: "⚪",
}

// outcomeText is a gate's outcome as the reports show it.
func (r *Run) outcomeText(res *Result) string {
	s := strings.ToUpper(string(res.Outcome))
	if res.Outcome == Skipped && r.RequireAll {
		s += " (fails: --require-all)"
	}
	return s
}

// detail is the one-line result of a gate: its findings, its verdict or
// why it did not pass.
func detail(res *Result) string {
	var parts []string
	if res.Report != nil {
		fs := res.Findings()
		s := plural(len(fs), "finding", "findings")
		if c := sevCounts(fs); c != "" {
			s += " (" + c + ")"
		}
		if n := len(res.Report.Result.Suppressed); n > 0 {
			s += fmt.Sprintf(", %d suppressed", n)
		}
		parts = append(parts, s)
	}
	if res.Summary != "" && res.Summary != res.Reason {
		parts = append(parts, res.Summary)
	}
	if res.ContractFailure != "" {
		parts = append(parts, res.ContractFailure)
	}
	if res.Reason != "" {
		parts = append(parts, res.Reason)
	}
	return strings.Join(parts, "; ")
}

func sevCounts(fs []check.Finding) string {
	n := map[check.Severity]int{}
	for _, f := range fs {
		n[f.Severity]++
	}
	var out []string
	sevs := check.Severities()
	slices.Reverse(sevs)
	for _, s := range sevs {
		if n[s] > 0 {
			out = append(out, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	return strings.Join(out, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func (r *Run) allFindings() []check.Finding {
	var fs []check.Finding
	for _, res := range r.Results {
		fs = append(fs, res.Findings()...)
	}
	return fs
}

// headline is the run's one-line summary.
func (r *Run) headline() string {
	n := r.Count()
	var parts []string
	for _, o := range []Outcome{Failed, Errored, Incomplete, Passed, Skipped} {
		if n[o] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[o], o))
		}
	}
	fs := r.allFindings()
	s := fmt.Sprintf("%s: %s", plural(len(r.Results), "gate", "gates"), strings.Join(parts, ", "))
	s += "; " + plural(len(fs), "finding", "findings")
	if c := sevCounts(fs); c != "" {
		s += " (" + c + ")"
	}
	return s
}

func writeText(w io.Writer, r *Run) error {
	bw := bufio.NewWriter(w)
	for _, res := range r.Results {
		g := res.Gate
		fmt.Fprintf(bw, "== %s: %s", report.SafeText(g.Name), r.outcomeText(res))
		if res.Outcome != Skipped {
			fmt.Fprintf(bw, " in %s", FormatDuration(res.Duration))
		}
		fmt.Fprintln(bw)
		if res.Outcome == Skipped {
			fmt.Fprintf(bw, "   %s\n\n", report.SafeText(res.Reason))
			continue
		}
		fmt.Fprintf(bw, "   $ %s\n", report.SafeText(g.CommandLine()))
		if res.Report != nil {
			var buf bytes.Buffer
			if err := report.Write(&buf, "text", res.Report); err != nil {
				return err
			}
			for _, l := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
				fmt.Fprintf(bw, "   %s\n", l)
			}
		}
		if s := res.Summary; s != "" {
			fmt.Fprintf(bw, "   %s\n", report.SafeText(s))
		}
		for _, d := range res.Details {
			fmt.Fprintf(bw, "     %s\n", report.SafeText(d))
		}
		if res.ContractFailure != "" {
			fmt.Fprintf(bw, "   %s\n", res.ContractFailure)
		}
		if res.Reason != "" && res.Reason != res.Summary {
			fmt.Fprintf(bw, "   %s\n", report.SafeText(res.Reason))
		}
		if showLog(res) {
			for _, l := range res.Log {
				fmt.Fprintf(bw, "   | %s\n", report.SafeText(l))
			}
		}
		fmt.Fprintln(bw)
	}
	fmt.Fprintf(bw, "nixgate ci: %s (exit %d): %s in %s\n", r.Verdict(), r.Exit(), r.headline(), FormatDuration(r.Duration))
	width := 0
	for _, res := range r.Results {
		width = max(width, len(report.SafeText(res.Gate.Name)))
	}
	for _, res := range r.Results {
		t := "-"
		if res.Outcome != Skipped {
			t = FormatDuration(res.Duration)
		}
		fmt.Fprintf(bw, "  %-10s %-*s %7s  %s\n", strings.ToUpper(string(res.Outcome)), width, report.SafeText(res.Gate.Name), t, report.SafeText(detail(res)))
	}
	return bw.Flush()
}

type jsonRun struct {
	SchemaVersion int         `json:"schemaVersion"`
	Tool          jsonTool    `json:"tool"`
	Command       string      `json:"command"`
	Target        string      `json:"target"`
	Base          string      `json:"base,omitempty"`
	Head          string      `json:"head,omitempty"`
	BaseFrom      string      `json:"baseFrom,omitempty"`
	Outcome       string      `json:"outcome"`
	ExitCode      int         `json:"exitCode"`
	RequireAll    bool        `json:"requireAll"`
	Seconds       float64     `json:"seconds"`
	Summary       jsonSummary `json:"summary"`
	Gates         []jsonGate  `json:"gates"`
}

type jsonTool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type jsonSummary struct {
	Gates      int            `json:"gates"`
	ByOutcome  map[string]int `json:"byOutcome"`
	Findings   int            `json:"findings"`
	BySeverity map[string]int `json:"bySeverity"`
}

type jsonGate struct {
	Name            string          `json:"name"`
	Kind            Kind            `json:"kind"`
	Static          bool            `json:"static"`
	Command         string          `json:"command"`
	Outcome         Outcome         `json:"outcome"`
	ExitCode        int             `json:"exitCode"`
	Reason          string          `json:"reason,omitempty"`
	Summary         string          `json:"summary,omitempty"`
	ContractFailure string          `json:"contractFailure,omitempty"`
	Seconds         float64         `json:"seconds"`
	Findings        int             `json:"findings"`
	Report          json.RawMessage `json:"report,omitempty"`
	Output          json.RawMessage `json:"output,omitempty"`
	Log             []string        `json:"log,omitempty"`
}

func writeJSON(w io.Writer, r *Run) error {
	out := jsonRun{SchemaVersion: SchemaVersion, Tool: jsonTool{"nixgate", r.ToolVersion}, Command: "ci", Target: r.Target,
		Base: r.Base, Head: r.Head, BaseFrom: r.BaseFrom, Outcome: strings.ToLower(r.Verdict()), ExitCode: r.Exit(),
		RequireAll: r.RequireAll, Seconds: r.Duration.Seconds(), Gates: []jsonGate{},
		Summary: jsonSummary{Gates: len(r.Results), ByOutcome: map[string]int{}, BySeverity: map[string]int{}}}
	for o, n := range r.Count() {
		out.Summary.ByOutcome[string(o)] = n
	}
	for _, f := range r.allFindings() {
		out.Summary.Findings++
		out.Summary.BySeverity[f.Severity.String()]++
	}
	for _, res := range r.Results {
		g := jsonGate{Name: res.Gate.Name, Kind: res.Gate.Kind, Static: res.Gate.Static, Command: res.Gate.CommandLine(),
			Outcome: res.Outcome, ExitCode: res.Exit, Reason: res.Reason, Summary: res.Summary, ContractFailure: res.ContractFailure,
			Seconds: res.Duration.Seconds(), Findings: len(res.Findings()), Log: res.Log}
		switch {
		case res.Report != nil && res.Gate.read == readReport && json.Valid(res.Raw):
			g.Report = res.Raw
		case res.Report != nil:
			var buf bytes.Buffer
			if err := report.Write(&buf, "json", res.Report); err != nil {
				return err
			}
			g.Report = json.RawMessage(bytes.TrimSpace(buf.Bytes()))
		case json.Valid(res.Raw) && len(res.Raw) > 0:
			g.Output = res.Raw
		}
		if res.Outcome == Passed && res.Report != nil {
			g.Log = nil
		}
		out.Gates = append(out.Gates, g)
	}
	return jsonindent.Encode(w, out, true)
}

// markdownFindings caps the findings listed per gate, so that the summary
// stays within $GITHUB_STEP_SUMMARY's 1 MiB (the SARIF and JSON reports
// have every finding).
const markdownFindings = 200

func writeMarkdown(w io.Writer, r *Run) error {
	bw := bufio.NewWriter(w)
	icon := map[int]string{0: "✅", 1: "❌", 2: "⛔", 3: "⚠️"}[r.Exit()]
	fmt.Fprintf(bw, "### %s nixgate ci: %s\n\n", icon, strings.ToLower(r.Verdict()))
	fmt.Fprintf(bw, "%s · exit %d · %s", report.MarkdownCell(r.headline()), r.Exit(), FormatDuration(r.Duration))
	if r.Target != "" {
		fmt.Fprintf(bw, " · target `%s`", report.MarkdownCode(r.Target))
	}
	if r.Base != "" {
		fmt.Fprintf(bw, " · base `%s`", report.MarkdownCode(shortRev(r.Base)))
		if r.BaseFrom != "" {
			fmt.Fprintf(bw, " (%s)", report.MarkdownCell(r.BaseFrom))
		}
	}
	fmt.Fprint(bw, "\n\n")
	fmt.Fprintln(bw, "| | gate | time | result |")
	fmt.Fprintln(bw, "|---|---|---|---|")
	for _, res := range r.Results {
		t := "—"
		if res.Outcome != Skipped {
			t = FormatDuration(res.Duration)
		}
		d := detail(res)
		if res.Outcome == Skipped {
			d = "skipped: " + d
			if r.RequireAll {
				d += " (fails: --require-all)"
			}
		}
		fmt.Fprintf(bw, "| %s | `%s` | %s | %s |\n", outcomeIcon[res.Outcome], report.MarkdownCode(res.Gate.Name), t, report.MarkdownCell(d))
	}
	fmt.Fprintln(bw)
	for _, res := range r.Results {
		if res.Outcome == Skipped {
			continue
		}
		if err := writeMarkdownGate(bw, res); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func writeMarkdownGate(bw *bufio.Writer, res *Result) error {
	g := res.Gate
	summary := fmt.Sprintf("%s <b>%s</b>: %s", outcomeIcon[res.Outcome], html.EscapeString(report.SafeText(g.Name)),
		html.EscapeString(report.SafeText(strings.ToLower(string(res.Outcome)))))
	if n := len(res.Findings()); n > 0 {
		summary += ", " + plural(n, "finding", "findings")
	}
	fmt.Fprintf(bw, "<details><summary>%s (%s)</summary>\n\n", summary, FormatDuration(res.Duration))
	fmt.Fprintf(bw, "`%s`\n\n", report.MarkdownCode(g.CommandLine()))
	if res.ContractFailure != "" {
		fmt.Fprintf(bw, "**%s**\n\n", report.MarkdownCell(res.ContractFailure))
	}
	if res.Report != nil {
		rep := *res.Report
		more := 0
		if fs := rep.Result.Findings; len(fs) > markdownFindings {
			cp := *rep.Result
			cp.Findings = fs[:markdownFindings]
			rep.Result = &cp
			more = len(fs) - markdownFindings
		}
		rep.Before, rep.After = nil, nil
		var buf bytes.Buffer
		if err := report.Write(&buf, "markdown", &rep); err != nil {
			return err
		}
		// The gate's own heading becomes a line: the summary above is
		// the heading.
		text := buf.String()
		if h, rest, ok := strings.Cut(text, "\n"); ok && strings.HasPrefix(h, "### ") {
			text = "**" + strings.TrimPrefix(h, "### ") + "**\n" + rest
		}
		bw.WriteString(strings.TrimRight(text, "\n") + "\n\n")
		if more > 0 {
			fmt.Fprintf(bw, "… and %d more finding(s): the SARIF and JSON reports have every one.\n\n", more)
		}
	}
	if res.Summary != "" {
		fmt.Fprintf(bw, "%s\n\n", report.MarkdownCell(res.Summary))
	}
	for _, d := range res.Details {
		fmt.Fprintf(bw, "- %s\n", report.MarkdownCell(d))
	}
	if len(res.Details) > 0 {
		fmt.Fprintln(bw)
	}
	if res.Reason != "" && res.Reason != res.Summary {
		fmt.Fprintf(bw, "%s\n\n", report.MarkdownCell(res.Reason))
	}
	if len(res.Log) > 0 && showLog(res) {
		var lines []string
		for _, l := range res.Log {
			lines = append(lines, report.SafeText(l))
		}
		text := strings.Join(lines, "\n")
		fence := "```"
		for strings.Contains(text, fence) {
			fence += "`"
		}
		fmt.Fprintf(bw, "%stext\n%s\n%s\n\n", fence, text, fence)
	}
	fmt.Fprint(bw, "</details>\n\n")
	return nil
}

func shortRev(s string) string {
	if (len(s) == 40 || len(s) == 64) && strings.Trim(s, "0123456789abcdef") == "" {
		return s[:12]
	}
	return s
}

// showLog reports whether a gate's log goes into the report: a run step's
// that did not pass (its output is its report), and any gate's that ended
// without a usable report (an error, or could not complete).
func showLog(res *Result) bool {
	switch {
	case res.Outcome == Errored || res.Outcome == Incomplete:
		return true
	case res.Gate.Kind == KindRun:
		return res.Outcome != Passed
	case res.Outcome == Failed:
		return res.Report == nil && res.Summary == ""
	}
	return false
}
