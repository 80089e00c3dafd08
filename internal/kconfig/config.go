// Package kconfig reads Linux kernel configurations (.config, .config.gz,
// /proc/config.gz), kernel command lines and `sysctl -a` style files, and
// checks them against profiles of rules written as data (TOML).
package kconfig

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// maxInput bounds what is read from a file, after decompression: real
// configurations are well under a megabyte.
const maxInput = 64 << 20

// Option is one assignment in a configuration.
type Option struct {
	// Name is the symbol without the CONFIG_ prefix.
	Name string
	// Value is the assigned value with quotes removed and escapes
	// resolved; empty when NotSet.
	Value string
	// NotSet is true for a `# CONFIG_X is not set` line.
	NotSet bool
	// Quoted is true when the value was a string literal.
	Quoted bool
	// Line is the 1-based line of the (last) assignment.
	Line int
}

// Problem is a line of a configuration that is malformed or that repeats
// an option.
type Problem struct {
	Line    int    `json:"line"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Column > 0 {
		return fmt.Sprintf("%d:%d: %s", p.Line, p.Column, p.Message)
	}
	return fmt.Sprintf("%d: %s", p.Line, p.Message)
}

// Config is a parsed kernel configuration.
type Config struct {
	// Arch is the normalized architecture: x86_64, x86_32, arm64, arm,
	// riscv, or another name taken from the header; empty when unknown.
	Arch string
	// HeaderArch is the architecture as the header names it ("x86").
	HeaderArch string
	// Version is the kernel version from the header; zero when unknown.
	Version Version
	// VersionText is the version as the header spells it.
	VersionText string
	// Options maps a symbol name (without CONFIG_) to its assignment.
	Options map[string]Option
	// Problems lists malformed lines and repeated options, in line order.
	Problems []Problem
	// Lines is the number of lines read.
	Lines int
}

// Get returns the option named name (with or without the CONFIG_ prefix).
func (c *Config) Get(name string) (Option, bool) {
	o, ok := c.Options[strings.TrimPrefix(name, "CONFIG_")]
	return o, ok
}

// ReadFile reads a configuration file, gzip-compressed or not (the content
// decides, not the name), such as /proc/config.gz.
func ReadFile(path string) (*Config, error) {
	data, err := readInput(path)
	if err != nil {
		return nil, err
	}
	return Parse(data)
}

// readInput reads a whole file, decompressing gzip content.
func readInput(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// /proc files report a zero size: read until EOF.
	data, err := io.ReadAll(io.LimitReader(f, maxInput+1))
	if err != nil {
		return nil, err
	}
	return decompress(data)
}

// decompress returns data, gunzipped when it starts with the gzip magic.
func decompress(data []byte) ([]byte, error) {
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		if len(data) > maxInput {
			return nil, fmt.Errorf("input larger than %d bytes", maxInput)
		}
		return data, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxInput+1))
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	if len(out) > maxInput {
		return nil, fmt.Errorf("gunzip: more than %d bytes", maxInput)
	}
	return out, nil
}

// Parse reads a configuration (uncompressed or gzip). Malformed lines and
// repeated options do not stop it: they are listed in Config.Problems with
// their positions, and the last assignment of an option wins, as in
// kconfig itself. Parse fails only when the input cannot be read at all
// (bad gzip data, not text).
func Parse(data []byte) (*Config, error) {
	data, err := decompress(data)
	if err != nil {
		return nil, err
	}
	if bytes.IndexByte(data, 0) >= 0 {
		line := 1 + bytes.Count(data[:bytes.IndexByte(data, 0)], []byte{'\n'})
		return nil, fmt.Errorf("line %d: NUL byte: not a text file", line)
	}
	// One string for the whole input: names and values are substrings of
	// it, with no allocation per line.
	text := string(data)
	c := &Config{Options: make(map[string]Option, strings.Count(text, "\n")+1)}
	lineNo := 0
	for len(text) > 0 {
		var line string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			line, text = text, ""
		}
		lineNo++
		c.parseLine(lineNo, line)
	}
	c.Lines = lineNo
	c.Arch = normalizeArch(c)
	return c, nil
}

func (c *Config) problem(line, col int, format string, args ...any) {
	c.Problems = append(c.Problems, Problem{Line: line, Column: col, Message: fmt.Sprintf(format, args...)})
}

func (c *Config) parseLine(n int, line string) {
	line = strings.TrimRight(line, " \t\r")
	start := 0
	for start < len(line) && (line[start] == ' ' || line[start] == '\t') {
		start++
	}
	s := line[start:]
	switch {
	case len(s) == 0:
		return
	case s[0] == '#':
		c.parseComment(n, s)
		return
	case !strings.HasPrefix(s, "CONFIG_"):
		c.problem(n, start+1, "expected CONFIG_NAME=VALUE or a comment")
		return
	}
	eq := strings.IndexByte(s, '=')
	if eq < 0 {
		c.problem(n, start+1, "expected '=' after the option name")
		return
	}
	name := s[len("CONFIG_"):eq]
	if len(name) == 0 {
		c.problem(n, start+1, "empty option name")
		return
	}
	if bad := invalidNameByte(name); bad >= 0 {
		c.problem(n, start+len("CONFIG_")+bad+1, "invalid character %q in option name", name[bad])
		return
	}
	v := s[eq+1:]
	vcol := start + eq + 2
	opt := Option{Name: name, Line: n}
	switch {
	case len(v) == 0:
		c.problem(n, vcol, "empty value for CONFIG_%s", name)
		return
	case v[0] == '"':
		str, end, err := unquote(v)
		if err != nil {
			c.problem(n, vcol+end, "%v", err)
			return
		}
		if end != len(v) {
			c.problem(n, vcol+end, "unexpected text after the closing quote")
			return
		}
		opt.Value, opt.Quoted = str, true
	default:
		if i := strings.IndexAny(v, " \t\""); i >= 0 {
			c.problem(n, vcol+i, "unquoted value contains %q", v[i])
			return
		}
		opt.Value = v
		if opt.Value == "n" {
			opt.Value, opt.NotSet = "", true
		}
	}
	c.set(opt)
}

// invalidNameByte returns the index of the first byte of name that cannot
// be in a symbol name, or -1; an empty name reports 0.
func invalidNameByte(name string) int {
	if len(name) == 0 {
		return 0
	}
	for i := 0; i < len(name); i++ {
		b := name[i]
		if !(b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_') {
			return i
		}
	}
	return -1
}

func (c *Config) set(o Option) {
	if prev, ok := c.Options[o.Name]; ok {
		c.problem(o.Line, 0, "CONFIG_%s repeated (first at line %d); the last assignment wins", o.Name, prev.Line)
	}
	c.Options[o.Name] = o
}

// unquote reads a kconfig string literal at the start of v and returns
// its value and the index just past the closing quote.
func unquote(v string) (string, int, error) {
	end := strings.IndexAny(v[1:], `"\`)
	if end >= 0 && v[1+end] == '"' {
		return v[1 : 1+end], end + 2, nil // no escapes: a substring
	}
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		switch v[i] {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			if i+1 < len(v) {
				i++
			}
		}
		b.WriteByte(v[i])
	}
	return "", len(v) - 1, errors.New("unterminated string: missing closing quote")
}

