package checks

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/hostaudit"
)

// TestHostFixtures runs every host check on its fixtures, as
// TestFixtures does for repository checks.
//
// A host fixture is testdata/<check-id>/<name>.txtar. Its files form the
// root of the audited system (nixgate host --root). Sections with special
// names:
//
//	-- want --        one expected finding a line, as in TestFixtures
//	-- env --         NAME=VALUE lines: the environment of the audit
//	-- nix.json --    the installed Nix (hostaudit.NixVersion as JSON)
//	-- probe.json --  a sandbox probe's record (hostaudit.ProbeRecord);
//	                  the fixture judges it as nixgate host --probe does
//
// A comment line "shared" stands for the policy's [host] shared = true.
//
// Names starting with "pass" must produce no finding of the check, names
// starting with "fail" at least one; every finding must be wanted and
// every want found.
func TestHostFixtures(t *testing.T) {
	for _, c := range InScope(check.ScopeHost) {
		files, _ := filepath.Glob(filepath.Join("testdata", c.ID, "*.txtar"))
		var pass, fail int
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), ".txtar")
			switch {
			case strings.HasPrefix(name, "pass"):
				pass++
			case strings.HasPrefix(name, "fail"):
				fail++
			}
			t.Run(c.ID+"/"+name, func(t *testing.T) { runHostFixture(t, c, f, name) })
		}
		if pass == 0 || fail == 0 {
			t.Errorf("%s: want at least one pass-*.txtar and one fail-*.txtar fixture in testdata/%s (have %d and %d)", c.ID, c.ID, pass, fail)
		}
	}
}

func runHostFixture(t *testing.T, c *check.Check, file, name string) {
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var wants []want
	env := map[string]string{}
	var nixJSON, probeJSON []byte
	for _, f := range ar.Files {
		switch f.Name {
		case "want":
			for _, l := range strings.Split(strings.TrimSpace(string(f.Data)), "\n") {
				if l = strings.TrimSpace(l); l != "" {
					wants = append(wants, parseWant(t, l))
				}
			}
			continue
		case "nix.json":
			nixJSON = f.Data
			continue
		case "probe.json":
			probeJSON = f.Data
			continue
		case "env":
			for _, l := range strings.Split(strings.TrimSpace(string(f.Data)), "\n") {
				if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok {
					env[k] = v
				}
			}
			continue
		}
		writeFile(t, dir, f.Name, f.Data)
	}
	shared := false
	for _, l := range strings.Split(string(ar.Comment), "\n") {
		if strings.TrimSpace(l) == "shared" {
			shared = true // the policy's [host] shared = true
		}
		if fs := strings.Fields(l); len(fs) == 3 && fs[0] == "mode" {
			var m uint32
			for _, ch := range fs[2] {
				m = m*8 + uint32(ch-'0')
			}
			if err := os.Chmod(filepath.Join(dir, fs[1]), os.FileMode(m)); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx := context.Background()
	h, err := hostaudit.Collect(ctx, hostaudit.Options{Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	h.Env = env
	h.Shared = shared
	if nixJSON != nil {
		if err := json.Unmarshal(nixJSON, &h.Nix); err != nil {
			t.Fatalf("nix.json: %v", err)
		}
	}
	if probeJSON != nil {
		h.Probe = &hostaudit.ProbeResult{Store: "/tmp/store"}
		if err := json.Unmarshal(probeJSON, &h.Probe.Record); err != nil {
			t.Fatalf("probe.json: %v", err)
		}
		h.Probe.Judge()
	}
	s := check.Settings{Enabled: true, Severity: c.Severity, Options: cloneOptions(c.Options)}
	res := check.Run(ctx, []*check.Check{c}, map[string]check.Settings{c.ID: s}, check.Target{Input: h}, nil)
	for _, e := range res.Errors {
		t.Errorf("check errored: %s", e.Error)
	}
	if strings.HasPrefix(name, "pass") && len(wants) > 0 {
		t.Errorf("a pass fixture must not want findings")
	}
	if strings.HasPrefix(name, "fail") && len(wants) == 0 {
		t.Errorf("a fail fixture must want at least one finding")
	}
	got := slices.Clone(res.Findings)
	for _, w := range wants {
		i := slices.IndexFunc(got, func(f check.Finding) bool {
			return (w.path == "-" && f.Location.Path == "" || w.path == f.Location.Path) &&
				(w.line == 0 || w.line == f.Location.Line) &&
				w.re.MatchString(f.Severity.String()+" "+f.Message)
		})
		if i < 0 {
			t.Errorf("missing finding %s", w.src)
			continue
		}
		got = slices.Delete(got, i, i+1)
	}
	for _, f := range got {
		t.Errorf("unexpected finding %s: %s %s", f.Location, f.Severity, f.Message)
	}
}
