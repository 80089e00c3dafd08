// Package sloc counts blank, comment and code lines the way tokei counts
// them, for the languages an OS-image project's init program is written
// in: Rust, Go, C and C++ (with headers), Python, shell and Nix.
//
// The counter is a port of tokei's line classifier (v13): a line is blank
// when it holds only whitespace; a comment when it holds nothing but
// comments (or starts inside a multi-line comment); code otherwise. String
// contents are code, Rust block comments nest, Python docstrings are code
// (tokei's default), and Rust doc comments are Markdown whose fenced
// examples count as code in their own language, as in tokei's totals.
package sloc

import (
	"bytes"

	"github.com/nixgate/nixgate/internal/lazyre"
)

// Stats are the line counts of one file or a sum of files.
type Stats struct {
	Blanks   int `json:"blanks"`
	Code     int `json:"code"`
	Comments int `json:"comments"`
}

// Lines is the total.
func (s Stats) Lines() int { return s.Blanks + s.Code + s.Comments }

// Add sums counts.
func (s *Stats) Add(o Stats) {
	s.Blanks += o.Blanks
	s.Code += o.Code
	s.Comments += o.Comments
}

// Count classifies the lines of src as tokei does for the language l. The
// result is tokei's summarised count: lines in embedded languages (doc
// examples) are included.
func (l *Language) Count(src []byte) Stats {
	src = bytes.TrimPrefix(src, []byte("\xef\xbb\xbf"))
	c := &counter{lang: l}
	return c.parse(src)
}

type counter struct {
	lang       *Language
	quote      string // the end of the open string, "" outside strings
	isVerbatim bool
	// stack holds the ends of the open block comments as indexes into
	// closers: a slice of strings is scanned by every collection, and
	// nested comments can open millions (the linear-time test's 16 MiB of
	// "/* /* x" took 40-50 times its 1 MiB).
	stack   []uint8
	closers []string
}

// push opens a block comment that end closes.
func (c *counter) push(end string) {
	i := 0
	for i < len(c.closers) && c.closers[i] != end {
		i++
	}
	if i == len(c.closers) {
		c.closers = append(c.closers, end)
	}
	c.stack = append(c.stack, uint8(i))
}

// top is the end of the innermost open block comment; the stack is not
// empty.
func (c *counter) top() string { return c.closers[c.stack[len(c.stack)-1]] }

func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f'
}

func trimStart(b []byte) []byte {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return b[i:]
}

func trim(b []byte) []byte {
	b = trimStart(b)
	j := len(b)
	for j > 0 && isSpace(b[j-1]) {
		j--
	}
	return b[:j]
}

// nextLine returns the line starting at pos, its end including the '\n'.
func nextLine(b []byte, pos int) (start, end int) {
	if i := bytes.IndexByte(b[pos:], '\n'); i >= 0 {
		return pos, pos + i + 1
	}
	return pos, len(b)
}

func hasPrefix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[:len(s)]) == s
}

func (c *counter) plain() bool { return c.quote == "" && len(c.stack) == 0 }

// child is an embedded language found at a position: Rust doc comments
// (Markdown) or a fenced code block in Markdown.
type child struct {
	end    int
	stats  Stats
	fences int
}

func (c *counter) parse(lines []byte) Stats {
	var st Stats
	pos := 0
	for pos < len(lines) {
		start, end := nextLine(lines, pos)
		pos = end
		line := trim(lines[start:end])
		if c.singleLine(line, &st) {
			continue
		}
		startedInComments := len(c.stack) > 0
		if ch := c.multiLine(lines, start, end); ch != nil {
			st.Add(ch.stats)
			st.Comments += ch.fences
			pos = ch.end
			continue
		}
		if c.lang.Literate || c.lineIsComment(line, startedInComments) {
			st.Comments++
		} else {
			st.Code++
		}
	}
	return st
}

// singleLine classifies a line that holds no syntax that could change the
// state (no quote or block comment start).
func (c *counter) singleLine(line []byte, st *Stats) bool {
	if !c.plain() {
		return false
	}
	if len(line) == 0 {
		st.Blanks++
		return true
	}
	for _, s := range c.lang.important {
		if bytes.Contains(line, s) {
			return false
		}
	}
	if c.lang.Literate || c.startsWithLineComment(line) {
		st.Comments++
	} else {
		st.Code++
	}
	return true
}

func (c *counter) startsWithLineComment(line []byte) bool {
	for _, lc := range c.lang.LineComments {
		if hasPrefix(line, lc) {
			return true
		}
	}
	return false
}

func (c *counter) multiLine(lines []byte, start, end int) *child {
	skip := 0
	for i := start; i < end; i++ {
		if skip > 0 {
			skip--
			continue
		}
		window := lines[i:]
		if len(trimStart(window)) == 0 {
			break
		}
		if n := c.endOfQuote(window); n > 0 {
			skip = n - 1
			continue
		}
		if n := c.endOfMultiLine(window); n > 0 {
			skip = n - 1
			continue
		}
		if c.quote != "" {
			continue
		}
		if ch := c.context(lines, start, end, i); ch != nil {
			return ch
		}
		if n := c.startQuote(window); n > 0 {
			skip = n - 1
			continue
		}
		if n := c.startMultiLine(window); n > 0 {
			skip = n - 1
			continue
		}
		if c.plain() && c.startsWithLineComment(window) {
			break
		}
	}
	return nil
}