const (
	notSetPrefix = "# CONFIG_"
	notSetSuffix = " is not set"
	headerPrefix = "# Linux/"
	headerSuffix = " Kernel Configuration"
)

func (c *Config) parseComment(n int, s string) {
	switch {
	case strings.HasPrefix(s, notSetPrefix) && strings.HasSuffix(s, notSetSuffix):
		name := s[len(notSetPrefix) : len(s)-len(notSetSuffix)]
		if invalidNameByte(name) >= 0 {
			return // prose in a comment, not an assignment
		}
		c.set(Option{Name: name, NotSet: true, Line: n})
	case c.HeaderArch == "" && strings.HasPrefix(s, headerPrefix) && strings.HasSuffix(s, headerSuffix):
		f := strings.Fields(s[len(headerPrefix) : len(s)-len(headerSuffix)])
		if len(f) != 2 {
			return
		}
		c.HeaderArch, c.VersionText = f[0], f[1]
		if v, err := ParseVersion(f[1]); err == nil {
			c.Version = v
		}
	}
}

// archSymbols decide the architecture when the configuration says it.
var archSymbols = []struct{ sym, arch string }{
	{"X86_64", "x86_64"},
	{"X86_32", "x86_32"},
	{"ARM64", "arm64"},
	{"ARM", "arm"},
	{"RISCV", "riscv"},
}

