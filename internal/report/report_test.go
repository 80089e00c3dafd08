package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	// The OASIS SARIF 2.1.0 schema ships inside go-sarif's sources; the
	// import keeps the module (and so the schema) in go.mod.
	_ "github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/nixgate/nixgate/internal/check"
)

var update = flag.Bool("update", false, "rewrite golden files")

func sample() *Report {
	c1 := &check.Check{ID: "build-output-committed", Title: "Build outputs are committed", Severity: check.High,
		Rules: []string{"R1"}, Why: "Binaries cannot be reviewed.", Remediation: "Remove them."}
	c2 := &check.Check{ID: "dirty-tree", Title: "The work tree is dirty", Severity: check.High,
		Rules: []string{"R3"}, Why: "Uncommitted changes cannot be traced.", Remediation: "Commit | stash."}
	c3 := &check.Check{ID: "lock-nixpkgs-stale", Title: "nixpkgs is stale", Severity: check.Medium,
		Rules: []string{"R5"}, Why: "Old nixpkgs misses fixes.", Remediation: "Update."}
	return &Report{
		Command: "check", Target: "examples/anchor", ToolVersion: "v0.0.0-test", FailOn: check.High,
		Result: &check.Result{
			Checks: []*check.Check{c1, c2, c3},
			Findings: []check.Finding{
				{CheckID: "build-output-committed", Severity: check.High, Message: "compiled binary is tracked: build/init.o, ELF binary (64 B)",
					Location: check.Location{Path: "build/init.o"}, Fingerprint: "0123456789abcdef0123456789abcdef"},
				{CheckID: "lock-nixpkgs-stale", Severity: check.Medium, Message: "nixpkgs is 412 days old (limit 30) <old>",
					Location: check.Location{Path: "flake.lock", Line: 12, Column: 5}, Fingerprint: "fedcba9876543210fedcba9876543210"},
				{CheckID: "dirty-tree", Severity: check.High, Message: "not a git work tree | nothing proves the commit",
					Fingerprint: "00112233445566778899aabbccddeeff"},
			},
			Suppressed: []check.Suppressed{{Finding: check.Finding{CheckID: "build-output-committed", Severity: check.High,
				Message: "compiled binary is tracked: fw/blob.bin", Location: check.Location{Path: "fw/blob.bin"},
				Fingerprint: "ffeeddccbbaa99887766554433221100"}, Via: "baseline", Reason: "vendor firmware, vetted"}},
			Errors: []check.Errored{{CheckID: "lock-nixpkgs-stale", Error: "parse flake.lock: 3:1: unexpected EOF"}},
		},
	}
}

func TestGolden(t *testing.T) {
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, format, sample()); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "sample."+format)
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if d := cmp.Diff(string(want), buf.String()); d != "" {
				t.Errorf("%s differs from golden (-want +got; go test -update rewrites):\n%s", format, d)
			}
			// Deterministic: the same input renders the same bytes.
			var again bytes.Buffer
			Write(&again, format, sample())
			if !bytes.Equal(buf.Bytes(), again.Bytes()) {
				t.Error("output is not deterministic")
			}
		})
	}
}

func TestTextColorOnlyWhenAsked(t *testing.T) {
	r := sample()
	var plain, color bytes.Buffer
	Write(&plain, "text", r)
	r.Color = true
	Write(&color, "text", r)
	if bytes.Contains(plain.Bytes(), []byte("\x1b[")) {
		t.Error("plain text has ANSI escapes")
	}
	if !bytes.Contains(color.Bytes(), []byte("\x1b[1;31mHIGH")) {
		t.Error("colour text lacks the severity colour")
	}
}

func TestJSONShape(t *testing.T) {
	var buf bytes.Buffer
	Write(&buf, "json", sample())
	var got struct {
		SchemaVersion int  `json:"schemaVersion"`
		Failed        bool `json:"failed"`
		Summary       struct {
			Findings   int            `json:"findings"`
			BySeverity map[string]int `json:"bySeverity"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.SchemaVersion != SchemaVersion || !got.Failed || got.Summary.Findings != 3 || got.Summary.BySeverity["high"] != 2 {
		t.Errorf("unexpected JSON summary: %+v", got)
	}
}

// sarifSchema loads the OASIS SARIF 2.1.0 schema from go-sarif's sources in
// the module cache.
func loadSARIFSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/owenrumney/go-sarif/v3").Output()
	if err != nil {
		t.Fatalf("locate go-sarif: %v", err)
	}
	src := filepath.Join(strings.TrimSpace(string(out)), "pkg/report/v210/sarif/schema.go")
	f, err := parser.ParseFile(token.NewFileSet(), src, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var text string
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && len(vs.Names) == 1 && vs.Names[0].Name == "schema" {
			text, err = strconv.Unquote(vs.Values[0].(*ast.BasicLit).Value)
		}
		return true
	})
	if text == "" || err != nil {
		t.Fatalf("no schema constant in %s: %v", src, err)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("sarif-schema-2.1.0.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ValidateSARIF is used by other packages' tests through this helper file's
// twin in internal/cli; here it checks the writer itself.
func TestSARIFValidatesAgainstSchema(t *testing.T) {
	s := loadSARIFSchema(t)
	for name, r := range map[string]*Report{"sample": sample(), "empty": {Command: "check", Result: &check.Result{}}} {
		var buf bytes.Buffer
		if err := Write(&buf, "sarif", r); err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(doc); err != nil {
			t.Errorf("%s: SARIF does not validate: %v", name, err)
		}
	}
	// The validator must reject an invalid log, or the test proves nothing.
	bad, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"version":"2.1.0","runs":[{"tool":{"driver":{}}}]}`))
	if s.Validate(bad) == nil {
		t.Error("schema accepted a log whose driver has no name")
	}
}
