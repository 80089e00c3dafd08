package kconfig

import (
	"fmt"
	"strings"
)

// Param is one kernel command-line parameter.
type Param struct {
	Name string
	// Value is empty for a flag such as "nosmt" (HasValue false).
	Value    string
	HasValue bool
	// Line and Column locate the parameter in the file (1-based).
	Line, Column int
}

// Cmdline is a parsed kernel command line. When a parameter repeats, the
// last one wins, as for most kernel parameters.
type Cmdline struct {
	Params map[string]Param
	// Order lists parameter names as they appear (repeats included).
	Order []string
}

// Get returns a parameter; '-' and '_' are equivalent in names, as in the
// kernel's own parser.
func (c *Cmdline) Get(name string) (Param, bool) {
	p, ok := c.Params[paramKey(name)]
	return p, ok
}

func paramKey(name string) string {
	if i := strings.IndexByte(name, '-'); i < 0 {
		return name
	}
	return strings.ReplaceAll(name, "-", "_")
}

// ReadCmdlineFile reads a kernel command line from a file such as
// /proc/cmdline (gzip content is accepted too).
func ReadCmdlineFile(path string) (*Cmdline, error) {
	data, err := readInput(path)
	if err != nil {
		return nil, err
	}
	return ParseCmdline(data)
}

// ParseCmdline reads a kernel command line: whitespace-separated `name`
// and `name=value` parameters, where double quotes may enclose spaces
// (`name="a b"` or `"name=a b"`). Parsing stops at "--": what follows is
// for init. Newlines count as spaces; a NUL or an unterminated quote is an
// error with its line and column.
func ParseCmdline(data []byte) (*Cmdline, error) {
	c := &Cmdline{Params: map[string]Param{}}
	line, col := 1, 0
	i := 0
	next := func() byte {
		b := data[i]
		i++
		if b == '\n' {
			line, col = line+1, 0
		} else {
			col++
		}
		return b
	}
	for i < len(data) {
		if isSpace(data[i]) {
			next()
			continue
		}
		startLine, startCol := line, col+1
		var tok strings.Builder
		inQuote := false
		for i < len(data) && (inQuote || !isSpace(data[i])) {
			b := next()
			switch b {
			case 0:
				return nil, fmt.Errorf("%d:%d: NUL byte in command line", line, col)
			case '"':
				inQuote = !inQuote
				continue
			case '\n':
				// Inside quotes a newline is still a separator for us: a
				// command line is one line.
				return nil, fmt.Errorf("%d:%d: unterminated quote", startLine, startCol)
			}
			tok.WriteByte(b)
		}
		if inQuote {
			return nil, fmt.Errorf("%d:%d: unterminated quote", startLine, startCol)
		}
		t := tok.String()
		if t == "--" {
			break
		}
		p := Param{Name: t, Line: startLine, Column: startCol}
		if eq := strings.IndexByte(t, '='); eq >= 0 {
			p.Name, p.Value, p.HasValue = t[:eq], t[eq+1:], true
		}
		if p.Name == "" {
			return nil, fmt.Errorf("%d:%d: parameter without a name", startLine, startCol)
		}
		k := paramKey(p.Name)
		c.Params[k] = p
		c.Order = append(c.Order, k)
	}
	return c, nil
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }
