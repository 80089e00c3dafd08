package policy

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/nixgate/nixgate/internal/check"
)

// Template is the commented policy `nixgate init` writes: every check with
// its defaults, so that the file documents itself. Parsing it gives the
// built-in default.
func Template(checks []*check.Check) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `# nixgate policy. Reference: docs/policy.md; every check: docs/checks.md.
# Strict: an unknown key or a wrong type is an error.
version = %d

# Findings at or above this severity fail the gate (exit 1):
# info, low, medium, high, critical.
fail-on = "high"

# Paths no check looks at (globs, see below).
ignore = []

# Accepted pre-existing findings, written by `+"`nixgate check --write-baseline FILE`"+`.
# baseline = ".nixgate-baseline.json"

# nixgate pr: changes to these paths are listed as "needs security review"
# (sensitive-paths replaces the built-in list, see docs/pr.md), and a
# flake.lock change needs the lock label.
# [pr]
# extra-sensitive-paths = ["secrets/**"]
# lock-label = "dependency-update"

# What the repository is. init names the init program's crates (directories
# or package names): rust-unsafe checks them whole at high (without it, every
# crate's non-test code at medium), source-loc-limit limits each to
# init-limit code lines, dependency-allowlist checks what they depend on.
# [project]
# init = ["init"]

# Per check: enabled, severity, ignore (path globs; "**" spans directories,
# a pattern without "/" matches a name at any depth), and the check's own
# options. A single finding is suppressed inline, on its line or the line
# above, with a reason:  nixgate:ignore <check-id> -- <reason>
`, Version)
	for _, c := range checks {
		fmt.Fprintf(&b, "\n# %s (%s): %s\n", c.ID, strings.Join(c.Rules, ", "), c.Title)
		for _, l := range Wrap(c.Why, 76) {
			fmt.Fprintf(&b, "# %s\n", l)
		}
		fmt.Fprintf(&b, "[checks.%s]\n", c.ID)
		fmt.Fprintf(&b, "enabled = %t\n", !c.Disabled)
		fmt.Fprintf(&b, "severity = %q\n", c.Severity)
		fmt.Fprintf(&b, "ignore = []\n")
		for _, o := range Options(c) {
			fmt.Fprintf(&b, "# %s\n%s = %s\n", o.Doc, o.Key, o.Default)
		}
	}
	return b.Bytes()
}

// Option describes one of a check's own options.
type Option struct {
	Key     string `json:"key"`
	Doc     string `json:"doc"`
	Type    string `json:"type"`
	Default string `json:"default"` // a TOML value
}

// Options lists a check's own options with their defaults.
func Options(c *check.Check) []Option {
	if c.Options == nil {
		return nil
	}
	v := reflect.ValueOf(c.Options).Elem()
	var out []Option
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		out = append(out, Option{Key: tomlKey(f), Doc: f.Tag.Get("doc"), Type: describeType(f.Type.String()), Default: tomlValue(v.Field(i))})
	}
	return out
}

// tomlValue renders a value as an inline TOML value.
func tomlValue(v reflect.Value) string {
	var b bytes.Buffer
	enc := toml.NewEncoder(&b)
	enc.SetTablesInline(true)
	enc.SetArraysMultiline(false)
	if v.Kind() == reflect.Slice && v.IsNil() {
		return "[]"
	}
	if v.Kind() == reflect.Map && v.IsNil() {
		return "{}"
	}
	if err := enc.Encode(map[string]any{"v": v.Interface()}); err != nil {
		return fmt.Sprintf("%q", fmt.Sprint(v.Interface()))
	}
	_, val, _ := strings.Cut(strings.TrimSpace(b.String()), "=")
	val = strings.TrimSpace(val)
	if val == "" {
		return "{}"
	}
	return val
}

// Wrap breaks s into lines of at most width columns (longer words stay
// whole).
func Wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
