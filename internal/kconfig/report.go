package kconfig

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/jsonw"
	"github.com/nixgate/nixgate/internal/report"
)

// SchemaVersion is the version of the JSON shape of Report.
const SchemaVersion = 2

// Report is the outcome of checking one configuration against profiles:
// every rule's verdict, the n/a and skipped ones included.
type Report struct {
	Inputs
	Profiles []string `json:"profiles"`
	Results  []Result `json:"results"`
	Summary  Summary  `json:"summary"`
	// NoHeader leaves the header lines out of WriteTable and
	// WriteMarkdown (a command writing several reports on one input).
	NoHeader bool `json:"-"`
}

// Inputs is what a report says of what it checked: the files, and the
// architecture and kernel version the rules were evaluated for. The
// kconfig command's JSON section, several reports on one input, starts
// with the same fields.
type Inputs struct {
	SchemaVersion int    `json:"schemaVersion"`
	Config        string `json:"config"`
	Cmdline       string `json:"cmdline,omitempty"`
	Sysctl        string `json:"sysctl,omitempty"`
	Arch          string `json:"arch"`
	// ArchSource is where the architecture came from: "options",
	// "header" or "--arch".
	ArchSource string `json:"archSource"`
	// Version is the kernel version rules were evaluated for, and
	// VersionSource where it came from ("header", "options" when the
	// header claims an older kernel than the options prove,
	// "--kernel-version", or "" when unknown).
	Version       string `json:"version,omitempty"`
	VersionSource string `json:"versionSource,omitempty"`
}

// AppendJSONFields appends the fields as json.Marshal writes them, with
// no braces around them.
func (in *Inputs) AppendJSONFields(b []byte) []byte {
	str := jsonw.StringHTML
	b = append(b, `"schemaVersion":`...)
	b = jsonw.Int(b, int64(in.SchemaVersion))
	b = append(b, `,"config":`...)
	b = str(b, in.Config)
	b = jsonw.OmitEmptyHTML(b, "cmdline", in.Cmdline)
	b = jsonw.OmitEmptyHTML(b, "sysctl", in.Sysctl)
	b = append(b, `,"arch":`...)
	b = str(b, in.Arch)
	b = append(b, `,"archSource":`...)
	b = str(b, in.ArchSource)
	b = jsonw.OmitEmptyHTML(b, "version", in.Version)
	return jsonw.OmitEmptyHTML(b, "versionSource", in.VersionSource)
}

// Summary counts results by verdict.
type Summary struct {
	Pass          int `json:"pass"`
	Fail          int `json:"fail"`
	NotApplicable int `json:"notApplicable"`
	Skipped       int `json:"skipped"`
	Muted         int `json:"muted"`
}

func (s *Summary) add(v Verdict) {
	switch v {
	case Pass:
		s.Pass++
	case Fail:
		s.Fail++
	case NotApplicable:
		s.NotApplicable++
	case Skipped:
		s.Skipped++
	case Muted:
		s.Muted++
	}
}

// EvalOptions tune an evaluation.
type EvalOptions struct {
	// MinVersion, when not zero, replaces every profile's min_version.
	MinVersion Version
}

// Evaluate checks the input against each profile, in order, with the
// profiles' own min_version.
func Evaluate(in *Input, profiles []*Profile) *Report {
	return EvaluateWith(in, profiles, EvalOptions{})
}

