package ci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/fuzzlimit"
	"github.com/nixgate/nixgate/internal/report"
	"github.com/nixgate/nixgate/internal/sarifschema"
)

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

func TestPlan(t *testing.T) {
	has := func(path ...string) bool { return path[0] != "attest" }
	look := func(p string) (string, error) {
		if p == "qemu-system-x86_64" || p == "cargo" {
			return "", errors.New("not found")
		}
		return "/usr/bin/" + p, nil
	}
	full := &Config{
		RequiredOutputs: []string{"packages.x86_64-linux.uki"},
		DevshellTools:   []string{"jq"},
		Nix:             NixGate{Flake: "image", Store: "/tmp/s", Options: []string{"sandbox=true"}},
		Check:           &CheckGate{Skip: []string{"dirty-tree"}, FailOn: "medium"},
		Lock:            &LockGate{FailOn: "medium"},
		Kconfig:         &KconfigGate{Configs: []string{"kernel/a.config"}, Profiles: []string{"anchor", "kernel/gate.toml"}, Cmdline: "kernel/cmdline"},
		Host:            &HostGate{Probe: true, Store: "/tmp/probe"},
		Rebuild:         &RebuildGate{Installables: []string{".#default", "./x.nix"}, Attrs: []string{"a"}},
		Cache:           &CacheGate{Store: "https://cache.example.org", Keys: []string{"k:AAAA"}, Require: 2, Closure: []string{"/nix/store/x"}},
		UKI:             &UKIGate{File: "result/anchor.efi", Policy: "uki/gate.toml", Certs: []string{"keys/db.crt"}, BootTest: true, Expect: "bay0"},
		Provenance:      &ProvenanceGate{Installable: ".#default"},
		Run: []RunStep{{Name: "tests", Command: []string{"cargo", "test"}, Timeout: Duration(time.Minute)},
			{Name: "flake check", Command: []string{"nix", "flake", "check"}, Dir: "sub"},
			{Name: "off", Command: []string{"true"}, Enabled: no()}},
	}
	p := &Plan{Dir: "repo", Config: full, PolicyFile: "repo/nixgate.toml", Base: "abc123", Head: "HEAD", Event: "/ev.json",
		Files: []string{"flake.lock", "sub/flake.lock", "README.md"}, Has: has, LookPath: look}
	var got []string
	for _, g := range p.Gates() {
		line := fmt.Sprintf("%s | %s", g.Name, g.CommandLine())
		if g.Static {
			line += " | static"
		}
		if g.Skip != "" {
			line += " | SKIP " + g.Skip
		}
		got = append(got, line)
	}
	want := []string{
		"check | nixgate check repo --skip dirty-tree --fail-on medium | static",
		"pr | nixgate pr --base abc123 repo --event /ev.json --skip lock-change-risk | static",
		"lock flake.lock | nixgate lock diff -C repo --git abc123..HEAD flake.lock --fail-on medium | static",
		"lock sub/flake.lock | nixgate lock diff -C repo --git abc123..HEAD sub/flake.lock --fail-on medium | static",
		"kconfig kernel/a.config | nixgate kconfig repo/kernel/a.config --profile anchor --profile repo/kernel/gate.toml --cmdline repo/kernel/cmdline | static",
		"host | nixgate host --probe --store /tmp/probe --policy repo/nixgate.toml",
		"required-outputs | nixgate flake outputs repo/image --require packages.x86_64-linux.uki --store /tmp/s --option sandbox=true --policy repo/nixgate.toml",
		"devshell-tools | nixgate flake devshell repo/image --tool jq --store /tmp/s --option sandbox=true --policy repo/nixgate.toml",
		"run: tests | cd repo && cargo test | SKIP cargo not found on PATH",
		"run: flake check | cd repo/sub && nix flake check",
		"rebuild | nixgate rebuild repo#default repo/x.nix -A a --policy repo/nixgate.toml",
		"cache | nixgate cache verify https://cache.example.org --trusted-key k:AAAA --require 2 --closure /nix/store/x --policy repo/nixgate.toml",
		"uki-check | nixgate uki check repo/result/anchor.efi --policy repo/uki/gate.toml | static",
		"uki-verify | nixgate uki verify repo/result/anchor.efi --cert repo/keys/db.crt --policy repo/uki/gate.toml | static",
		"uki-boot-test | nixgate uki boot-test repo/result/anchor.efi --expect bay0 | SKIP qemu-system-x86_64 not found on PATH",
		"provenance | nixgate attest repo#default | SKIP command not available: this nixgate has no `nixgate attest`",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}

	// Without a base, pr and lock are skipped with the reason; without
	// tables only check, pr and lock are planned.
	p = &Plan{Dir: ".", Config: &Config{}, Files: []string{"flake.lock"}}
	got = nil
	for _, g := range p.Gates() {
		got = append(got, g.Name+" "+g.Skip)
	}
	noBase := "no base revision: pass --base, or run on a pull request (GitHub pull_request event, GitLab merge request pipeline)"
	if d := cmp.Diff([]string{"check ", "pr " + noBase, "lock flake.lock " + noBase}, got); d != "" {
		t.Errorf("default plan (-want +got):\n%s", d)
	}
}

