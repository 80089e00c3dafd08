// Package policy reads nixgate.toml: which checks run, at what severity, on
// which paths, with which options, and where the baseline lives. Decoding
// is strict: an unknown key or a wrong type is an error with file:line:col
// and, where a close name exists, a "did you mean" hint.
package policy

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/ci"
	"github.com/nixgate/nixgate/internal/flakelock"
	"github.com/nixgate/nixgate/internal/lazyre"
	"github.com/nixgate/nixgate/internal/repo"
)

// FileName is the policy file looked for at a repository's root.
const FileName = "nixgate.toml"

// Version is the only policy version this nixgate reads.
const Version = 1

// Policy is a decoded policy.
type Policy struct {
	// Path is the file it came from; "" for the built-in default.
	Path   string
	FailOn check.Severity
	// Baseline is the baseline file, relative to the policy's directory
	// (or the working directory for the built-in default); "" for none.
	Baseline string
	// Ignore holds path globs excluded for every check.
	Ignore []string
	// Settings holds every check's settings, keyed by ID.
	Settings map[string]check.Settings
	// PR configures `nixgate pr`.
	PR PR
	// Cache configures `nixgate cache verify`.
	Cache Cache
	// Rebuild configures `nixgate rebuild`; Host `nixgate host`.
	Rebuild Rebuild
	Host    Host
	// Limits caps how many bytes of one file nixgate reads, per kind.
	Limits repo.Limits
	// Project holds facts about the repository that checks share.
	Project Project
	// Lock is the [lock] table.
	Lock Lock
	// CI is the [ci] table: the gates of `nixgate ci`.
	CI ci.Config
}

// Project is the [project] table: what the repository is, for the checks
// whose rules depend on it.
type Project struct {
	// Init names the init program's crates (directories or package
	// names): rust-unsafe, source-loc-limit and dependency-allowlist
	// apply the init program's invariants (R13) to them.
	Init []string `toml:"init"`
}

// ProjectOptions is implemented by check options that take what [project]
// says; a check's own option, when set, wins.
type ProjectOptions interface {
	ApplyProject(Project)
}

// LimitsTable is the [limits] table: sizes such as "16MiB" per kind of
// file (see repo.Kinds).
type LimitsTable struct {
	Policy string `toml:"policy"`
	Lock   string `toml:"lock"`
	Source string `toml:"source"`
	Text   string `toml:"text"`
}

// PR is the [pr] table: what `nixgate pr` treats as security-sensitive and
// which label a flake.lock change needs.
type PR struct {
	// SensitivePaths replaces the built-in list of security-sensitive
	// path globs when not nil.
	SensitivePaths []string `toml:"sensitive-paths"`
	// ExtraSensitivePaths are added to the list.
	ExtraSensitivePaths []string `toml:"extra-sensitive-paths"`
	// LockLabel is the label a flake.lock change needs ("" for the
	// default, dependency-update).
	LockLabel string `toml:"lock-label"`
}

// Cache is the [cache] table: which keys `nixgate cache verify` trusts
// and how many distinct ones must sign a path, with per-store sections
// ([cache.stores."URI"]) that replace them for one store URI.
type Cache struct {
	// Require is the number of distinct trusted keys that must sign (nil:
	// the command's default, 1).
	Require *int `toml:"require"`
	// Keys are trusted NAME:BASE64 public keys (nil: the host's
	// trusted-public-keys).
	Keys []string `toml:"keys"`
	// Stores holds per-store settings, keyed by store URI.
	Stores map[string]CacheStore `toml:"stores"`
}

// CacheStore is one [cache.stores."URI"] section.
type CacheStore struct {
	Require *int     `toml:"require"`
	Keys    []string `toml:"keys"`
}

// Rebuild is the [rebuild] table.
type Rebuild struct {
	// Vary lists the variations of builders 2..N (nil: all; [] for none),
	// as --vary does.
	Vary []string `toml:"vary"`
}

// Host is the [host] table.
type Host struct {
	// Shared says that several tenants build on this host (a shared CI
	// store): nixgate host then reports the multi-tenant posture as a
	// finding.
	Shared bool `toml:"shared"`
}