// EvaluateWith checks the input against each profile, in order.
func EvaluateWith(in *Input, profiles []*Profile, opts EvalOptions) *Report {
	rep := &Report{
		Inputs: Inputs{
			SchemaVersion: SchemaVersion,
			Config:        in.ConfigPath,
			Cmdline:       in.CmdlinePath,
			Sysctl:        in.SysctlPath,
			Arch:          in.EffectiveArch(),
			ArchSource:    in.Config.ArchSource,
		},
		Profiles: []string{},
		Results:  []Result{},
	}
	if in.Arch != "" {
		rep.ArchSource = "--arch"
	}
	if v := in.EffectiveVersion(); !v.IsZero() {
		rep.Version, rep.VersionSource = v.String(), "header"
		switch {
		case !in.Version.IsZero():
			rep.VersionSource = "--kernel-version"
		case in.Config.HeaderVersionTooOld():
			rep.VersionSource = "options"
		default:
			rep.Version = in.Config.VersionText
		}
	}
	n := 0
	for _, p := range profiles {
		n += len(p.Rules)
	}
	rep.Results = make([]Result, 0, n)
	e := newEvaluator(in)
	for _, p := range profiles {
		rep.Profiles = append(rep.Profiles, p.Name)
		min := p.MinVersion
		if !opts.MinVersion.IsZero() {
			min = opts.MinVersion
		}
		for _, r := range p.Rules {
			res := r.eval(e, min)
			res.Profile = p.Name
			if res.From == p.Name {
				res.From = ""
			}
			rep.Results = append(rep.Results, res)
			rep.Summary.add(res.Verdict)
		}
	}
	return rep
}

// Failed reports whether a rule failed.
func (r *Report) Failed() bool { return r.Summary.Fail > 0 }

// Findings turns the failed rules into findings of the check checkID,
// each located at the option that decided it (the configuration line, or
// the command-line or sysctl entry) and keyed by profile and rule, so that
// a baseline entry survives line shifts. This is what other gates (the
// UKI's) report when they check an embedded configuration.
func (r *Report) Findings(checkID string) []check.Finding {
	var out []check.Finding
	for i := range r.Results {
		res := &r.Results[i]
		if res.Verdict != Fail {
			continue
		}
		out = append(out, check.Finding{
			CheckID:  checkID,
			Severity: res.Severity,
			Message:  res.Message(),
			Location: check.Location{Path: res.File, Line: res.Line, Column: res.Column},
			Key:      "rule:" + res.Profile + "/" + res.ID,
		})
	}
	return out
}

// Message is a failed result in one line short enough for a text report
// line of 100 columns: the option the rule is about, what was found for
// it and what the rule wants of it ("…" marks a rule with alternatives or
// more conditions, and a clipped value); the full detail is in Report.
func (res *Result) Message() string {
	const budget = 66
	label, found, want := res.Subject, res.SubjectFound, res.SubjectWant
	if label == "" {
		label, found, want = res.Option, res.Actual, res.Expected
	}
	if res.Compound {
		want += " …"
	}
	room := max(16, budget-utf8.RuneCountInString(label)-len(": found , want "))
	nf, nw := utf8.RuneCountInString(found), utf8.RuneCountInString(want)
	if nf+nw > room {
		switch {
		case nf <= room/2:
			want = clip(want, room-nf)
		case nw <= room/2:
			found = clip(found, room-nw)
		default:
			found, want = clip(found, room/2), clip(want, room-room/2)
		}
	}
	msg := fmt.Sprintf("%s: found %s, want %s", label, found, want)
	if res.Note != "" && utf8.RuneCountInString(msg)+2+utf8.RuneCountInString(res.Note) <= budget+8 {
		msg += "; " + res.Note
	}
	return msg
}

// clip shortens s to at most n runes, ending it with "…".
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

var verdictText = map[Verdict]string{Pass: "OK", Fail: "FAIL", NotApplicable: "n/a", Skipped: "skip", Muted: "muted"}

// Table widths: verdict, option, expected, found, with two-space gaps and
// a two-space indent, 99 columns in all. Cells wrap within their column.
const (
	colVerdict = 7
	colOption  = 45
	colWant    = 19
	colFound   = 20
	tableWidth = 2 + colVerdict + 2 + colOption + 2 + colWant + 2 + colFound
)