func TestSelect(t *testing.T) {
	c := &Config{UKI: &UKIGate{File: "x.efi", Certs: []string{"c"}}, Kconfig: &KconfigGate{Configs: []string{"a", "b"}},
		Run: []RunStep{{Name: "a", Command: []string{"true"}}, {Name: "b", Command: []string{"true"}}}, Check: &CheckGate{}}
	names := func(only, skip []string) string {
		p := &Plan{Dir: ".", Config: c, Only: only, Skip: skip}
		var s []string
		for _, g := range p.Gates() {
			s = append(s, g.Name)
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct {
		only, skip []string
		want       string
	}{
		{[]string{"static"}, nil, "check,pr,kconfig a,kconfig b,uki-check,uki-verify"},
		{[]string{"uki"}, nil, "uki-check,uki-verify"},
		{[]string{"run"}, []string{"run:a"}, "run: b"},
		{[]string{"kconfig", "run:a"}, nil, "kconfig a,kconfig b,run: a"},
		{nil, []string{"static"}, "run: a,run: b"},
	} {
		if got := names(tc.only, tc.skip); got != tc.want {
			t.Errorf("--only %v --skip %v: %s, want %s", tc.only, tc.skip, got, tc.want)
		}
	}
	if err := CheckSelectors(c, []string{"chek"}); err == nil || !strings.Contains(err.Error(), `unknown gate "chek"`) {
		t.Errorf("unknown gate: %v", err)
	}
	if err := CheckSelectors(c, []string{"run:a", "static", "uki-boot-test"}); err != nil {
		t.Error(err)
	}
}

func TestDetectChange(t *testing.T) {
	sha := strings.Repeat("ab", 20)
	files := map[string]string{
		"pr.json":     fmt.Sprintf(`{"pull_request": {"base": {"sha": %q, "ref": "main"}, "labels": [{"name": "x"}]}}`, sha),
		"mg.json":     fmt.Sprintf(`{"merge_group": {"base_sha": %q}}`, sha),
		"push.json":   fmt.Sprintf(`{"before": %q, "after": %q}`, sha, sha),
		"zero.json":   `{"pull_request": {"base": {"sha": "0000000000000000000000000000000000000000"}}}`,
		"bad.json":    `{"pull_request": `,
		"inject.json": `{"pull_request": {"base": {"sha": "--upload-pack=evil"}}}`,
	}
	read := func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, os.ErrNotExist
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		base string
		err  bool
	}{
		{"github pull request", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": "pr.json"}, sha, false},
		{"github merge queue", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "merge_group", "GITHUB_EVENT_PATH": "mg.json"}, sha, false},
		{"github push", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": "push.json"}, "", false},
		{"a new branch", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_PATH": "zero.json"}, "", false},
		{"not a revision", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_PATH": "inject.json"}, "", false},
		{"bad payload", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_PATH": "bad.json"}, "", true},
		{"missing payload", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_PATH": "nope.json"}, "", true},
		{"gitlab merge request", map[string]string{"GITLAB_CI": "true", "CI_MERGE_REQUEST_DIFF_BASE_SHA": sha, "CI_MERGE_REQUEST_LABELS": "a, dependency-update"}, sha, false},
		{"gitlab branch pipeline", map[string]string{"GITLAB_CI": "true", "CI_COMMIT_BEFORE_SHA": sha}, "", false},
		{"elsewhere", map[string]string{}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := DetectChange(tc.env, read)
			if (err != nil) != tc.err || c.Base != tc.base {
				t.Errorf("base %q err %v, want %q err %v", c.Base, err, tc.base, tc.err)
			}
			if tc.name == "gitlab merge request" && strings.Join(c.Labels, ",") != "a,dependency-update" {
				t.Errorf("labels %q", c.Labels)
			}
		})
	}
}

func TestRefuseSigning(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Config
		want string
	}{
		{"uki key", Config{UKI: &UKIGate{File: "x", Key: "db.key"}}, "[ci.uki] key is set"},
		{"provenance key", Config{Provenance: &ProvenanceGate{Installable: ".", Key: "k"}}, "[ci.provenance] key is set"},
		{"provenance sign", Config{Provenance: &ProvenanceGate{Installable: ".", Sign: true}}, "sign = true"},
		{"nix signing key", Config{Nix: NixGate{Options: []string{"extra-secret-key-files=/k"}}}, "secret-key-files"},
		{"host signing key", Config{Host: &HostGate{Options: []string{"secret-key-files = /k"}}}, "secret-key-files"},
		{"sbsign step", Config{Run: []RunStep{{Name: "sign", Command: []string{"sbsign", "--key", "db.key", "a.efi"}}}}, "sbsign"},
		{"nix store sign step", Config{Run: []RunStep{{Name: "s", Command: []string{"nix", "store", "sign", "--key-file", "k"}}}}, "store sign"},
		{"nixgate sign step", Config{Run: []RunStep{{Name: "s", Command: []string{"./bin/nixgate", "sign", "--key", "k", "st"}}}}, "nixgate sign"},
		{"uki sign step", Config{Run: []RunStep{{Name: "s", Command: []string{"nixgate", "uki", "sign", "--key", "k"}}}}, "nixgate uki sign"},
		{"cosign step", Config{Run: []RunStep{{Name: "s", Command: []string{"cosign", "sign-blob", "x"}}}}, "cosign"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.RefuseSigning()
			var se *SigningError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "never signs") {
				t.Errorf("got %v, want a refusal naming %q", err, tc.want)
			}
		})
	}
	ok := Config{Run: []RunStep{{Name: "t", Command: []string{"cargo", "test"}}, {Name: "b", Command: []string{"nix", "build", ".#uki"}}},
		Nix: NixGate{Options: []string{"sandbox=true"}}}
	if err := ok.RefuseSigning(); err != nil {
		t.Errorf("a table without signing is refused: %v", err)
	}
}

func TestValidate(t *testing.T) {
	bad := Config{
		Gates:         []string{"chek"},
		RequiredPaths: []string{"../etc/passwd", ""},
		DevshellTools: []string{"a b"},
		Kconfig:       &KconfigGate{},
		Host:          &HostGate{Root: "r", Probe: true},
		Rebuild:       &RebuildGate{},
		Cache:         &CacheGate{},
		UKI:           &UKIGate{},
		Run:           []RunStep{{Name: "a", Command: []string{"x"}, Dir: "/abs"}, {Name: "a"}, {Command: []string{"y"}}},
	}
	err := bad.Validate()
	if err == nil {
		t.Fatal("an invalid table passed")
	}
	for _, want := range []string{`unknown gate "chek"`, `"../etc/passwd" must be a path inside the repository`, "ci.required-paths: an empty path",
		`"a b" is not a command name`, "ci.kconfig: configs is empty", "cannot be combined with root", "ci.rebuild: installables is empty",
		"ci.cache: store is empty", "ci.uki: file is empty", `ci.run[0].dir: "/abs"`, `a second step named "a"`, "ci.run[1] (a): command is empty",
		"ci.run[2]: name is empty"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	off := Config{Kconfig: &KconfigGate{Common: Common{Enabled: no()}}, Check: &CheckGate{Common: Common{Enabled: yes()}}}
	if err := off.Validate(); err != nil {
		t.Errorf("a disabled gate needs no settings: %v", err)
	}
}

// sampleRun is a run with every kind of result, and strings a hostile
// repository could choose (a run step's name, a finding's message).
func sampleRun() *Run {
	c := &check.Check{ID: "build-output-committed", Title: "Build outputs are committed", Severity: check.High, Rules: []string{"R1"}, Why: "Binaries.", Remediation: "Remove."}
	sign := &check.Check{ID: "ci-signs", Title: "CI signs", Severity: check.High, Rules: []string{"R11"}, Why: "Signing.", Remediation: "Sign offline."}
	low := &check.Check{ID: "lock-nixpkgs-stale", Title: "Stale", Severity: check.Medium, Rules: []string{"R5"}, Why: "Old.", Remediation: "Update."}
	rep := &report.Report{Command: "check", Target: ".", ToolVersion: "v0.0.0-test", FailOn: check.High, Result: &check.Result{
		Checks: []*check.Check{c, sign, low},
		Findings: []check.Finding{
			{CheckID: "build-output-committed", Severity: check.High, Message: "compiled binary is tracked: a|b `x` <script>\x1b[31m", Location: check.Location{Path: "bin/a|b"}, Fingerprint: "f1"},
			{CheckID: "ci-signs", Severity: check.Low, Message: "signs with `sbsign`", Location: check.Location{Path: ".github/workflows/ci.yml", Line: 20}, Fingerprint: "f2"},
			{CheckID: "lock-nixpkgs-stale", Severity: check.Medium, Message: "nixpkgs is 400 days old", Location: check.Location{Path: "flake.lock", Line: 3, Column: 5}, Fingerprint: "f3"},
		},
		Errors: []check.Errored{{CheckID: "lock-nixpkgs-stale", Error: "parse: 1:1: bad"}},
	}}
	kc := &check.Check{ID: "kconfig", Title: "Kernel configuration fails its hardening profile", Severity: check.High, Rules: []string{"R12"}, Why: "Gate.", Remediation: "Fix."}
	kr := func(path string, n int) *report.Report {
		r := &report.Report{Command: "kconfig", FailOn: check.Info, Result: &check.Result{Checks: []*check.Check{kc}}}
		for i := 0; i < n; i++ {
			r.Result.Findings = append(r.Result.Findings, check.Finding{CheckID: "kconfig", Severity: check.High, Message: fmt.Sprintf("CONFIG_%d is y", i), Location: check.Location{Path: path, Line: i + 1}, Fingerprint: fmt.Sprint(path, i)})
		}
		return r
	}
	return &Run{Target: ".", Base: strings.Repeat("ab", 20), BaseFrom: "--base", ToolVersion: "v0.0.0-test", Duration: 1500 * time.Millisecond, Results: []*Result{
		{Gate: &Gate{Kind: KindCheck, Name: "check", Static: true, Args: []string{"check", "."}, read: readReport}, Outcome: Failed, Exit: 1, Duration: 120 * time.Millisecond, Report: rep,
			ContractFailure: "CI must not sign, deploy or hold signing keys: ci-signs (1)"},
		{Gate: &Gate{Kind: KindPR, Name: "pr", Static: true}, Outcome: Skipped, Reason: "no base revision"},
		{Gate: &Gate{Kind: KindKconfig, Name: "kconfig a.config", Static: true, Args: []string{"kconfig", "a.config"}, read: readSARIF}, Outcome: Failed, Exit: 1, Duration: 3 * time.Millisecond, Report: kr("a.config", 2)},
		{Gate: &Gate{Kind: KindKconfig, Name: "kconfig b.config", Static: true, Args: []string{"kconfig", "b.config"}, read: readSARIF}, Outcome: Passed, Exit: 0, Duration: 2 * time.Millisecond, Report: kr("b.config", 0)},
		{Gate: &Gate{Kind: KindRun, Name: "run: <b>tests</b> `x`", Args: []string{"sh", "-c", "echo ```; exit 1"}, read: readExec}, Outcome: Failed, Exit: 1, Duration: 2 * time.Second,
			Summary: "exit status 1", Reason: "exit status 1", Log: []string{"```", "FAILED \x07 </details>"}},
		{Gate: &Gate{Kind: KindRebuild, Name: "rebuild", Args: []string{"rebuild", ".#default"}, read: readRebuild}, Outcome: Failed, Exit: 1, Duration: 61 * time.Second,
			Summary: "NOT REPRODUCIBLE: 1 output(s), 0 reproducible", Details: []string{"not reproducible: /nix/store/x-a"}},
		{Gate: &Gate{Kind: KindHost, Name: "host", Args: []string{"host"}, read: readReport}, Outcome: Incomplete, Exit: 3, Duration: 5 * time.Millisecond, Reason: "nix: not found", Log: []string{"nixgate: error: nix: not found"}},
		{Gate: &Gate{Kind: KindBootTest, Name: "uki-boot-test"}, Outcome: Skipped, Reason: "qemu-system-x86_64 not found on PATH"},
	}}
}

var update = os.Getenv("NIXGATE_UPDATE") != ""

func TestWriteGolden(t *testing.T) {
	for _, format := range []string{"text", "markdown", "junit"} {
		t.Run(format, func(t *testing.T) {
			var a, b bytes.Buffer
			if err := Write(&a, format, sampleRun()); err != nil {
				t.Fatal(err)
			}
			Write(&b, format, sampleRun())
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Error("not deterministic")
			}
			golden := filepath.Join("testdata", "sample."+format)
			if update {
				os.WriteFile(golden, a.Bytes(), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (NIXGATE_UPDATE=1 go test writes it)", err)
			}
			if d := cmp.Diff(string(want), a.String()); d != "" {
				t.Errorf("differs from %s (-want +got):\n%s", golden, d)
			}
			// Untrusted strings never reach a report raw: no control
			// character, and in Markdown no HTML of theirs once rendered.
			out := a.String()
			if format == "markdown" {
				var html bytes.Buffer
				gm := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(gmhtml.WithUnsafe()))
				if err := gm.Convert(a.Bytes(), &html); err != nil {
					t.Fatal(err)
				}
				out = html.String()
				if strings.Count(out, "<details>") != strings.Count(out, "</details>") || strings.Count(out, "<table>") != 3 {
					t.Errorf("the summary does not render as a gate table and a block per gate:\n%s", out)
				}
			}
			for _, bad := range []string{"\x1b", "\x07"} {
				if strings.Contains(out, bad) {
					t.Errorf("%q reached the %s report", bad, format)
				}
			}
			if format == "markdown" && (strings.Contains(out, "<script>") || strings.Contains(out, "<b>tests</b>")) {
				t.Errorf("HTML of a repository's strings rendered:\n%s", out)
			}
		})
	}
	if r := sampleRun(); r.Exit() != 1 || r.Verdict() != "FAILED" {
		t.Errorf("exit %d %s", r.Exit(), r.Verdict())
	}
}

func TestExit(t *testing.T) {
	res := func(o Outcome, code int) *Result {
		return &Result{Gate: &Gate{Name: string(o)}, Outcome: o, Exit: code}
	}
	for _, tc := range []struct {
		results    []*Result
		requireAll bool
		want       int
	}{
		{[]*Result{res(Passed, 0), res(Skipped, 0)}, false, 0},
		{[]*Result{res(Passed, 0), res(Skipped, 0)}, true, 1},
		{[]*Result{res(Incomplete, 3), res(Errored, 2)}, false, 2},
		{[]*Result{res(Incomplete, 3), res(Errored, 2), res(Failed, 1)}, false, 1},
		{[]*Result{res(Incomplete, 3), res(Passed, 0)}, false, 3},
	} {
		r := &Run{Results: tc.results, RequireAll: tc.requireAll}
		if got := r.Exit(); got != tc.want {
			t.Errorf("%v require-all %v: exit %d, want %d", tc.results, tc.requireAll, got, tc.want)
		}
	}
}

func TestJUnitValidates(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, "junit", sampleRun()); err != nil {
		t.Fatal(err)
	}
	if err := xmllint(t, buf.Bytes()); err != nil {
		t.Error(err)
	}
	// The validator rejects what the schema forbids, or the test proves
	// nothing: a test case without its name.
	if xmllint(t, []byte(`<?xml version="1.0"?><testsuites><testsuite name="a" tests="1" failures="0" errors="0"><testcase/></testsuite></testsuites>`)) == nil {
		t.Error("xmllint accepted a test case without a name")
	}
}

func xmllint(t *testing.T, data []byte) error {
	t.Helper()
	f := filepath.Join(t.TempDir(), "junit.xml")
	os.WriteFile(f, data, 0o644)
	out, err := exec.Command("xmllint", "--noout", "--schema", "testdata/junit-10.xsd", f).CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("xmllint (scripts/deps.sh installs libxml2-utils): %v", err)
		}
		return fmt.Errorf("%v\n%s", err, out)
	}
	return nil
}