// Default is the built-in policy: every check at its default.
func Default(checks []*check.Check) *Policy {
	p := &Policy{FailOn: check.High, Settings: map[string]check.Settings{}, Limits: repo.DefaultLimits()}
	for _, c := range checks {
		p.Settings[c.ID] = check.Settings{Enabled: !c.Disabled, Severity: c.Severity, Options: check.CloneOptions(c.Options)}
	}
	return p
}

// Find returns dir's policy file, or "" when it has none.
func Find(dir string) string {
	p := filepath.Join(dir, FileName)
	if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
		return p
	}
	return ""
}

// Load reads and decodes a policy file.
func Load(file string, checks []*check.Check) (*Policy, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return Parse(file, data, checks)
}

// Error is a policy error at a position.
type Error struct {
	File         string
	Line, Column int
	Msg          string
	Hint         string
}

func (e *Error) Error() string {
	pos := e.File
	if e.Line > 0 {
		pos = fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Column)
	}
	s := pos + ": " + e.Msg
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Errors is every error found in a policy file.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Field names of the generated document type that are not check options.
const (
	fEnabled  = "XEnabled"
	fSeverity = "XSeverity"
	fIgnore   = "XIgnore"
)

// namedChecks returns the checks the document has a [checks.ID] table
// for, in their order; all of them when it does not decode (the strict
// decoding that follows reports why).
func namedChecks(data []byte, checks []*check.Check) []*check.Check {
	var doc struct {
		Checks map[string]any `toml:"checks"`
	}
	if err := toml.Unmarshal(data, &doc); err != nil {
		return checks
	}
	// go-toml matches a key to a field name regardless of case, as
	// encoding/json does: so does this.
	var named []*check.Check
	for _, c := range checks {
		for k := range doc.Checks {
			if strings.EqualFold(k, c.ID) {
				named = append(named, c)
				break
			}
		}
	}
	return named
}

// docType builds the Go type of a policy document for these checks, so that
// go-toml's strict decoder reports unknown keys and wrong types with their
// positions.
func docType(checks []*check.Check) reflect.Type {
	var checkFields []reflect.StructField
	for i, c := range checks {
		checkFields = append(checkFields, reflect.StructField{
			Name: fmt.Sprintf("C%d", i),
			Type: reflect.PointerTo(checkType(c)),
			Tag:  reflect.StructTag(fmt.Sprintf(`toml:%q`, c.ID)),
		})
	}
	return reflect.StructOf([]reflect.StructField{
		{Name: "Version", Type: reflect.TypeFor[*int](), Tag: `toml:"version"`},
		{Name: "FailOn", Type: reflect.TypeFor[*check.Severity](), Tag: `toml:"fail-on"`},
		{Name: "Baseline", Type: reflect.TypeFor[*string](), Tag: `toml:"baseline"`},
		{Name: "Ignore", Type: reflect.TypeFor[[]string](), Tag: `toml:"ignore"`},
		{Name: "PR", Type: reflect.TypeFor[PR](), Tag: `toml:"pr"`},
		{Name: "Cache", Type: reflect.TypeFor[Cache](), Tag: `toml:"cache"`},
		{Name: "Rebuild", Type: reflect.TypeFor[Rebuild](), Tag: `toml:"rebuild"`},
		{Name: "Host", Type: reflect.TypeFor[Host](), Tag: `toml:"host"`},
		{Name: "Limits", Type: reflect.TypeFor[LimitsTable](), Tag: `toml:"limits"`},
		{Name: "Project", Type: reflect.TypeFor[Project](), Tag: `toml:"project"`},
		{Name: "Lock", Type: reflect.TypeFor[Lock](), Tag: `toml:"lock"`},
		{Name: "CI", Type: reflect.TypeFor[ci.Config](), Tag: `toml:"ci"`},
		{Name: "Checks", Type: reflect.StructOf(checkFields), Tag: `toml:"checks"`},
	})
}

