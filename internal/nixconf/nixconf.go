// Package nixconf reads nix.conf the way Nix itself reads it: `#` starts a
// comment anywhere on a line; a value is whitespace-separated tokens with no
// quoting and no continuation lines; the separator is a lone `=` token;
// `include` and `!include` are resolved relative to the including file;
// `extra-NAME` appends to NAME and a later plain `NAME =` resets it; the
// last assignment wins; aliases such as build-use-sandbox name the same
// setting. Sources are read in Nix's order (see Load), every effective
// value keeps the file and line it came from, and every read can be
// confined under a root directory to audit an image offline.
//
// Unlike Nix, nixgate does not stop at the first fatal problem: it records
// each one (with file:line:column) and goes on, so that an audit reports
// everything at once.
package nixconf

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// Origin says where a value came from: a file (an absolute path on the
// audited system), "$NIX_CONFIG", or a process's command line.
type Origin struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

func (o Origin) String() string {
	switch {
	case o.Line == 0 && o.Column > 0:
		return fmt.Sprintf("%s#arg%d", o.File, o.Column)
	case o.Line == 0:
		return o.File
	case o.Column == 0:
		return fmt.Sprintf("%s:%d", o.File, o.Line)
	}
	return fmt.Sprintf("%s:%d:%d", o.File, o.Line, o.Column)
}

// Assignment is one `NAME = VALUE` line (or command-line option) as read.
type Assignment struct {
	// Name is the name as written, such as "extra-binary-caches".
	Name string `json:"name"`
	// Setting is the canonical setting name ("substituters").
	Setting string `json:"setting"`
	// Append is true for extra-NAME.
	Append bool     `json:"append,omitempty"`
	Tokens []string `json:"tokens"`
	Origin Origin   `json:"origin"`
}

// Value is a setting's effective value.
type Value struct {
	Name   string   `json:"name"`
	Tokens []string `json:"value"`
	// Set is false when the value is Nix's default.
	Set bool `json:"set"`
	// Origins are the assignment that last set the value, followed by each
	// extra-NAME that appended to it. Empty for a default.
	Origins []Origin `json:"origins,omitempty"`
	// Known is false for a setting nixgate has no specification of.
	Known bool `json:"known"`
}

// String is the value as Nix joins it.
func (v *Value) String() string { return strings.Join(v.Tokens, " ") }

// Origin is where the value was last set (the zero Origin for a default).
func (v *Value) Origin() Origin {
	if len(v.Origins) == 0 {
		return Origin{}
	}
	return v.Origins[0]
}

// OriginOf returns the origin of the assignment that contributed token i:
// the last origin whose assignment contains it, or the first origin.
func (c *Config) OriginOf(setting, token string) Origin {
	v := c.Get(setting)
	for i := len(c.Assignments) - 1; i >= 0; i-- {
		a := c.Assignments[i]
		if a.Setting == setting && slices.Contains(a.Tokens, token) && slices.Contains(v.Origins, a.Origin) {
			return a.Origin
		}
	}
	return v.Origin()
}

// ProblemKind classifies a problem.
type ProblemKind string

// Problem kinds.
const (
	// ProblemSyntax is an illegal line: fewer than two tokens, or a second
	// token other than a lone "=". Nix refuses the whole configuration.
	ProblemSyntax ProblemKind = "syntax"
	// ProblemInclude is an `include` of a missing file (fatal in Nix).
	ProblemInclude ProblemKind = "missing-include"
	// ProblemCycle is an include cycle (Nix recurses until it crashes).
	ProblemCycle ProblemKind = "include-cycle"
	// ProblemValue is a value Nix rejects, such as `sandbox = yes`.
	ProblemValue ProblemKind = "invalid-value"
	// ProblemQuoted is a token that starts or ends with a quote: Nix has
	// no quoting, so the quotes become part of the value.
	ProblemQuoted ProblemKind = "quoted-value"
	// ProblemUnknown is a setting nixgate does not know (Nix may, or may
	// warn "unknown setting").
	ProblemUnknown ProblemKind = "unknown-setting"
	// ProblemRead is a file that exists but could not be read.
	ProblemRead ProblemKind = "unreadable"
)

