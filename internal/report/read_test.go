package report

import (
	"bytes"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

// TestReadBack: what Write writes as json or sarif reads back into the same
// findings, suppressions and errors (nixgate ci reads its gates' reports).
func TestReadBack(t *testing.T) {
	lookup := func(id string) *check.Check {
		for _, c := range sample().Result.Checks {
			if c.ID == id {
				return c
			}
		}
		return nil
	}
	want := sample()
	for _, format := range []string{"json", "sarif"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, format, want); err != nil {
				t.Fatal(err)
			}
			read := ReadJSON
			if format == "sarif" {
				read = ReadSARIF
			}
			got, err := read(buf.Bytes(), lookup)
			if err != nil {
				t.Fatal(err)
			}
			// A finding of a check the report does not list gets a
			// minimal SARIF rule; reading it back lists that check too.
			opts := []cmp.Option{cmpopts.IgnoreFields(check.Finding{}, "Key"), cmpopts.IgnoreFields(check.Result{}, "Checks"), cmpopts.EquateEmpty()}
			for _, c := range want.Result.Checks {
				if !slices.ContainsFunc(got.Result.Checks, func(g *check.Check) bool { return g.ID == c.ID }) {
					t.Errorf("check %s not read back", c.ID)
				}
			}
			w := *want.Result
			w.Warnings = nil
			w.Findings = append([]check.Finding(nil), w.Findings...)
			check.SortFindings(w.Findings)
			check.SortFindings(got.Result.Findings)
			if d := cmp.Diff(w, *got.Result, opts...); d != "" {
				t.Errorf("read back (-want +got):\n%s", d)
			}
			if got.Command != want.Command || got.ToolVersion != want.ToolVersion {
				t.Errorf("command %q version %q", got.Command, got.ToolVersion)
			}
			if format == "json" && (got.FailOn != want.FailOn || got.Target != want.Target) {
				t.Errorf("fail-on %s target %q", got.FailOn, got.Target)
			}
		})
	}
	if _, err := ReadJSON([]byte(`{"schemaVersion": 9}`), nil); err == nil {
		t.Error("a report of another schema version was read")
	}
	if _, err := ReadSARIF([]byte(`{"version":"2.1.0","runs":[]}`), nil); err == nil {
		t.Error("a SARIF log without a run was read")
	}
}

func FuzzReadReports(f *testing.F) {
	for _, format := range []string{"json", "sarif"} {
		var buf bytes.Buffer
		Write(&buf, format, sample())
		f.Add(buf.Bytes())
	}
	f.Add([]byte(`{"schemaVersion":1,"checks":[{"id":"x"}],"findings":[{"checkId":"x","severity":"bogus"}]}`))
	f.Add([]byte(`{"version":"2.1.0","runs":[{"results":[{"ruleId":"x","locations":[{"physicalLocation":{"artifactLocation":{"uri":"%zz"}}}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzlimit.Default(t, func() {
			for _, read := range []func([]byte, func(string) *check.Check) (*Report, error){ReadJSON, ReadSARIF} {
				r, err := read(data, nil)
				if err == nil && (r.Result == nil) {
					t.Fatal("a report without a result")
				}
			}
		})
	})
}