// checkType is the type of one [checks.<id>] table: the common settings
// followed by the check's own options.
func checkType(c *check.Check) reflect.Type {
	fields := []reflect.StructField{
		{Name: fEnabled, Type: reflect.TypeFor[*bool](), Tag: `toml:"enabled"`},
		{Name: fSeverity, Type: reflect.TypeFor[*check.Severity](), Tag: `toml:"severity"`},
		{Name: fIgnore, Type: reflect.TypeFor[[]string](), Tag: `toml:"ignore"`},
	}
	if c.Options != nil {
		t := reflect.TypeOf(c.Options).Elem()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			fields = append(fields, reflect.StructField{Name: f.Name, Type: f.Type, Tag: f.Tag})
		}
	}
	return reflect.StructOf(fields)
}

// Parse decodes policy data; name is used in error positions.
func Parse(name string, data []byte, checks []*check.Check) (*Policy, error) {
	// The document's type has a table only for the checks the file names:
	// building it for all of them (reflect.StructOf over every check's
	// options) cost a millisecond, a tenth of a whole kconfig run. A name
	// that is no check's is an unknown key all the same; the error is
	// described against the full type (decodeError's suggestions).
	// FuzzParse holds the result to the full type's.
	return parse(name, data, checks, namedChecks(data, checks))
}

// parse is Parse with a document type holding the tables of named.
func parse(name string, data []byte, checks, named []*check.Check) (*Policy, error) {
	p := Default(checks)
	p.Path = name
	typ := docType(named)
	doc := reflect.New(typ)
	// Pre-fill each check's table with its defaults so that keys the
	// file leaves out keep them.
	cs := doc.Elem().FieldByName("Checks")
	for i, c := range named {
		t := reflect.New(cs.Field(i).Type().Elem())
		if c.Options != nil {
			def := reflect.ValueOf(check.CloneOptions(c.Options)).Elem()
			for j := 0; j < def.NumField(); j++ {
				t.Elem().Field(3 + j).Set(def.Field(j))
			}
		}
		cs.Field(i).Set(t)
	}
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(doc.Interface()); err != nil {
		return nil, decodeError(name, data, err, docType(checks))
	}
	d := doc.Elem()
	if v := d.FieldByName("Version"); !v.IsNil() && v.Elem().Int() != Version {
		return nil, &Error{File: name, Msg: fmt.Sprintf("policy version %d is not supported (this nixgate reads version %d)", v.Elem().Int(), Version)}
	}
	if v := d.FieldByName("FailOn"); !v.IsNil() {
		p.FailOn = v.Elem().Interface().(check.Severity)
	}
	if v := d.FieldByName("Baseline"); !v.IsNil() {
		p.Baseline = v.Elem().String()
	}
	p.Ignore = d.FieldByName("Ignore").Interface().([]string)
	p.PR = d.FieldByName("PR").Interface().(PR)
	p.Project = d.FieldByName("Project").Interface().(Project)
	p.Cache = d.FieldByName("Cache").Interface().(Cache)
	p.Rebuild = d.FieldByName("Rebuild").Interface().(Rebuild)
	p.Host = d.FieldByName("Host").Interface().(Host)
	var errs Errors
	lt := d.FieldByName("Limits").Interface().(LimitsTable)
	byKind := map[repo.Kind]string{repo.KindPolicy: lt.Policy, repo.KindLock: lt.Lock, repo.KindSource: lt.Source, repo.KindText: lt.Text}
	for _, kind := range repo.Kinds() {
		v := byKind[kind]
		if v == "" {
			continue
		}
		n, err := repo.ParseSize(v)
		if err != nil {
			errs = append(errs, &Error{File: name, Line: lineOf(data, string(kind)), Column: 1, Msg: fmt.Sprintf("limits.%s: %v", kind, err)})
			continue
		}
		p.Limits[kind] = n
	}
	badGlob := func(where, g string) {
		if _, err := path.Match(strings.ReplaceAll(g, "**", "x"), ""); err != nil {
			line := lineOf(data, strconv.Quote(g))
			if line == 0 {
				line = lineOf(data, "'"+g+"'")
			}
			errs = append(errs, &Error{File: name, Line: line, Column: 1, Msg: fmt.Sprintf("%s: bad glob %q: %v", where, g, err)})
		}
	}
	for _, g := range p.Ignore {
		badGlob("ignore", g)
	}
	for _, g := range append(slices.Clone(p.PR.SensitivePaths), p.PR.ExtraSensitivePaths...) {
		badGlob("pr", g)
	}
	table := make(map[string]reflect.Value, len(named))
	for i, c := range named {
		table[c.ID] = cs.Field(i).Elem()
	}
	for _, c := range checks {
		s := p.Settings[c.ID]
		t, ok := table[c.ID]
		var own []string
		if ok {
			if v := t.FieldByName(fEnabled); !v.IsNil() {
				s.Enabled = v.Elem().Bool()
			}
			if v := t.FieldByName(fSeverity); !v.IsNil() {
				s.Severity = v.Elem().Interface().(check.Severity)
			}
			own = t.FieldByName(fIgnore).Interface().([]string)
			for _, g := range own {
				badGlob("checks."+c.ID+".ignore", g)
			}
		}
		s.Ignore = append(slices.Clone(p.Ignore), own...)
		if c.Options != nil {
			if ok {
				o := reflect.New(reflect.TypeOf(c.Options).Elem())
				for j := 0; j < o.Elem().NumField(); j++ {
					o.Elem().Field(j).Set(t.Field(3 + j))
				}
				s.Options = o.Interface()
			} else {
				s.Options = check.CloneOptions(c.Options)
			}
			if po, ok := s.Options.(ProjectOptions); ok && len(p.Project.Init) > 0 {
				po.ApplyProject(p.Project)
			}
		}
		p.Settings[c.ID] = s
	}
	errs = append(errs, p.applyLock(name, data, d.FieldByName("Lock").Interface().(Lock))...)
	if err := parseCI(p, d, data); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return p, nil
}