// Header is the first lines of a text report: what was checked.
func (r *Report) Header() []string {
	arch := r.Arch
	if arch == "" {
		arch = "unknown architecture"
	} else if r.ArchSource != "" {
		arch += " (from the " + strings.TrimPrefix(r.ArchSource, "--") + ")"
		if strings.HasPrefix(r.ArchSource, "--") {
			arch = r.Arch + " (" + r.ArchSource + ")"
		}
	}
	ver := "unknown version"
	if r.Version != "" {
		ver = "Linux " + r.Version
		if r.VersionSource != "" && r.VersionSource != "header" {
			ver += " (" + r.VersionSource + ")"
		}
	}
	cmd := "not given: its rules are skipped"
	if r.Cmdline != "" {
		cmd = report.SafeText(r.Cmdline)
	}
	sys := "not given: its rules are skipped"
	if r.Sysctl != "" {
		sys = report.SafeText(r.Sysctl)
	}
	return []string{
		clipLeft("kernel configuration: "+report.SafeText(r.Config), tableWidth),
		"kernel: " + arch + ", " + ver,
		clipLeft("command line: "+cmd, tableWidth),
		clipLeft("sysctl: "+sys, tableWidth),
	}
}

// clipLeft shortens s to n runes by cutting the middle of a long path.
func clipLeft(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n/3]) + "…" + string(r[len(r)-(n-n/3-1):])
}

// WriteTable renders the per-rule verdicts as text, one table per
// profile, within 100 columns: cells wrap within their column, and a
// failed or muted rule's reason follows it, wrapped.
func (r *Report) WriteTable(w io.Writer) error {
	bw := bufio.NewWriter(w)
	if !r.NoHeader {
		for _, l := range r.Header() {
			fmt.Fprintln(bw, l)
		}
	}
	for _, name := range r.Profiles {
		var s Summary
		for i := range r.Results {
			if r.Results[i].Profile == name {
				s.add(r.Results[i].Verdict)
			}
		}
		fmt.Fprintf(bw, "\nprofile %s: %d pass, %d fail, %d n/a, %d skipped, %d muted\n", name, s.Pass, s.Fail, s.NotApplicable, s.Skipped, s.Muted)
		row(bw, "VERDICT", "OPTION", "WANT", "FOUND")
		from := ""
		for i := range r.Results {
			res := &r.Results[i]
			if res.Profile != name {
				continue
			}
			if res.From != from {
				from = res.From
				if from != "" {
					fmt.Fprintf(bw, "  -- from %s\n", from)
				}
			}
			found := report.SafeText(res.Actual)
			if res.Verdict == Skipped {
				found = "(" + res.Note + ")"
			}
			if res.Compound && (len(res.Expected) > colWant || len(found) > colFound) {
				// A rule with alternatives: what it wants and what was
				// found, each on lines of their own.
				row(bw, verdictText[res.Verdict], res.Option, "", "")
				for _, part := range [][2]string{{"want: ", res.Expected}, {"found: ", found}} {
					for i, l := range wrap(part[1], tableWidth-6-colVerdict-len("found: ")) {
						lead := strings.Repeat(" ", len("found: "))
						if i == 0 {
							lead = fmt.Sprintf("%-*s", len("found: "), part[0])
						}
						indented(bw, 6+colVerdict, lead+l)
					}
				}
			} else {
				row(bw, verdictText[res.Verdict], res.Option, res.Expected, found)
			}
			if res.Verdict == Fail || res.Verdict == Muted {
				text := res.Reason
				if res.Verdict == Muted {
					text = "muted: " + res.MuteReason
				}
				if res.Note != "" {
					text += " [" + res.Note + "]"
				}
				for _, l := range wrap(report.SafeText(text), tableWidth-4-colVerdict) {
					indented(bw, 4+colVerdict, l)
				}
			}
		}
	}
	return bw.Flush()
}

// row writes one table row, each cell wrapped within its column.
// indented writes a line of text after n spaces.
func indented(w *bufio.Writer, n int, text string) {
	for range n {
		w.WriteByte(' ')
	}
	w.WriteString(text)
	w.WriteByte('\n')
}