// Problem is something wrong with the configuration.
type Problem struct {
	Kind   ProblemKind `json:"kind"`
	Origin Origin      `json:"origin"`
	// Fatal problems make every nix command fail (or crash).
	Fatal   bool   `json:"fatal"`
	Message string `json:"message"`
	// Setting is the setting concerned, when there is one.
	Setting string `json:"setting,omitempty"`
}

func (p Problem) Error() string { return p.Origin.String() + ": " + p.Message }

// SourceKind says how Nix found a source.
type SourceKind string

// Source kinds, in Nix's order.
const (
	SourceSystem  SourceKind = "system"   // $NIX_CONF_DIR/nix.conf
	SourceUser    SourceKind = "user"     // NIX_USER_CONF_FILES or XDG files
	SourceInclude SourceKind = "include"  // include / !include
	SourceEnv     SourceKind = "env"      // $NIX_CONFIG
	SourceCmdline SourceKind = "cmdline"  // --option NAME VALUE
	SourceDefault SourceKind = "built-in" // not a source: a default
)

// File is a configuration source that nixgate looked at.
type File struct {
	Path   string     `json:"path"`
	Kind   SourceKind `json:"kind"`
	Exists bool       `json:"exists"`
	// Mode, UID and GID are those of the file (after symlinks) when it
	// exists.
	Mode fs.FileMode `json:"-"`
	Perm string      `json:"mode,omitempty"`
	UID  int         `json:"uid"`
	GID  int         `json:"gid"`
	// From is the include line that named the file.
	From *Origin `json:"includedFrom,omitempty"`
}

// WorldReadable reports whether anyone may read the file.
func (f *File) WorldReadable() bool { return f.Exists && f.Mode.Perm()&0o004 != 0 }

// Config is an effective configuration and how it came to be.
type Config struct {
	// ConfDir is $NIX_CONF_DIR (default /etc/nix).
	ConfDir string `json:"confDir"`
	// Files are the sources in the order Nix reads them, with includes
	// after the line that includes them.
	Files       []*File      `json:"files"`
	Assignments []Assignment `json:"assignments"`
	Problems    []Problem    `json:"problems"`

	values map[string]*Value
}

// Get returns the effective value of a setting (by name or alias), its
// default when it was never set.
func (c *Config) Get(name string) *Value {
	spec, known := Lookup(name)
	if known {
		name = spec.Name
	}
	if v, ok := c.values[name]; ok {
		return v
	}
	v := &Value{Name: name, Known: known}
	if known {
		v.Tokens = append([]string(nil), spec.Default...)
		confDir := c.ConfDir
		if confDir == "" {
			confDir = "/etc/nix"
		}
		switch name {
		case "builders":
			v.Tokens = []string{"@" + confDir + "/machines"}
		case "netrc-file":
			v.Tokens = []string{confDir + "/netrc"}
		}
	}
	return v
}

// IsSet reports whether a setting was assigned anywhere.
func (c *Config) IsSet(name string) bool { return c.Get(name).Set }

// Bool returns a boolean setting: true only for the exact token "true".
func (c *Config) Bool(name string) bool {
	v := c.Get(name)
	return len(v.Tokens) == 1 && v.Tokens[0] == "true"
}

// Values returns every setting that was set, plus the defaults of every
// setting nixgate knows, sorted by name.
func (c *Config) Values() []*Value {
	seen := map[string]bool{}
	var out []*Value
	for _, s := range specs {
		out = append(out, c.Get(s.Name))
		seen[s.Name] = true
	}
	for n, v := range c.values {
		if !seen[n] {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b *Value) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// File returns the source file with path p, or nil.
func (c *Config) File(p string) *File {
	for _, f := range c.Files {
		if f.Path == p {
			return f
		}
	}
	return nil
}

// Fatal returns the problems that make Nix refuse the configuration.
func (c *Config) Fatal() []Problem {
	var out []Problem
	for _, p := range c.Problems {
		if p.Fatal {
			out = append(out, p)
		}
	}
	return out
}
