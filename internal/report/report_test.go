package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	// The OASIS SARIF 2.1.0 schema ships inside go-sarif's sources; the
	// import keeps the module (and so the schema) in go.mod.
	_ "github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/fuzzlimit"
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
				{CheckID: "secret-leak", Severity: check.Critical, Message: "Nix binary-cache signing secret key (name:base64 of an ed25519 seed and its public key): cache.… (108 chars, sha256:c4d6f5bb9ce3) [nix-signing-key]",
					Location: check.Location{Path: "deploy/secret.orig.yaml", Line: 10, Column: 24}, Fingerprint: "aa112233445566778899aabbccddeeff"},
			},
			Suppressed: []check.Suppressed{{Finding: check.Finding{CheckID: "build-output-committed", Severity: check.High,
				Message: "compiled binary is tracked: fw/blob.bin", Location: check.Location{Path: "fw/blob.bin"},
				Fingerprint: "ffeeddccbbaa99887766554433221100"}, Via: "baseline", Reason: "vendor firmware, vetted"}},
			Errors: []check.Errored{{CheckID: "lock-nixpkgs-stale", Error: "parse flake.lock: 3:1: unexpected EOF"}},
		},
	}
}

// grouped is the kernels-community case: one stale nixpkgs followed by
// many flake.locks is one finding with many places, on a repository
// nixgate has never seen (the adoption steps follow the summary).
func grouped() *Report {
	r := sample()
	r.Adopt = true
	for _, k := range []string{"activation", "attention", "causal-conv1d", "deformable-detr", "flash-attn2", "layer-norm", "mamba-ssm", "megablocks", "moe", "punica-sgmv"} {
		r.Result.Findings = append(r.Result.Findings, check.Finding{CheckID: "lock-nixpkgs-stale", Severity: check.Medium,
			Message:  "nixpkgs input 'kernel-builder/nixpkgs' (also kernel-builder/rust-overlay/nixpkgs) is 148 days old (last modified 2026-07-05, limit 30 days)",
			Location: check.Location{Path: k + "/flake.lock", Line: 60, Column: 5}, Fingerprint: fmt.Sprintf("%032x", len(k))})
	}
	check.SortFindings(r.Result.Findings)
	return r
}

// hostile carries names and messages an attacker controls: newlines,
// ANSI and OSC escapes, a workflow command, Markdown and HTML in a path.
func hostile() *Report {
	c := &check.Check{ID: "build-output-committed", Title: "Build outputs are committed", Severity: check.High, Rules: []string{"R1"}, Why: "w", Remediation: "r"}
	paths := []string{
		"x\ntouch PWNED; #\n.env",
		"\x1b[2J\x1b]0;owned\x07evil.bin",
		"::error::fake annotation",
		"docs/<img src=x onerror=alert(1)>|**bold**|[link](https://evil.example)\n### ✅ passed",
		"a [ci-signs]",
	}
	var fs []check.Finding
	for i, p := range paths {
		fs = append(fs, check.Finding{CheckID: c.ID, Severity: check.High, Message: "compiled binary is tracked: " + p + ", ELF binary (64 B)\n::warning::x",
			Location: check.Location{Path: p, Line: i + 1}, Fingerprint: fmt.Sprintf("%032x", i)})
	}
	check.SortFindings(fs)
	return &Report{Command: "check", Target: "repo`|<b>", ToolVersion: "v0.0.0-test", FailOn: check.High,
		Result: &check.Result{Checks: []*check.Check{c}, Findings: fs,
			Errors: []check.Errored{{CheckID: c.ID, Error: "read \x1b[31mx\n::error::y: denied"}}}}
}

func TestGolden(t *testing.T) {
	for name, mk := range map[string]func() *Report{"sample": sample, "grouped": grouped, "hostile": hostile} {
		for _, format := range Formats {
			t.Run(name+"/"+format, func(t *testing.T) { golden(t, name, format, mk) })
		}
	}
}

func golden(t *testing.T, name, format string, mk func() *Report) {
	var buf bytes.Buffer
	if err := Write(&buf, format, mk()); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join("testdata", name+"."+format)
	if *update {
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if d := cmp.Diff(string(want), buf.String()); d != "" {
		t.Errorf("%s differs from golden (-want +got; go test -update rewrites):\n%s", file, d)
	}
	// Deterministic: the same input renders the same bytes.
	var again bytes.Buffer
	Write(&again, format, mk())
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("output is not deterministic")
	}
}

// parseText reads a text report the way scripts/demo.sh and the
// fresh-machine test do: a finding is an indented line ending in [id], its
// path the last unindented line before it (lines starting with FAILED,
// PASSED, INCOMPLETE, Summary or Adopt are not paths).
func parseText(out string) []string {
	var got []string
	path := ""
	id := regexp.MustCompile(`^\s.*\[([a-z0-9-]+)\]$`)
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if l != "" && l[0] != ' ' && !regexp.MustCompile(`^(FAILED|PASSED|INCOMPLETE|Summary|Adopt)`).MatchString(l) {
			path = l
		}
		if m := id.FindStringSubmatch(l); m != nil {
			got = append(got, m[1]+" "+path)
		}
	}
	return got
}

