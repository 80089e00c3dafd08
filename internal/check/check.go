// Package check defines what a check is, what it reports, and how a set of
// checks runs over a target. The registry of all checks lives in
// internal/checks; the policy that enables and tunes them in internal/policy.
package check

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/nixgate/nixgate/internal/repo"
)

// Severity orders findings. The zero value is Info.
type Severity int

// Severities, lowest first.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

// Severities lists every severity, lowest first.
func Severities() []Severity { return []Severity{Info, Low, Medium, High, Critical} }

func (s Severity) String() string {
	if s < Info || s > Critical {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity reads a severity name such as "high".
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(name, n) {
			return Severity(i), nil
		}
	}
	// The value is not quoted: a policy value can be anything, a token
	// pasted in the wrong place included.
	return 0, fmt.Errorf("unknown severity (want one of %s)", strings.Join(severityNames[:], ", "))
}

// MarshalText implements encoding.TextMarshaler.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// SecuritySeverity is the CVSS-like score GitHub code scanning reads from the
// SARIF property "security-severity".
func (s Severity) SecuritySeverity() string {
	switch s {
	case Critical:
		return "9.5"
	case High:
		return "8.0"
	case Medium:
		return "5.5"
	case Low:
		return "3.0"
	}
	return "0.0"
}

// Scope says what a check looks at.
type Scope string

// Scopes.
const (
	// ScopeRepo checks read a repository's files (nixgate check, nixgate pr).
	ScopeRepo Scope = "repo"
	// ScopeHost checks read a host's Nix configuration (nixgate host).
	ScopeHost Scope = "host"
	// ScopePR checks judge a change as a whole (nixgate pr): the lock
	// label, paths that need review.
	ScopePR Scope = "pr"
	// ScopeKconfig checks read a kernel configuration, command line and
	// sysctls (nixgate kconfig).
	ScopeKconfig Scope = "kconfig"
	// ScopeCache checks read a binary cache (nixgate cache verify).
	ScopeCache Scope = "cache"
	// ScopeTrust checks read a build-claim log (nixgate log verify,
	// nixgate trust decide).
	ScopeTrust Scope = "trust"
	// ScopeProvenance checks read a provenance envelope and its subject
	// (nixgate verify).
	ScopeProvenance Scope = "provenance"
	// ScopeUKI checks read a unified kernel image (nixgate uki check,
	// verify, diff).
	ScopeUKI Scope = "uki"
	// ScopeFlake checks read what Nix evaluates of a flake: its outputs
	// (nixgate flake outputs) and its dev shell (nixgate flake devshell).
	ScopeFlake Scope = "flake"
)

// Scopes lists every scope, in the order `nixgate checks` shows them.
func Scopes() []Scope {
	return []Scope{ScopeRepo, ScopePR, ScopeHost, ScopeKconfig, ScopeCache, ScopeTrust, ScopeProvenance, ScopeUKI, ScopeFlake}
}

// Check is one gate. A check is a value: it is listed once in the registry
// (internal/checks) and everything else — docs, SARIF rule metadata, the
// commented policy written by `nixgate init` — is derived from it.
type Check struct {
	// ID is kebab-case and stable forever: it appears in policies,
	// suppressions and baselines.
	ID    string
	Title string
	// Severity is the default; a policy may override it.
	Severity Severity
	// Rules are the DESIGN.md rules the check enforces, such as "R1".
	Rules []string
	// Why is a sentence or two a reviewer can quote.
	Why string
	// Remediation says how to fix a finding.
	Remediation string
	Scope       Scope
	// Disabled checks run only when a policy enables them.
	Disabled bool
	// Options, when not nil, is a pointer to a struct holding the check's
	// own options with their defaults. Fields carry `toml` tags and a
	// `doc` tag (one line, used by `nixgate init` and docs/checks.md).
	// Run receives a copy, decoded from the policy, in Pass.Options.
	Options any
	// Run reports findings through the pass. An error means the check
	// could not complete: it is reported as errored and the run continues.
	Run func(ctx context.Context, p *Pass) error
	// Prepare, when set, does work that needs only the check's options and
	// the run's Input (compiling its rules), so that it overlaps opening
	// the target: see Prepare. It must leave Run correct whether or not it
	// ran, and do nothing that Run will not use (what it makes may stay
	// live to the end of the process).
	Prepare func(options, input any)
}

// settingsOf is c's entry in settings, or c's own defaults when it has
// none.
func settingsOf(c *Check, settings map[string]Settings) Settings {
	if s, ok := settings[c.ID]; ok {
		return s
	}
	return Settings{Enabled: !c.Disabled, Severity: c.Severity, Options: c.Options}
}

// Enabled reports whether a run with these settings runs c.
func Enabled(c *Check, settings map[string]Settings) bool { return settingsOf(c, settings).Enabled }

// Prepare starts, in the background, the Prepare of each enabled check.
// A command calls it once its checks, settings and the Input it will run
// them on are known, and before it opens the target (git calls, a
// download), which then costs no wall time of the checks' own set-up.
func Prepare(checks []*Check, settings map[string]Settings, input any) {
	for _, c := range checks {
		if c.Prepare == nil {
			continue
		}
		if s := settingsOf(c, settings); s.Enabled {
			go c.Prepare(s.Options, input)
		}
	}
}

