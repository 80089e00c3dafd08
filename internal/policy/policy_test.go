package policy

import (
	"github.com/nixgate/nixgate/internal/fuzzlimit"

	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nixgate/nixgate/internal/check"
)

type testOpts struct {
	Names []string          `toml:"names" doc:"names"`
	Days  int               `toml:"days" doc:"days"`
	Map   map[string]string `toml:"map" doc:"a map"`
	Mode  string            `toml:"mode" doc:"mode"`
}

func testChecks() []*check.Check {
	run := func(context.Context, *check.Pass) error { return nil }
	return []*check.Check{
		{ID: "alpha-check", Title: "Alpha", Severity: check.High, Rules: []string{"R1"}, Why: "Because.", Run: run,
			Options: &testOpts{Names: []string{"a", "b"}, Days: 30, Mode: "deny"}},
		{ID: "beta-check", Title: "Beta", Severity: check.Low, Rules: []string{"R3"}, Why: "Why not.", Run: run, Disabled: true},
	}
}

func TestParse(t *testing.T) {
	p, err := Parse("p.toml", []byte(`
version = 1
fail-on = "medium"
baseline = "base.json"
[checks.alpha-check]
severity = "critical"
ignore = ["vendor/**"]
days = 7
map = { a = "b" }
[checks.beta-check]
enabled = true
`), testChecks())
	if err != nil {
		t.Fatal(err)
	}
	if p.FailOn != check.Medium || p.Baseline != "base.json" {
		t.Errorf("top level: %+v", p)
	}
	a := p.Settings["alpha-check"]
	want := &testOpts{Names: []string{"a", "b"}, Days: 7, Map: map[string]string{"a": "b"}, Mode: "deny"}
	if d := cmp.Diff(want, a.Options); d != "" {
		t.Errorf("options (-want +got):\n%s", d)
	}
	if !a.Enabled || a.Severity != check.Critical || !cmp.Equal(a.Ignore, []string{"vendor/**"}) {
		t.Errorf("alpha settings: %+v", a)
	}
	if b := p.Settings["beta-check"]; !b.Enabled || b.Severity != check.Low {
		t.Errorf("beta settings: %+v", b)
	}
	// Decoding never changes a check's defaults.
	if d := testChecks()[0].Options.(*testOpts); d.Days != 30 {
		t.Error("defaults changed")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"typo top", "fail_on = \"high\"\n", `p.toml:1:1: unknown key "fail_on" (did you mean "fail-on"?)`},
		{"typo check", "[checks.alpha-chek]\n", `p.toml:1:2: unknown key "checks.alpha-chek" (did you mean "alpha-check"?)`},
		{"typo option", "[checks.alpha-check]\n\ndasy = 3\n", `p.toml:3:1: unknown key "checks.alpha-check.dasy" (did you mean "days"?)`},
		{"no close key", "[checks.alpha-check]\nzzzzzzzz = 1\n", `valid keys here: days, enabled, ignore, map, mode, names, severity`},
		{"wrong type bool", "[checks.beta-check]\nenabled = \"yes\"\n", `p.toml:2:11: enabled: wrong type: got a TOML string, want a boolean (true or false)`},
		{"wrong type int", "[checks.alpha-check]\ndays = \"7\"\n", `p.toml:2:8: days: wrong type: got a TOML string, want an integer`},
		{"bad severity", "fail-on = \"hgih\"\n", `p.toml:1:11: fail-on: unknown severity (want one of`},
		{"syntax", "[checks\n", `p.toml:1:`},
		{"version", "version = 2\n", `policy version 2 is not supported`},
		{"bad glob", "[checks.alpha-check]\nignore = [\"[\"]\n", `p.toml:2:1: checks.alpha-check.ignore: bad glob "["`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("p.toml", []byte(tt.in), testChecks())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestTemplateRoundTrip(t *testing.T) {
	cs := testChecks()
	tmpl := Template(cs)
	p, err := Parse("template", tmpl, cs)
	if err != nil {
		t.Fatalf("template does not parse: %v\n%s", err, tmpl)
	}
	def := Default(cs)
	def.Path = "template"
	if d := cmp.Diff(def, p, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("template differs from the default (-default +template):\n%s", d)
	}
	for _, want := range []string{"# alpha-check (R1): Alpha", "# Because.", "enabled = false", "# days\ndays = 30", `names = ['a', 'b']`} {
		if !strings.Contains(string(tmpl), want) {
			t.Errorf("template lacks %q", want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("version = 1\nfail-on = \"high\"\n[checks.alpha-check]\ndays = 3\nignore = [\"a/**\"]\n"))
	f.Add([]byte("[checks.beta-check]\nenabled = true\nseverity = \"low\"\n"))
	f.Add([]byte("x = [\n"))
	f.Add(Template(testChecks()))
	f.Add([]byte("[checks.gamma]\nx = 1\n[checks.alpha-check]\ndays = \"x\"\n"))
	f.Add([]byte("checks.beta-check.enabled = false\n[checks]\nalpha-check = { days = 9 }\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.toml", data, testChecks())
		if err == nil && p == nil {
			t.Fatal("nil policy without an error")
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
		// The type with the named checks' tables only decodes as the
		// type with every check's does.
		full, ferr := parse("fuzz.toml", data, testChecks(), testChecks())
		if (err == nil) != (ferr == nil) || err != nil && err.Error() != ferr.Error() {
			t.Fatalf("named tables: %v; every table: %v", err, ferr)
		}
		if d := cmp.Diff(full, p, cmpopts.EquateEmpty()); err == nil && d != "" {
			t.Fatalf("named tables differ from every table (-every +named):\n%s", d)
		}
	})
}

// [project] init names the init program for the checks whose options take
// it; a check's own option wins.
func TestProjectInit(t *testing.T) {
	c := &check.Check{ID: "x-unsafe", Title: "x", Severity: check.High, Options: &projectOpts{}}
	p, err := Parse("nixgate.toml", []byte("[project]\ninit = [\"bay0\"]\n"), []*check.Check{c})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Settings["x-unsafe"].Options.(*projectOpts).Crates; len(got) != 1 || got[0] != "bay0" {
		t.Errorf("crates = %v, want [bay0]", got)
	}
	if c.Options.(*projectOpts).Crates != nil {
		t.Error("the check's defaults changed")
	}
	p, err = Parse("nixgate.toml", []byte("[project]\ninit = [\"bay0\"]\n[checks.x-unsafe]\ncrates = [\"own\"]\n"), []*check.Check{c})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Settings["x-unsafe"].Options.(*projectOpts).Crates; len(got) != 1 || got[0] != "own" {
		t.Errorf("crates = %v, want the check's own [own]", got)
	}
	if _, err := Parse("nixgate.toml", []byte("[project]\nint = []\n"), []*check.Check{c}); err == nil || !strings.Contains(err.Error(), `did you mean "init"`) {
		t.Errorf("a misspelt [project] key: %v", err)
	}
}

type projectOpts struct {
	Crates []string `toml:"crates" doc:"the init program"`
}

func (o *projectOpts) ApplyProject(p Project) {
	if len(o.Crates) == 0 {
		o.Crates = p.Init
	}
}

// FuzzBaseline: any bytes give a baseline or an error, never a panic; every
// entry kept has a fingerprint and a reason.
func FuzzBaseline(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":1,"findings":[{"fingerprint":"ab","checkId":"secret-leak","path":"a","message":"m","reason":"r"}]}`))
	f.Add([]byte(`{"schemaVersion":1,"findings":[{"fingerprint":"","reason":""}]}`))
	f.Add([]byte(`{"schemaVersion":2}`))
	f.Add([]byte("{\"schemaVersion\":1,\n\"findings\":[{\"fingerprint\":\"\\\"\",\"reason\":\"r\"}]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzlimit.Default(t, func() {
			b, err := ParseBaseline("b.json", data)
			if err != nil {
				return
			}
			for _, e := range b.Entries {
				if e.Fingerprint == "" || e.Reason == "" || e.Line < 0 {
					t.Fatalf("bad entry %+v", e)
				}
			}
		})
	})
}