// headerArch maps the architecture of the header to a normalized one.
var headerArch = map[string]string{
	"x86_64":  "x86_64",
	"i386":    "x86_32",
	"x86_32":  "x86_32",
	"arm64":   "arm64",
	"aarch64": "arm64",
	"arm":     "arm",
	"riscv":   "riscv",
	"riscv64": "riscv",
}

func normalizeArch(c *Config) string {
	for _, a := range archSymbols {
		if o, ok := c.Options[a.sym]; ok && o.Value == "y" {
			return a.arch
		}
	}
	if a, ok := headerArch[c.HeaderArch]; ok {
		return a
	}
	if c.HeaderArch == "x86" {
		return "" // x86 without X86_64 or X86_32: unknown
	}
	return c.HeaderArch
}

// Arches are the architectures the shipped profiles know.
var Arches = []string{"x86_64", "x86_32", "arm64", "arm", "riscv"}

// NormalizeArch maps a user-given architecture name (x86_64, amd64,
// i386, aarch64, ...) to the form rules use.
func NormalizeArch(s string) (string, error) {
	switch strings.ToLower(s) {
	case "x86_64", "x86-64", "amd64":
		return "x86_64", nil
	case "x86_32", "x86-32", "i386", "i686", "x86":
		return "x86_32", nil
	case "arm64", "aarch64":
		return "arm64", nil
	case "arm", "arm32":
		return "arm", nil
	case "riscv", "riscv64":
		return "riscv", nil
	}
	return "", fmt.Errorf("unknown architecture %q (want one of %s)", s, strings.Join(Arches, ", "))
}

// Version is a kernel version such as 6.6.30.
type Version struct{ Major, Minor, Patch int }

// IsZero reports whether the version is unknown.
func (v Version) IsZero() bool { return v == Version{} }

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Compare returns -1, 0 or +1.
func (v Version) Compare(w Version) int {
	switch {
	case v.Major != w.Major:
		return cmpInt(v.Major, w.Major)
	case v.Minor != w.Minor:
		return cmpInt(v.Minor, w.Minor)
	}
	return cmpInt(v.Patch, w.Patch)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ParseVersion reads "6.6", "6.6.30" or "6.12.0-55.40.1.el10_0.x86_64"
// (what follows the numeric part is ignored).
func ParseVersion(s string) (Version, error) {
	end := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || s[end] == '.') {
		end++
	}
	parts := strings.Split(s[:end], ".")
	if len(parts) < 2 {
		return Version{}, fmt.Errorf("invalid kernel version %q: want MAJOR.MINOR[.PATCH]", s)
	}
	var nums [3]int
	for i, p := range parts[:min(3, len(parts))] {
		n, err := strconv.Atoi(p)
		if err != nil || len(p) > 6 {
			return Version{}, fmt.Errorf("invalid kernel version %q: want MAJOR.MINOR[.PATCH]", s)
		}
		nums[i] = n
	}
	return Version{nums[0], nums[1], nums[2]}, nil
}
