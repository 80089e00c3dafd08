package kconfig

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/nixgate/nixgate/internal/check"
)

//go:embed profiles/*.toml
var builtinFS embed.FS

// Builtins lists the profiles shipped with nixgate.
func Builtins() []string {
	entries, _ := builtinFS.ReadDir("profiles")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".toml"))
	}
	return names
}

// IsBuiltin reports whether name is a shipped profile.
func IsBuiltin(name string) bool { return slices.Contains(Builtins(), name) }

// Profile is a named, ordered set of rules.
type Profile struct {
	Name        string
	Description string
	// MinVersion is the oldest kernel the profile accepts as lacking an
	// option that appeared in a later release (zero: any kernel); see
	// Rule.Eval.
	MinVersion Version
	Rules      []*Rule
	// Replaced lists rule IDs that one extended profile defined and a
	// later one (or this profile's own [[rule]]) replaced.
	Replaced []string
}

// profileFile is a profile as written in TOML.
type profileFile struct {
	Name        string         `toml:"name"`
	Description string         `toml:"description"`
	Source      string         `toml:"source"`
	Severity    string         `toml:"severity"`
	Category    string         `toml:"category"`
	MinVersion  string         `toml:"min_version"`
	Extends     []string       `toml:"extends"`
	Rules       []ruleSpec     `toml:"rule"`
	Overrides   []overrideSpec `toml:"override"`
	Mutes       []muteSpec     `toml:"mute"`
}

type ruleSpec struct {
	ID       string `toml:"id"`
	Reason   string `toml:"reason"`
	Source   string `toml:"source"`
	Severity string `toml:"severity"`
	Category string `toml:"category"`
	Since    string `toml:"since"`
	Until    string `toml:"until"`
	When     *Test  `toml:"when"`
	Test
}

type overrideSpec struct {
	Rule     string `toml:"rule"`
	Reason   string `toml:"reason"`
	Source   string `toml:"source"`
	Severity string `toml:"severity"`
	When     *Test  `toml:"when"`
	Test
}

type muteSpec struct {
	Rule   string `toml:"rule"`
	Reason string `toml:"reason"`
}

// Categories are the kinds of hardening a rule belongs to, after
// kernel-hardening-checker's "reason" column.
var Categories = []string{"self-protection", "security-policy", "attack-surface", "userspace", "network", "boot"}

// maxProfile bounds a profile file.
const maxProfile = 1 << 20

// Loader loads profiles by name (a built-in profile) or by path (a TOML
// file, whose `extends` may name built-in profiles or other files,
// relative to it).
type Loader struct {
	// ReadFile reads a profile file; nil means ReadInput (regular files
	// only, size-capped).
	ReadFile func(name string) ([]byte, error)
	loading  []string
	// fromTOML compiles built-in profiles from their TOML rather than
	// taking them from profiles_gen.go.
	fromTOML bool
}