// The text report fits 100 columns (a path heading excepted), and a script
// reading it finds each finding once, under its path, whatever the
// messages and names hold.
func TestTextLayout(t *testing.T) {
	for name, mk := range map[string]func() *Report{"sample": sample, "grouped": grouped, "hostile": hostile} {
		r := mk()
		var buf bytes.Buffer
		if err := Write(&buf, "text", r); err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(buf.String(), "\n") {
			if n := utf8.RuneCountInString(l); n > Width && strings.HasPrefix(l, " ") {
				t.Errorf("%s: %d columns: %q", name, n, l)
			}
			if strings.ContainsAny(l, "\x1b\r") || strings.HasPrefix(strings.TrimSpace(l), "::") {
				t.Errorf("%s: an escape or a workflow command reaches the output: %q", name, l)
			}
		}
		var want []string
		for _, g := range Groups(r.Result.Findings) {
			p := SafeText(g.Findings[0].Location.Path)
			if p == "" {
				p = "(repository)"
			}
			want = append(want, g.CheckID+" "+p)
		}
		if d := cmp.Diff(want, parseText(buf.String())); d != "" {
			t.Errorf("%s: findings as a script reads them (-want +got):\n%s\n%s", name, d, buf.String())
		}
	}
}

func TestWrapText(t *testing.T) {
	for _, tc := range []struct {
		prefix, s, suffix string
		want              []string
	}{
		{"  1 HIGH ", "short", "  [x]", []string{"  1 HIGH short  [x]"}},
		{"  ", strings.Repeat("word ", 30), "  [check-id]", []string{
			"  word word word word word word word word word word word word word word word word word word word",
			"    word word word word word word word word word word word  [check-id]"}},
		// a line never ends in something that looks like [id]
		{"  ", strings.Repeat("x", 80) + " tail [openssh-private-key]", "  [secret-leak]", []string{
			"  " + strings.Repeat("x", 80) + " tail",
			"    [openssh-private-key]  [secret-leak]"}},
		{"", strings.Repeat("y", 150), "", []string{strings.Repeat("y", 100), "    " + strings.Repeat("y", 50)}},
	} {
		got := wrapText(tc.prefix, tc.s, tc.suffix, 4, 100)
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("wrapText(%q): (-want +got):\n%s", tc.s, d)
		}
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
	if got.SchemaVersion != SchemaVersion || !got.Failed || got.Summary.Findings != 4 || got.Summary.BySeverity["high"] != 2 {
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
	for name, r := range map[string]*Report{"sample": sample(), "grouped": grouped(), "hostile": hostile(), "empty": {Command: "check", Result: &check.Result{}}} {
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

// FuzzText: whatever a repository names its files and whatever a check
// says, a script reading the text report finds each finding once under
// its path, and no line carries an escape or starts a workflow command.
func FuzzText(f *testing.F) {
	f.Add("x\ntouch PWNED; #\n.env", "compiled binary [ci-signs]", 3)
	f.Add("::error::x", strings.Repeat("word ", 40)+"[openssh-private-key]", 1)
	f.Add("a/b.txt", "\x1b]0;t\x07 "+strings.Repeat("y", 300), 0)
	f.Fuzz(func(t *testing.T, path, msg string, n int) {
		fuzzlimit.Default(t, func() {
			n = max(1, min(n, 20))
			var fs []check.Finding
			for i := range n {
				fs = append(fs, check.Finding{CheckID: "secret-leak", Severity: check.Severity(i % 5), Message: msg,
					Location: check.Location{Path: fmt.Sprintf("%s%d", path, i%3), Line: i}, Fingerprint: fmt.Sprintf("%032x", i)})
			}
			check.SortFindings(fs)
			r := &Report{Command: "check", FailOn: check.High, Adopt: true, Result: &check.Result{Findings: fs}}
			var buf bytes.Buffer
			if err := Write(&buf, "text", r); err != nil {
				t.Fatal(err)
			}
			if got, want := len(parseText(buf.String())), len(Groups(fs)); got != want {
				t.Fatalf("a script finds %d findings, the report has %d:\n%s", got, want, buf.String())
			}
			for _, l := range strings.Split(buf.String(), "\n") {
				if strings.ContainsAny(l, "\x1b\r") || strings.HasPrefix(strings.TrimSpace(l), "::") {
					t.Fatalf("unsafe line %q", l)
				}
				if strings.HasPrefix(l, " ") && utf8.RuneCountInString(l) > Width {
					t.Fatalf("%d columns: %q", utf8.RuneCountInString(l), l)
				}
			}
		})
	})
}