func row(w *bufio.Writer, verdict, option, want, found string) {
	if len(option) <= colOption && len(want) <= colWant && len(found) <= colFound && isASCII(option) && isASCII(want) && isASCII(found) {
		// One line, the common case: no wrapping to do, and no
		// formatting either (this runs for every rule).
		cells := [4]string{verdict, option, want, found}
		widths := [4]int{colVerdict, colOption, colWant, colFound}
		last := 3
		for last > 0 && cells[last] == "" {
			last--
		}
		w.WriteString("  ")
		for i := 0; i <= last; i++ {
			w.WriteString(cells[i])
			if i < last {
				for range widths[i] - len(cells[i]) + 2 {
					w.WriteByte(' ')
				}
			}
		}
		w.WriteByte('\n')
		return
	}
	cells := [][]string{{verdict}, wrap(option, colOption), wrap(want, colWant), wrap(found, colFound)}
	widths := []int{colVerdict, colOption, colWant, colFound}
	n := 1
	for _, c := range cells {
		n = max(n, len(c))
	}
	for i := range n {
		var b strings.Builder
		b.WriteString(" ")
		for j, c := range cells {
			v := ""
			if i < len(c) {
				v = c[i]
			}
			b.WriteString(" ")
			b.WriteString(v)
			if j < len(cells)-1 {
				b.WriteString(strings.Repeat(" ", widths[j]-utf8.RuneCountInString(v)+1))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// wrap breaks text into lines of at most width runes, at blanks where it
// can and inside a word longer than a line.
func wrap(text string, width int) []string {
	if isASCII(text) {
		return wrapASCII(text, width)
	}
	var lines []string
	var cur []rune
	for _, word := range strings.Fields(text) {
		wr := []rune(word)
		if len(cur) > 0 && len(cur)+1+len(wr) > width {
			lines = append(lines, string(cur))
			cur = cur[:0]
		}
		if len(cur) > 0 {
			cur = append(cur, ' ')
		}
		for len(cur)+len(wr) > width {
			k := width - len(cur)
			lines = append(lines, string(append(cur, wr[:k]...)))
			cur, wr = cur[:0], wr[k:]
		}
		cur = append(cur, wr...)
	}
	if len(cur) > 0 || len(lines) == 0 {
		lines = append(lines, string(cur))
	}
	return lines
}

// WriteMarkdown renders the per-rule verdicts as Markdown tables, failed
// and muted rules first.
func (r *Report) WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	if !r.NoHeader {
		fmt.Fprintf(bw, "#### Kernel configuration `%s`\n\n", report.MarkdownCode(r.Config))
		for _, l := range r.Header()[1:] {
			fmt.Fprintf(bw, "- %s\n", report.MarkdownCell(l))
		}
	}
	for _, name := range r.Profiles {
		fmt.Fprintf(bw, "\n<details><summary>profile %s</summary>\n\n", report.MarkdownCell(name))
		fmt.Fprintf(bw, "| verdict | option | want | found | reason |\n|---|---|---|---|---|\n")
		for _, want := range []bool{true, false} {
			for i := range r.Results {
				res := &r.Results[i]
				bad := res.Verdict == Fail || res.Verdict == Muted
				if res.Profile != name || bad != want {
					continue
				}
				v := verdictText[res.Verdict]
				if res.Verdict == Fail {
					v = "**FAIL**"
				}
				reason := res.Reason
				if res.Verdict == Muted {
					reason = "muted: " + res.MuteReason
				}
				if res.Note != "" {
					reason += " (" + res.Note + ")"
				}
				fmt.Fprintf(bw, "| %s | `%s` | `%s` | `%s` | %s |\n", v, report.MarkdownCode(res.Option),
					report.MarkdownCode(res.Expected), report.MarkdownCode(res.Actual), report.MarkdownCell(reason))
			}
		}
		fmt.Fprintf(bw, "\n</details>\n")
	}
	fmt.Fprintln(bw)
	return bw.Flush()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// wrapASCII is wrap for ASCII text: the lines are substrings of text, at
// single blanks between words.
func wrapASCII(text string, width int) []string {
	text = strings.TrimSpace(text)
	if len(text) <= width {
		return []string{text}
	}
	var lines []string
	for len(text) > width {
		cut := strings.LastIndexByte(text[:width+1], ' ')
		if cut <= 0 {
			// A word longer than the line: break it.
			lines = append(lines, text[:width])
			text = text[width:]
			continue
		}
		lines = append(lines, strings.TrimRight(text[:cut], " "))
		text = strings.TrimLeft(text[cut+1:], " ")
	}
	if text != "" {
		lines = append(lines, text)
	}
	return lines
}

// AppendJSON appends the report as json.Marshal writes it, without its
// reflection (the report of three profile families is 300 kB of JSON;
// report.JSONAppender). TestAppendJSON holds it to json.Marshal.
func (r *Report) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	b = r.appendJSONFields(b)
	return append(b, '}')
}

// AppendJSON appends the check's report as json.Marshal writes it.
func (c CheckReport) AppendJSON(b []byte) []byte {
	b = append(b, `{"check":`...)
	b = jsonw.StringHTML(b, c.Check)
	if c.Report != nil {
		b = append(b, ',')
		b = c.Report.appendJSONFields(b)
	}
	return append(b, '}')
}

func (r *Report) appendJSONFields(b []byte) []byte {
	b = r.Inputs.AppendJSONFields(b)
	b = append(b, `,"profiles":`...)
	b = jsonw.Array(b, r.Profiles, jsonw.StringHTML)
	b = append(b, `,"results":`...)
	b = jsonw.Array(b, r.Results, func(b []byte, res Result) []byte { return res.AppendJSON(b) })
	s := r.Summary
	b = append(b, `,"summary":{"pass":`...)
	b = jsonw.Int(b, int64(s.Pass))
	b = append(b, `,"fail":`...)
	b = jsonw.Int(b, int64(s.Fail))
	b = append(b, `,"notApplicable":`...)
	b = jsonw.Int(b, int64(s.NotApplicable))
	b = append(b, `,"skipped":`...)
	b = jsonw.Int(b, int64(s.Skipped))
	b = append(b, `,"muted":`...)
	b = jsonw.Int(b, int64(s.Muted))
	return append(b, '}')
}

// AppendJSON appends the result as json.Marshal writes it.
func (r *Result) AppendJSON(b []byte) []byte {
	str := jsonw.StringHTML
	b = append(b, `{"profile":`...)
	b = str(b, r.Profile)
	b = jsonw.OmitEmptyHTML(b, "from", r.From)
	b = append(b, `,"id":`...)
	b = str(b, r.ID)
	b = append(b, `,"kind":`...)
	b = str(b, r.Kind)
	b = jsonw.OmitEmptyHTML(b, "category", r.Category)
	b = append(b, `,"option":`...)
	b = str(b, r.Option)
	b = append(b, `,"expected":`...)
	b = str(b, r.Expected)
	b = append(b, `,"actual":`...)
	b = str(b, r.Actual)
	b = append(b, `,"verdict":`...)
	b = str(b, string(r.Verdict))
	b = append(b, `,"reason":`...)
	b = str(b, r.Reason)
	b = jsonw.OmitEmptyHTML(b, "source", r.Source)
	b = append(b, `,"severity":`...)
	b = str(b, r.Severity.String())
	b = jsonw.OmitEmptyHTML(b, "note", r.Note)
	b = jsonw.OmitEmptyHTML(b, "muteReason", r.MuteReason)
	b = jsonw.OmitEmptyHTML(b, "file", r.File)
	if r.Line != 0 {
		b = append(b, `,"line":`...)
		b = jsonw.Int(b, int64(r.Line))
	}
	if r.Column != 0 {
		b = append(b, `,"column":`...)
		b = jsonw.Int(b, int64(r.Column))
	}
	return append(b, '}')
}
