package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"

	"github.com/nixgate/nixgate/internal/ci"
	"github.com/nixgate/nixgate/internal/sarifschema"
	"github.com/nixgate/nixgate/internal/ukifixture"
)

var update = flag.Bool("update", false, "rewrite golden files")

// The ci fixture: examples/anchor, copied and extended (testdata/ci) with
// one planted violation for every gate nixgate ci runs, then the same with
// every fix applied. Real parts throughout: the real nix (flake show,
// develop, rebuilds in chroot stores, a file:// binary cache signed with a
// key from nix key generate-secret), real UKIs (internal/ukifixture), git.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// nixgateBinary builds this nixgate (a static binary: the dev shell probe
// runs it inside nix develop, and the performance test runs it whole).
func nixgateBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nixgate-ci-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "nixgate")
		cmd := exec.Command("go", "build", "-trimpath", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// removeTree deletes a tree that holds chroot stores (read-only
// directories).
func removeTree(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	os.RemoveAll(dir)
}

// ciWorld is what both variants share: the binary, a PATH of exactly the
// programs the gates may use (no qemu, no cargo: those gates are skipped,
// deterministically), the chroot store of the evaluating gates, the UKIs.
type ciWorld struct {
	root, bin, path, store, registry string
	uki                              *ukifixture.Fixture
	gitConfig                        string
}

func newCIWorld(t *testing.T) *ciWorld {
	t.Helper()
	root, err := os.MkdirTemp("", "nixgate-ci-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeTree(root) })
	w := &ciWorld{root: root, bin: nixgateBinary(t), uki: ukifixture.Get(t)}
	w.path = filepath.Join(root, "bin")
	os.MkdirAll(w.path, 0o755)
	for _, p := range []string{"nix", "nix-build", "nix-store", "nix-instantiate", "nix-env", "git", "sh", "bash"} {
		full, err := exec.LookPath(p)
		if err != nil {
			t.Fatalf("%s is needed (scripts/deps.sh installs it): %v", p, err)
		}
		if err := os.Symlink(full, filepath.Join(w.path, p)); err != nil {
			t.Fatal(err)
		}
	}
	w.store = filepath.Join(root, "store")
	w.registry = filepath.Join(root, "registry.json")
	os.WriteFile(w.registry, []byte(`{"flakes":[],"version":2}`), 0o644)
	w.gitConfig = filepath.Join(root, "gitconfig")
	os.WriteFile(w.gitConfig, nil, 0o644)
	return w
}

func (w *ciWorld) env(extra ...string) []string {
	env := []string{"PATH=" + w.path, "HOME=" + filepath.Join(w.root, "home"), "TMPDIR=" + os.TempDir(),
		"GIT_CONFIG_GLOBAL=" + w.gitConfig, "GIT_CONFIG_NOSYSTEM=1", "NO_COLOR=1", "CI=true",
		"XDG_CACHE_HOME=" + filepath.Join(w.root, "xdg-cache"), "XDG_STATE_HOME=" + filepath.Join(w.root, "xdg-state"),
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.org", "GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.org"}
	return append(env, extra...)
}

func (w *ciWorld) run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// ciVariant is one repository of the fixture.
type ciVariant struct {
	dir, base, event string
	cache, key       string
}

// makeRepo builds the planted or the fixed repository.
func (w *ciWorld) makeRepo(t *testing.T, variant string) *ciVariant {
	t.Helper()
	vroot := filepath.Join(w.root, variant)
	v := &ciVariant{dir: filepath.Join(vroot, "repo")}
	os.MkdirAll(vroot, 0o755)
	if out, err := exec.Command("cp", "-a", "../../examples/anchor", v.dir).CombinedOutput(); err != nil {
		t.Fatalf("copy examples/anchor: %v\n%s", err, out)
	}
	v.cache, v.key = w.makeCache(t, vroot, variant == "fixed")
	uki := w.uki.Other
	if variant == "fixed" {
		uki = w.uki.Signed
	}
	repl := strings.NewReplacer("@STORE@", w.store, "@REGISTRY@", w.registry, "@CACHE@", v.cache, "@KEY@", v.key,
		"@CLOSURE@", w.closure(t, v.cache), "@UKI@", uki, "@CERT@", w.uki.SnakeoilCert,
		"@NOW@", strconv.FormatInt(time.Now().Add(-24*time.Hour).Unix(), 10))
	overlay := func(name string) {
		ar, err := txtar.ParseFile(filepath.Join("testdata", "ci", name))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range ar.Files {
			if f.Name == "delete" {
				for _, p := range strings.Fields(string(f.Data)) {
					if err := os.Remove(filepath.Join(v.dir, p)); err != nil {
						t.Fatal(err)
					}
				}
				continue
			}
			p := filepath.Join(v.dir, f.Name)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(repl.Replace(string(f.Data))), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	overlay("planted.txtar")
	// The flake's builder tools: a static bash and busybox applets.
	tools := filepath.Join(v.dir, "image", "tools")
	os.MkdirAll(tools, 0o755)
	for src, dst := range map[string]string{"/bin/bash-static": "bash", "/bin/busybox": "busybox"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatalf("%s is needed (scripts/deps.sh installs it): %v", src, err)
		}
		os.WriteFile(filepath.Join(tools, dst), b, 0o755)
	}
	applets := []string{"cat", "sha256sum"}
	if variant == "fixed" {
		overlay("fixed.txtar")
		applets = append(applets, "cpio")
		os.WriteFile(filepath.Join(v.dir, "kernel", "debug.config"), must(os.ReadFile(filepath.Join(v.dir, "kernel", "hardened.config"))), 0o644)
	}
	for _, a := range applets {
		os.Symlink("busybox", filepath.Join(tools, a))
	}
	env := w.env()
	w.run(t, v.dir, env, "git", "init", "-q", "-b", "main")
	w.run(t, v.dir, env, "git", "add", "-A")
	w.run(t, v.dir, env, "git", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "base")
	v.base = w.run(t, v.dir, env, "git", "rev-parse", "HEAD")
	// The pull request's change.
	w.run(t, v.dir, env, "git", "checkout", "-q", "-b", "change")
	ar, err := txtar.ParseFile(filepath.Join("testdata", "ci", "change-"+variant+".txtar"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range ar.Files {
		os.WriteFile(filepath.Join(v.dir, f.Name), f.Data, 0o644)
	}
	w.run(t, v.dir, env, "git", "-c", "commit.gpgsign=false", "commit", "-q", "-am", "update tools")
	labels := "[]"
	if variant == "fixed" {
		labels = `[{"name": "dependency-update"}]`
	}
	v.event = filepath.Join(vroot, "event.json")
	os.WriteFile(v.event, []byte(fmt.Sprintf(`{"action": "opened", "number": 7, "pull_request": {"number": 7, "labels": %s, "base": {"ref": "main", "sha": %q}, "head": {"ref": "change"}}}`, labels, v.base)), 0o644)
	return v
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// makeCache makes a file:// binary cache holding one store path (busybox,
// added to a chroot store and copied with nix copy), signed by the trusted
// key when signed.
func (w *ciWorld) makeCache(t *testing.T, dir string, signed bool) (cache, pub string) {
	t.Helper()
	env := w.env("NIX_CONFIG=")
	store := filepath.Join(dir, "cache-store")
	path := w.run(t, dir, env, "nix-store", "--store", store, "--add", "/bin/busybox")
	cache = filepath.Join(dir, "cache")
	xf := []string{"--extra-experimental-features", "nix-command"}
	w.run(t, dir, env, "nix", append(xf, "copy", "--store", store, "--to", "file://"+cache, path)...)
	sec := w.run(t, dir, env, "nix", append(xf, "key", "generate-secret", "--key-name", "ci-test-1")...)
	secFile := filepath.Join(dir, "ci-test-1.sec")
	os.WriteFile(secFile, []byte(sec), 0o600)
	cmd := exec.Command("nix", append(xf, "key", "convert-secret-to-public")...)
	cmd.Stdin, cmd.Env = strings.NewReader(sec), env
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	pub = strings.TrimSpace(string(out))
	if signed {
		w.run(t, dir, env, "nix", append(xf, "store", "sign", "--store", "file://"+cache, "--key-file", secFile, path)...)
	}
	return cache, pub
}

// closure is the store path the cache holds.
func (w *ciWorld) closure(t *testing.T, cache string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(cache, "*.narinfo"))
	if len(m) != 1 {
		t.Fatalf("cache %s: %d narinfos", cache, len(m))
	}
	for _, l := range strings.Split(string(must(os.ReadFile(m[0]))), "\n") {
		if p, ok := strings.CutPrefix(l, "StorePath: "); ok {
			return p
		}
	}
	t.Fatalf("%s has no StorePath", m[0])
	return ""
}

// ciReport is the part of nixgate ci's JSON report the test reads.
type ciReport struct {
	Outcome  string `json:"outcome"`
	ExitCode int    `json:"exitCode"`
	Gates    []struct {
		Name    string `json:"name"`
		Kind    string `json:"kind"`
		Command string `json:"command"`
		Outcome string `json:"outcome"`
		Reason  string `json:"reason"`
		Summary string `json:"summary"`
		Report  *struct {
			Findings []struct {
				CheckID  string `json:"checkId"`
				Severity string `json:"severity"`
				Location struct {
					Path string `json:"path"`
				} `json:"location"`
			} `json:"findings"`
		} `json:"report"`
	} `json:"gates"`
}

type ciRun struct {
	code                        int
	stdout, stderr              string
	json                        ciReport
	sarif, junit, markdown, txt []byte
}

func (w *ciWorld) ci(t *testing.T, v *ciVariant, args ...string) *ciRun {
	t.Helper()
	out := filepath.Join(filepath.Dir(v.dir), "out")
	os.MkdirAll(out, 0o755)
	unshare := slices.Contains(args, "--unshare-net-for-test")
	args = slices.DeleteFunc(args, func(a string) bool { return a == "--unshare-net-for-test" })
	args = append([]string{"ci", v.dir, "--format", "json", "--sarif", filepath.Join(out, "ci.sarif"), "--junit", filepath.Join(out, "junit.xml"),
		"--markdown", filepath.Join(out, "summary.md")}, args...)
	cmd := exec.Command(w.bin, args...)
	if unshare {
		cmd = exec.Command("unshare", append([]string{"--net", "--", w.bin}, args...)...)
	}
	cmd.Env = w.env("GITHUB_ACTIONS=true", "GITHUB_EVENT_NAME=pull_request", "GITHUB_EVENT_PATH="+v.event)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := &ciRun{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errorsAs(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	if err := json.Unmarshal(stdout.Bytes(), &r.json); err != nil {
		t.Fatalf("ci JSON: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	r.sarif = must(os.ReadFile(filepath.Join(out, "ci.sarif")))
	r.junit = must(os.ReadFile(filepath.Join(out, "junit.xml")))
	r.markdown = must(os.ReadFile(filepath.Join(out, "summary.md")))
	return r
}

func errorsAs(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*ee = e
	}
	return ok
}

// gateResult is what the test expects of a gate: its outcome, and the
// checks of its failing findings (or, for a skip, a part of the reason).
type gateResult struct {
	outcome string
	checks  []string
	reason  string
}

func summarize(r ciReport) map[string]gateResult {
	out := map[string]gateResult{}
	for _, g := range r.Gates {
		gr := gateResult{outcome: g.Outcome}
		if g.Report != nil {
			for _, f := range g.Report.Findings {
				if f.Severity == "high" || f.Severity == "critical" {
					gr.checks = append(gr.checks, f.CheckID)
				}
			}
			sort.Strings(gr.checks)
			gr.checks = slices.Compact(gr.checks)
		}
		gr.reason = g.Reason
		out[g.Name] = gr
	}
	return out
}

// TestCIFixture runs nixgate ci on the planted fixture (every gate's
// violation reported in one run, exit 1; the skipped gates with their
// reasons), then on the fixed one (every gate passes, exit 0), and checks
// the SARIF (schema and code scanning's limits), the JUnit XML (the common
// schema, with xmllint) and the Markdown summary (a golden file).
func TestCIFixture(t *testing.T) {
	w := newCIWorld(t)
	skips := map[string]gateResult{
		"run: clippy":   {outcome: "skipped", reason: "cargo not found on PATH"},
		"uki-boot-test": {outcome: "skipped", reason: "qemu-system-x86_64 not found on PATH"},
	}

	t.Run("planted", func(t *testing.T) {
		v := w.makeRepo(t, "planted")
		r := w.ci(t, v)
		if r.code != 1 || r.json.ExitCode != 1 || r.json.Outcome != "failed" {
			t.Errorf("exit %d (%s), want 1\n%s", r.code, r.json.Outcome, r.stderr)
		}
		want := map[string]gateResult{
			"check": {outcome: "failed", checks: []string{"build-output-committed", "ci-signs", "init-networking", "k8s-secret-manifest",
				"lock-nixpkgs-branch", "policy-schema", "required-paths", "rust-unsafe", "secret-file-not-ignored", "secret-leak"}},
			"pr":                             {outcome: "failed", checks: []string{"pr-lock-label"}},
			"lock flake.lock":                {outcome: "passed"},
			"lock image/flake.lock":          {outcome: "passed"},
			"lock tools/flake.lock":          {outcome: "failed", checks: []string{"lock-change-risk"}},
			"kconfig kernel/hardened.config": {outcome: "passed"},
			"kconfig kernel/debug.config":    {outcome: "failed", checks: []string{"kconfig-input", "kconfig-profile"}},
			"host":                           {outcome: "failed", checks: []string{"host-sandbox"}},
			"required-outputs":               {outcome: "failed", checks: []string{"flake-required-outputs"}},
			"devshell-tools":                 {outcome: "failed", checks: []string{"devshell-tools"}},
			"run: unit tests":                {outcome: "failed"},
			"rebuild":                        {outcome: "failed"},
			"cache":                          {outcome: "failed", checks: []string{"cache-signature"}},
			"uki-check":                      {outcome: "failed", checks: []string{"uki-policy-files"}},
			"uki-verify":                     {outcome: "failed", checks: []string{"uki-signature"}},
			// The unit tests left a file in the work tree: attest refuses.
			"provenance": {outcome: "failed", reason: "refusing to attest a build from a dirty tree"},
			"run: build": {outcome: "passed"},
		}
		for k, s := range skips {
			want[k] = s
		}
		compareGates(t, want, summarize(r.json))
		if t.Failed() {
			t.Logf("stderr:\n%s", r.stderr)
		}
		checkFormats(t, r)
		golden(t, w, v, r.markdown)
		checkRenders(t, r.markdown, len(r.json.Gates))

		// The static gates make no connection: in a network namespace
		// with no route they give what they give outside.
		outside := w.ci(t, v, "--only", "static")
		inside := w.ci(t, v, "--only", "static", "--unshare-net-for-test")
		compareGates(t, summarize(outside.json), summarize(inside.json))
		static := []string{"check", "pr", "lock flake.lock", "lock image/flake.lock", "lock tools/flake.lock",
			"kconfig kernel/hardened.config", "kconfig kernel/debug.config", "host", "uki-check", "uki-verify"}
		var got []string
		for name := range summarize(inside.json) {
			got = append(got, name)
		}
		slices.Sort(got)
		slices.Sort(static)
		if !slices.Equal(got, static) {
			t.Errorf("--only static ran %v, want %v", got, static)
		}
	})

	t.Run("fixed", func(t *testing.T) {
		v := w.makeRepo(t, "fixed")
		r := w.ci(t, v)
		if r.code != 0 || r.json.Outcome != "passed" {
			t.Errorf("exit %d (%s), want 0\n%s\n%s", r.code, r.json.Outcome, r.stderr, r.markdown)
		}
		for name, g := range summarize(r.json) {
			wantSkip, skipped := skips[name]
			switch {
			case skipped:
				if g.outcome != "skipped" || !strings.Contains(g.reason, wantSkip.reason) {
					t.Errorf("%s: %s %q, want skipped: %s", name, g.outcome, g.reason, wantSkip.reason)
				}
			case g.outcome != "passed":
				t.Errorf("%s: %s %v, want passed", name, g.outcome, g.checks)
			}
		}
		checkFormats(t, r)
		// --require-all turns the skips into a failure.
		if r := w.ci(t, v, "--require-all"); r.code != 1 {
			t.Errorf("--require-all with skipped gates: exit %d, want 1", r.code)
		}
	})
}

// compareGates checks every gate against what is wanted of it: outcome,
// failing checks, and for a skip a part of the reason.
func compareGates(t *testing.T, want, got map[string]gateResult) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("gate %s did not run", name)
		case g.outcome != w.outcome || !slices.Equal(g.checks, w.checks) || !strings.Contains(g.reason, w.reason):
			t.Errorf("gate %s: %s %v %q, want %s %v %q", name, g.outcome, g.checks, g.reason, w.outcome, w.checks, w.reason)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected gate %s: %+v", name, got[name])
		}
	}
}

// checkFormats validates the SARIF and JUnit reports of a run.
func checkFormats(t *testing.T, r *ciRun) {
	t.Helper()
	if err := sarifschema.Validate(r.sarif); err != nil {
		t.Errorf("SARIF does not validate: %v", err)
	}
	if err := ci.CheckSARIFLimits(r.sarif); err != nil {
		t.Errorf("SARIF is over code scanning's limits: %v", err)
	}
	var log struct {
		Runs []struct {
			Automation struct {
				ID string `json:"id"`
			} `json:"automationDetails"`
		} `json:"runs"`
	}
	json.Unmarshal(r.sarif, &log)
	if len(log.Runs) < 8 {
		t.Errorf("SARIF has %d runs, want one per gate that reports findings", len(log.Runs))
	}
	f := filepath.Join(os.TempDir(), fmt.Sprintf("nixgate-ci-junit-%d.xml", time.Now().UnixNano()))
	os.WriteFile(f, r.junit, 0o644)
	defer os.Remove(f)
	if out, err := exec.Command("xmllint", "--noout", "--schema", "../../internal/ci/testdata/junit-10.xsd", f).CombinedOutput(); err != nil {
		t.Errorf("JUnit XML does not validate (xmllint; scripts/deps.sh installs libxml2-utils): %v\n%s", err, out)
	}
}

// normalize removes what changes from run to run from a report: times,
// temporary paths, revisions, ages in days.
func normalize(s string, w *ciWorld, v *ciVariant) string {
	s = strings.ReplaceAll(s, v.dir, "$REPO")
	s = strings.ReplaceAll(s, filepath.Dir(v.dir), "$FIXTURE")
	s = strings.ReplaceAll(s, w.uki.Dir, "$UKI")
	s = strings.ReplaceAll(s, w.root, "$ROOT")
	s = strings.ReplaceAll(s, v.base, "$BASE")
	s = strings.ReplaceAll(s, v.base[:12], "$BASE")
	for _, re := range []struct{ re, to string }{
		{`\b\d+(\.\d+)?(ms|s)\b`, "T"},
		{`\b\d+m\d\ds\b`, "T"},
		{`is \d+ days old`, "is N days old"},
		{`/tmp/nixgate-rebuild-\d+`, "$REBUILD"},
		{`(sha256-|sha256:)[A-Za-z0-9+/=]{12,}`, "${1}…"},
		{`ci-test-1:[A-Za-z0-9+/=]+`, "ci-test-1:KEY"},
		{`/nix/store/[a-z0-9]{32}-`, "/nix/store/HASH-"},
	} {
		s = regexp.MustCompile(re.re).ReplaceAllString(s, re.to)
	}
	return s
}

func golden(t *testing.T, w *ciWorld, v *ciVariant, md []byte) {
	t.Helper()
	got := normalize(string(md), w, v)
	file := filepath.Join("testdata", "ci", "summary.md.golden")
	if *update {
		os.WriteFile(file, []byte(got), 0o644)
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("the Markdown summary differs from %s (-want +got; go test -update rewrites it):\n%s", file, d)
	}
}

// checkRenders renders the Markdown summary as GitHub does (CommonMark with
// GFM tables) and checks its shape: the gate table has a row per gate,
// every gate that ran has a collapsed details block, and every table in it
// rendered (no pipe row is left as a paragraph).
func checkRenders(t *testing.T, md []byte, gates int) {
	t.Helper()
	var html bytes.Buffer
	gm := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(gmhtml.WithUnsafe()))
	if err := gm.Convert(md, &html); err != nil {
		t.Fatal(err)
	}
	h := html.String()
	first, _, _ := strings.Cut(h, "</table>")
	if n := strings.Count(first, "<tr>"); n != gates+1 {
		t.Errorf("the gate table renders %d rows, want %d (a header and a row per gate)", n, gates+1)
	}
	if n, want := strings.Count(h, "<details><summary>"), gates-strings.Count(string(md), "| ⏭️ |"); n != want {
		t.Errorf("%d details blocks, want %d (one per gate that ran)", n, want)
	}
	if regexp.MustCompile(`<p>\|[^<]*\|</p>`).MatchString(h) || strings.Contains(h, "|---|") {
		t.Errorf("a Markdown table did not render:\n%s", h)
	}
}

// TestCIStaticAnchor: nixgate ci on a fresh copy of examples/anchor with
// the built-in policy (no [ci] table), inside a network namespace with no
// route: the check gate reports exactly the problems PLANTED.md lists, pr
// and lock are skipped (no base), exit 1, and the whole process stays well
// inside its budget (bench/ci.sh measures it: under a second).
func TestCIStaticAnchor(t *testing.T) {
	bin := nixgateBinary(t)
	dir := filepath.Join(t.TempDir(), "anchor")
	if out, err := exec.Command("cp", "-a", "../../examples/anchor", dir).CombinedOutput(); err != nil {
		t.Fatalf("copy: %v\n%s", err, out)
	}
	gitCfg := filepath.Join(t.TempDir(), "gitconfig")
	os.WriteFile(gitCfg, nil, 0o644)
	env := append(os.Environ(), "GIT_CONFIG_GLOBAL="+gitCfg, "GIT_CONFIG_NOSYSTEM=1", "GITHUB_ACTIONS=", "GITLAB_CI=",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org")
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"-c", "commit.gpgsign=false", "commit", "-q", "-m", "anchor"}} {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	start := time.Now()
	cmd := exec.Command("unshare", "--net", "--", bin, "ci", dir, "--only", "static", "--format", "json")
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	elapsed := time.Since(start)
	var ee *exec.ExitError
	if !errorsAs(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1\n%s", err, stderr.String())
	}
	var r ciReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, g := range r.Gates {
		switch {
		case g.Name == "check" && g.Outcome == "failed" && g.Report != nil:
			for _, f := range g.Report.Findings {
				found = append(found, f.CheckID+" "+f.Location.Path)
			}
		case g.Name == "check":
			t.Errorf("check gate: %s", g.Outcome)
		case g.Outcome != "skipped" || !strings.Contains(g.Reason, "no base revision"):
			t.Errorf("gate %s: %s %q, want skipped for want of a base", g.Name, g.Outcome, g.Reason)
		}
	}
	var planted []string
	for _, l := range strings.Split(string(must(os.ReadFile("../../examples/anchor/PLANTED.md"))), "\n") {
		f := strings.Split(l, "|")
		if len(f) >= 4 && regexp.MustCompile(`^ [a-z0-9-]+ $`).MatchString(f[1]) && strings.TrimSpace(f[1]) != "check" {
			planted = append(planted, strings.TrimSpace(f[1])+" "+strings.TrimSuffix(strings.TrimSpace(f[2]), "/")+map[bool]string{true: "/", false: ""}[strings.HasSuffix(strings.TrimSpace(f[2]), "/")])
		}
	}
	slices.Sort(found)
	slices.Sort(planted)
	if d := cmp.Diff(planted, found); d != "" {
		t.Errorf("the check gate's findings are not PLANTED.md's (-planted +found):\n%s", d)
	}
	t.Logf("nixgate ci --only static on examples/anchor, whole process in a network namespace without a route: %s", elapsed)
	if elapsed > 5*time.Second {
		t.Errorf("took %s (the budget is a second; bench/ci.sh measures it)", elapsed)
	}
}

// TestCIInSandbox: the static gates run inside a Nix build sandbox, as a
// check derivation would run them (Hydra, buildbot-nix, nix flake check):
// the static nixgate binary, a static busybox, the source as the only
// input, no network, no git. On examples/anchor the build fails with the
// gate's report in its log.
func TestCIInSandbox(t *testing.T) {
	bin := nixgateBinary(t)
	dir, err := os.MkdirTemp("", "nixgate-ci-sandbox-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeTree(dir) })
	src := filepath.Join(dir, "src")
	if out, err := exec.Command("cp", "-a", "../../examples/anchor", src).CombinedOutput(); err != nil {
		t.Fatalf("copy: %v\n%s", err, out)
	}
	os.Remove(filepath.Join(src, "result")) // a link out of the tree cannot go into the store
	tools := filepath.Join(dir, "tools")
	os.MkdirAll(tools, 0o755)
	os.WriteFile(filepath.Join(tools, "nixgate"), must(os.ReadFile(bin)), 0o755)
	os.WriteFile(filepath.Join(tools, "busybox"), must(os.ReadFile("/bin/busybox")), 0o755)
	expr := `let
  tools = builtins.path { path = ` + tools + `; name = "tools"; };
  src = builtins.path { path = ` + src + `; name = "anchor-src"; };
in builtins.derivation {
  name = "nixgate-static-gates";
  system = builtins.currentSystem;
  builder = "${tools}/busybox";
  args = [ "sh" "-c" "export PATH=${tools}; busybox cp -r ${src} src && busybox chmod -R u+w src && nixgate ci src --only static > $out; code=$?; busybox cat $out; exit $code" ];
}`
	cmd := exec.Command("nix-build", "--store", filepath.Join(dir, "store"), "--no-out-link", "--option", "sandbox", "true",
		"--option", "substituters", "", "-E", expr)
	cmd.Env = append(os.Environ(), "NIX_CONFIG=")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the check derivation passed on examples/anchor:\n%s", out)
	}
	for _, want := range []string{"== check: FAILED", "CRITICAL Nix binary-cache signing secret key", "nixgate ci: FAILED (exit 1)",
		"failed with exit code 1"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the build log lacks %q:\n%s", want, out)
		}
	}
}
