package nar

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/nixgate/nixgate/internal/jsonindent"
)

// WriteJSON writes r as indented JSON (schemaVersion 1).
func WriteJSON(w io.Writer, r *Result) error {
	return jsonindent.Encode(w, r, true)
}

// WriteText writes r for a terminal or a log.
func WriteText(w io.Writer, r *Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "nar diff %s %s\n", r.A, r.B)
	if r.Identical {
		fmt.Fprintf(&b, "identical (%d entries)\n", r.EntriesA)
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(&b, "%d difference(s) (%d entries vs %d)", len(r.Changes), r.EntriesA, r.EntriesB)
	if len(r.Causes) > 0 {
		fmt.Fprintf(&b, "; causes: %s", strings.Join(r.Causes, ", "))
	}
	b.WriteString("\n")
	WriteChangesText(&b, r.Changes, "")
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteChangesText writes changes as indented text lines. A member of an
// archive is named with its container, "lib.a:foo.o:.debug_str".
func WriteChangesText(b *strings.Builder, chs []Change, indent string) {
	writeChangesText(b, chs, indent, "")
}

func writeChangesText(b *strings.Builder, chs []Change, indent, parent string) {
	for _, c := range chs {
		name := c.Path
		if parent != "" {
			name = parent + ":" + c.Path
		}
		fmt.Fprintf(b, "%s%-10s %s%s\n", indent, c.Kind, name, changeSummary(c))
		if s := c.Summary; s != nil && parent == "" && !slices.Contains(c.Causes, *s) {
			fmt.Fprintf(b, "%s  summary: %s: %s%s\n", indent, s.Kind, s.Detail, evidence(*s))
		}
		for _, k := range c.Causes {
			fmt.Fprintf(b, "%s  cause: %s: %s%s\n", indent, k.Kind, k.Detail, evidence(k))
		}
		if c.Content == nil {
			continue
		}
		d := c.Content
		for _, f := range d.Header {
			fmt.Fprintf(b, "%s  header %s: %q -> %q\n", indent, f.Name, f.A, f.B)
		}
		if d.Note != "" {
			fmt.Fprintf(b, "%s  note: %s\n", indent, d.Note)
		}
		if len(d.Ranges) > 0 {
			var rs []string
			for _, r := range d.Ranges {
				rs = append(rs, fmt.Sprintf("%#x-%#x", r.Start, r.End))
			}
			more := ""
			if d.MoreRanges > 0 {
				more = fmt.Sprintf(" and %d more", d.MoreRanges)
			}
			fmt.Fprintf(b, "%s  differing bytes: %s%s\n", indent, strings.Join(rs, " "), more)
		}
		if d.Unified != "" {
			for _, l := range strings.SplitAfter(strings.TrimSuffix(d.Unified, "\n"), "\n") {
				fmt.Fprintf(b, "%s  | %s", indent, strings.TrimSuffix(l, "\n")+"\n")
			}
			if d.Truncated {
				fmt.Fprintf(b, "%s  | ... (diff truncated)\n", indent)
			}
		}
		writeChangesText(b, d.Members, indent+"    ", name)
	}
}

// MemberPaths lists every changed path, archive members included, named
// with their containers ("/lib/libfoo.a:foo.o:.debug_str").
func MemberPaths(chs []Change) []string {
	var out []string
	var walk func(parent string, chs []Change)
	walk = func(parent string, chs []Change) {
		for _, c := range chs {
			name := c.Path
			if parent != "" {
				name = parent + ":" + c.Path
			}
			out = append(out, name)
			if c.Content != nil {
				walk(name, c.Content.Members)
			}
		}
	}
	walk("", chs)
	return out
}

func changeSummary(c Change) string {
	switch c.Kind {
	case Added:
		return " (" + entryDesc(c.B) + ")"
	case Removed:
		return " (" + entryDesc(c.A) + ")"
	case TypeChange:
		return fmt.Sprintf(": %s -> %s", entryDesc(c.A), entryDesc(c.B))
	case ExecChange:
		return fmt.Sprintf(": executable %t -> %t", c.A.Executable, c.B.Executable)
	case LinkChange:
		return fmt.Sprintf(": -> %s became -> %s", c.A.Target, c.B.Target)
	}
	if c.Content == nil {
		return ""
	}
	d := c.Content
	s := " (" + d.Format
	if d.SizeA >= 0 && d.SizeB >= 0 && (d.Format == "text" || d.Format == "binary" || d.SizeA != d.SizeB) {
		if d.SizeA == d.SizeB {
			s += fmt.Sprintf(", %d bytes", d.SizeA)
		} else {
			s += fmt.Sprintf(", %d -> %d bytes", d.SizeA, d.SizeB)
		}
	}
	if d.FirstDifference >= 0 {
		s += fmt.Sprintf(", first difference at byte %d", d.FirstDifference)
	}
	return s + ")"
}

func entryDesc(e *Entry) string {
	if e == nil {
		return ""
	}
	switch e.Type {
	case Regular:
		x := ""
		if e.Executable {
			x = ", executable"
		}
		return fmt.Sprintf("file, %d bytes%s", e.Size, x)
	case Symlink:
		return "symlink to " + e.Target
	}
	return e.Type
}

func evidence(k Cause) string {
	if k.A == "" && k.B == "" {
		return ""
	}
	return fmt.Sprintf(" (%q -> %q)", k.A, k.B)
}

// WriteMarkdown writes r as a Markdown section.
func WriteMarkdown(w io.Writer, r *Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### nar diff `%s` `%s`\n\n", r.A, r.B)
	if r.Identical {
		fmt.Fprintf(&b, "Identical (%d entries).\n", r.EntriesA)
		_, err := io.WriteString(w, b.String())
		return err
	}
	WriteChangesMarkdown(&b, r.Changes)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteChangesMarkdown writes changes as a table, then the text diffs.
func WriteChangesMarkdown(b *strings.Builder, chs []Change) {
	b.WriteString("| change | path | detail | causes |\n|---|---|---|---|\n")
	var details []Change
	var walk func(prefix string, chs []Change)
	walk = func(prefix string, chs []Change) {
		for _, c := range chs {
			var causes []string
			if s := c.Summary; s != nil && prefix == "" && !slices.Contains(c.Causes, *s) {
				causes = append(causes, s.Kind+": "+s.Detail+evidence(*s))
			}
			for _, k := range c.Causes {
				causes = append(causes, k.Kind+": "+k.Detail+evidence(k))
			}
			fmt.Fprintf(b, "| %s | `%s` | %s | %s |\n", c.Kind, mdEscape(prefix+c.Path), mdEscape(strings.TrimSpace(strings.Trim(changeSummary(c), " ():"))), mdEscape(strings.Join(causes, "; ")))
			if c.Content != nil {
				if c.Content.Unified != "" {
					details = append(details, Change{Path: prefix + c.Path, Content: c.Content})
				}
				walk(prefix+c.Path+":", c.Content.Members)
			}
		}
	}
	walk("", chs)
	for _, c := range details {
		fmt.Fprintf(b, "\n<details><summary><code>%s</code></summary>\n\n```diff\n%s```\n</details>\n", c.Path, c.Content.Unified)
	}
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
