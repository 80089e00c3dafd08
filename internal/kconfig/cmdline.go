package kconfig

import (
	"bytes"
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

// Cmdline is a parsed kernel command line.
type Cmdline struct {
	// Params maps a parameter name (with '-' read as '_', as the kernel
	// compares names) to its effective occurrence: the last one, except
	// for the parameters in combined (see Get).
	Params map[string]Param
	// All lists every occurrence in order, repeats included.
	All []Param
	// Init is what follows "--": arguments for init, not for the kernel.
	Init string
}

// Get returns the effective value of a parameter; '-' and '_' are
// equivalent in names, as in the kernel.
func (c *Cmdline) Get(name string) (Param, bool) {
	p, ok := c.Params[paramKey(name)]
	return p, ok
}

func paramKey(name string) string {
	if strings.IndexByte(name, '-') < 0 {
		return name
	}
	return strings.ReplaceAll(name, "-", "_")
}

// combined says how a repeated parameter combines where the kernel does
// not simply let the last occurrence win. Parameters whose occurrences
// add up (efi=, each setting the flags it names) are read as last-wins:
// that can only fail a rule the kernel would pass, never the reverse.
var combined = map[string]func(prev, next Param) Param{
	// security/lockdown/lockdown.c: lock_kernel_down() only ever raises
	// the level, so a later lockdown=integrity cannot lower an earlier
	// lockdown=confidentiality.
	"lockdown": func(prev, next Param) Param {
		if lockdownLevel(next.Value) >= lockdownLevel(prev.Value) {
			return next
		}
		return prev
	},
}

func lockdownLevel(v string) int {
	switch v {
	case "integrity":
		return 1
	case "confidentiality":
		return 2
	}
	return 0
}

// ReadCmdlineFile reads a kernel command line from a file such as
// /proc/cmdline (see ReadInput).
func ReadCmdlineFile(path string) (*Cmdline, error) {
	data, err := ReadInput(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseCmdline(data)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	return c, nil
}

// isSpace is the kernel's isspace() (lib/ctype.c): the ASCII blanks and
// 0xA0, which the kernel's Latin-1 table counts as a space.
func isSpace(b byte) bool {
	switch b {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0xa0:
		return true
	}
	return false
}

// ParseCmdline reads a kernel command line the way the kernel's
// next_arg() (lib/cmdline.c) and parse_args() (kernel/params.c) do:
// parameters are separated by blanks outside double quotes; a quote
// toggles quoting wherever it is, and only a quote that opens the
// parameter or its value, and the one that closes it, are removed
// (`name="a b"` and `"name=a b"` give name = `a b`; `a=b"c d"` keeps its
// quotes). A bare "--" ends the kernel's parameters: the rest is for init.
//
// Trailing NUL bytes (a C string in a UKI's .cmdline section) are
// dropped; a NUL before the end would hide what follows from the kernel
// and is an error, as is an unterminated quote: both with line:column.
func ParseCmdline(data []byte) (*Cmdline, error) {
	data = bytes.TrimRight(data, "\x00")
	if i := bytes.IndexByte(data, 0); i >= 0 {
		l, col := position(data, i)
		return nil, fmt.Errorf("%d:%d: NUL byte in the command line: the kernel would ignore what follows", l, col)
	}
	c := &Cmdline{Params: map[string]Param{}}
	i := 0
	for {
		for i < len(data) && isSpace(data[i]) {
			i++
		}
		if i >= len(data) {
			break
		}
		start := i
		quoted := data[i] == '"'
		if quoted {
			i++
		}
		argStart := i
		inQuote, equals := quoted, -1
		for ; i < len(data); i++ {
			b := data[i]
			if isSpace(b) && !inQuote {
				break
			}
			if equals < 0 && b == '=' && i > argStart {
				equals = i
			}
			if b == '"' {
				inQuote = !inQuote
			}
		}
		if inQuote {
			l, col := position(data, start)
			return nil, fmt.Errorf("%d:%d: unterminated quote: the kernel would read the rest of the line as one parameter", l, col)
		}
		end := i // one past the parameter
		arg := data[argStart:end]
		l, col := position(data, start)
		p := Param{Line: l, Column: col}
		if equals < 0 {
			if quoted && len(arg) > 0 && arg[len(arg)-1] == '"' {
				arg = arg[:len(arg)-1]
			}
			p.Name = string(arg)
		} else {
			p.Name = string(data[argStart:equals])
			val := data[equals+1 : end]
			stripEnd := quoted
			if len(val) > 0 && val[0] == '"' {
				val, stripEnd = val[1:], true
			}
			if stripEnd && len(val) > 0 && val[len(val)-1] == '"' {
				val = val[:len(val)-1]
			}
			p.Value, p.HasValue = string(val), true
		}
		if p.Name == "--" && !p.HasValue {
			c.Init = strings.TrimLeft(string(data[end:]), " \t\n\v\f\r")
			break
		}
		if p.Name == "" {
			return nil, fmt.Errorf("%d:%d: parameter without a name", l, col)
		}
		k := paramKey(p.Name)
		c.All = append(c.All, p)
		if prev, ok := c.Params[k]; ok {
			if f := combined[k]; f != nil {
				p = f(prev, p)
			}
		}
		c.Params[k] = p
	}
	return c, nil
}

// position turns a byte offset into a 1-based line and column.
func position(data []byte, off int) (int, int) {
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	col := off + 1
	if nl := bytes.LastIndexByte(data[:off], '\n'); nl >= 0 {
		col = off - nl
	}
	return line, col
}
