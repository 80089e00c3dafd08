package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

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

// Width is the text report's line width: a finding's message is wrapped
// to it with a hanging indent (JSON keeps every detail on one line). Only
// a path heading longer than the width is printed whole: scripts read it.
const Width = 100

// placesShown is how many further places of a group text lists.
const placesShown = 6

// writeText groups findings by file. Every finding's last line ends with
// its [check-id]; the heading above it, unindented, is its path. A fact
// found in many places is one finding under its first place's heading,
// with the other places listed.
func writeText(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	paint := func(s check.Severity, text string) string {
		if !r.Color {
			return text
		}
		return sevColor[s] + text + reset
	}
	res := r.Result
	groups := Groups(res.Findings)
	last := "\x00"
	for _, g := range groups {
		f := g.Findings[0]
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
		sev := strings.ToUpper(f.Severity.String())
		lead := "  " + pos + sev + " "
		indent := min(utf8.RuneCountInString(lead), 24)
		text := SafeText(f.Message)
		if n := len(g.Findings); n > 1 {
			var places []string
			for _, o := range g.Findings[1:min(n, placesShown+1)] {
				places = append(places, SafeText(o.Location.String()))
			}
			text += fmt.Sprintf(" — the same in %d more place(s): %s", n-1, strings.Join(places, ", "))
			if n-1 > placesShown {
				text += fmt.Sprintf(" and %d more (--format json lists them all)", n-1-placesShown)
			}
		}
		lines := wrapText(lead, text, "  ["+f.CheckID+"]", indent, Width)
		// Colour the severity after layout: escapes take no columns.
		lines[0] = strings.Replace(lines[0], sev, paint(f.Severity, sev), 1)
		for _, l := range lines {
			fmt.Fprintln(bw, l)
		}
	}
	if len(groups) > 0 {
		fmt.Fprintln(bw)
	}
	for _, e := range res.Errors {
		for _, l := range wrapText("errored: "+e.CheckID+": ", SafeText(firstLine(e.Error)), "", 4, Width) {
			fmt.Fprintln(bw, l)
		}
	}
	if len(res.Errors) > 0 && len(groups) > 0 {
		fmt.Fprintln(bw)
	}
	if len(groups) > 0 {
		writeTextSummary(bw, r, groups)
	}
	if r.Adopt && len(res.Findings) > 0 {
		writeTextAdopt(bw)
	}
	var parts []string
	for _, c := range counts(res.Findings) {
		parts = append(parts, fmt.Sprintf("%d %s", c.N, c.Severity))
	}
	summary := plural(len(res.Findings), "finding", "findings")
	if len(parts) > 0 {
		summary += " (" + strings.Join(parts, ", ") + ")"
	}
	if len(groups) < len(res.Findings) {
		summary += fmt.Sprintf(", %d distinct", len(groups))
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

// summaryChecks caps the per-check lines of the summary.
const summaryChecks = 12

// writeTextSummary prints the short summary after the findings: the three
// most severe findings, then the counts per check and severity, most
// severe first.
func writeTextSummary(w io.Writer, r *Report, groups []Group) {
	cs := checkSummary(groups)
	head := plural(len(r.Result.Findings), "finding", "findings")
	if len(groups) < len(r.Result.Findings) {
		head += fmt.Sprintf(" (%d distinct)", len(groups))
	}
	fmt.Fprintf(w, "Summary: %s from %s\n", head, plural(len(cs), "check", "checks"))
	fmt.Fprintln(w, "  most severe:")
	for _, g := range mostSevere(groups, 3) {
		f := g.Findings[0]
		loc := SafeText(f.Location.String())
		if loc == "" {
			loc = "(repository)"
		}
		if n := len(g.Findings); n > 1 {
			loc += fmt.Sprintf(" (+%d more)", n-1)
		}
		if looksLikeID(loc) {
			loc += " (a path)" // never "[id]" at a line's end: scripts read that as a finding
		}
		for _, l := range wrapText(fmt.Sprintf("    %-8s ", strings.ToUpper(f.Severity.String())), f.CheckID+": "+loc, "", 13, Width) {
			fmt.Fprintln(w, l)
		}
	}
	fmt.Fprintln(w, "  per check, most severe first:")
	wid := 0
	for _, c := range cs[:min(len(cs), summaryChecks)] {
		wid = max(wid, len(c.ID))
	}
	for i, c := range cs {
		if i == summaryChecks {
			fmt.Fprintf(w, "    … and %s more\n", plural(len(cs)-summaryChecks, "check", "checks"))
			break
		}
		fmt.Fprintf(w, "    %-*s  %s\n", wid, c.ID, c.countText())
	}
}

// adoptSteps is how to adopt nixgate on a repository that has findings
// today: a policy, a baseline with a reason, then fix forward.
var adoptSteps = [][2]string{
	{"nixgate init", "writes nixgate.toml: every check with its defaults (name the init program in [project] init)"},
	{"nixgate check --write-baseline .nixgate-baseline.json --reason \"pre-existing, triaged <date>\"",
		"accepts today's findings; set baseline = \".nixgate-baseline.json\" in nixgate.toml"},
	{"fix forward", "new findings fail the gate; remove baseline entries as you fix them"},
}

func writeTextAdopt(w io.Writer) {
	fmt.Fprintln(w, "Adopt nixgate on this repository (it has no nixgate.toml yet):")
	for i, s := range adoptSteps {
		for _, l := range wrapText(fmt.Sprintf("  %d. ", i+1), s[0], "", 5, Width) {
			fmt.Fprintln(w, l)
		}
		for _, l := range wrapText("     ", s[1], "", 5, Width) {
			fmt.Fprintln(w, l)
		}
	}
}

// wrapText breaks prefix+s into lines of at most width columns (runes),
// the prefix kept as it is, the lines after the first indented by indent
// spaces, and ends the last line with
// suffix (moved to a line of its own when it does not fit). Words longer
// than a line are split. No line but the last ends in a word that looks
// like "[check-id]": scripts take such a line for a finding of its own.
func wrapText(prefix, s, suffix string, indent, width int) []string {
	pad := strings.Repeat(" ", indent)
	var lines []string
	var ws []string                     // words of the current line
	n := utf8.RuneCountInString(prefix) // its length in runes; prefix is the first line's, then pad
	flush := func() {
		lines = append(lines, prefix+strings.Join(ws, " "))
		prefix, ws, n = pad, nil, indent
	}
	// add puts a word on the line, after a space or (for the suffix,
	// join) glued to the line's last word after sep.
	add := func(w string, sep string, join bool) {
		wl := utf8.RuneCountInString(w)
		if len(ws) > 0 && n+len(sep)+wl > width {
			var carry string
			if last := ws[len(ws)-1]; looksLikeID(last) {
				// The line must not end in "[…]": move that part down.
				switch i := strings.LastIndexByte(last, '['); {
				case len(ws) > 1:
					carry, ws = last, ws[:len(ws)-1]
				case i > 0:
					carry, ws[0] = last[i:], last[:i]
				}
			}
			if last := ws[len(ws)-1]; !looksLikeID(last) {
				flush()
				if carry != "" {
					ws, n = []string{carry}, indent+utf8.RuneCountInString(carry)
				}
			} else if carry != "" {
				ws = append(ws, carry) // nothing to split: keep the line whole
			}
			if len(ws) == 0 {
				sep = ""
			}
		}
		// a word that cannot fit on any line is split, never right after
		// a "]" that would make the piece look like "[check-id]"
		for len(ws) == 0 && wl > width-n && width-n > 1 {
			k := byteOffset(w, width-n)
			if looksLikeID(w[:k]) {
				k = byteOffset(w, width-n-1)
			}
			ws = []string{w[:k]}
			flush()
			w = w[k:]
			wl = utf8.RuneCountInString(w)
		}
		switch {
		case len(ws) == 0:
			ws = []string{w}
			sep = ""
		case join:
			ws[len(ws)-1] += sep + w
		default:
			ws = append(ws, w)
		}
		n += len(sep) + wl
	}
	for _, w := range strings.Fields(s) {
		if strings.HasPrefix(w, "::") {
			w = `\x3a` + w[1:] // a wrapped line must not start a workflow command
		}
		add(w, " ", false)
	}
	if suffix != "" {
		t := strings.TrimLeft(suffix, " ")
		add(t, suffix[:len(suffix)-len(t)], true)
	}
	if len(ws) > 0 || len(lines) == 0 {
		flush()
	}
	return lines
}

// looksLikeID reports whether a word is "[check-id]"-shaped.
func looksLikeID(w string) bool {
	if len(w) < 3 || w[len(w)-1] != ']' {
		return false
	}
	i := strings.LastIndexByte(w, '[')
	if i < 0 || i == len(w)-2 {
		return false
	}
	return strings.Trim(w[i+1:len(w)-1], "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
}

// byteOffset is the byte offset of the n-th rune of s.
func byteOffset(s string, n int) int {
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
