package lockdiff

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nixgate/nixgate/internal/jsonindent"
	"github.com/nixgate/nixgate/internal/report"
)

// WriteText writes the report in the shape of Nix's own update message,
// with the flags under each change.
func (r *Report) WriteText(w io.Writer) error {
	b := bufio.NewWriter(w)
	if r.Empty() {
		fmt.Fprintln(b, "flake.lock: no input changed")
		return b.Flush()
	}
	fmt.Fprintf(b, "flake.lock: %s; risk %s\n", r.summaryLine(), r.Risk)
	for _, c := range r.Changes {
		fmt.Fprintln(b)
		switch c.Kind {
		case Added:
			fmt.Fprintf(b, "• Added input '%s':%s\n", report.SafeText(c.Input), riskTag(c.Risk))
			fmt.Fprintf(b, "    %s\n", report.SafeText(c.New.describe()))
		case Removed:
			fmt.Fprintf(b, "• Removed input '%s'\n", report.SafeText(c.Input))
		default:
			fmt.Fprintf(b, "• Updated input '%s':%s\n", report.SafeText(c.Input), riskTag(c.Risk))
			fmt.Fprintf(b, "    %s\n  → %s\n", report.SafeText(c.Old.describe()), report.SafeText(c.New.describe()))
		}
		for _, f := range c.Flags {
			fmt.Fprintf(b, "    ! %s: %s\n", f.Risk, report.SafeText(f.Message))
		}
	}
	if r.HighRisk() {
		fmt.Fprintf(b, "\nhigh-risk changes present: review them before merging (label: %s)\n", Label)
	}
	return b.Flush()
}

func riskTag(r Risk) string {
	if r <= Low {
		return ""
	}
	return " [" + r.String() + "]"
}

func (r *Report) summaryLine() string {
	var parts []string
	for _, p := range []struct {
		n    int
		what string
	}{{r.Summary.Updated, "updated"}, {r.Summary.Added, "added"}, {r.Summary.Removed, "removed"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.what))
		}
	}
	s := strings.Join(parts, ", ")
	if r.Summary.Flagged > 0 {
		s += fmt.Sprintf(" (%d flagged)", r.Summary.Flagged)
	}
	return s
}

// describe renders a side as Nix does: 'URL' (date), or follows 'path'.
func (s *Side) describe() string {
	if s.Follows != nil {
		return fmt.Sprintf("follows '%s'", *s.Follows)
	}
	d := "'" + s.Locked + "'"
	if s.LastModified != "" {
		d += " (" + s.LastModified[:10] + ")"
	}
	return d
}

// WriteJSON writes the report as indented JSON with "schemaVersion": 1.
// The output is deterministic: changes sorted by input path, flags in a
// fixed order.
func (r *Report) WriteJSON(w io.Writer) error {
	return jsonindent.Encode(w, r, false)
}

// WriteMarkdown writes the report as a pull-request comment.
func (r *Report) WriteMarkdown(w io.Writer) error {
	b := bufio.NewWriter(w)
	fmt.Fprintln(b, "## flake.lock delta")
	fmt.Fprintln(b)
	if r.Empty() {
		fmt.Fprintln(b, "No input changed.")
		return b.Flush()
	}
	fmt.Fprintf(b, "**Risk: %s** · %s. ", r.Risk, r.summaryLine())
	fmt.Fprintf(b, "This change updates pinned dependencies and needs the `%s` label.", Label)
	if r.HighRisk() {
		fmt.Fprint(b, " **High-risk changes are present: review each flagged input before merging.**")
	}
	fmt.Fprintln(b)
	fmt.Fprintln(b)
	fmt.Fprintln(b, "| input | change | from | to | risk |")
	fmt.Fprintln(b, "|---|---|---|---|---|")
	for _, c := range r.Changes {
		fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s |\n", mdCode(c.Input), c.Kind, c.Old.cell(), c.New.cell(), c.Risk)
	}
	var flagged bool
	for _, c := range r.Changes {
		if len(c.Flags) > 0 && c.Risk >= Medium {
			if !flagged {
				fmt.Fprintln(b)
				fmt.Fprintln(b, "### Needs review")
				fmt.Fprintln(b)
				flagged = true
			}
			for _, f := range c.Flags {
				if f.Risk >= Medium {
					fmt.Fprintf(b, "- **%s** `%s`: %s\n", f.Risk, mdCode(c.Input), mdText(f.Message))
				}
			}
		}
	}
	fmt.Fprintln(b)
	fmt.Fprintln(b, "<details><summary>Locked references</summary>")
	fmt.Fprintln(b)
	fmt.Fprintln(b, "```")
	for _, c := range r.Changes {
		switch c.Kind {
		case Added:
			fmt.Fprintf(b, "+ %s: %s\n", fence(c.Input), fence(c.New.describe()))
		case Removed:
			fmt.Fprintf(b, "- %s: %s\n", fence(c.Input), fence(c.Old.describe()))
		default:
			fmt.Fprintf(b, "~ %s: %s\n    → %s\n", fence(c.Input), fence(c.Old.describe()), fence(c.New.describe()))
		}
	}
	fmt.Fprintln(b, "```")
	fmt.Fprintln(b)
	fmt.Fprintln(b, "</details>")
	return b.Flush()
}

func (s *Side) cell() string {
	if s == nil {
		return ""
	}
	if s.Follows != nil {
		if *s.Follows == "" {
			return "follows the root flake"
		}
		c := "follows `" + mdCode(*s.Follows) + "`"
		if s.Source != "" {
			c += " (`" + mdCode(s.Source) + "`)"
		}
		return c
	}
	var parts []string
	id := s.Rev
	if len(id) > 12 {
		id = id[:12]
	}
	if id == "" {
		id = strings.TrimPrefix(s.NarHash, "sha256-")
		if len(id) > 12 {
			id = id[:12]
		}
	}
	src := s.Source
	if id != "" {
		src += "@" + id
	}
	parts = append(parts, "`"+mdCode(src)+"`")
	var extra []string
	if s.LastModified != "" {
		if t, err := time.Parse(time.RFC3339, s.LastModified); err == nil {
			extra = append(extra, t.Format(time.DateOnly))
		}
	}
	if s.Ref != "" {
		extra = append(extra, mdText(s.Ref))
	}
	if len(extra) > 0 {
		parts = append(parts, "("+strings.Join(extra, ", ")+")")
	}
	return strings.Join(parts, " ")
}

// mdCode makes s safe inside a code span of a table cell.
func mdCode(s string) string { return report.MarkdownCode(s) }

// mdText escapes s for markdown prose in a list item or table cell.
func mdText(s string) string { return report.MarkdownCell(s) }

// fence makes s safe inside a fenced code block: one line, no fence.
func fence(s string) string { return strings.ReplaceAll(report.SafeText(s), "```", "'''") }