func (c *counter) endOfQuote(window []byte) int {
	if c.quote == "" {
		return 0
	}
	if hasPrefix(window, c.quote) {
		n := len(c.quote)
		c.quote = ""
		return n
	}
	if !c.isVerbatim && hasPrefix(window, `\`) {
		return 2
	}
	return 0
}

func (c *counter) endOfMultiLine(window []byte) int {
	if len(c.stack) == 0 {
		return 0
	}
	top := c.top()
	if !hasPrefix(window, top) {
		return 0
	}
	c.stack = c.stack[:len(c.stack)-1]
	return len(top)
}

func (c *counter) startQuote(window []byte) int {
	if len(c.stack) > 0 {
		return 0
	}
	for _, q := range c.lang.DocQuotes {
		if hasPrefix(window, q[0]) {
			c.quote, c.isVerbatim = q[1], false
			return len(q[0])
		}
	}
	for _, q := range c.lang.VerbatimQuotes {
		if hasPrefix(window, q[0]) {
			c.quote, c.isVerbatim = q[1], true
			return len(q[0])
		}
	}
	for _, q := range c.lang.Quotes {
		if hasPrefix(window, q[0]) {
			c.quote, c.isVerbatim = q[1], false
			return len(q[0])
		}
	}
	return 0
}

func (c *counter) startMultiLine(window []byte) int {
	if c.quote != "" {
		return 0
	}
	try := func(pairs [][2]string, nested bool) int {
		for _, p := range pairs {
			if hasPrefix(window, p[0]) {
				if len(c.stack) == 0 || c.lang.Nested || nested {
					c.push(p[1])
				}
				return len(p[0])
			}
		}
		return 0
	}
	if n := try(c.lang.MultiComments, false); n > 0 {
		return n
	}
	return try(c.lang.NestedComments, true)
}

func (c *counter) lineIsComment(line []byte, startedInComments bool) bool {
	if c.quote != "" {
		return false
	}
	if startedInComments {
		return true // tokei also checks doc-quote ends here; the outcome is the same
	}
	if c.startsWithLineComment(line) {
		return true
	}
	for _, p := range c.anyMulti() {
		if hasPrefix(line, p[0]) && bytes.HasSuffix(line, []byte(p[1])) {
			return true
		}
	}
	if len(c.stack) == 0 {
		return false
	}
	top := c.top()
	for _, p := range c.anyMulti() {
		if p[1] == top && hasPrefix(line, p[0]) {
			return true
		}
	}
	return false
}

func (c *counter) anyMulti() [][2]string {
	if len(c.lang.NestedComments) == 0 {
		return c.lang.MultiComments
	}
	return append(append([][2]string{}, c.lang.MultiComments...), c.lang.NestedComments...)
}

var (
	fenceStart = lazyre.New("```\\S+\\s")
	fenceEnd   = lazyre.New("```\\s?")
)

// context finds an embedded language starting at i on the line
// [start, end): a run of Rust doc comments, or a Markdown code fence.
func (c *counter) context(lines []byte, start, end, i int) *child {
	if !c.plain() {
		return nil
	}
	switch c.lang.family {
	case rustFamily:
		rest := trimStart(lines[i:])
		var syn string
		switch {
		case hasPrefix(rest, "///"):
			syn = "///"
		case hasPrefix(rest, "//!"):
			syn = "//!"
		default:
			return nil
		}
		var md []byte
		endOfBlock := len(lines)
		for p := i; p < len(lines); {
			s, e := nextLine(lines, p)
			p = e
			if !hasPrefix(trimStart(lines[s:]), syn) {
				endOfBlock = s
				break
			}
			l := trimStart(lines[s:e])
			md = append(md, l[min(3, len(l)):]...)
			endOfBlock = e
		}
		return &child{end: endOfBlock, stats: markdown.Count(trim(md))}
	case markdownFamily:
		if !bytes.Contains(lines[i:end], []byte("```")) {
			return nil
		}
		m := fenceStart().FindIndex(lines[start:end])
		if m == nil || start+m[0] != i {
			return nil
		}
		open := lines[start+m[0] : start+m[1]]
		startOfCode := start + m[1]
		endOfCode, endOfBlock, fences := len(lines), len(lines), 1
		if f := fenceEnd().FindIndex(lines[startOfCode:]); f != nil {
			endOfCode, endOfBlock, fences = startOfCode+f[0], startOfCode+f[1], 2
		}
		var lang *Language
		for _, name := range bytes.Split(trim(open)[3:], []byte(",")) {
			if lang = ByName(string(name)); lang != nil {
				break
			}
		}
		if lang == nil {
			return nil
		}
		return &child{end: endOfBlock, stats: lang.Count(trim(lines[startOfCode:endOfCode])), fences: fences}
	}
	return nil
}
