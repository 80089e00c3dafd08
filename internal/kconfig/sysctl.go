package kconfig

import (
	"fmt"
	"path"
	"strings"
)

// Sysctl is a parsed `sysctl -a` listing or sysctl.conf file.
type Sysctl struct {
	// Values maps a key (dots as separators) to its effective value: the
	// last assignment, as sysctl(8) applies the lines in order.
	Values map[string]SysctlValue
	// Globs are systemd-sysctl style patterns (net.ipv4.conf.*.rp_filter),
	// in line order.
	Globs []SysctlValue
	// Repeats lists keys assigned more than once, in line order.
	Repeats []SysctlRepeat
}

// SysctlValue is one key's value; whitespace runs are folded to one space.
type SysctlValue struct {
	Key   string
	Value string
	Line  int
}

// SysctlRepeat is a key assigned more than once, with the values in line
// order (the last one is in effect).
type SysctlRepeat struct {
	Key    string   `json:"key"`
	Lines  []int    `json:"lines"`
	Values []string `json:"values"`
}

// Get returns a key's effective value: the last line that assigns it,
// directly or through a glob. "kernel/kptr_restrict" and
// "kernel.kptr_restrict" are the same key.
func (s *Sysctl) Get(key string) (SysctlValue, bool) {
	key = sysctlKey(key)
	v, ok := s.Values[key]
	for _, g := range s.Globs {
		if (!ok || g.Line > v.Line) && globMatch(g.Key, key) {
			v, ok = g, true
		}
	}
	return v, ok
}

// globMatch matches a dotted key against a pattern whose segments may use
// shell wildcards.
func globMatch(pattern, key string) bool {
	m, err := path.Match(strings.ReplaceAll(pattern, ".", "/"), strings.ReplaceAll(key, ".", "/"))
	return err == nil && m
}

// sysctlKey normalizes a key: when its first separator is '/', slashes
// and dots swap, as procps does.
func sysctlKey(k string) string {
	i := strings.IndexAny(k, "./")
	if i < 0 || k[i] == '.' {
		return k
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '/':
			return '.'
		case '.':
			return '/'
		}
		return r
	}, k)
}

// ReadSysctlFile reads a sysctl listing from a file (see ReadInput).
func ReadSysctlFile(name string) (*Sysctl, error) {
	data, err := ReadInput(name)
	if err != nil {
		return nil, err
	}
	s, err := ParseSysctl(data)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", name, err)
	}
	return s, nil
}

// ParseSysctl reads `key = value` lines as `sysctl -a` prints them and as
// sysctl.conf and sysctl.d files hold them (`#` and `;` comments, a
// leading `-` that only silences errors, systemd-sysctl globs). When a
// key repeats, the last value wins, as when sysctl applies the file; the
// repeat is listed in Repeats. A line without '=', an empty key or a key
// with blanks is an error with its line and column.
func ParseSysctl(data []byte) (*Sysctl, error) {
	text := string(data)
	s := &Sysctl{Values: make(map[string]SysctlValue, min(strings.Count(text, "\n")+1, 1<<16))}
	repeat := map[string]int{}
	for lineNo := 1; len(text) > 0; lineNo++ {
		raw := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			raw, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		if i := strings.IndexByte(raw, 0); i >= 0 {
			return nil, fmt.Errorf("%d:%d: NUL byte in sysctl file", lineNo, i+1)
		}
		line := strings.TrimRight(raw, " \t\r")
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			continue
		}
		col := len(line) - len(trimmed) + 1
		if strings.HasPrefix(trimmed, "sysctl: ") {
			// What `sysctl -a 2>&1` adds for keys it could not read
			// ("sysctl: permission denied on key ..."): no value.
			continue
		}
		trimmed = strings.TrimPrefix(trimmed, "-")
		eq := strings.IndexByte(trimmed, '=')
		if eq < 0 {
			return nil, fmt.Errorf("%d:%d: expected key = value", lineNo, col)
		}
		key := strings.TrimSpace(trimmed[:eq])
		if key == "" || strings.ContainsAny(key, " \t") {
			return nil, fmt.Errorf("%d:%d: invalid sysctl key %q", lineNo, col, key)
		}
		key = sysctlKey(key)
		v := SysctlValue{Key: key, Value: foldBlanks(trimmed[eq+1:]), Line: lineNo}
		if strings.ContainsAny(key, "*?[") {
			s.Globs = append(s.Globs, v)
			continue
		}
		if prev, dup := s.Values[key]; dup {
			i, ok := repeat[key]
			if !ok {
				i = len(s.Repeats)
				repeat[key] = i
				s.Repeats = append(s.Repeats, SysctlRepeat{Key: key, Lines: []int{prev.Line}, Values: []string{prev.Value}})
			}
			s.Repeats[i].Lines = append(s.Repeats[i].Lines, lineNo)
			s.Repeats[i].Values = append(s.Repeats[i].Values, v.Value)
		}
		s.Values[key] = v
	}
	return s, nil
}

// foldBlanks trims s and folds each run of blanks in it to one space,
// without allocating when there is nothing to fold.
func foldBlanks(s string) string {
	s = strings.Trim(s, " \t")
	if !strings.Contains(s, "\t") && !strings.Contains(s, "  ") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}
