package kconfig

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/nixgate/nixgate/internal/check"
)

// Subject is what the checks of check.ScopeKconfig read, as
// check.Target.Input: the parsed inputs, and a place where each profile
// check leaves its per-rule report for the command's table and JSON.
type Subject struct {
	Input *Input
	// ReadProfile reads a profile file a check's options name; nil means
	// ReadInput.
	ReadProfile func(name string) ([]byte, error)

	mu      sync.Mutex
	reports map[string]*Report
}

// NewSubject wraps parsed inputs for the kconfig checks.
func NewSubject(in *Input) *Subject { return &Subject{Input: in, reports: map[string]*Report{}} }

// Record keeps the report of the check checkID.
func (s *Subject) Record(checkID string, r *Report) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reports[checkID] = r
}

// CheckReport is the per-rule report of one check.
type CheckReport struct {
	Check string `json:"check"`
	*Report
}

// Reports returns the recorded reports, by check ID.
func (s *Subject) Reports() []CheckReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CheckReport
	for id, r := range s.reports {
		out = append(out, CheckReport{Check: id, Report: r})
	}
	slices.SortFunc(out, func(a, b CheckReport) int { return strings.Compare(a.Check, b.Check) })
	return out
}

// RunInputCheck reports InputFindings for the pass's check.
func RunInputCheck(_ context.Context, p *check.Pass) error {
	s, ok := p.Input.(*Subject)
	if !ok || s.Input == nil || s.Input.Config == nil {
		return errors.New("no kernel configuration to check")
	}
	for _, f := range InputFindings(s.Input) {
		p.ReportSeverity(f.Severity, f)
	}
	return nil
}

// ProfileRun says what one profile check evaluates.
type ProfileRun struct {
	// Profiles are built-in profile names or profile files.
	Profiles []string
	// MinVersion, when not empty, replaces the profiles' min_version.
	MinVersion string
	// Init, when not empty, is the path the rule "cmdline:init" requires
	// (the anchor gate's init=).
	Init string
}

// RunProfileCheck evaluates the profiles of r on the pass's Subject,
// records the report and reports a finding per failed rule, at the
// rule's severity shifted by the policy's severity for the check.
func RunProfileCheck(_ context.Context, p *check.Pass, r ProfileRun) error {
	s, ok := p.Input.(*Subject)
	if !ok || s.Input == nil || s.Input.Config == nil {
		return errors.New("no kernel configuration to check")
	}
	if len(r.Profiles) == 0 {
		return nil
	}
	var opts EvalOptions
	if r.MinVersion != "" {
		v, err := ParseVersion(r.MinVersion)
		if err != nil {
			return fmt.Errorf("min-version: %w", err)
		}
		opts.MinVersion = v
	}
	var profiles []*Profile
	for _, ref := range r.Profiles {
		l := Loader{ReadFile: s.ReadProfile}
		prof, err := l.Load(ref)
		if err != nil {
			return err
		}
		if r.Init != "" && slices.ContainsFunc(prof.Rules, func(x *Rule) bool { return x.ID == "cmdline:init" }) {
			if prof, err = prof.WithExpected("cmdline:init", r.Init); err != nil {
				return err
			}
		}
		profiles = append(profiles, prof)
	}
	rep := EvaluateWith(s.Input, profiles, opts)
	s.Record(p.Check.ID, rep)
	for _, f := range rep.Findings(p.Check.ID) {
		p.ReportSeverity(f.Severity, f)
	}
	return nil
}
