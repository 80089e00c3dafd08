package kconfig

import (
	"fmt"
	"strings"
)

// Sysctl is a parsed `sysctl -a` listing or sysctl.conf file.
type Sysctl struct {
	Values map[string]SysctlValue
}

// SysctlValue is one key's value; whitespace runs are folded to one space.
type SysctlValue struct {
	Value string
	Line  int
}

// Get returns a key's value; "kernel/kptr_restrict" and
// "kernel.kptr_restrict" are the same key.
func (s *Sysctl) Get(key string) (SysctlValue, bool) {
	v, ok := s.Values[sysctlKey(key)]
	return v, ok
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

// ReadSysctlFile reads a sysctl listing from a file.
func ReadSysctlFile(path string) (*Sysctl, error) {
	data, err := readInput(path)
	if err != nil {
		return nil, err
	}
	return ParseSysctl(data)
}

// ParseSysctl reads `key = value` lines as printed by `sysctl -a` or
// written in sysctl.conf (`#` and `;` comments, a leading `-`). A key that
// repeats keeps its first value: `sysctl -a` prints multi-line values
// (dev.cdrom.info) as repeated keys. A line without '=' is an error with
// its line and column.
func ParseSysctl(data []byte) (*Sysctl, error) {
	s := &Sysctl{Values: map[string]SysctlValue{}}
	for n, raw := range strings.Split(string(data), "\n") {
		lineNo := n + 1
		if strings.IndexByte(raw, 0) >= 0 {
			return nil, fmt.Errorf("%d:%d: NUL byte in sysctl file", lineNo, strings.IndexByte(raw, 0)+1)
		}
		line := strings.TrimRight(raw, " \t\r")
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			continue
		}
		col := len(line) - len(trimmed) + 1
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
		if _, dup := s.Values[key]; dup {
			continue
		}
		s.Values[key] = SysctlValue{Value: strings.Join(strings.Fields(trimmed[eq+1:]), " "), Line: lineNo}
	}
	return s, nil
}