// Location points into a file. Line and Column are 1-based; zero means
// unknown. Path is slash-separated and relative to the target root.
type Location struct {
	Path   string `json:"path,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

func (l Location) String() string {
	switch {
	case l.Path == "":
		return ""
	case l.Line == 0:
		return l.Path
	case l.Column == 0:
		return fmt.Sprintf("%s:%d", l.Path, l.Line)
	}
	return fmt.Sprintf("%s:%d:%d", l.Path, l.Line, l.Column)
}

// Finding is one problem reported by a check.
type Finding struct {
	CheckID  string   `json:"checkId"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	Location Location `json:"location"`
	// Key identifies the finding's content (a secret's hash, a file's
	// digest, a dependency name) so that its fingerprint survives line
	// shifts and rebases. When empty, the runner uses the trimmed text of
	// the flagged line, or the message.
	Key string `json:"-"`
	// Fingerprint is computed by the runner from CheckID, Path and Key.
	Fingerprint string `json:"fingerprint"`
	// Found, for a finding in another version of its file than the view's
	// (a commit of a history scan), is the text the check read there. The
	// runner takes inline suppressions (and a line key) from it instead of
	// the view's file, which may say something else at that line or be
	// gone. Nil means the view's file.
	Found *FoundLines `json:"-"`
}

// FoundLines is the text of a finding's line and of the line above it.
// Above may be left empty when it cannot hold a suppression comment.
type FoundLines struct{ Line, Above string }

// Pass is one check's run over one target.
type Pass struct {
	Check *Check
	// Repo is the repository under check (ScopeRepo).
	Repo *repo.Repo
	// Input is the scope's input for other scopes (for ScopeHost, the
	// host configuration); checks type-assert it.
	Input any
	// Options is a pointer to the check's options type, decoded from the
	// policy over the defaults. Nil when the check has no options.
	Options any
	// Severity is the effective default severity for this run.
	Severity Severity
	// Baseline is the run's baseline, or nil.
	Baseline *Baseline
	// Skip reports whether a path is excluded by the policy's ignore globs
	// for this check. Checks that walk files should call it; the runner
	// also filters findings by path.
	Skip func(path string) bool

	shared   *Shared
	findings []Finding
}

// Shared holds the inputs the checks of one run parse once and share: a
// flake.lock read by ten lock checks is read and parsed once.
type Shared struct {
	m sync.Map // key -> *sharedValue
}

type sharedValue struct {
	once sync.Once
	v    any
	err  error
}

// Get returns the value stored under key, computing it with fn the first
// time (once, even when checks ask concurrently).
func (s *Shared) Get(key string, fn func() (any, error)) (any, error) {
	if s == nil {
		return fn()
	}
	e, _ := s.m.LoadOrStore(key, &sharedValue{})
	sv := e.(*sharedValue)
	sv.once.Do(func() { sv.v, sv.err = fn() })
	return sv.v, sv.err
}

// Shared is the run's store of parsed inputs (never nil inside a run).
func (p *Pass) Shared() *Shared {
	if p.shared == nil {
		p.shared = &Shared{}
	}
	return p.shared
}

// SharedValue is Shared().Get with the value's type.
func SharedValue[T any](p *Pass, key string, fn func() (T, error)) (T, error) {
	v, err := p.Shared().Get(key, func() (any, error) { return fn() })
	t, _ := v.(T)
	return t, err
}

// Report records a finding. An empty CheckID and a zero Severity take the
// pass's check and effective severity; use ReportSeverity to report a
// severity other than the effective default.
func (p *Pass) Report(f Finding) {
	f.CheckID = p.Check.ID
	if f.Severity == Info && p.Severity != Info {
		f.Severity = p.Severity
	}
	p.findings = append(p.findings, f)
}

// Reportf records a finding at loc with the effective severity.
func (p *Pass) Reportf(loc Location, key, format string, args ...any) {
	p.Report(Finding{Location: loc, Key: key, Message: fmt.Sprintf(format, args...)})
}

// ReportSeverity records a finding with an explicit severity, shifted by the
// difference between the effective and the default severity when a policy
// overrides it, and never below Info.
func (p *Pass) ReportSeverity(sev Severity, f Finding) {
	sev += p.Severity - p.Check.Severity
	sev = max(Info, min(Critical, sev))
	f.CheckID = p.Check.ID
	f.Severity = sev
	p.findings = append(p.findings, f)
}

// Findings returns what the pass reported so far.
func (p *Pass) Findings() []Finding { return p.findings }

// CloneOptions returns a pointer to a shallow copy of the struct that opts
// points to, with slices and maps copied, so that decoding a policy into it
// never changes a check's defaults.
func CloneOptions(opts any) any {
	if opts == nil {
		return nil
	}
	v := reflect.ValueOf(opts).Elem()
	c := reflect.New(v.Type())
	c.Elem().Set(v)
	for i := 0; i < v.NumField(); i++ {
		f := c.Elem().Field(i)
		switch f.Kind() {
		case reflect.Slice:
			if !f.IsNil() {
				n := reflect.MakeSlice(f.Type(), f.Len(), f.Len())
				reflect.Copy(n, f)
				f.Set(n)
			}
		case reflect.Map:
			if !f.IsNil() {
				n := reflect.MakeMap(f.Type())
				for _, k := range f.MapKeys() {
					n.SetMapIndex(k, f.MapIndex(k))
				}
				f.Set(n)
			}
		}
	}
	return c.Interface()
}
