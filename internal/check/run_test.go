package check

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nixgate/nixgate/internal/repo"
)

// lineCheck reports every line containing "TODO" in notes.txt.
var lineCheck = &Check{ID: "todo-line", Severity: High, Scope: ScopeRepo, Run: func(ctx context.Context, p *Pass) error {
	data, err := p.Repo.ReadFile("notes.txt")
	if err != nil {
		return err
	}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, "TODO") {
			p.Reportf(Location{Path: "notes.txt", Line: i + 1}, "", "todo found")
		}
	}
	return nil
}}

func openDir(t *testing.T, files map[string]string) *repo.Repo {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := repo.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestInlineSuppression(t *testing.T) {
	r := openDir(t, map[string]string{"notes.txt": strings.Join([]string{
		"TODO one",
		"TODO two // nixgate:ignore todo-line -- tracked in #7",
		"# nixgate:ignore todo-line -- reviewed, harmless",
		"TODO three",
		"# nixgate:ignore todo-line",
		"TODO four",
		"TODO five # nixgate:ignore other-check -- not this one",
	}, "\n")})
	res := Run(context.Background(), []*Check{lineCheck}, nil, Target{Repo: r}, nil)
	var lines []int
	for _, f := range res.Findings {
		lines = append(lines, f.Location.Line)
	}
	if len(lines) != 3 || lines[0] != 1 || lines[1] != 6 || lines[2] != 7 {
		t.Errorf("unsuppressed lines = %v, want [1 6 7]", lines)
	}
	if len(res.Suppressed) != 2 || res.Suppressed[0].Reason != "tracked in #7" || res.Suppressed[1].Reason != "reviewed, harmless" || res.Suppressed[0].Via != "inline" {
		t.Errorf("suppressed = %+v", res.Suppressed)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "notes.txt:5: nixgate:ignore todo-line has no reason") {
		t.Errorf("warnings = %q", res.Warnings)
	}
}

func TestFingerprintSurvivesLineShift(t *testing.T) {
	before := openDir(t, map[string]string{"notes.txt": "a\nTODO keep\n"})
	after := openDir(t, map[string]string{"notes.txt": "new line\nanother\na\nTODO keep\n"})
	r1 := Run(context.Background(), []*Check{lineCheck}, nil, Target{Repo: before}, nil)
	base := &Baseline{Entries: []BaselineEntry{{Fingerprint: r1.Findings[0].Fingerprint, Reason: "accepted"}}}
	r2 := Run(context.Background(), []*Check{lineCheck}, nil, Target{Repo: after}, base)
	if len(r2.Findings) != 0 || len(r2.Suppressed) != 1 || r2.Suppressed[0].Via != "baseline" {
		t.Errorf("baseline did not survive a line shift: %+v", r2)
	}
	// A changed line is a new finding.
	changed := openDir(t, map[string]string{"notes.txt": "TODO different\n"})
	r3 := Run(context.Background(), []*Check{lineCheck}, nil, Target{Repo: changed}, base)
	if len(r3.Findings) != 1 {
		t.Errorf("changed content was suppressed: %+v", r3)
	}
}

func TestErroredAndPanickingChecksDoNotStopTheRun(t *testing.T) {
	r := openDir(t, map[string]string{"notes.txt": "TODO\n"})
	failing := &Check{ID: "fails", Run: func(context.Context, *Pass) error { return errors.New("boom") }}
	panicking := &Check{ID: "panics", Run: func(context.Context, *Pass) error { panic("oops") }}
	res := Run(context.Background(), []*Check{failing, lineCheck, panicking}, nil, Target{Repo: r}, nil)
	if len(res.Findings) != 1 {
		t.Errorf("findings = %+v", res.Findings)
	}
	if len(res.Errors) != 2 || res.Errors[0].CheckID != "fails" || res.Errors[0].Error != "boom" ||
		res.Errors[1].CheckID != "panics" || !strings.HasPrefix(res.Errors[1].Error, "panic: oops") {
		t.Errorf("errors = %+v", res.Errors)
	}
}

func TestSettings(t *testing.T) {
	r := openDir(t, map[string]string{"notes.txt": "TODO\n", "vendor/notes.txt": "TODO\n"})
	off := &Check{ID: "off", Disabled: true, Run: func(ctx context.Context, p *Pass) error {
		p.Reportf(Location{}, "", "ran")
		return nil
	}}
	res := Run(context.Background(), []*Check{lineCheck, off}, map[string]Settings{
		"todo-line": {Enabled: true, Severity: Low, Ignore: []string{"notes.txt"}},
	}, Target{Repo: r}, nil)
	if len(res.Findings) != 0 || len(res.Checks) != 1 {
		t.Errorf("ignore glob or disabled default not applied: %+v", res)
	}
	res = Run(context.Background(), []*Check{lineCheck}, map[string]Settings{"todo-line": {Enabled: true, Severity: Low}}, Target{Repo: r}, nil)
	if len(res.Findings) != 1 || res.Findings[0].Severity != Low {
		t.Errorf("severity override not applied: %+v", res.Findings)
	}
}

func TestReportSeverityShiftsWithOverride(t *testing.T) {
	c := &Check{ID: "x", Severity: High}
	p := &Pass{Check: c, Severity: Medium}
	p.ReportSeverity(Critical, Finding{})
	p.ReportSeverity(Info, Finding{})
	if got := p.Findings(); got[0].Severity != High || got[1].Severity != Info {
		t.Errorf("got %v %v", got[0].Severity, got[1].Severity)
	}
}

func TestParseSeverity(t *testing.T) {
	for _, s := range Severities() {
		got, err := ParseSeverity(strings.ToUpper(s.String()))
		if err != nil || got != s {
			t.Errorf("%s: %v %v", s, got, err)
		}
	}
	if _, err := ParseSeverity("severe"); err == nil {
		t.Error("accepted an unknown severity")
	}
}

func init() {
	// Tests that open git repositories need git.
	if _, err := exec.LookPath("git"); err != nil {
		panic("git is required")
	}
}

// TestPrepare: each enabled check's Prepare runs once with the options and
// the input the run will use; a disabled check's does not run.
func TestPrepare(t *testing.T) {
	type opts struct{ N int }
	got := make(chan string, 4)
	mk := func(id string, disabled bool) *Check {
		return &Check{ID: id, Disabled: disabled, Options: &opts{N: 1},
			Prepare: func(o, in any) { got <- fmt.Sprintf("%s:%d:%v", id, o.(*opts).N, in) }}
	}
	checks := []*Check{mk("on-by-default", false), mk("off-by-default", true), mk("turned-off", false), mk("turned-on", true),
		{ID: "no-prepare"}}
	Prepare(checks, map[string]Settings{
		"turned-off": {Enabled: false},
		"turned-on":  {Enabled: true, Options: &opts{N: 7}},
	}, "in")
	var seen []string
	for range 2 {
		seen = append(seen, <-got)
	}
	slices.Sort(seen)
	if want := []string{"on-by-default:1:in", "turned-on:7:in"}; !slices.Equal(seen, want) {
		t.Errorf("prepared %v, want %v", seen, want)
	}
	select {
	case extra := <-got:
		t.Errorf("also prepared %s", extra)
	case <-time.After(50 * time.Millisecond):
	}
}
