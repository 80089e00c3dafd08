package kconfig

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/nixgate/nixgate/internal/check"
)

// InputFindings are what is wrong with the inputs themselves, whatever
// the profiles: signs that what nixgate judges is not what the kernel
// runs with. Each has its severity; CheckID is left to the caller.
//
//   - a fragment (no CONFIG_LOCALVERSION, which kconfig always writes):
//     rules read an option it leaves out as "not set", but the kernel
//     built from it takes the option's Kconfig default;
//   - an option assigned more than once (the kernel keeps the last; kconfig
//     never writes a repeat, so fragments were concatenated and never
//     resolved: dependencies may drop what they set);
//   - a header whose architecture disagrees with the options (the options
//     decide), or with --arch;
//   - a header that claims an older kernel than the options prove (the
//     options decide, so that version-gated rules cannot be switched off by
//     editing a comment), or a --kernel-version older than that;
//   - a sysctl key set more than once to different values, when a
//     built-in rule reads it (the last one is in effect).
func InputFindings(in *Input) []check.Finding {
	var out []check.Finding
	add := func(sev check.Severity, path string, line int, key, format string, args ...any) {
		out = append(out, check.Finding{Severity: sev, Message: fmt.Sprintf(format, args...),
			Location: check.Location{Path: path, Line: line}, Key: key})
	}
	c := in.Config
	if !c.Complete {
		add(check.High, in.ConfigPath, 0, "fragment",
			"no CONFIG_LOCALVERSION: a fragment, whose missing options take defaults, not \"not set\"")
	}
	for _, r := range c.Repeats {
		o := c.Options[r.Name]
		val := o.Value
		if o.NotSet {
			val = "is not set"
		} else if o.Quoted {
			val = strconv.Quote(val)
		}
		add(check.Medium, in.ConfigPath, o.Line, "repeat:"+r.Name,
			"CONFIG_%s set %d times (lines %s); the kernel keeps the last, %s",
			r.Name, len(r.Lines), joinInts(r.Lines), val)
	}
	if c.HeaderArch != "" {
		switch {
		case in.Arch != "" && !c.HeaderArchAgrees(in.Arch):
			add(check.High, in.ConfigPath, c.HeaderLine, "header-arch",
				"header says Linux/%s, --arch %s: checked as %s", c.HeaderArch, in.Arch, in.Arch)
		case in.Arch == "" && c.ArchSource == "options" && !c.HeaderArchAgrees(c.Arch):
			add(check.High, in.ConfigPath, c.HeaderLine, "header-arch",
				"header says Linux/%s, the options %s: checked as %s", c.HeaderArch, strings.Join(c.ArchSymbols, ", "), c.Arch)
		}
	}
	hint := c.Inferred
	switch {
	case !in.Version.IsZero() && in.Version.Less(hint.Version):
		add(check.High, in.ConfigPath, hint.Line, "version-flag",
			"--kernel-version %s, but %s exists only since %s", in.Version.Short(), hint.Symbol, hint.Version.Short())
	case in.Version.IsZero() && c.HeaderVersionTooOld():
		add(check.High, in.ConfigPath, c.HeaderLine, "header-version",
			"header claims Linux %s, %s (line %d) is %s+: checked as %s",
			c.VersionText, hint.Symbol, hint.Line, hint.Version.Short(), hint.Version.Short())
	}
	if in.Sysctl != nil && len(in.Sysctl.Repeats) > 0 {
		read := builtinSysctlKeys()
		for _, r := range in.Sysctl.Repeats {
			if !read[r.Key] || len(slices.Compact(slices.Clone(r.Values))) < 2 {
				continue
			}
			last := r.Values[len(r.Values)-1]
			add(check.Medium, in.SysctlPath, r.Lines[len(r.Lines)-1], "sysctl-repeat:"+r.Key,
				"sysctl %s set %d times; the last, %s, wins", clip(r.Key, 40), len(r.Lines), clip(last, 12))
		}
	}
	return out
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

var (
	sysctlKeysOnce sync.Once
	sysctlKeys     map[string]bool
)

// builtinSysctlKeys is every sysctl key a rule of a built-in profile reads.
func builtinSysctlKeys() map[string]bool {
	sysctlKeysOnce.Do(func() {
		sysctlKeys = map[string]bool{}
		var walk func(n *node)
		walk = func(n *node) {
			if n == nil {
				return
			}
			if n.typ == nLeaf && n.kind == kindSysctl {
				sysctlKeys[n.name] = true
			}
			for _, k := range n.kids {
				walk(k)
			}
		}
		for _, name := range Builtins() {
			var l Loader
			p, err := l.Load(name)
			if err != nil {
				continue
			}
			for _, r := range p.Rules {
				walk(r.test)
				walk(r.when)
			}
		}
	})
	return sysctlKeys
}
