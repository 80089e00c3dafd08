package kconfig

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/nixgate/nixgate/internal/check"
)

// SchemaVersion is the version of the JSON report.
const SchemaVersion = 1

// Report is the outcome of checking one configuration against profiles.
type Report struct {
	SchemaVersion int      `json:"schemaVersion"`
	Config        string   `json:"config"`
	Cmdline       string   `json:"cmdline,omitempty"`
	Sysctl        string   `json:"sysctl,omitempty"`
	Arch          string   `json:"arch"`
	Version       string   `json:"version,omitempty"`
	Profiles      []string `json:"profiles"`
	// Problems are malformed or repeated lines of the configuration.
	Problems []Problem `json:"problems"`
	Results  []Result  `json:"results"`
	Summary  Summary   `json:"summary"`
}

// Summary counts results by verdict.
type Summary struct {
	Pass          int `json:"pass"`
	Fail          int `json:"fail"`
	NotApplicable int `json:"notApplicable"`
	Skipped       int `json:"skipped"`
	Muted         int `json:"muted"`
	Problems      int `json:"problems"`
}

// Failed reports whether the gate fails: a rule failed, or the
// configuration has malformed or repeated lines.
func (r *Report) Failed() bool { return r.Summary.Fail > 0 || r.Summary.Problems > 0 }

// Evaluate checks the input against each profile, in order.
func Evaluate(in *Input, profiles []*Profile) *Report {
	rep := &Report{
		SchemaVersion: SchemaVersion,
		Config:        in.ConfigPath,
		Cmdline:       in.CmdlinePath,
		Sysctl:        in.SysctlPath,
		Arch:          in.arch(),
		Version:       in.Config.VersionText,
		Problems:      in.Config.Problems,
		Profiles:      []string{},
		Results:       []Result{},
	}
	if rep.Problems == nil {
		rep.Problems = []Problem{}
	}
	rep.Summary.Problems = len(rep.Problems)
	for _, p := range profiles {
		rep.Profiles = append(rep.Profiles, p.Name)
		for _, r := range p.Rules {
			res := r.Eval(in)
			res.Profile = p.Name
			rep.Results = append(rep.Results, res)
			switch res.Verdict {
			case Pass:
				rep.Summary.Pass++
			case Fail:
				rep.Summary.Fail++
			case NotApplicable:
				rep.Summary.NotApplicable++
			case Skipped:
				rep.Summary.Skipped++
			case Muted:
				rep.Summary.Muted++
			}
		}
	}
	return rep
}

// Findings turns failed rules and configuration problems into findings
// of the check checkID, located at the configuration line.
func (r *Report) Findings(checkID string, sev check.Severity) []check.Finding {
	var out []check.Finding
	for _, p := range r.Problems {
		out = append(out, check.Finding{
			CheckID:  checkID,
			Severity: sev,
			Message:  "malformed configuration: " + p.Message,
			Location: check.Location{Path: r.Config, Line: p.Line, Column: p.Column},
			Key:      "problem:" + p.Message,
		})
	}
	for _, res := range r.Results {
		if res.Verdict != Fail {
			continue
		}
		msg := fmt.Sprintf("%s: expected %s, found %s (profile %s: %s)", res.Option, res.Expected, res.Actual, res.Profile, res.Reason)
		if res.Note != "" {
			msg += "; " + res.Note
		}
		out = append(out, check.Finding{
			CheckID:  checkID,
			Severity: res.Severity,
			Message:  msg,
			Location: check.Location{Path: res.File, Line: res.Line, Column: res.Column},
			Key:      "option:" + res.Profile + "/" + res.ID,
		})
	}
	return out
}

// Formats are the report formats a Report renders itself in; SARIF goes
// through internal/report from Findings.
var Formats = []string{"text", "json", "markdown"}

// Write renders the report in format (text, json or markdown).
func (r *Report) Write(w io.Writer, format string) error {
	switch format {
	case "text", "":
		return r.writeText(w)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "markdown":
		return r.writeMarkdown(w)
	}
	return fmt.Errorf("unknown format %q (want text, json or markdown)", format)
}

var verdictText = map[Verdict]string{Pass: "OK", Fail: "FAIL", NotApplicable: "n/a", Skipped: "skip", Muted: "muted"}

func (r *Report) header() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", r.Config)
	arch := r.Arch
	if arch == "" {
		arch = "unknown arch"
	}
	fmt.Fprintf(&b, " (%s", arch)
	if r.Version != "" {
		fmt.Fprintf(&b, ", Linux %s", r.Version)
	}
	b.WriteString(")")
	if r.Cmdline != "" {
		fmt.Fprintf(&b, ", cmdline %s", r.Cmdline)
	}
	if r.Sysctl != "" {
		fmt.Fprintf(&b, ", sysctl %s", r.Sysctl)
	}
	return b.String()
}

func (r *Report) verdictLine() string {
	s := r.Summary
	v := "PASS"
	if r.Failed() {
		v = "FAIL"
	}
	line := fmt.Sprintf("%s: %d passed, %d failed, %d not applicable, %d skipped, %d muted",
		v, s.Pass, s.Fail, s.NotApplicable, s.Skipped, s.Muted)
	if s.Problems > 0 {
		line += fmt.Sprintf(", %d malformed or repeated lines", s.Problems)
	}
	return line
}

// reasonText is the reason column: the reason, then a note or the mute
// reason.
func reasonText(res *Result) string {
	s := res.Reason
	if res.MuteReason != "" && res.Verdict == Muted {
		s = "muted: " + res.MuteReason
	}
	if res.Note != "" && res.Verdict != Pass {
		s += " [" + res.Note + "]"
	}
	return s
}

func (r *Report) writeText(w io.Writer) error {
	fmt.Fprintf(w, "%s\n", r.header())
	for _, p := range r.Problems {
		fmt.Fprintf(w, "%s:%s\n", r.Config, p)
	}
	for _, name := range r.Profiles {
		fmt.Fprintf(w, "\nprofile %s\n", name)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "OPTION\tEXPECTED\tACTUAL\tVERDICT\tREASON")
		for i := range r.Results {
			res := &r.Results[i]
			if res.Profile != name {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", res.Option, res.Expected, res.Actual, verdictText[res.Verdict], reasonText(res))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "\n%s\n", r.verdictLine())
	return err
}

func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

func (r *Report) writeMarkdown(w io.Writer) error {
	fmt.Fprintf(w, "## Kernel configuration: %s\n\n", mdCell(r.header()))
	fmt.Fprintf(w, "**%s**\n", r.verdictLine())
	if len(r.Problems) > 0 {
		fmt.Fprintf(w, "\nMalformed or repeated lines:\n\n")
		for _, p := range r.Problems {
			fmt.Fprintf(w, "- `%s:%d`: %s\n", mdCell(r.Config), p.Line, mdCell(p.Message))
		}
	}
	for _, name := range r.Profiles {
		fmt.Fprintf(w, "\n### Profile `%s`\n\n", name)
		fmt.Fprintf(w, "| option | expected | actual | verdict | reason |\n|---|---|---|---|---|\n")
		for i := range r.Results {
			res := &r.Results[i]
			if res.Profile != name {
				continue
			}
			v := verdictText[res.Verdict]
			if res.Verdict == Fail {
				v = "**FAIL**"
			}
			fmt.Fprintf(w, "| `%s` | `%s` | `%s` | %s | %s |\n",
				mdCell(res.Option), mdCell(res.Expected), mdCell(res.Actual), v, mdCell(reasonText(res)))
		}
	}
	return nil
}