// IsFile reports whether ref names a profile file rather than a built-in
// profile.
func IsFile(ref string) bool {
	return strings.ContainsAny(ref, `/\`) || strings.HasSuffix(ref, ".toml")
}

// LoadProfiles loads profiles by name or path with a fresh Loader.
func LoadProfiles(refs ...string) ([]*Profile, error) {
	var out []*Profile
	for _, ref := range refs {
		var l Loader
		p, err := l.Load(ref)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Load loads a profile. A built-in profile is shared: callers must not
// modify it.
func (l *Loader) Load(ref string) (*Profile, error) {
	if slices.Contains(l.loading, ref) {
		return nil, fmt.Errorf("profile %s: extends itself through %s", ref, strings.Join(l.loading, " -> "))
	}
	if !IsFile(ref) {
		if p, ok := generated[ref]; ok && !l.fromTOML {
			return p, nil
		}
		src, err := builtinFS.ReadFile("profiles/" + ref + ".toml")
		if err != nil {
			return nil, fmt.Errorf("unknown profile %q (built-in profiles: %s; a file name needs a / or .toml)", ref, strings.Join(Builtins(), ", "))
		}
		// Built-in profiles extend only built-in profiles.
		bl := &Loader{loading: append(slices.Clone(l.loading), ref), fromTOML: true}
		return bl.parse(ref, ref, src)
	}
	l.loading = append(l.loading, ref)
	defer func() { l.loading = l.loading[:len(l.loading)-1] }()
	read := l.ReadFile
	if read == nil {
		read = ReadInput
	}
	src, err := read(ref)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", ref, err)
	}
	if len(src) > maxProfile {
		return nil, fmt.Errorf("profile %s: larger than %d KiB", ref, maxProfile>>10)
	}
	return l.parse(ref, strings.TrimSuffix(filepath.Base(ref), ".toml"), src)
}

// parseBuiltin compiles a built-in profile from its TOML, as
// profiles_gen.go holds it.
func parseBuiltin(name string) (*Profile, error) {
	l := &Loader{fromTOML: true}
	return l.Load(name)
}

// where prefixes a message with the profile file and a position.
func where(ref string, line, col int) string {
	switch {
	case line == 0:
		return "profile " + ref
	case col == 0:
		return fmt.Sprintf("profile %s:%d", ref, line)
	}
	return fmt.Sprintf("profile %s:%d:%d", ref, line, col)
}

func parseCategory(s string) (string, error) {
	if s == "" || slices.Contains(Categories, s) {
		return s, nil
	}
	return "", fmt.Errorf("unknown category %q (want one of %s)", s, strings.Join(Categories, ", "))
}

func (l *Loader) parse(ref, name string, src []byte) (*Profile, error) {
	var pf profileFile
	d := toml.NewDecoder(bytes.NewReader(src))
	d.DisallowUnknownFields()
	if err := d.Decode(&pf); err != nil {
		var sm *toml.StrictMissingError
		if errors.As(err, &sm) && len(sm.Errors) > 0 {
			var msgs []string
			for _, e := range sm.Errors {
				r, c := e.Position()
				msgs = append(msgs, fmt.Sprintf("%s: unknown key %q", where(ref, r, c), strings.Join(e.Key(), ".")))
			}
			return nil, errors.New(strings.Join(msgs, "\n"))
		}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			r, c := de.Position()
			return nil, fmt.Errorf("%s: %s", where(ref, r, c), strings.TrimPrefix(de.Error(), "toml: "))
		}
		return nil, fmt.Errorf("%s: %w", where(ref, 0, 0), err)
	}
	if pf.Name != "" {
		name = pf.Name
	}
	pos := scanPositions(src)
	defSev := check.High
	if pf.Severity != "" {
		s, err := check.ParseSeverity(pf.Severity)
		if err != nil {
			return nil, fmt.Errorf("%s: severity: %w", where(ref, pos.keys["severity"], 0), err)
		}
		defSev = s
	}
	defCat, err := parseCategory(pf.Category)
	if err != nil {
		return nil, fmt.Errorf("%s: category: %w", where(ref, pos.keys["category"], 0), err)
	}
	p := &Profile{Name: name, Description: pf.Description}
	if pf.MinVersion != "" {
		if p.MinVersion, err = ParseVersion(pf.MinVersion); err != nil {
			return nil, fmt.Errorf("%s: min_version: %w", where(ref, pos.keys["min_version"], 0), err)
		}
	}
	index := map[string]int{}
	add := func(r *Rule) {
		if i, ok := index[r.ID]; ok {
			p.Rules[i] = r
			p.Replaced = append(p.Replaced, r.ID)
			return
		}
		index[r.ID] = len(p.Rules)
		p.Rules = append(p.Rules, r)
	}
	for _, ext := range pf.Extends {
		target := ext
		if IsFile(ext) && !filepath.IsAbs(ext) && IsFile(ref) {
			target = filepath.ToSlash(filepath.Join(filepath.Dir(ref), ext))
		}
		base, err := l.Load(target)
		if err != nil {
			return nil, fmt.Errorf("%s: extends %s: %w", where(ref, pos.keys["extends"], 0), ext, err)
		}
		if p.MinVersion.Less(base.MinVersion) && pf.MinVersion == "" {
			p.MinVersion = base.MinVersion
		}
		p.Replaced = append(p.Replaced, base.Replaced...)
		for _, r := range base.Rules {
			c := *r
			add(&c)
		}
	}
	own := map[string]bool{}
	for i := range pf.Rules {
		rs := &pf.Rules[i]
		at := where(ref, pos.table("rule", i+1), 0)
		r := &Rule{ID: rs.ID, Profile: name, Reason: rs.Reason, Source: rs.Source, Severity: defSev, Category: defCat}
		if r.Source == "" {
			r.Source = pf.Source
		}
		if rs.Test.empty() {
			return nil, fmt.Errorf("%s: rule %q has no test", at, rs.ID)
		}
		var err error
		if r.test, err = compile(&rs.Test); err != nil {
			return nil, fmt.Errorf("%s: rule %q: %w", at, rs.ID, err)
		}
		if rs.When != nil {
			if r.when, err = compile(rs.When); err != nil {
				return nil, fmt.Errorf("%s: rule %q: when: %w", at, rs.ID, err)
			}
		}
		if r.ID == "" {
			if r.ID = r.test.defaultID(); r.ID == "" {
				return nil, fmt.Errorf("%s: a rule with a compound test needs an id", at)
			}
		}
		if r.Reason == "" {
			return nil, fmt.Errorf("%s: rule %q needs a reason", at, r.ID)
		}
		if rs.Severity != "" {
			if r.Severity, err = check.ParseSeverity(rs.Severity); err != nil {
				return nil, fmt.Errorf("%s: rule %q: %w", at, r.ID, err)
			}
		}
		if rs.Category != "" {
			if r.Category, err = parseCategory(rs.Category); err != nil {
				return nil, fmt.Errorf("%s: rule %q: %w", at, r.ID, err)
			}
		}
		if rs.Since != "" {
			if r.Since, err = ParseVersion(rs.Since); err != nil {
				return nil, fmt.Errorf("%s: rule %q: since: %w", at, r.ID, err)
			}
		}
		if rs.Until != "" {
			if r.Until, err = ParseVersion(rs.Until); err != nil {
				return nil, fmt.Errorf("%s: rule %q: until: %w", at, r.ID, err)
			}
		}
		if own[r.ID] {
			return nil, fmt.Errorf("%s: rule %q defined twice (use [[override]] to change a rule)", at, r.ID)
		}
		own[r.ID] = true
		add(r)
	}
	for i := range pf.Overrides {
		o := &pf.Overrides[i]
		at := where(ref, pos.table("override", i+1), 0)
		j, ok := index[o.Rule]
		if !ok {
			return nil, fmt.Errorf("%s: override of unknown rule %q", at, o.Rule)
		}
		r := *p.Rules[j]
		r.Profile = name
		if !o.Test.empty() {
			if o.Kconfig == "" && o.Cmdline == "" && o.Sysctl == "" && r.test.typ == nLeaf {
				// Only a new expected value: keep the rule's option.
				switch r.test.kind {
				case kindKconfig:
					o.Kconfig = r.test.name
				case kindCmdline:
					o.Cmdline = r.test.name
				case kindSysctl:
					o.Sysctl = r.test.name
				}
			}
			t, err := compile(&o.Test)
			if err != nil {
				return nil, fmt.Errorf("%s: override %q: %w", at, o.Rule, err)
			}
			r.test = t
		}
		if o.When != nil {
			w, err := compile(o.When)
			if err != nil {
				return nil, fmt.Errorf("%s: override %q: when: %w", at, o.Rule, err)
			}
			r.when = w
		}
		if o.Reason != "" {
			r.Reason = o.Reason
		}
		if o.Source != "" {
			r.Source = o.Source
		}
		if o.Severity != "" {
			s, err := check.ParseSeverity(o.Severity)
			if err != nil {
				return nil, fmt.Errorf("%s: override %q: %w", at, o.Rule, err)
			}
			r.Severity = s
		}
		p.Rules[j] = &r
	}
	for i, m := range pf.Mutes {
		at := where(ref, pos.table("mute", i+1), 0)
		j, ok := index[m.Rule]
		if !ok {
			return nil, fmt.Errorf("%s: mute of unknown rule %q", at, m.Rule)
		}
		if strings.TrimSpace(m.Reason) == "" {
			return nil, fmt.Errorf("%s: mute of %q needs a reason", at, m.Rule)
		}
		r := *p.Rules[j]
		r.Muted = m.Reason
		p.Rules[j] = &r
	}
	for _, r := range p.Rules {
		r.finish()
	}
	return p, nil
}

// positions holds the lines of table headers and top-level keys of a
// profile's source, for messages about rules that decoded but are wrong.
type positions struct {
	tables map[string][]int
	keys   map[string]int
}

func scanPositions(src []byte) *positions {
	p := &positions{tables: map[string][]int{}, keys: map[string]int{}}
	inTable := false
	for i, line := range strings.Split(string(src), "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "[[") && strings.HasSuffix(t, "]]"):
			name := strings.TrimSpace(t[2 : len(t)-2])
			p.tables[name] = append(p.tables[name], i+1)
			inTable = true
		case strings.HasPrefix(t, "["):
			inTable = true
		case !inTable:
			if k, _, ok := strings.Cut(t, "="); ok {
				if k = strings.TrimSpace(k); p.keys[k] == 0 {
					p.keys[k] = i + 1
				}
			}
		}
	}
	return p
}

// table returns the line of the n-th (1-based) [[name]] header, or 0.
func (p *positions) table(name string, n int) int {
	if l := p.tables[name]; n <= len(l) {
		return l[n-1]
	}
	return 0
}

// WithExpected returns a copy of p in which the rule id, a single option
// test, wants the value v (as `is = v` would): a policy option such as the
// anchor gate's required init= path. p itself is not changed.
func (p *Profile) WithExpected(id, v string) (*Profile, error) {
	i := slices.IndexFunc(p.Rules, func(r *Rule) bool { return r.ID == id })
	if i < 0 {
		return nil, fmt.Errorf("profile %s has no rule %q", p.Name, id)
	}
	r := *p.Rules[i]
	if r.test.typ != nLeaf {
		return nil, fmt.Errorf("profile %s: rule %q is not a single option test", p.Name, id)
	}
	t := Test{Is: &v}
	switch r.test.kind {
	case kindKconfig:
		t.Kconfig = r.test.name
	case kindCmdline:
		t.Cmdline = r.test.name
	case kindSysctl:
		t.Sysctl = r.test.name
	}
	n, err := compile(&t)
	if err != nil {
		return nil, fmt.Errorf("profile %s: rule %q: %w", p.Name, id, err)
	}
	r.test = n
	r.finish()
	c := *p
	c.Rules = slices.Clone(p.Rules)
	c.Rules[i] = &r
	return &c, nil
}