// Lock is the [lock] table: conditions on flake.lock inputs, in the
// words of DeterminateSystems' flake-checker (--nixpkgs-keys, --condition),
// judged by the lock-condition check.
type Lock struct {
	// NixpkgsKeys are root inputs that are nixpkgs; each must exist.
	NixpkgsKeys []string `toml:"nixpkgs-keys"`
	// Condition is a CEL expression every nixpkgs input must satisfy.
	Condition string `toml:"condition"`
	// Conditions maps input path globs ("*", "nixpkgs", "home-manager/*")
	// to CEL expressions every matching input must satisfy.
	Conditions map[string]string `toml:"conditions"`
}

// LockPolicyUser is implemented by the options of checks that take the
// [lock] table.
type LockPolicyUser interface{ UseLockPolicy(Lock) }

// applyLock compiles the [lock] conditions (an error has the position of
// the condition in the file and in the expression) and hands the table to
// the checks that take it.
func (p *Policy) applyLock(name string, data []byte, l Lock) Errors {
	var errs Errors
	compile := func(key, src string) {
		if _, err := flakelock.CompileCondition(src); err != nil {
			line := lineOf(data, key)
			errs = append(errs, &Error{File: name, Line: line, Column: 1, Msg: fmt.Sprintf("lock.%s: %v", key, err)})
		}
	}
	if l.Condition != "" {
		compile("condition", l.Condition)
	}
	for k, src := range l.Conditions {
		compile(strconv.Quote(k), src)
		if _, err := path.Match(strings.ReplaceAll(k, "**", "x"), ""); err != nil {
			errs = append(errs, &Error{File: name, Line: lineOf(data, strconv.Quote(k)), Column: 1, Msg: fmt.Sprintf("lock.conditions: bad glob %q: %v", k, err)})
		}
	}
	p.Lock = l
	for _, s := range p.Settings {
		if u, ok := s.Options.(LockPolicyUser); ok {
			u.UseLockPolicy(l)
		}
	}
	return errs
}

// lineOf finds the first line mentioning s, for errors found after decoding.
func lineOf(data []byte, s string) int {
	for i, l := range bytes.Split(data, []byte("\n")) {
		if bytes.Contains(l, []byte(s)) {
			return i + 1
		}
	}
	return 0
}