func TestSARIF(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, "sarif", sampleRun()); err != nil {
		t.Fatal(err)
	}
	if err := sarifschema.Validate(buf.Bytes()); err != nil {
		t.Errorf("SARIF does not validate: %v", err)
	}
	if err := CheckSARIFLimits(buf.Bytes()); err != nil {
		t.Error(err)
	}
	var log struct {
		Runs []struct {
			Automation struct {
				ID string `json:"id"`
			} `json:"automationDetails"`
			Invocations []struct {
				CommandLine string `json:"commandLine"`
				ExitCode    int    `json:"exitCode"`
			} `json:"invocations"`
			Results []json.RawMessage `json:"results"`
		} `json:"runs"`
	}
	json.Unmarshal(buf.Bytes(), &log)
	var got []string
	for _, r := range log.Runs {
		got = append(got, fmt.Sprintf("%s %d results, exit %d: %s", r.Automation.ID, len(r.Results), r.Invocations[0].ExitCode, r.Invocations[0].CommandLine))
	}
	want := []string{
		"nixgate/ci/check/ 3 results, exit 1: nixgate check .",
		"nixgate/ci/kconfig/ 2 results, exit 1: nixgate kconfig a.config && nixgate kconfig b.config",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("runs (-want +got):\n%s", d)
	}
}

