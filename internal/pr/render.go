package pr

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

func (r *Report) verdict() string {
	switch {
	case r.Rejected:
		return "REJECTED"
	case len(r.Review) > 0:
		return "PASSED (needs security review)"
	}
	return "PASSED"
}

func (x Rejection) where() string {
	s := x.Path
	if x.Line > 0 {
		s = fmt.Sprintf("%s:%d", x.Path, x.Line)
	}
	return s
}

func (x Rejection) origin() string {
	if x.Commit == "" {
		return ""
	}
	return fmt.Sprintf(" (commit %.12s by %s)", x.Commit, x.Author)
}

// WriteText writes the report for a terminal.
func (r *Report) WriteText(w io.Writer) error {
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "nixgate pr: %s..%s (merge base %.12s, %d commit(s), %d file(s)): %s\n", r.Base, r.Head, r.MergeBase, r.Commits, len(r.Files), r.verdict())
	if len(r.Labels) > 0 {
		fmt.Fprintf(b, "labels: %s\n", strings.Join(r.Labels, ", "))
	}
	var rej, warn []Rejection
	for _, x := range r.Rejections {
		if x.Warning {
			warn = append(warn, x)
		} else {
			rej = append(rej, x)
		}
	}
	if len(rej) > 0 {
		fmt.Fprintf(b, "\nRejected (%d):\n", len(rej))
		for _, x := range rej {
			fmt.Fprintf(b, "  ✗ %s %s: %s%s [%s]\n", x.Severity, x.where(), x.Message, x.origin(), x.Kind)
		}
	}
	if len(warn) > 0 {
		fmt.Fprintf(b, "\nWarnings (%d):\n", len(warn))
		for _, x := range warn {
			fmt.Fprintf(b, "  ! %s %s: %s%s [%s]\n", x.Severity, x.where(), x.Message, x.origin(), x.Kind)
		}
	}
	for _, l := range r.Locks {
		fmt.Fprintf(b, "\nLock delta (%s):\n", l.Path)
		if l.Delta == nil {
			fmt.Fprintf(b, "  %s\n", l.Unavailable)
			continue
		}
		var buf bytes.Buffer
		if err := l.Delta.WriteText(&buf); err != nil {
			return err
		}
		for _, line := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
			fmt.Fprintf(b, "  %s\n", line)
		}
	}
	if len(r.Review) > 0 {
		fmt.Fprintf(b, "\nNeeds security review (%d):\n", len(r.Review))
		for _, v := range r.Review {
			fmt.Fprintf(b, "  • %s (matches %s)\n", v.Path, v.Pattern)
		}
	}
	fmt.Fprintf(b, "\nReview checklist (%d file(s)):\n", len(r.Files))
	for _, f := range r.Files {
		fmt.Fprintf(b, "  [ ] %s %s %s\n", f.Status, f.Path, f.lines())
	}
	return b.Flush()
}

func (f File) lines() string {
	if f.Binary {
		return "(binary)"
	}
	return fmt.Sprintf("+%d -%d", f.Added, f.Removed)
}

var mdEscape = strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;")

func code(s string) string { return "`" + strings.ReplaceAll(s, "`", "'") + "`" }

// WriteMarkdown writes the report as a pull-request comment.
func (r *Report) WriteMarkdown(w io.Writer) error {
	b := bufio.NewWriter(w)
	icon := "✅"
	if r.Rejected {
		icon = "❌"
	}
	fmt.Fprintf(b, "## %s nixgate pr: %s\n\n", icon, r.verdict())
	fmt.Fprintf(b, "%s..%s · merge base %s · %d commit(s) · %d file(s)", code(r.Base), code(r.Head), code(fmt.Sprintf("%.12s", r.MergeBase)), r.Commits, len(r.Files))
	if len(r.Labels) > 0 {
		fmt.Fprintf(b, " · labels: %s", code(strings.Join(r.Labels, ", ")))
	}
	fmt.Fprintln(b)
	if len(r.Rejections) > 0 {
		fmt.Fprintln(b, "\n### Rejected")
		fmt.Fprintln(b, "\n| | severity | where | problem | gate |")
		fmt.Fprintln(b, "|---|---|---|---|---|")
		for _, x := range r.Rejections {
			mark := "❌"
			if x.Warning {
				mark = "⚠️"
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", mark, x.Severity, code(x.where()), mdEscape.Replace(x.Message+x.origin()), code(x.Kind))
		}
	}
	for _, l := range r.Locks {
		fmt.Fprintln(b)
		if l.Delta == nil {
			fmt.Fprintf(b, "### %s\n\n%s\n", code(l.Path), mdEscape.Replace(l.Unavailable))
			continue
		}
		var buf bytes.Buffer
		if err := l.Delta.WriteMarkdown(&buf); err != nil {
			return err
		}
		// One level below this report's sections.
		s := strings.ReplaceAll(buf.String(), "\n## ", "\n### ")
		s = strings.TrimPrefix(s, "## ")
		fmt.Fprintf(b, "### %s", strings.Replace(s, "flake.lock delta", code(l.Path)+" delta", 1))
	}
	if len(r.Review) > 0 {
		fmt.Fprintln(b, "\n### Needs security review")
		fmt.Fprintln(b)
		for _, v := range r.Review {
			fmt.Fprintf(b, "- %s (matches %s)\n", code(v.Path), code(v.Pattern))
		}
	}
	fmt.Fprintln(b, "\n### Review checklist")
	fmt.Fprintln(b)
	for _, f := range r.Files {
		fmt.Fprintf(b, "- [ ] %s %s %s\n", f.Status, code(f.Path), f.lines())
	}
	return b.Flush()
}

// WriteJSON writes the report as deterministic JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