// decodeError turns go-toml's errors into positioned policy errors with
// "did you mean" hints for unknown keys.
func decodeError(name string, data []byte, err error, typ reflect.Type) error {
	var sme *toml.StrictMissingError
	if errors.As(err, &sme) {
		var errs Errors
		for _, de := range sme.Errors {
			row, col := de.Position()
			key := []string(de.Key())
			e := &Error{File: name, Line: row, Column: col, Msg: fmt.Sprintf("unknown key %q", strings.Join(key, "."))}
			if len(key) > 0 {
				valid := keysAt(typ, key[:len(key)-1])
				if s := Closest(key[len(key)-1], valid); s != "" {
					e.Hint = fmt.Sprintf("did you mean %q?", s)
				} else if len(valid) > 0 && len(valid) <= 12 {
					e.Hint = "valid keys here: " + strings.Join(valid, ", ")
				}
			}
			errs = append(errs, e)
		}
		return errs
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if m := mismatchRE().FindStringSubmatch(msg); m != nil {
			key := keyOnLine(data, row)
			msg = fmt.Sprintf("%s: wrong type: got a TOML %s, want %s", key, m[1], describeType(m[2]))
		} else if k := []string(de.Key()); len(k) > 0 {
			msg = strings.Join(k, ".") + ": " + msg
		} else if key := keyOnLine(data, row); key != "" {
			msg = key + ": " + msg
		}
		return &Error{File: name, Line: row, Column: col, Msg: msg}
	}
	return &Error{File: name, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
}

var mismatchRE = lazyre.New(`^cannot decode TOML (\w+) into struct field .* of type (\S+)$`)

// keyOnLine returns the key assigned on a line ("key = value").
func keyOnLine(data []byte, row int) string {
	lines := bytes.Split(data, []byte("\n"))
	if row < 1 || row > len(lines) {
		return ""
	}
	k, _, ok := bytes.Cut(lines[row-1], []byte("="))
	if !ok {
		return ""
	}
	return strings.Trim(strings.TrimSpace(string(k)), `"'`)
}

// describeType names a Go type the way a policy author thinks of it.
func describeType(goType string) string {
	t := strings.TrimPrefix(goType, "*")
	switch {
	case t == "bool":
		return "a boolean (true or false)"
	case t == "string", strings.HasSuffix(t, "Severity"):
		return "a string"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "[]string":
		return "an array of strings"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "map["):
		return "a table"
	}
	return t
}

// keysAt lists the TOML keys valid in the table at path.
func keysAt(t reflect.Type, path []string) []string {
	for _, p := range path {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
		f, ok := fieldByKey(t, p)
		if !ok {
			return nil
		}
		t = f.Type
	}
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		keys = append(keys, tomlKey(t.Field(i)))
	}
	slices.Sort(keys)
	return keys
}

func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		if tomlKey(t.Field(i)) == key {
			return t.Field(i), true
		}
	}
	return reflect.StructField{}, false
}

func tomlKey(f reflect.StructField) string {
	k, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if k == "" {
		return f.Name
	}
	return k
}

// closest returns the candidate nearest to s when it is near enough to be
// a likely typo.
// Closest returns the candidate nearest to s by edit distance, when it is
// near enough to suggest ("did you mean ...?"), else "".
func Closest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := levenshtein(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	if bestD <= max(2, len(s)/3) {
		return best
	}
	return ""
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// parseCI takes the [ci] table and hands it to the checks whose options
// take it (required-paths: the layout of [ci] required-paths).
func parseCI(p *Policy, d reflect.Value, data []byte) *Error {
	p.CI = d.FieldByName("CI").Interface().(ci.Config)
	if err := p.CI.Validate(); err != nil {
		return &Error{File: p.Path, Line: lineOf(data, "[ci"), Column: 1, Msg: err.Error()}
	}
	for _, s := range p.Settings {
		if u, ok := s.Options.(CIOptions); ok {
			u.ApplyCI(p.CI)
		}
	}
	return nil
}

// CIOptions is implemented by the options of checks that take what the
// [ci] table says; a check's own option, when set, wins.
type CIOptions interface{ ApplyCI(ci.Config) }