func TestSARIFLimits(t *testing.T) {
	// A gate with more findings than code scanning takes keeps the most
	// severe within the limit, and says so.
	c := &check.Check{ID: "secret-leak", Title: "Secret", Severity: check.Critical, Rules: []string{"R4"}, Why: "W.", Remediation: "R."}
	rep := &report.Report{Command: "check", FailOn: check.High, Result: &check.Result{Checks: []*check.Check{c}}}
	for i := 0; i < MaxResultsPerRun+500; i++ {
		sev := check.Low
		if i%10 == 0 {
			sev = check.Critical
		}
		rep.Result.Findings = append(rep.Result.Findings, check.Finding{CheckID: c.ID, Severity: sev, Message: "m", Location: check.Location{Path: fmt.Sprintf("f%06d", i)}, Fingerprint: fmt.Sprint(i)})
	}
	run := &Run{Results: []*Result{{Gate: &Gate{Kind: KindCheck, Name: "check", Args: []string{"check"}}, Outcome: Failed, Exit: 1, Report: rep}}}
	var buf bytes.Buffer
	if err := Write(&buf, "sarif", run); err != nil {
		t.Fatal(err)
	}
	if err := CheckSARIFLimits(buf.Bytes()); err != nil {
		t.Errorf("over the limits: %v", err)
	}
	if !strings.Contains(buf.String(), "500 results left out of this run") {
		t.Error("no note of the results left out")
	}
	if n := strings.Count(buf.String(), `"severity": "critical"`); n != (MaxResultsPerRun+500)/10 {
		t.Errorf("%d critical results kept, want every one", n)
	}
	// The checker rejects what code scanning rejects.
	dup := `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"nixgate"}},"automationDetails":{"id":"a/"}},{"tool":{"driver":{"name":"nixgate"}},"automationDetails":{"id":"a/"}}]}`
	if err := CheckSARIFLimits([]byte(dup)); err == nil || !strings.Contains(err.Error(), "category") {
		t.Errorf("two runs of one category: %v", err)
	}
	many := `{"runs":[` + strings.Repeat(`{"tool":{"driver":{"name":"x"}}},`, MaxRuns) + `{"tool":{"driver":{"name":"y"}}}]}`
	if err := CheckSARIFLimits([]byte(many)); err == nil {
		t.Error("21 runs passed")
	}
}

