package kconfig

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Option is one assignment in a configuration (Config.Options maps the
// symbol name, without CONFIG_, to it). It is small on purpose: a
// configuration has some 13,000 of them.
type Option struct {
	// Value is the assigned value with quotes removed and escapes
	// resolved; empty when NotSet.
	Value string
	// Line is the 1-based line of the (last) assignment.
	Line int
	// NotSet is true for a `# CONFIG_X is not set` line (and for
	// CONFIG_X=n, which the kernel reads the same way).
	NotSet bool
	// Quoted is true when the value was a string literal.
	Quoted bool
}

// Problem is a position in an input and what is wrong there.
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

// SyntaxError lists the lines of an input that the kernel would read
// differently from what they seem to say (or not at all). Parsing is
// strict: nixgate judges only what the kernel itself would read.
type SyntaxError struct {
	// Path, when set, prefixes every position.
	Path     string
	Problems []Problem
}

// maxShown is the number of problems an error message lists.
const maxShown = 10

func (e *SyntaxError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i == maxShown {
			fmt.Fprintf(&b, "\n(and %d more)", len(e.Problems)-maxShown)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		if e.Path != "" {
			b.WriteString(e.Path + ":")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Repeat is an option assigned more than once. The kernel keeps the last
// assignment (warning "override: reassigning to symbol"); a configuration
// written by kconfig never repeats one, so a repeat means fragments were
// concatenated and never resolved by `make olddefconfig`.
type Repeat struct {
	Name  string `json:"name"`
	Lines []int  `json:"lines"`
}

// Config is a parsed kernel configuration.
type Config struct {
	// Arch is the normalized architecture (x86_64, x86_32, arm64, arm,
	// riscv, or another kernel architecture name): from the options when
	// they say it, else from the header; empty when neither does, or when
	// the options name more than one.
	Arch string
	// ArchSource says where Arch came from: "options", "header" or "".
	ArchSource string
	// ArchSymbols are the architecture symbols the options set to y, in
	// line order (CONFIG_X86_64, CONFIG_ARM64, ...).
	ArchSymbols []string
	// HeaderArch is the architecture as the header names it ("x86").
	HeaderArch string
	// HeaderLine is the line of the `# Linux/ARCH VERSION Kernel
	// Configuration` header; 0 without one.
	HeaderLine int
	// Version is the kernel version rules are evaluated for: the header's,
	// raised to what the options prove when the header claims an older
	// kernel (see Inferred); zero when unknown.
	Version Version
	// HeaderVersion is the version the header claims; VersionText is its
	// spelling.
	HeaderVersion Version
	VersionText   string
	// Inferred is the newest kernel release the options prove: the
	// configuration mentions a symbol that appeared in that release.
	Inferred VersionHint
	// Options maps a symbol name (without CONFIG_) to its assignment.
	Options map[string]Option
	// Repeats lists options assigned more than once, in line order.
	Repeats []Repeat
	// Complete is true when the configuration has a CONFIG_LOCALVERSION
	// line, which kconfig writes into every .config: without it the file
	// is a fragment, and an option it does not mention takes its Kconfig
	// default rather than being "not set".
	Complete bool
	// Lines is the number of lines read.
	Lines int
}

// Get returns the option named name (with or without the CONFIG_ prefix).
func (c *Config) Get(name string) (Option, bool) {
	o, ok := c.Options[strings.TrimPrefix(name, "CONFIG_")]
	return o, ok
}

// ReadConfigFile reads a configuration file (see ReadInput), such as
// /proc/config.gz, and parses it; a syntax error carries the path.
func ReadConfigFile(path string) (*Config, error) {
	data, err := ReadInput(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseConfig(data)
	if se, ok := err.(*SyntaxError); ok {
		se.Path = path
	}
	return c, err
}

// ParseConfig parses a kernel configuration, uncompressed or gzip, as
// strictly as the kernel's scripts/kconfig/confdata.c reads it: a line the
// kernel would ignore or read differently (an indented line, a quoted or
// misspelled bool, an unquoted string, a mangled "is not set" comment,
// text after a closing quote) is an error with its line and column, never
// trimmed or dropped; so is an input with no option at all. An option
// assigned twice is not an error — the kernel keeps the last assignment,
// and so does Config — but it is listed in Repeats.
func ParseConfig(data []byte) (*Config, error) {
	data, err := Decompress(data)
	if err != nil {
		return nil, err
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		line := 1 + bytes.Count(data[:i], []byte{'\n'})
		col := i + 1
		if nl := bytes.LastIndexByte(data[:i], '\n'); nl >= 0 {
			col = i - nl
		}
		return nil, &SyntaxError{Problems: []Problem{{Line: line, Column: col, Message: "NUL byte: not a text file"}}}
	}
	// One string for the whole input: names and values are substrings of
	// it, with no allocation per line.
	text := string(data)
	p := &configParser{c: &Config{Options: make(map[string]Option, min(strings.Count(text, "\n")+1, 1<<16))}}
	lineNo := 0
	for len(text) > 0 {
		var line string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			line, text = text, ""
		}
		lineNo++
		p.line(lineNo, line)
	}
	c := p.c
	c.Lines = lineNo
	if len(c.Options) == 0 && len(p.problems) == 0 {
		p.problem(1, 0, "no CONFIG_ option: an empty or comment-only file is not a kernel configuration")
	}
	if len(p.problems) > 0 {
		return nil, &SyntaxError{Problems: p.problems}
	}
	if p.repeated != nil {
		gatherRepeats(c, string(data), p.repeated)
	}
	_, c.Complete = c.Options["LOCALVERSION"]
	detectArch(c)
	inferVersion(c)
	return c, nil
}

type configParser struct {
	c        *Config
	problems []Problem
	// repeated holds the options assigned more than once.
	repeated map[string]bool
}

func (p *configParser) problem(line, col int, format string, args ...any) {
	p.problems = append(p.problems, Problem{Line: line, Column: col, Message: fmt.Sprintf(format, args...)})
}

func (p *configParser) line(n int, line string) {
	line = strings.TrimSuffix(line, "\r") // the kernel drops a CR before the newline
	switch {
	case line == "":
		return
	case line[0] == '#':
		p.comment(n, line)
		return
	case line[0] == ' ' || line[0] == '\t':
		if strings.TrimLeft(line, " \t") == "" {
			return // blank
		}
		p.problem(n, 1, "indented line: the kernel reads only lines that start with CONFIG_ or '# CONFIG_' and ignores this one")
		return
	case !strings.HasPrefix(line, "CONFIG_"):
		p.problem(n, 1, "unexpected text: the kernel ignores a line that is not CONFIG_NAME=VALUE or a comment")
		return
	}
	eq := strings.IndexByte(line, '=')
	if eq < 0 {
		p.problem(n, 1, "no '=' after the option name: the kernel ignores this line")
		return
	}
	name := line[len("CONFIG_"):eq]
	if bad := invalidNameByte(name); bad >= 0 {
		if name == "" {
			p.problem(n, len("CONFIG_")+1, "empty option name")
		} else {
			p.problem(n, len("CONFIG_")+bad+1, "invalid character %q in option name: the kernel knows no such symbol and ignores the line", name[bad])
		}
		return
	}
	v := line[eq+1:]
	vcol := eq + 2
	opt := Option{Line: n}
	switch {
	case v == "":
		p.problem(n, vcol, "empty value for CONFIG_%s: the kernel ignores it and uses the default", name)
		return
	case v[0] == '"':
		str, end, ok := unquote(v)
		if !ok {
			p.problem(n, vcol, "unterminated string: missing closing quote")
			return
		}
		if end != len(v) {
			p.problem(n, vcol+end, "text after the closing quote: the kernel ignores it")
			return
		}
		if str == "y" || str == "m" || str == "n" {
			p.problem(n, vcol, "quoted bool %s: the kernel ignores a quoted value for a bool or tristate option and uses its default; write CONFIG_%s=%s", v, name, str)
			return
		}
		opt.Value, opt.Quoted = str, true
	default:
		if !plainValue(v) {
			if i := strings.IndexAny(v, " \t#"); i >= 0 {
				p.problem(n, vcol+i, "unexpected text after the value: the kernel reads only y, m, n, a number or a \"string\"")
			} else {
				p.problem(n, vcol, "unquoted value %q: the kernel reads only y, m, n, a number or a \"string\" and ignores it", v)
			}
			return
		}
		opt.Value = v
		if v == "n" {
			opt.Value, opt.NotSet = "", true
		}
	}
	p.set(name, opt)
}

// plainValue reports whether v is an unquoted value kconfig writes: y, m,
// n, a decimal integer or a 0x-prefixed hexadecimal number.
func plainValue(v string) bool {
	switch v {
	case "y", "m", "n":
		return true
	}
	digits := strings.TrimPrefix(v, "-")
	isHex := false
	if h, ok := strings.CutPrefix(v, "0x"); ok {
		digits, isHex = h, true
	} else if h, ok := strings.CutPrefix(v, "0X"); ok {
		digits, isHex = h, true
	}
	if digits == "" {
		return false
	}
	for i := 0; i < len(digits); i++ {
		b := digits[i]
		if !(b >= '0' && b <= '9' || isHex && (b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F')) {
			return false
		}
	}
	return true
}

// invalidNameByte returns the index of the first byte of name that cannot
// be in a symbol name, or -1; an empty name reports 0.
func invalidNameByte(name string) int {
	if len(name) == 0 {
		return 0
	}
	for i := 0; i < len(name); i++ {
		if !nameByte[name[i]] {
			return i
		}
	}
	return -1
}

// nameByte marks the bytes a symbol name may hold: [A-Za-z0-9_].
var nameByte = func() (t [256]bool) {
	for b := 0; b < 256; b++ {
		t[b] = b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_'
	}
	return t
}()

// set records an assignment; the last one of an option wins. A repeat is
// noticed by the map not growing (one hash per line, not two), and its
// lines are gathered after the parse (repeats are rare).
func (p *configParser) set(name string, o Option) {
	n := len(p.c.Options)
	p.c.Options[name] = o
	if len(p.c.Options) == n {
		if p.repeated == nil {
			p.repeated = map[string]bool{}
		}
		p.repeated[name] = true
	}
}

// gatherRepeats fills c.Repeats: every option assigned more than once,
// with all its lines, ordered by the line of its second assignment.
func gatherRepeats(c *Config, text string, repeated map[string]bool) {
	lines := map[string][]int{}
	for n := 1; len(text) > 0; n++ {
		var line string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			line, text = text, ""
		}
		line = strings.TrimSuffix(line, "\r")
		var name string
		switch {
		case strings.HasPrefix(line, "CONFIG_"):
			if eq := strings.IndexByte(line, '='); eq > 0 {
				name = line[len("CONFIG_"):eq]
			}
		case strings.HasPrefix(line, notSetPrefix) && strings.HasSuffix(line, notSetSuffix):
			name = line[len(notSetPrefix) : len(line)-len(notSetSuffix)]
		}
		if repeated[name] {
			lines[name] = append(lines[name], n)
		}
	}
	for name, ls := range lines {
		c.Repeats = append(c.Repeats, Repeat{Name: name, Lines: ls})
	}
	slices.SortFunc(c.Repeats, func(a, b Repeat) int { return cmpInt(a.Lines[1], b.Lines[1]) })
}

// unquote reads a kconfig string literal at the start of v, as the kernel
// does: a backslash makes the next byte literal. It returns the value and
// the index just past the closing quote.
func unquote(v string) (string, int, bool) {
	end := strings.IndexAny(v[1:], `"\`)
	if end >= 0 && v[1+end] == '"' {
		return v[1 : 1+end], end + 2, true // no escapes: a substring
	}
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		switch v[i] {
		case '"':
			return b.String(), i + 1, true
		case '\\':
			if i+1 < len(v) {
				i++
			}
		}
		b.WriteByte(v[i])
	}
	return "", 0, false
}

const (
	notSetPrefix = "# CONFIG_"
	notSetSuffix = " is not set"
	headerPrefix = "# Linux/"
	headerSuffix = " Kernel Configuration"
)

func (p *configParser) comment(n int, s string) {
	c := p.c
	if strings.HasPrefix(s, notSetPrefix) && strings.HasSuffix(s, notSetSuffix) {
		name := s[len(notSetPrefix) : len(s)-len(notSetSuffix)]
		if invalidNameByte(name) < 0 {
			p.set(name, Option{NotSet: true, Line: n})
			return
		}
	}
	// The kernel reads `# CONFIG_X is not set` and nothing like it: a
	// comment that starts with an option name and says "is not set" in
	// another spelling is a line the kernel would ignore or misread.
	body := strings.TrimLeft(s[1:], " \t")
	if rest, ok := strings.CutPrefix(body, "CONFIG_"); ok {
		end := 0
		for end < len(rest) && invalidNameByte(rest[end:end+1]) < 0 {
			end++
		}
		if end > 0 && strings.HasPrefix(strings.TrimLeft(rest[end:], " \t"), "is not set") {
			p.problem(n, 1, "malformed comment: the kernel reads an unset option only as '# CONFIG_%s is not set', exactly", rest[:end])
			return
		}
	}
	if strings.HasPrefix(s, headerPrefix) && strings.HasSuffix(s, headerSuffix) {
		f := strings.Fields(s[len(headerPrefix) : len(s)-len(headerSuffix)])
		if len(f) != 2 {
			return
		}
		if c.HeaderLine > 0 {
			if f[0] != c.HeaderArch || f[1] != c.VersionText {
				p.problem(n, 1, "a second configuration header (the first is at line %d): configurations of two kernels were concatenated", c.HeaderLine)
			}
			return
		}
		c.HeaderLine, c.HeaderArch, c.VersionText = n, f[0], f[1]
		if v, err := ParseVersion(f[1]); err == nil {
			c.HeaderVersion = v
		}
	}
}

// archSymbols are the symbols whose value y says the architecture: every
// configuration kconfig writes for that architecture has one.
var archSymbols = map[string]string{
	"X86_64":    "x86_64",
	"X86_32":    "x86_32",
	"ARM64":     "arm64",
	"ARM":       "arm",
	"RISCV":     "riscv",
	"PPC":       "powerpc",
	"S390":      "s390",
	"MIPS":      "mips",
	"LOONGARCH": "loongarch",
}

// headerArch maps the architecture of the header to a normalized one;
// "x86" is either x86_64 or x86_32 and decides nothing.
var headerArch = map[string]string{
	"x86_64": "x86_64", "i386": "x86_32", "x86_32": "x86_32",
	"arm64": "arm64", "aarch64": "arm64", "arm": "arm",
	"riscv": "riscv", "riscv64": "riscv",
	"powerpc": "powerpc", "s390": "s390", "mips": "mips", "loongarch": "loongarch",
}

func detectArch(c *Config) {
	type sym struct {
		name string
		line int
	}
	var found []sym
	for s := range archSymbols {
		if o, ok := c.Options[s]; ok && o.Value == "y" {
			found = append(found, sym{s, o.Line})
		}
	}
	// Line order, for stable messages.
	for i := 1; i < len(found); i++ {
		for j := i; j > 0 && found[j].line < found[j-1].line; j-- {
			found[j], found[j-1] = found[j-1], found[j]
		}
	}
	for _, s := range found {
		c.ArchSymbols = append(c.ArchSymbols, "CONFIG_"+s.name)
	}
	switch {
	case len(found) == 1:
		c.Arch, c.ArchSource = archSymbols[found[0].name], "options"
	case len(found) > 1:
		// Ambiguous: the caller must say (--arch).
	default:
		if a, ok := headerArch[c.HeaderArch]; ok {
			c.Arch, c.ArchSource = a, "header"
		}
	}
}

// HeaderArchAgrees reports whether the header's architecture is consistent
// with arch (the header's "x86" fits both x86_64 and x86_32; a missing
// header fits anything).
func (c *Config) HeaderArchAgrees(arch string) bool {
	switch {
	case c.HeaderArch == "" || arch == "":
		return true
	case c.HeaderArch == "x86":
		return arch == "x86_64" || arch == "x86_32"
	}
	a, ok := headerArch[c.HeaderArch]
	return !ok || a == arch
}

// Arches are the architectures the shipped profiles know.
var Arches = []string{"x86_64", "x86_32", "arm64", "arm", "riscv"}

// NormalizeArch maps a user-given architecture name (x86_64, amd64,
// i386, aarch64, ...) to the form rules use.
func NormalizeArch(s string) (string, error) {
	switch strings.ToLower(s) {
	case "x86_64", "x86-64", "amd64":
		return "x86_64", nil
	case "x86_32", "x86-32", "i386", "i686":
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

// Short renders 6.6.0 as 6.6 and 6.6.8 as 6.6.8.
func (v Version) Short() string {
	if v.Patch == 0 {
		return fmt.Sprintf("%d.%d", v.Major, v.Minor)
	}
	return v.String()
}

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

// Less reports whether v is older than w.
func (v Version) Less(w Version) bool { return v.Compare(w) < 0 }

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
	parts := strings.Split(strings.TrimSuffix(s[:end], "."), ".")
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
	if nums[0] < 2 {
		return Version{}, fmt.Errorf("invalid kernel version %q: want MAJOR.MINOR[.PATCH]", s)
	}
	return Version{nums[0], nums[1], nums[2]}, nil
}
