package report

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SafeText makes a string from a repository or a tool safe for a terminal
// and a CI log: control characters (escape sequences, carriage returns,
// newlines), Unicode bidirectional overrides and invalid UTF-8 are shown
// escaped (\x1b, \n, \u202e), so a file name can neither move the cursor,
// nor start a line of its own, nor hide text. A result that would begin
// with "::" (a GitHub Actions workflow command) has its first colon
// escaped.
func SafeText(s string) string {
	if isPlain(s) && !strings.HasPrefix(s, "::") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\\' && needsEscape(s):
			b.WriteString(`\\`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r < 0xa0, isBidi(r), r == '\u2028', r == '\u2029', r == '\ufeff':
			fmt.Fprintf(&b, `\u%04x`, r)
		case i == 0 && r == ':' && strings.HasPrefix(s, "::"):
			b.WriteString(`\x3a`)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// needsEscape reports whether s has anything SafeText escapes, so that a
// backslash is doubled only when escapes could be confused with it.
func needsEscape(s string) bool { return !isPlain(s) }

func isPlain(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 ||
			isBidi(r) || r == '\u2028' || r == '\u2029' || r == '\ufeff' {
			return false
		}
		i += size
	}
	return true
}

func isBidi(r rune) bool {
	return r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069' || r == '\u200e' || r == '\u200f' || r == '\u061c'
}

// mdReplacer escapes what Markdown and the HTML GitHub allows in it would
// interpret: table pipes, tags and entities, emphasis, links and images,
// headings and lists (only meaningful at a line start, but a cell never
// has one: newlines are escaped first).
var mdReplacer = strings.NewReplacer(
	"\\", "\\\\", "|", "\\|", "<", "&lt;", ">", "&gt;", "&", "&amp;",
	"[", "\\[", "]", "\\]", "*", "\\*", "_", "\\_", "`", "\\`", "~", "\\~",
	"@", "@\u2060",
)

// mdCell escapes text for a table cell or a list item: nothing in it can end
// the cell, open a tag, or start a new line of the document.
func mdCell(s string) string { return mdReplacer.Replace(SafeText(s)) }

// mdCode escapes text for a code span inside a table cell: the span cannot
// be closed early and the cell cannot be ended.
func mdCode(s string) string {
	s = SafeText(s)
	s = strings.ReplaceAll(s, "`", "'")
	return strings.ReplaceAll(s, "|", "\\|")
}

// MarkdownCell is mdCell for other packages' Markdown writers.
func MarkdownCell(s string) string { return mdCell(s) }

// MarkdownCode is mdCode for other packages' Markdown writers.
func MarkdownCode(s string) string { return mdCode(s) }

// Printable reports whether r prints as itself in SafeText.
func Printable(r rune) bool { return unicode.IsPrint(r) && !isBidi(r) }