func FuzzDetectChange(f *testing.F) {
	f.Add([]byte(`{"pull_request": {"base": {"sha": "` + strings.Repeat("ab", 20) + `", "ref": "main"}}}`))
	f.Add([]byte(`{"merge_group": {"base_sha": "x"}}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		fuzzlimit.Default(t, func() {
			env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_PATH": "e.json"}
			c, err := DetectChange(env, func(string) ([]byte, error) { return payload, nil })
			if err == nil && c.Base != "" && !validSHA(c.Base) {
				t.Fatalf("base %q is not a revision", c.Base)
			}
		})
	})
}

func TestNetAddr(t *testing.T) {
	for in, want := range map[string]string{
		"https://cache.example.org":                       "cache.example.org:443",
		"http://10.0.0.1:5000/sub":                        "10.0.0.1:5000",
		"s3://bucket?region=eu-west-1":                    "s3.eu-west-1.amazonaws.com:443",
		"s3://bucket?endpoint=minio.lan:9000&scheme=http": "minio.lan:9000",
		"ssh-ng://builder@build1.example.org":             "build1.example.org:22",
		"file:///var/cache/nix":                           "",
		"/tmp/store":                                      "",
		"local":                                           "",
		"https://[2001:db8::1]:8443":                      "[2001:db8::1]:8443",
	} {
		if got := netAddr(in); got != want {
			t.Errorf("netAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSkipUnreachable: a gate whose network is not there is skipped with
// the reason, and its command never runs.
func TestSkipUnreachable(t *testing.T) {
	p := &Plan{Dir: ".", Config: &Config{Cache: &CacheGate{Store: "http://127.0.0.1:1"}}, Only: []string{"cache"}}
	gates := p.Gates()
	rn := &Runner{Invoke: func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
		t.Errorf("ran %v", args)
		return 0
	}}
	res := rn.Execute(context.Background(), gates)
	if len(res) != 1 || res[0].Outcome != Skipped || !strings.Contains(res[0].Reason, "127.0.0.1:1 cannot be reached") {
		t.Errorf("%+v", res[0])
	}
}
